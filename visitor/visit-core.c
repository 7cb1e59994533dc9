/*
 * visit-core.c: the public vs_visit_* wrappers.  They check the visitor
 * contract, keep the field path, narrow integers and enforce declared
 * bounds, then dispatch to the implementation's ops table.
 *
 * SPDX-License-Identifier: MIT
 */
#include "visitor/visit-path.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

G_DEFINE_QUARK(vs-visit-error-quark, vs_visit_error)

/* ---- lifecycle ------------------------------------------------------- */

static int visitor_destructor(VsVisitor *v)
{
    if (v->ops->destroy) {
        v->ops->destroy(v);
    }
    if (v->path) {
        g_string_free(v->path, TRUE);
    }
    if (v->error) {
        g_error_free(v->error);
    }
    /* An in-place visitor's grown frame stack is not a talloc child. */
    if (v->in_place && v->frames != v->inline_frames) {
        g_free(v->frames);
    }
    return 0;
}

/*
 * The base of a new visitor in @size bytes at @v: zeroed except for the
 * inline frames, which are only read once pushed (zeroing them would cost
 * more than a small walk), and the implementation's @scratch tail.
 */
static inline void visitor_init(VsVisitor *v, const VsVisitorOps *ops, size_t size,
                                size_t scratch, TALLOC_CTX *result_ctx)
{
    g_assert(size >= sizeof(VsVisitor) && scratch <= size - sizeof(VsVisitor));
    g_assert(ops->start_struct && ops->start_array && ops->start_subsection);
    g_assert(ops->type_uint && ops->type_int && ops->type_bool);
    g_assert(ops->buffer && ops->string && ops->unused);
    memset(v, 0, offsetof(VsVisitor, inline_frames));
    memset((char *)v + sizeof(VsVisitor), 0, size - sizeof(VsVisitor) - scratch);
    v->ops = ops;
    v->result_ctx = result_ctx;
    v->frames = v->inline_frames;
    v->frames_alloc = VS_VISITOR_INLINE_FRAMES;
}

void *vs_visitor_alloc(TALLOC_CTX *mem_ctx, const VsVisitorOps *ops, size_t size,
                       TALLOC_CTX *result_ctx)
{
    return vs_visitor_alloc_scratch(mem_ctx, ops, size, 0, result_ctx);
}

void *vs_visitor_alloc_scratch(TALLOC_CTX *mem_ctx, const VsVisitorOps *ops, size_t size,
                               size_t scratch, TALLOC_CTX *result_ctx)
{
    /* One allocation. */
    VsVisitor *v = talloc_named_const(mem_ctx, size, ops->impl_name);

    g_assert(v != NULL);
    visitor_init(v, ops, size, scratch, result_ctx ? result_ctx : (TALLOC_CTX *)v);
    talloc_set_destructor(v, visitor_destructor);
    return v;
}

void *vs_visitor_init_in_place(void *storage, const VsVisitorOps *ops, size_t size,
                               size_t scratch, TALLOC_CTX *result_ctx)
{
    VsVisitor *v = storage;

    g_assert(v != NULL && (result_ctx || ops->kind == VS_VISITOR_SAVE));
    visitor_init(v, ops, size, scratch, result_ctx);
    v->in_place = true;
    return v;
}

void vs_visitor_free(VsVisitor *v)
{
    if (v && v->in_place) {
        visitor_destructor(v);
        return;
    }
    talloc_free(v);
}

VsVisitorKind vs_visitor_kind(const VsVisitor *v)
{
    return v->ops->kind;
}

const char *vs_visitor_impl_name(const VsVisitor *v)
{
    return v->ops->impl_name;
}

TALLOC_CTX *vs_visitor_result_ctx(VsVisitor *v)
{
    return v->result_ctx;
}

bool vs_visitor_failed(const VsVisitor *v)
{
    return v->error != NULL;
}

void vs_visitor_poison(VsVisitor *v, const GError *cause)
{
    if (!v->error && cause) {
        v->error = g_error_copy(cause);
    }
}

