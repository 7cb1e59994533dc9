/*
 * visit-path.h: the core's field-path stack (private to visitor/).
 *
 * SPDX-License-Identifier: MIT
 *
 * Pushing and popping are inline: every visit does both, so they must cost
 * a few stores, not a call.  A path is kept as frames (name pointer, index)
 * and rendered to a string only when an error or a trace asks for it.
 */
#ifndef VSTATE_VISIT_PATH_H
#define VSTATE_VISIT_PATH_H

#include "visitor/visitor-impl.h"

/* Doubles the frame stack's capacity (moving it off inline_frames). */
void vs_path_grow(VsVisitor *v);

/* Pushes a frame; inside an array or a list it becomes the next element. */
static inline VsFrame *vs_path_push(VsVisitor *v, VsFrameKind kind, const char *name)
{
    VsFrame *f;

    if (G_UNLIKELY(v->depth == v->frames_alloc)) {
        vs_path_grow(v);
    }
    f = &v->frames[v->depth];
    *f = (VsFrame){ .kind = kind, .name = name, .index = -1 };
    if (v->depth) {
        VsFrame *parent = f - 1;

        if (parent->kind == VS_FRAME_ARRAY || parent->kind == VS_FRAME_LIST) {
            f->index = parent->next_index++;
            f->name = NULL;
        }
    }
    v->depth++;
    return f;
}

/* Only after a push: the core pairs them itself (a breach never reaches here). */
static inline void vs_path_pop(VsVisitor *v)
{
    v->depth--;
}

/* The innermost frame, or NULL at the root (the inline form of vs_visitor_top). */
static inline VsFrame *vs_path_top(VsVisitor *v)
{
    return v->depth ? &v->frames[v->depth - 1] : NULL;
}

/*
 * Renders the whole stack into @out: `a.b[3].c`, or with @trace
 * `a.b(4)(1).[3].c` (a list: `a.l(list).[3].c`).
 */
void vs_path_render(const VsVisitor *v, GString *out, bool trace);

#endif /* VSTATE_VISIT_PATH_H */
