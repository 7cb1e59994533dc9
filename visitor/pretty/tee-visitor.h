/*
 * tee-visitor.h: one walk, two visitors.
 *
 * SPDX-License-Identifier: MIT
 *
 * Theory of operation
 * ===================
 *
 * A tee visitor forwards every call of a walk to a *primary* visitor and
 * then to an *observer*.  The primary does the real work (it may SAVE or
 * LOAD); the observer must be a SAVE visitor and sees the values as they are
 * after the primary's call: on save the object's values, on load the values
 * the primary just stored.  That is how save/load symmetry traces are
 * taken: legacy save + trace visitor on the source, legacy load + trace
 * visitor on the destination, then compare the two traces.
 *
 * Each operation calls the public vs_visit_* function on the primary first
 * and, if it succeeded, on the observer, so each inner visitor keeps its own
 * field path and checks its own contract.  Struct and subsection starts hand
 * the observer the primary's resulting version and present flag; array
 * starts its resulting count; list steps the primary's *more (on load,
 * what it read).  When the observer's start fails after the
 * primary's succeeded, the tee ends the primary's start before failing.
 *
 * Failure.  The tee fails with the first error of either visitor (whose
 * message carries that visitor's path).  The other visitor is then marked
 * failed with a copy of that error, so the walker's remaining end calls
 * close both cleanly instead of tripping their contract checks (an array
 * left early is not a contract breach once a visitor has failed).  When the
 * tee's own core fails a call before forwarding it (a list's maximum on
 * save, a contract breach), both are marked failed with that error at the
 * next end.  An observer is not called again after the primary failed.
 *
 * vs_visitor_complete() on the tee completes both; the first failure is
 * reported.  The tee's result context is the primary's.
 *
 * Example: trace a legacy load as it goes
 *
 *     g_autoptr(GString) trace = g_string_new(NULL);
 *     VsVisitor *load = vs_legacy_load_visitor_new(ctx, f, NULL);
 *     VsVisitor *obs = vs_trace_visitor_new(ctx, trace);
 *     VsVisitor *tee = vs_tee_visitor_new(ctx, load, obs);
 *
 *     ok = vs_ex_visit_pic(tee, "i8259", dev, errp) && vs_visitor_complete(tee, errp);
 *     (trace->str now holds every value loaded, up to a failure)
 *     vs_visitor_free(tee);
 *     vs_visitor_free(obs);
 *     vs_visitor_free(load);
 */
#ifndef VSTATE_TEE_VISITOR_H
#define VSTATE_TEE_VISITOR_H

#include "visitor/visitor.h"

G_BEGIN_DECLS

/*
 * vs_tee_visitor_new: a visitor that forwards each call to @primary, then
 * to @observer.
 * @mem_ctx: talloc parent of the tee
 * @primary: the visitor doing the work, SAVE or LOAD; borrowed, must
 *   outlive the tee; the tee has its kind
 * @observer: a SAVE visitor (asserted) that sees the resulting values;
 *   borrowed, must outlive the tee
 *
 * Ownership: the tee is a child of @mem_ctx; free it with vs_visitor_free().
 * Freeing it frees neither @primary nor @observer.
 * Returns: the tee; never NULL.
 */
VsVisitor *vs_tee_visitor_new(TALLOC_CTX *mem_ctx, VsVisitor *primary, VsVisitor *observer);

G_END_DECLS

#endif /* VSTATE_TEE_VISITOR_H */
