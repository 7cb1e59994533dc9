/*
 * visit-path.h: the core's field-path stack (private to visitor/).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VSTATE_VISIT_PATH_H
#define VSTATE_VISIT_PATH_H

#include "visitor/visitor-impl.h"

/* Pushes a frame; inside an array or a list it becomes the next element. */
VsFrame *vs_path_push(VsVisitor *v, VsFrameKind kind, const char *name);
void vs_path_pop(VsVisitor *v);
/*
 * Renders the whole stack into @out: `a.b[3].c`, or with @trace
 * `a.b(4)(1).[3].c` (a list: `a.l(list).[3].c`).
 */
void vs_path_render(const VsVisitor *v, GString *out, bool trace);

#endif /* VSTATE_VISIT_PATH_H */
