/*
 * visit-path.c: the field-path stack the visitor core keeps for every
 * visitor, and its two renderings (error form and trace form).
 *
 * SPDX-License-Identifier: MIT
 */
#include "visitor/visit-path.h"

#include <inttypes.h>
#include <string.h>

void vs_path_grow(VsVisitor *v)
{
    size_t n = v->frames_alloc * 2;
    VsFrame *frames;

    if (v->in_place) {
        /* Not a talloc object: the stack is freed with the visitor (visit-core.c). */
        frames = v->frames == v->inline_frames ? g_new(VsFrame, n)
                                               : g_renew(VsFrame, v->frames, n);
        if (v->frames == v->inline_frames) {
            memcpy(frames, v->inline_frames, v->depth * sizeof(VsFrame));
        }
    } else if (v->frames == v->inline_frames) {
        frames = talloc_array(v, VsFrame, n);
        g_assert(frames != NULL);
        memcpy(frames, v->inline_frames, v->depth * sizeof(VsFrame));
    } else {
        frames = talloc_realloc(v, v->frames, VsFrame, n);
        g_assert(frames != NULL);
    }
    v->frames = frames;
    v->frames_alloc = n;
}

static void append_component(GString *s, const VsFrame *f, bool trace)
{
    if (f->index >= 0) {
        if (trace && s->len) {
            g_string_append_c(s, '.');
        }
        g_string_append_printf(s, "[%" PRId64 "]", f->index);
    } else {
        if (s->len) {
            g_string_append_c(s, '.');
        }
        g_string_append(s, f->name ? f->name : "<root>");
    }
    if (trace && f->kind == VS_FRAME_ARRAY) {
        g_string_append_printf(s, "(%" PRIu32 ")(%zu)", f->count, f->elem_size);
    } else if (trace && f->kind == VS_FRAME_LIST) {
        g_string_append(s, "(list)");
    }
}

void vs_path_render(const VsVisitor *v, GString *out, bool trace)
{
    g_string_truncate(out, 0);
    for (size_t i = 0; i < v->depth; i++) {
        append_component(out, &v->frames[i], trace);
    }
    if (!out->len) {
        g_string_append(out, "<root>");
    }
}

/* The path cache, created the first time a path is rendered. */
static GString *path_buffer(VsVisitor *v)
{
    if (!v->path) {
        v->path = g_string_new(NULL);
    }
    return v->path;
}

const char *vs_visitor_path(VsVisitor *v)
{
    vs_path_render(v, path_buffer(v), false);
    return v->path->str;
}

const char *vs_visitor_trace_path(VsVisitor *v)
{
    vs_path_render(v, path_buffer(v), true);
    return v->path->str;
}

const VsFrame *vs_visitor_frame(const VsVisitor *v, size_t up)
{
    return up < v->depth ? &v->frames[v->depth - 1 - up] : NULL;
}

const VsFrame *vs_visitor_top(const VsVisitor *v)
{
    return vs_visitor_frame(v, 0);
}

size_t vs_visitor_depth(const VsVisitor *v)
{
    return v->depth;
}