const GError *vs_visitor_error(const VsVisitor *v)
{
    return v->error;
}

void vs_visitor_set_root_version(VsVisitor *v, uint32_t version)
{
    v->has_root_version = true;
    v->root_version = version;
}

void vs_visitor_set_hooks(VsVisitor *v, bool enabled)
{
    v->hooks_off = !enabled;
}

bool vs_visitor_hooks_enabled(const VsVisitor *v)
{
    return !v->hooks_off;
}

/* ---- errors ---------------------------------------------------------- */

/* "<path>[.<field>]: <msg>[ (offset 0x..)]" */
static GError *error_at(VsVisitor *v, GQuark domain, int code, const char *field,
                        const char *msg)
{
    uint64_t offset;
    g_autoptr(GString) s = g_string_new(NULL);

    if (v->depth || !field) {
        g_string_append(s, vs_visitor_path(v));
    }
    if (field) {
        g_string_append_printf(s, "%s%s", s->len ? "." : "", field);
    }
    g_string_append_printf(s, ": %s", msg);
    if (v->ops->offset && v->ops->offset(v, &offset)) {
        g_string_append_printf(s, " (offset 0x%" PRIx64 ")", offset);
    }
    return g_error_new_literal(domain, code, s->str);
}

bool vs_visit_fail(VsVisitor *v, GError **errp, VsVisitError code, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_propagate_error(errp, error_at(v, VS_VISIT_ERROR, code, NULL, msg));
    return false;
}

bool vs_visit_fail_from(VsVisitor *v, GError **errp, const GError *cause)
{
    g_propagate_error(errp, error_at(v, cause->domain, cause->code, NULL, cause->message));
    return false;
}

bool vs_visit_report(VsVisitor *v, const char *field, GError **errp, VsVisitError code,
                     const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;
    GError *err;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    err = error_at(v, VS_VISIT_ERROR, code, field, msg);
    if (!v->error) {
        v->error = g_error_copy(err);
    }
    g_propagate_error(errp, err);
    return false;
}

bool vs_visit_hook_failed(VsVisitor *v, const char *hook, const char *func, GError *cause,
                          GError **errp)
{
    bool ret = vs_visit_report(v, NULL, errp, VS_VISIT_ERROR_HOOK, "%s hook %s failed: %s", hook,
                               func, cause ? cause->message : "no reason given");

    g_clear_error(&cause);
    return ret;
}

/* Remember the first failure so the visitor stays failed. */
static bool record(VsVisitor *v, GError *local, GError **errp)
{
    g_assert(local != NULL);
    if (!v->error) {
        v->error = g_error_copy(local);
    }
    g_propagate_error(errp, local);
    return false;
}

