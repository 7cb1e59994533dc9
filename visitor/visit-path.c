/*
 * visit-path.c: the field-path stack the visitor core keeps for every
 * visitor, and its two renderings (error form and trace form).
 *
 * SPDX-License-Identifier: MIT
 */
#include "visitor/visit-path.h"

#include <inttypes.h>

VsFrame *vs_path_push(VsVisitor *v, VsFrameKind kind, const char *name)
{
    VsFrame *parent = v->depth ? &v->frames[v->depth - 1] : NULL;
    VsFrame *f;

    if (v->depth == v->frames_alloc) {
        size_t n = v->frames_alloc ? v->frames_alloc * 2 : 16;

        v->frames = talloc_realloc(v, v->frames, VsFrame, n);
        g_assert(v->frames != NULL);
        v->frames_alloc = n;
    }
    f = &v->frames[v->depth++];
    *f = (VsFrame){ .kind = kind, .name = name, .index = -1 };
    if (parent && (parent->kind == VS_FRAME_ARRAY || parent->kind == VS_FRAME_LIST)) {
        f->index = parent->next_index++;
        f->name = NULL;
    }
    return f;
}

void vs_path_pop(VsVisitor *v)
{
    g_assert(v->depth > 0);
    v->depth--;
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

const char *vs_visitor_path(VsVisitor *v)
{
    vs_path_render(v, v->path, false);
    return v->path->str;
}

const char *vs_visitor_trace_path(VsVisitor *v)
{
    vs_path_render(v, v->path, true);
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
