/*
 * trace-visitor.c: a SAVE visitor that writes TRACE lines while the walk
 * runs (see pretty.h).
 *
 * SPDX-License-Identifier: MIT
 *
 * Each leaf is formatted by vs_render_trace_leaf() from a node on the
 * stack, at the path the core renders with vs_visitor_trace_path(), so the
 * lines are exactly those vs_render_trace() writes for the builder's tree of
 * the same walk.  Containers write nothing of their own.
 */
#include "visitor/pretty/pretty.h"
#include "visitor/visitor-impl.h"

#include <errno.h>

typedef struct TraceVisitor {
    VsVisitor base; /* must stay first */
    GString *out;   /* string mode: the caller's; file mode: a line buffer we own */
    FILE *fp;       /* file mode only */
} TraceVisitor;

G_STATIC_ASSERT(offsetof(TraceVisitor, base) == 0);

static TraceVisitor *to_trace_visitor(VsVisitor *v)
{
    return (TraceVisitor *)v;
}

static bool trace_visitor_write_failed(VsVisitor *v, GError **errp)
{
    int err = errno ? errno : EIO;

    return vs_visit_fail(v, errp, VS_VISIT_ERROR_IO, "writing the trace failed: %s",
                         g_strerror(err));
}

/* In file mode, moves the buffered lines to the stream. */
static bool trace_visitor_flush_lines(VsVisitor *v, GError **errp)
{
    TraceVisitor *tv = to_trace_visitor(v);
    size_t n = tv->out->len;

    size_t written;

    if (!tv->fp || n == 0) {
        return true;
    }
    errno = 0;
    written = fwrite(tv->out->str, 1, n, tv->fp);
    g_string_truncate(tv->out, 0);
    if (written != n) {
        return trace_visitor_write_failed(v, errp);
    }
    return true;
}

static bool trace_visitor_emit(VsVisitor *v, const VsNode *leaf, GError **errp)
{
    TraceVisitor *tv = to_trace_visitor(v);

    vs_render_trace_leaf(tv->out, vs_visitor_trace_path(v), leaf);
    return trace_visitor_flush_lines(v, errp);
}

static bool trace_visitor_start_struct(VsVisitor *v, const char *name, const VsTypeInfo *type,
                                       uint32_t *version, GError **errp)
{
    return true;
}

static bool trace_visitor_start_array(VsVisitor *v, const char *name, uint32_t *count,
                                      uint32_t max, size_t elem_size, GError **errp)
{
    return true;
}

static bool trace_visitor_start_list(VsVisitor *v, const char *name, uint32_t max,
                                     size_t elem_size, GError **errp)
{
    return true;
}

/* The elements' paths carry the list; the markers write nothing. */
static bool trace_visitor_list_next(VsVisitor *v, bool *more, GError **errp)
{
    return true;
}

static bool trace_visitor_start_subsection(VsVisitor *v, const char *name,
                                           const VsTypeInfo *type, uint32_t *version,
                                           bool *present, GError **errp)
{
    return true;
}

static bool trace_visitor_type_uint(VsVisitor *v, const char *name, uint64_t *val,
                                    unsigned width, GError **errp)
{
    VsNode leaf = { .kind = VS_NODE_UINT, .width = width, .value.u = *val };

    return trace_visitor_emit(v, &leaf, errp);
}

static bool trace_visitor_type_int(VsVisitor *v, const char *name, int64_t *val,
                                   unsigned width, GError **errp)
{
    VsNode leaf = { .kind = VS_NODE_INT, .width = width, .value.i = *val };

    return trace_visitor_emit(v, &leaf, errp);
}

static bool trace_visitor_type_bool(VsVisitor *v, const char *name, bool *val, GError **errp)
{
    VsNode leaf = { .kind = VS_NODE_BOOL, .value.b = *val };

    return trace_visitor_emit(v, &leaf, errp);
}