static bool fail_here(VsVisitor *v, GError **errp, VsVisitError code, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

static bool fail_here(VsVisitor *v, GError **errp, VsVisitError code, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return record(v, error_at(v, VS_VISIT_ERROR, code, NULL, msg), errp);
}

/* An op the implementation left NULL; the caller records the error. */
static bool unsupported(VsVisitor *v, const char *what, GError **errp)
{
    return vs_visit_fail(v, errp, VS_VISIT_ERROR_UNSUPPORTED, "the %s visitor cannot visit %s",
                         v->ops->impl_name, what);
}

/* A contract breach found where no errp is at hand (end_*): kept for later. */
static void breach(VsVisitor *v, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void breach(VsVisitor *v, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    if (v->error) {
        return;
    }
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    v->error = error_at(v, VS_VISIT_ERROR, VS_VISIT_ERROR_CONTRACT, NULL, msg);
}

/* Arrays and lists number their elements. */
static bool frame_holds_elements(const VsFrame *f)
{
    return f->kind == VS_FRAME_ARRAY || f->kind == VS_FRAME_LIST;
}

/*
 * Checks common to every operation before it runs: the visitor has not
 * failed or completed, an enclosing array still has room, and an
 * enclosing list has announced the element.  may_visit() is the inline
 * test of the usual case; this reports whichever check failed.
 */
static bool G_GNUC_NO_INLINE may_visit_slow(VsVisitor *v, GError **errp)
{
    const VsFrame *top = vs_path_top(v);

    if (v->error) {
        g_propagate_error(errp, g_error_copy(v->error));
        return false;
    }
    if (v->completed) {
        return fail_here(v, errp, VS_VISIT_ERROR_CONTRACT,
                         "visitor used after vs_visitor_complete()");
    }
    if (top && top->kind == VS_FRAME_LEAF) {
        return fail_here(v, errp, VS_VISIT_ERROR_CONTRACT, "visit from inside a scalar");
    }
    if (top && top->kind == VS_FRAME_ARRAY && top->next_index >= top->count) {
        return fail_here(v, errp, VS_VISIT_ERROR_CONTRACT,
                         "more than the %" PRIu32 " declared elements visited", top->count);
    }
    if (top && top->kind == VS_FRAME_LIST && top->next_index >= top->count) {
        return fail_here(v, errp, VS_VISIT_ERROR_CONTRACT,
                         "element %" PRIu32 " visited without vs_visit_list_next() announcing it",
                         top->next_index);
    }
    return true;
}

static inline bool may_visit(VsVisitor *v, GError **errp)
{
    const VsFrame *top;

    if (G_LIKELY(!v->error && !v->completed)) {
        if (!v->depth) {
            return true;
        }
        top = &v->frames[v->depth - 1];
        switch (top->kind) {
        case VS_FRAME_STRUCT:
        case VS_FRAME_SUBSECTION:
            return true;
        case VS_FRAME_ARRAY:
        case VS_FRAME_LIST:
            if (top->next_index < top->count) {
                return true;
            }
            break;
        case VS_FRAME_LEAF:
            break;
        }
    }
    return may_visit_slow(v, errp);
}

/* ---- structs ---------------------------------------------------------- */

static bool check_version(VsVisitor *v, const VsTypeInfo *type, uint32_t version,
                          GError **errp)
{
    if (version > type->version) {
        return fail_here(v, errp, VS_VISIT_ERROR_VERSION,
                         "version %" PRIu32 " of '%s' is too new (newest supported %" PRIu32 ")",
                         version, type->wire_name, type->version);
    }
    if (version < type->minimum_version) {
        return fail_here(v, errp, VS_VISIT_ERROR_VERSION,
                         "version %" PRIu32 " of '%s' is too old (oldest supported %" PRIu32 ")",
                         version, type->wire_name, type->minimum_version);
    }
    return true;
}

bool vs_visit_start_struct(VsVisitor *v, const char *name, const VsTypeInfo *type,
                           uint32_t *version, GError **errp)
{
    GError *local = NULL;
    VsFrame *f;

    g_assert(type != NULL && version != NULL);
    if (!may_visit(v, errp)) {
        return false;
    }
    if (v->depth == 0 && v->has_root_version && vs_visit_is_load(v)) {
        *version = v->root_version;
    }
    f = vs_path_push(v, VS_FRAME_STRUCT, name);
    f->type = type;
    if (!v->ops->start_struct(v, name, type, version, &local)) {
        record(v, local, errp);
        vs_path_pop(v);
        return false;
    }
    if (!check_version(v, type, *version, errp)) {
        if (v->ops->end_struct) {
            v->ops->end_struct(v);
        }
        vs_path_pop(v);
        return false;
    }
    v->frames[v->depth - 1].version = *version;
    return true;
}

static bool top_is(VsVisitor *v, VsFrameKind kind, const char *what)
{
    const VsFrame *top = vs_path_top(v);

    if (!top || top->kind != kind) {
        breach(v, "%s without a matching start", what);
        return false;
    }
    return true;
}

bool vs_visit_check_struct(VsVisitor *v, GError **errp)
{
    GError *local = NULL;
    const VsFrame *top = vs_path_top(v);

    if (v->error) {
        g_propagate_error(errp, g_error_copy(v->error));
        return false;
    }
    if (!top || (top->kind != VS_FRAME_STRUCT && top->kind != VS_FRAME_SUBSECTION)) {
        return fail_here(v, errp, VS_VISIT_ERROR_CONTRACT,
                         "vs_visit_check_struct() outside a struct");
    }
    if (v->ops->check_struct && !v->ops->check_struct(v, &local)) {
        return record(v, local, errp);
    }
    return true;
}

void vs_visit_end_struct(VsVisitor *v)
{
    if (!top_is(v, VS_FRAME_STRUCT, "vs_visit_end_struct()")) {
        return;
    }
    if (v->ops->end_struct) {
        v->ops->end_struct(v);
    }
    vs_path_pop(v);
}

/* ---- arrays ----------------------------------------------------------- */

bool vs_visit_start_array(VsVisitor *v, const char *name, uint32_t *count, uint32_t max,
                          size_t elem_size, GError **errp)
{
    GError *local = NULL;
    VsFrame *f;

    g_assert(count != NULL);
    if (!may_visit(v, errp)) {
        return false;
    }
    f = vs_path_push(v, VS_FRAME_ARRAY, name);
    f->count = *count;
    f->elem_size = elem_size;
    if (*count > max) {
        fail_here(v, errp, VS_VISIT_ERROR_LIMIT,
                  "%" PRIu32 " elements exceed the declared maximum of %" PRIu32, *count, max);
        vs_path_pop(v);
        return false;
    }
    if (!v->ops->start_array(v, name, count, max, elem_size, &local)) {
        record(v, local, errp);
        vs_path_pop(v);
        return false;
    }
    f = &v->frames[v->depth - 1];
    if (*count > max) {
        fail_here(v, errp, VS_VISIT_ERROR_LIMIT,
                  "stream holds %" PRIu32 " elements, more than the declared maximum of %" PRIu32,
                  *count, max);
        if (v->ops->end_array) {
            v->ops->end_array(v);
        }
        vs_path_pop(v);
        return false;
    }
    f->count = *count;
    return true;
}

void vs_visit_end_array(VsVisitor *v)
{
    const VsFrame *top;

    if (!top_is(v, VS_FRAME_ARRAY, "vs_visit_end_array()")) {
        return;
    }
    top = vs_path_top(v);
    if (top->next_index != top->count) {
        breach(v, "%" PRIu32 " of %" PRIu32 " declared elements visited", top->next_index,
               top->count);
    }
    if (v->ops->end_array) {
        v->ops->end_array(v);
    }
    vs_path_pop(v);
}

/* ---- lists ------------------------------------------------------------ */

bool vs_visit_start_list(VsVisitor *v, const char *name, uint32_t max, size_t elem_size,
                         GError **errp)
{
    GError *local = NULL;
    VsFrame *f;
    bool ok;

    if (!may_visit(v, errp)) {
        return false;
    }
    f = vs_path_push(v, VS_FRAME_LIST, name);
    f->max = max;
    f->elem_size = elem_size;
    ok = v->ops->start_list ? v->ops->start_list(v, name, max, elem_size, &local)
                            : unsupported(v, "lists", &local);
    if (!ok) {
        record(v, local, errp);
        vs_path_pop(v);
        return false;
    }
    return true;
}

/* The contract of vs_visit_list_next(): directly in a list, one element per "more". */
static bool list_next_allowed(VsVisitor *v, GError **errp)
{
    const VsFrame *top = vs_path_top(v);

    if (v->error) {
        g_propagate_error(errp, g_error_copy(v->error));
        return false;
    }
    if (v->completed) {
        return fail_here(v, errp, VS_VISIT_ERROR_CONTRACT,
                         "visitor used after vs_visitor_complete()");
    }
    if (!top || top->kind != VS_FRAME_LIST) {
        return fail_here(v, errp, VS_VISIT_ERROR_CONTRACT, "vs_visit_list_next() outside a list");
    }
    if (top->list_ended) {
        return fail_here(v, errp, VS_VISIT_ERROR_CONTRACT,
                         "vs_visit_list_next() after the end of the list");
    }
    if (top->next_index != top->count) {
        return fail_here(v, errp, VS_VISIT_ERROR_CONTRACT,
                         "vs_visit_list_next() before element %" PRIu32 " was visited",
                         top->next_index);
    }
    return true;
}

/* Element number next_index may not exist when it would exceed the maximum. */
static bool list_within_max(VsVisitor *v, bool more, GError **errp)
{
    const VsFrame *top = vs_path_top(v);

    if (more && top->next_index >= top->max) {
        return fail_here(v, errp, VS_VISIT_ERROR_LIMIT,
                         "more than the declared maximum of %" PRIu32 " elements", top->max);
    }
    return true;
}

/* Runs the op; on load the maximum is checked once the stream has spoken. */
static bool list_next_op(VsVisitor *v, bool *more, GError **errp)
{
    GError *local = NULL;
    bool ok;

    ok = v->ops->list_next ? v->ops->list_next(v, more, &local)
                           : unsupported(v, "lists", &local);
    if (!ok) {
        return record(v, local, errp);
    }
    return list_within_max(v, *more, errp);
}

bool vs_visit_list_next(VsVisitor *v, bool *more, GError **errp)
{
    VsFrame *f;

    g_assert(more != NULL);
    /* On save the maximum is checked first, so no marker is written for it. */
    if (!list_next_allowed(v, errp) ||
        (!vs_visit_is_load(v) && !list_within_max(v, *more, errp)) ||
        !list_next_op(v, more, errp)) {
        *more = false;
        return false;
    }
    f = &v->frames[v->depth - 1];
    if (*more) {
        f->count = f->next_index + 1;
    } else {
        f->list_ended = true;
    }
    return true;
}

void vs_visit_end_list(VsVisitor *v)
{
    const VsFrame *top;

    if (!top_is(v, VS_FRAME_LIST, "vs_visit_end_list()")) {
        return;
    }
    top = vs_path_top(v);
    if (top->next_index != top->count) {
        breach(v, "vs_visit_end_list() before element %" PRIu32 " was visited",
               top->next_index);
    } else if (!top->list_ended) {
        breach(v, "vs_visit_end_list() before vs_visit_list_next() reported the end");
    }
    if (v->ops->end_list) {
        v->ops->end_list(v);
    }
    vs_path_pop(v);
}

/* ---- subsections ------------------------------------------------------ */

bool vs_visit_start_subsection(VsVisitor *v, const char *name, const VsTypeInfo *type,
                               uint32_t *version, bool *present, GError **errp)
{
    GError *local = NULL;
    const VsFrame *parent = vs_path_top(v);
    VsFrame *f;

    g_assert(name != NULL && type != NULL && version != NULL && present != NULL);
    if (!may_visit(v, errp)) {
        return false;
    }
    if (!parent || (parent->kind != VS_FRAME_STRUCT && parent->kind != VS_FRAME_SUBSECTION)) {
        return fail_here(v, errp, VS_VISIT_ERROR_CONTRACT,
                         "subsection '%s' outside a struct", name);
    }
    f = vs_path_push(v, VS_FRAME_SUBSECTION, name);
    f->type = type;
    if (!v->ops->start_subsection(v, name, type, version, present, &local)) {
        record(v, local, errp);
        vs_path_pop(v);
        return false;
    }
    if (!*present) {
        vs_path_pop(v);
        return true;
    }
    if (!check_version(v, type, *version, errp)) {
        if (v->ops->end_subsection) {
            v->ops->end_subsection(v);
        }
        vs_path_pop(v);
        return false;
    }
    v->frames[v->depth - 1].version = *version;
    return true;
}

void vs_visit_end_subsection(VsVisitor *v)
{
    if (!top_is(v, VS_FRAME_SUBSECTION, "vs_visit_end_subsection()")) {
        return;
    }
    if (v->ops->end_subsection) {
        v->ops->end_subsection(v);
    }
    vs_path_pop(v);
}

/* ---- leaves ----------------------------------------------------------- */

/* Every leaf runs between leaf_begin() and leaf_end() so errors name it. */
/* A leaf where the fast path below does not apply: checked and reported in full. */
static bool G_GNUC_NO_INLINE leaf_begin_slow(VsVisitor *v, const char *name, GError **errp)
{
    if (!may_visit_slow(v, errp)) {
        return false;
    }
    vs_path_push(v, VS_FRAME_LEAF, name);
    return true;
}

/*
 * may_visit() and vs_path_push() in one, for leaves: the enclosing frame is
 * looked at once, both to check that it takes another part and to number
 * the leaf when it is an element.  A failed or completed visitor, a leaf at
 * the root, a full frame stack and every breach take the slow path.
 */
static inline bool leaf_begin(VsVisitor *v, const char *name, GError **errp)
{
    VsFrame *top;
    int64_t index = -1;

    if (G_UNLIKELY(v->error || v->completed || !v->depth || v->depth == v->frames_alloc)) {
        return leaf_begin_slow(v, name, errp);
    }
    top = &v->frames[v->depth - 1];
    if (top->kind == VS_FRAME_ARRAY || top->kind == VS_FRAME_LIST) {
        if (G_UNLIKELY(top->next_index >= top->count)) {
            return leaf_begin_slow(v, name, errp);
        }
        index = top->next_index++;
        name = NULL;
    } else if (G_UNLIKELY(top->kind == VS_FRAME_LEAF)) {
        return leaf_begin_slow(v, name, errp);
    }
    top[1] = (VsFrame){ .kind = VS_FRAME_LEAF, .name = name, .index = index };
    v->depth++;
    return true;
}

static inline bool leaf_end(VsVisitor *v, bool ok, GError *local, GError **errp)
{
    if (!ok) {
        record(v, local, errp);
    }
    vs_path_pop(v);
    return ok;
}

static inline bool uint_fits(VsVisitor *v, uint64_t val, unsigned width, GError **errp)
{
    if (G_UNLIKELY(width < 8 && val >> (width * 8))) {
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_RANGE,
                             "value 0x%" PRIx64 " does not fit in %u bits", val, width * 8);
    }
    return true;
}

static inline bool int_fits(VsVisitor *v, int64_t val, unsigned width, GError **errp)
{
    int64_t lim = width < 8 ? INT64_C(1) << (width * 8 - 1) : 0;

    if (G_UNLIKELY(width < 8 && (val < -lim || val >= lim))) {
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_RANGE,
                             "value %" PRId64 " does not fit in %u signed bits", val, width * 8);
    }
    return true;
}

