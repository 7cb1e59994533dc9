/*
 * tee-visitor.c: forwards one walk to a primary visitor and an observer
 * (see tee-visitor.h).
 *
 * SPDX-License-Identifier: MIT
 *
 * Every op calls the public wrapper on the primary, then on the observer,
 * so each inner visitor's core keeps its own path and checks its own
 * contract.  Ends go in the reverse order of starts: observer, then primary.
 */
#include "visitor/pretty/tee-visitor.h"
#include "visitor/visitor-impl.h"

typedef struct TeeVisitor {
    VsVisitor base;     /* must stay first */
    VsVisitor *primary;
    VsVisitor *observer;
} TeeVisitor;

G_STATIC_ASSERT(offsetof(TeeVisitor, base) == 0);

static TeeVisitor *to_tee(VsVisitor *v)
{
    return (TeeVisitor *)v;
}

/*
 * Passes @ok through; on failure of the primary, marks the observer failed
 * too: the walker now stops early and only ends what it started, which a
 * healthy visitor would report as a contract breach.
 */
static bool tee_primary_ok(TeeVisitor *t, bool ok)
{
    if (!ok) {
        vs_visitor_poison(t->observer, vs_visitor_error(t->primary));
    }
    return ok;
}

/* Passes @ok through; on failure of the observer, marks the primary failed. */
static bool tee_observer_ok(TeeVisitor *t, bool ok)
{
    if (!ok) {
        vs_visitor_poison(t->primary, vs_visitor_error(t->observer));
    }
    return ok;
}

/*
 * Before an end: when the tee's own core failed the walk (a check that runs
 * before the op, such as a list's maximum on save), the inner visitors never
 * heard of it; mark them failed so the walker's early ends are no breach.
 */
static void tee_share_failure(TeeVisitor *t)
{
    const GError *err = vs_visitor_error(&t->base);

    if (err) {
        vs_visitor_poison(t->primary, err);
        vs_visitor_poison(t->observer, err);
    }
}

/* ---- containers -------------------------------------------------------- */

static bool tee_start_struct(VsVisitor *v, const char *name, const VsTypeInfo *type,
                             uint32_t *version, GError **errp)
{
    TeeVisitor *t = to_tee(v);

    if (!tee_primary_ok(t, vs_visit_start_struct(t->primary, name, type, version, errp))) {
        return false;
    }
    if (!tee_observer_ok(t, vs_visit_start_struct(t->observer, name, type, version, errp))) {
        vs_visit_end_struct(t->primary);
        return false;
    }
    return true;
}

static bool tee_check_struct(VsVisitor *v, GError **errp)
{
    TeeVisitor *t = to_tee(v);

    return tee_primary_ok(t, vs_visit_check_struct(t->primary, errp)) &&
           tee_observer_ok(t, vs_visit_check_struct(t->observer, errp));
}

static void tee_end_struct(VsVisitor *v)
{
    TeeVisitor *t = to_tee(v);

    tee_share_failure(t);
    vs_visit_end_struct(t->observer);
    vs_visit_end_struct(t->primary);
}

static bool tee_start_array(VsVisitor *v, const char *name, uint32_t *count, uint32_t max,
                            size_t elem_size, GError **errp)
{
    TeeVisitor *t = to_tee(v);

    if (!tee_primary_ok(t, vs_visit_start_array(t->primary, name, count, max, elem_size,
                                                errp))) {
        return false;
    }
    if (!tee_observer_ok(t, vs_visit_start_array(t->observer, name, count, max, elem_size,
                                                 errp))) {
        vs_visit_end_array(t->primary);
        return false;
    }
    return true;
}

static void tee_end_array(VsVisitor *v)
{
    TeeVisitor *t = to_tee(v);

    tee_share_failure(t);
    vs_visit_end_array(t->observer);
    vs_visit_end_array(t->primary);
}

static bool tee_start_subsection(VsVisitor *v, const char *name, const VsTypeInfo *type,
                                 uint32_t *version, bool *present, GError **errp)
{
    TeeVisitor *t = to_tee(v);

    if (!tee_primary_ok(t, vs_visit_start_subsection(t->primary, name, type, version,
                                                     present, errp))) {
        return false;
    }
    if (!tee_observer_ok(t, vs_visit_start_subsection(t->observer, name, type, version,
                                                      present, errp))) {
        if (*present) {
            vs_visit_end_subsection(t->primary);
        }
        return false;
    }
    return true;
}

static void tee_end_subsection(VsVisitor *v)
{
    TeeVisitor *t = to_tee(v);

    tee_share_failure(t);
    vs_visit_end_subsection(t->observer);
    vs_visit_end_subsection(t->primary);
}

static bool tee_start_list(VsVisitor *v, const char *name, uint32_t max, size_t elem_size,
                           GError **errp)
{
    TeeVisitor *t = to_tee(v);

    if (!tee_primary_ok(t, vs_visit_start_list(t->primary, name, max, elem_size, errp))) {
        return false;
    }
    if (!tee_observer_ok(t, vs_visit_start_list(t->observer, name, max, elem_size, errp))) {
        vs_visit_end_list(t->primary);
        return false;
    }
    return true;
}

/* The observer is told what the primary decided (on load: what it read). */
static bool tee_list_next(VsVisitor *v, bool *more, GError **errp)
{
    TeeVisitor *t = to_tee(v);

    return tee_primary_ok(t, vs_visit_list_next(t->primary, more, errp)) &&
           tee_observer_ok(t, vs_visit_list_next(t->observer, more, errp));
}

static void tee_end_list(VsVisitor *v)
{
    TeeVisitor *t = to_tee(v);

    tee_share_failure(t);
    vs_visit_end_list(t->observer);
    vs_visit_end_list(t->primary);
}