static bool trace_visitor_type_f64(VsVisitor *v, const char *name, double *val,
                                   GError **errp)
{
    VsNode leaf = { .kind = VS_NODE_F64, .value.f = *val };

    return trace_visitor_emit(v, &leaf, errp);
}

static bool trace_visitor_buffer(VsVisitor *v, const char *name, uint8_t *buf, size_t len,
                                 GError **errp)
{
    VsNode leaf = { .kind = VS_NODE_BUFFER, .bytes = buf, .len = len };

    return trace_visitor_emit(v, &leaf, errp);
}

static bool trace_visitor_string(VsVisitor *v, const char *name, char **str, size_t max_len,
                                 GError **errp)
{
    VsNode leaf = { .kind = VS_NODE_STRING, .str = *str };

    return trace_visitor_emit(v, &leaf, errp);
}

static bool trace_visitor_unused(VsVisitor *v, const char *name, size_t len, GError **errp)
{
    VsNode leaf = { .kind = VS_NODE_UNUSED, .len = len };

    return trace_visitor_emit(v, &leaf, errp);
}

/* A present pointer writes nothing: its element is visited next. */
static bool trace_visitor_nullptr_marker(VsVisitor *v, const char *name, bool *is_null,
                                         GError **errp)
{
    VsNode leaf = { .kind = VS_NODE_NULL };

    return *is_null ? trace_visitor_emit(v, &leaf, errp) : true;
}

static bool trace_visitor_opaque(VsVisitor *v, const char *name, uint8_t **data,
                                 size_t *len, size_t max_len, GError **errp)
{
    VsNode leaf = { .kind = VS_NODE_OPAQUE, .bytes = *data, .len = *len };

    return trace_visitor_emit(v, &leaf, errp);
}

static bool trace_visitor_complete(VsVisitor *v, GError **errp)
{
    TraceVisitor *tv = to_trace_visitor(v);

    errno = 0;
    if (tv->fp && fflush(tv->fp) != 0) {
        return trace_visitor_write_failed(v, errp);
    }
    return true;
}

static void trace_visitor_destroy(VsVisitor *v)
{
    TraceVisitor *tv = to_trace_visitor(v);

    if (tv->fp) {
        g_string_free(tv->out, TRUE);
    }
}

static const VsVisitorOps trace_visitor_ops = {
    .kind = VS_VISITOR_SAVE,
    .impl_name = "trace",
    .start_struct = trace_visitor_start_struct,
    .start_array = trace_visitor_start_array,
    .start_subsection = trace_visitor_start_subsection,
    .start_list = trace_visitor_start_list,
    .list_next = trace_visitor_list_next,
    .type_uint = trace_visitor_type_uint,
    .type_int = trace_visitor_type_int,
    .type_bool = trace_visitor_type_bool,
    .type_f64 = trace_visitor_type_f64,
    .buffer = trace_visitor_buffer,
    .string = trace_visitor_string,
    .unused = trace_visitor_unused,
    .nullptr_marker = trace_visitor_nullptr_marker,
    .opaque = trace_visitor_opaque,
    .complete = trace_visitor_complete,
    .destroy = trace_visitor_destroy,
};

VsVisitor *vs_trace_visitor_new(TALLOC_CTX *mem_ctx, GString *out)
{
    TraceVisitor *tv;

    g_assert(out != NULL);
    tv = vs_visitor_new(mem_ctx, &trace_visitor_ops, TraceVisitor, NULL);
    tv->out = out;
    return &tv->base;
}

VsVisitor *vs_trace_visitor_new_file(TALLOC_CTX *mem_ctx, FILE *fp)
{
    TraceVisitor *tv;

    g_assert(fp != NULL);
    tv = vs_visitor_new(mem_ctx, &trace_visitor_ops, TraceVisitor, NULL);
    tv->fp = fp;
    tv->out = g_string_new(NULL);
    return &tv->base;
}