/*
 * The bodies of every integer visit, inlined into each width's wrapper so
 * that a narrow visit is one call into the core and, with the width a
 * constant, the range checks fold to a compare (or to nothing on save).
 * Checked on both sides of the op: nothing out of range is ever written.
 */
G_ALWAYS_INLINE static inline bool visit_uint(VsVisitor *v, const char *name,
                                              uint64_t *val, unsigned width, GError **errp)
{
    GError *local = NULL;
    uint64_t tmp = *val;
    bool ok;

    if (!leaf_begin(v, name, errp)) {
        return false;
    }
    ok = uint_fits(v, tmp, width, &local) && v->ops->type_uint(v, name, &tmp, width, &local) &&
         uint_fits(v, tmp, width, &local);
    if (ok) {
        *val = tmp;
    }
    return leaf_end(v, ok, local, errp);
}

G_ALWAYS_INLINE static inline bool visit_int(VsVisitor *v, const char *name,
                                             int64_t *val, unsigned width, GError **errp)
{
    GError *local = NULL;
    int64_t tmp = *val;
    bool ok;

    if (!leaf_begin(v, name, errp)) {
        return false;
    }
    ok = int_fits(v, tmp, width, &local) && v->ops->type_int(v, name, &tmp, width, &local) &&
         int_fits(v, tmp, width, &local);
    if (ok) {
        *val = tmp;
    }
    return leaf_end(v, ok, local, errp);
}