/* ---- leaves ------------------------------------------------------------ */

static bool tee_type_uint(VsVisitor *v, const char *name, uint64_t *val, unsigned width,
                          GError **errp)
{
    TeeVisitor *t = to_tee(v);

    return tee_primary_ok(t, vs_visit_uint(t->primary, name, val, width, errp)) &&
           tee_observer_ok(t, vs_visit_uint(t->observer, name, val, width, errp));
}

static bool tee_type_int(VsVisitor *v, const char *name, int64_t *val, unsigned width,
                         GError **errp)
{
    TeeVisitor *t = to_tee(v);

    return tee_primary_ok(t, vs_visit_int(t->primary, name, val, width, errp)) &&
           tee_observer_ok(t, vs_visit_int(t->observer, name, val, width, errp));
}

static bool tee_type_bool(VsVisitor *v, const char *name, bool *val, GError **errp)
{
    TeeVisitor *t = to_tee(v);

    return tee_primary_ok(t, vs_visit_bool(t->primary, name, val, errp)) &&
           tee_observer_ok(t, vs_visit_bool(t->observer, name, val, errp));
}

static bool tee_type_f64(VsVisitor *v, const char *name, double *val, GError **errp)
{
    TeeVisitor *t = to_tee(v);

    return tee_primary_ok(t, vs_visit_f64(t->primary, name, val, errp)) &&
           tee_observer_ok(t, vs_visit_f64(t->observer, name, val, errp));
}

static bool tee_buffer(VsVisitor *v, const char *name, uint8_t *buf, size_t len,
                       GError **errp)
{
    TeeVisitor *t = to_tee(v);

    return tee_primary_ok(t, vs_visit_buffer(t->primary, name, buf, len, errp)) &&
           tee_observer_ok(t, vs_visit_buffer(t->observer, name, buf, len, errp));
}

static bool tee_string(VsVisitor *v, const char *name, char **str, size_t max_len,
                       GError **errp)
{
    TeeVisitor *t = to_tee(v);

    return tee_primary_ok(t, vs_visit_string(t->primary, name, str, max_len, errp)) &&
           tee_observer_ok(t, vs_visit_string(t->observer, name, str, max_len, errp));
}

static bool tee_unused(VsVisitor *v, const char *name, size_t len, GError **errp)
{
    TeeVisitor *t = to_tee(v);

    return tee_primary_ok(t, vs_visit_unused(t->primary, name, len, errp)) &&
           tee_observer_ok(t, vs_visit_unused(t->observer, name, len, errp));
}

static bool tee_nullptr_marker(VsVisitor *v, const char *name, bool *is_null, GError **errp)
{
    TeeVisitor *t = to_tee(v);

    return tee_primary_ok(t, vs_visit_nullptr(t->primary, name, is_null, errp)) &&
           tee_observer_ok(t, vs_visit_nullptr(t->observer, name, is_null, errp));
}

static bool tee_opaque(VsVisitor *v, const char *name, uint8_t **data, size_t *len,
                       size_t max_len, GError **errp)
{
    TeeVisitor *t = to_tee(v);

    return tee_primary_ok(t, vs_visit_opaque(t->primary, name, data, len, max_len, errp)) &&
           tee_observer_ok(t, vs_visit_opaque(t->observer, name, data, len, max_len, errp));
}

/* Completes both; the primary's failure is the one reported. */
static bool tee_complete(VsVisitor *v, GError **errp)
{
    TeeVisitor *t = to_tee(v);
    bool primary_ok = vs_visitor_complete(t->primary, errp);
    bool observer_ok = vs_visitor_complete(t->observer, primary_ok ? errp : NULL);

    return primary_ok && observer_ok;
}

#define TEE_OPS_COMMON                          \
    .impl_name = "tee",                         \
    .start_struct = tee_start_struct,           \
    .check_struct = tee_check_struct,           \
    .end_struct = tee_end_struct,               \
    .start_array = tee_start_array,             \
    .end_array = tee_end_array,                 \
    .start_subsection = tee_start_subsection,   \
    .end_subsection = tee_end_subsection,       \
    .start_list = tee_start_list,               \
    .list_next = tee_list_next,                 \
    .end_list = tee_end_list,                   \
    .type_uint = tee_type_uint,                 \
    .type_int = tee_type_int,                   \
    .type_bool = tee_type_bool,                 \
    .type_f64 = tee_type_f64,                   \
    .buffer = tee_buffer,                       \
    .string = tee_string,                       \
    .unused = tee_unused,                       \
    .nullptr_marker = tee_nullptr_marker,       \
    .opaque = tee_opaque,                       \
    .complete = tee_complete

/* The tee has its primary's kind; an ops table carries the kind. */
static const VsVisitorOps tee_save_ops = {
    .kind = VS_VISITOR_SAVE,
    TEE_OPS_COMMON,
};

static const VsVisitorOps tee_load_ops = {
    .kind = VS_VISITOR_LOAD,
    TEE_OPS_COMMON,
};

VsVisitor *vs_tee_visitor_new(TALLOC_CTX *mem_ctx, VsVisitor *primary, VsVisitor *observer)
{
    const VsVisitorOps *ops;
    TeeVisitor *t;

    g_assert(primary != NULL && observer != NULL && primary != observer);
    g_assert(vs_visitor_kind(observer) == VS_VISITOR_SAVE);
    ops = vs_visit_is_load(primary) ? &tee_load_ops : &tee_save_ops;
    t = vs_visitor_new(mem_ctx, ops, TeeVisitor, vs_visitor_result_ctx(primary));
    t->primary = primary;
    t->observer = observer;
    return &t->base;
}