bool vs_visit_uint(VsVisitor *v, const char *name, uint64_t *val, unsigned width,
                   GError **errp)
{
    g_assert(width == 1 || width == 2 || width == 4 || width == 8);
    return visit_uint(v, name, val, width, errp);
}

bool vs_visit_int(VsVisitor *v, const char *name, int64_t *val, unsigned width,
                  GError **errp)
{
    g_assert(width == 1 || width == 2 || width == 4 || width == 8);
    return visit_int(v, name, val, width, errp);
}

#define DEFINE_UINT_VISIT(suffix, ctype, width)                                           \
    bool vs_visit_##suffix(VsVisitor *v, const char *name, ctype *val, GError **errp)     \
    {                                                                                     \
        uint64_t tmp = *val;                                                              \
        if (!visit_uint(v, name, &tmp, width, errp)) {                                    \
            return false;                                                                 \
        }                                                                                 \
        *val = (ctype)tmp;                                                                \
        return true;                                                                      \
    }

#define DEFINE_INT_VISIT(suffix, ctype, width)                                            \
    bool vs_visit_##suffix(VsVisitor *v, const char *name, ctype *val, GError **errp)     \
    {                                                                                     \
        int64_t tmp = *val;                                                               \
        if (!visit_int(v, name, &tmp, width, errp)) {                                     \
            return false;                                                                 \
        }                                                                                 \
        *val = (ctype)tmp;                                                                \
        return true;                                                                      \
    }

DEFINE_UINT_VISIT(u8, uint8_t, 1)
DEFINE_UINT_VISIT(u16, uint16_t, 2)
DEFINE_UINT_VISIT(u32, uint32_t, 4)
DEFINE_UINT_VISIT(u64, uint64_t, 8)
DEFINE_INT_VISIT(i8, int8_t, 1)
DEFINE_INT_VISIT(i16, int16_t, 2)
DEFINE_INT_VISIT(i32, int32_t, 4)
DEFINE_INT_VISIT(i64, int64_t, 8)

bool vs_visit_bool(VsVisitor *v, const char *name, bool *val, GError **errp)
{
    GError *local = NULL;
    bool tmp = *val;
    bool ok;

    if (!leaf_begin(v, name, errp)) {
        return false;
    }
    ok = v->ops->type_bool(v, name, &tmp, &local);
    if (ok) {
        *val = tmp;
    }
    return leaf_end(v, ok, local, errp);
}

bool vs_visit_f64(VsVisitor *v, const char *name, double *val, GError **errp)
{
    GError *local = NULL;
    double tmp = *val;
    bool ok;

    if (!leaf_begin(v, name, errp)) {
        return false;
    }
    if (v->ops->type_f64) {
        ok = v->ops->type_f64(v, name, &tmp, &local);
    } else {
        uint64_t bits;

        memcpy(&bits, &tmp, sizeof(bits));
        ok = v->ops->type_uint(v, name, &bits, 8, &local);
        memcpy(&tmp, &bits, sizeof(tmp));
    }
    if (ok) {
        *val = tmp;
    }
    return leaf_end(v, ok, local, errp);
}

bool vs_visit_buffer(VsVisitor *v, const char *name, uint8_t *buf, size_t len,
                     GError **errp)
{
    GError *local = NULL;
    bool ok;

    g_assert(buf != NULL || len == 0);
    if (!leaf_begin(v, name, errp)) {
        return false;
    }
    ok = v->ops->buffer(v, name, buf, len, &local);
    return leaf_end(v, ok, local, errp);
}

bool vs_visit_string(VsVisitor *v, const char *name, char **str, size_t max_len,
                     GError **errp)
{
    GError *local = NULL;
    bool ok = true;

    g_assert(str != NULL);
    if (!leaf_begin(v, name, errp)) {
        return false;
    }
    if (!vs_visit_is_load(v) && *str && strlen(*str) > max_len) {
        ok = vs_visit_fail(v, &local, VS_VISIT_ERROR_LIMIT,
                           "string of %zu bytes exceeds the maximum of %zu", strlen(*str),
                           max_len);
    }
    if (ok) {
        ok = v->ops->string(v, name, str, max_len, &local);
    }
    if (ok && vs_visit_is_load(v) && (!*str || strlen(*str) > max_len)) {
        ok = vs_visit_fail(v, &local, VS_VISIT_ERROR_LIMIT,
                           "string exceeds the maximum of %zu bytes", max_len);
    }
    return leaf_end(v, ok, local, errp);
}

bool vs_visit_unused(VsVisitor *v, const char *name, size_t len, GError **errp)
{
    GError *local = NULL;
    bool ok;

    if (!leaf_begin(v, name, errp)) {
        return false;
    }
    ok = v->ops->unused(v, name, len, &local);
    return leaf_end(v, ok, local, errp);
}

bool vs_visit_nullptr(VsVisitor *v, const char *name, bool *is_null, GError **errp)
{
    GError *local = NULL;
    bool ok;

    g_assert(is_null != NULL);
    if (!leaf_begin(v, name, errp)) {
        return false;
    }
    if (!v->ops->nullptr_marker) {
        return leaf_end(v, unsupported(v, "null-pointer markers", &local), local, errp);
    }
    ok = v->ops->nullptr_marker(v, name, is_null, &local);
    /*
     * In an array (or list) of pointers a NULL element is the marker alone, while a
     * present element is visited next and takes the slot itself.
     */
    if (ok && !*is_null && v->depth >= 2 && frame_holds_elements(&v->frames[v->depth - 2])) {
        v->frames[v->depth - 2].next_index--;
    }
    return leaf_end(v, ok, local, errp);
}

bool vs_visit_opaque(VsVisitor *v, const char *name, uint8_t **data, size_t *len,
                     size_t max_len, GError **errp)
{
    GError *local = NULL;
    bool ok = true;

    g_assert(data != NULL && len != NULL);
    if (!leaf_begin(v, name, errp)) {
        return false;
    }
    if (!v->ops->opaque) {
        ok = unsupported(v, "opaque payloads", &local);
    } else if (*len > max_len) {
        ok = vs_visit_fail(v, &local, VS_VISIT_ERROR_LIMIT,
                           "payload of %zu bytes exceeds the maximum of %zu", *len, max_len);
    }
    if (ok) {
        ok = v->ops->opaque(v, name, data, len, max_len, &local);
    }
    if (ok && *len > max_len) {
        ok = vs_visit_fail(v, &local, VS_VISIT_ERROR_LIMIT,
                           "payload of %zu bytes exceeds the maximum of %zu", *len, max_len);
    }
    return leaf_end(v, ok, local, errp);
}

bool vs_visit_u8_array(VsVisitor *v, const char *name, uint8_t *vals, uint32_t count,
                       GError **errp)
{
    uint32_t n = count;
    bool ok = true;

    if (!vs_visit_start_array(v, name, &n, count, 1, errp)) {
        return false;
    }
    if (n != count) {
        ok = fail_here(v, errp, VS_VISIT_ERROR_MISMATCH,
                       "stream holds %" PRIu32 " elements, expected %" PRIu32, n, count);
    }
    for (uint32_t i = 0; ok && i < n; i++) {
        ok = vs_visit_u8(v, NULL, &vals[i], errp);
    }
    vs_visit_end_array(v);
    return ok;
}

/* ---- completion ------------------------------------------------------- */

bool vs_visitor_complete(VsVisitor *v, GError **errp)
{
    GError *local = NULL;

    if (v->error) {
        g_propagate_error(errp, g_error_copy(v->error));
        return false;
    }
    if (v->completed) {
        return fail_here(v, errp, VS_VISIT_ERROR_CONTRACT, "visitor completed twice");
    }
    if (v->depth) {
        return fail_here(v, errp, VS_VISIT_ERROR_CONTRACT, "walk ended with %zu open start(s)",
                         v->depth);
    }
    v->completed = true;
    if (v->ops->complete && !v->ops->complete(v, &local)) {
        return record(v, local, errp);
    }
    return true;
}
