/*
 * test-tee.c: the tee visitor: one walk forwarded to a primary visitor and
 * a SAVE observer, on save and on load, and its failure paths.
 *
 * SPDX-License-Identifier: MIT
 *
 * Loads mostly use the tree reader as primary (any LOAD visitor would do);
 * one pair of tests tees the legacy load visitor with a trace.  The
 * failure paths use a small "fail-at" SAVE visitor defined here that fails
 * the operation whose trace path equals a given string and logs every
 * operation it sees.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "examples/example-walkers.h"
#include "test-helpers.h"
#include "visitor/pretty/pretty.h"
#include "visitor/pretty/tee-visitor.h"
#include "visitor/qemufile/legacy-visitor.h"
#include "visitor/qemufile/qemufile.h"
#include "visitor/visitor-impl.h"

/* ---- fixtures ---------------------------------------------------------- */

/* ---- a SAVE visitor that fails where it is told ------------------------ */

typedef struct FailAtVisitor {
    VsVisitor base;
    const char *fail_at;    /* trace path of the op to fail; NULL: never */
    const char *fail_op;    /* and only this op ("next"); NULL: any op there */
    GString *log;           /* "op path" per line; ends are logged too */
} FailAtVisitor;

static bool failat_note(VsVisitor *v, const char *op, GError **errp)
{
    FailAtVisitor *fv = (FailAtVisitor *)v;
    const char *path = vs_visitor_trace_path(v);

    g_string_append_printf(fv->log, "%s %s\n", op, path);
    if (fv->fail_at && strcmp(fv->fail_at, path) == 0 &&
        (!fv->fail_op || strcmp(fv->fail_op, op) == 0)) {
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_IO, "injected failure");
    }
    return true;
}

static bool failat_start_struct(VsVisitor *v, const char *name, const VsTypeInfo *type,
                                uint32_t *version, GError **errp)
{
    return failat_note(v, "struct", errp);
}

static void failat_end(VsVisitor *v)
{
    failat_note(v, "end", NULL);
}

static bool failat_start_array(VsVisitor *v, const char *name, uint32_t *count, uint32_t max,
                               size_t elem_size, GError **errp)
{
    return failat_note(v, "array", errp);
}

static bool failat_start_subsection(VsVisitor *v, const char *name, const VsTypeInfo *type,
                                    uint32_t *version, bool *present, GError **errp)
{
    return failat_note(v, *present ? "subsection" : "absent", errp);
}

static bool failat_start_list(VsVisitor *v, const char *name, uint32_t max, size_t elem_size,
                              GError **errp)
{
    return failat_note(v, "list", errp);
}

static bool failat_list_next(VsVisitor *v, bool *more, GError **errp)
{
    return failat_note(v, *more ? "next" : "last", errp);
}

static bool failat_type_uint(VsVisitor *v, const char *name, uint64_t *val, unsigned width,
                             GError **errp)
{
    return failat_note(v, "uint", errp);
}

static bool failat_type_int(VsVisitor *v, const char *name, int64_t *val, unsigned width,
                            GError **errp)
{
    return failat_note(v, "int", errp);
}

static bool failat_type_bool(VsVisitor *v, const char *name, bool *val, GError **errp)
{
    return failat_note(v, "bool", errp);
}

static bool failat_buffer(VsVisitor *v, const char *name, uint8_t *buf, size_t len,
                          GError **errp)
{
    return failat_note(v, "buffer", errp);
}

static bool failat_string(VsVisitor *v, const char *name, char **str, size_t max_len,
                          GError **errp)
{
    return failat_note(v, "string", errp);
}

static bool failat_unused(VsVisitor *v, const char *name, size_t len, GError **errp)
{
    return failat_note(v, "unused", errp);
}

static bool failat_nullptr_marker(VsVisitor *v, const char *name, bool *is_null,
                                  GError **errp)
{
    return failat_note(v, "nullptr", errp);
}

static const VsVisitorOps failat_ops = {
    .kind = VS_VISITOR_SAVE,
    .impl_name = "fail-at",
    .start_struct = failat_start_struct,
    .end_struct = failat_end,
    .start_array = failat_start_array,
    .end_array = failat_end,
    .start_subsection = failat_start_subsection,
    .end_subsection = failat_end,
    .start_list = failat_start_list,
    .list_next = failat_list_next,
    .end_list = failat_end,
    .type_uint = failat_type_uint,
    .type_int = failat_type_int,
    .type_bool = failat_type_bool,
    .buffer = failat_buffer,
    .string = failat_string,
    .unused = failat_unused,
    .nullptr_marker = failat_nullptr_marker,
};

static VsVisitor *failat_new(TALLOC_CTX *ctx, const char *fail_at, GString *log)
{
    FailAtVisitor *fv = vs_visitor_new(ctx, &failat_ops, FailAtVisitor, NULL);

    fv->fail_at = fail_at;
    fv->log = log;
    return &fv->base;
}

/* ---- helpers ----------------------------------------------------------- */

static VsNode *demo_tree(TALLOC_CTX *ctx, unsigned seed)
{
    VsExDemo demo;
    VsExInner storage[VS_EX_SLOTS];
    VsVisitor *b = vs_tree_builder_new(ctx, ctx);
    GError *err = NULL;
    VsNode *root;

    vs_ex_demo_fill(&demo, storage, seed);
    assert_true(vs_ex_visit_demo(b, "vsdemo", &demo, &err));
    assert_true(vs_visitor_complete(b, &err));
    root = vs_tree_builder_root(b);
    vs_visitor_free(b);
    return root;
}

/* The error @v's later operations report: it has failed, not breached. */
static void assert_failed_with(VsVisitor *v, int code)
{
    g_autoptr(GError) err = NULL;

    assert_true(vs_visitor_failed(v));
    assert_int_equal(vs_visitor_depth(v), 0);
    assert_false(vs_visitor_complete(v, &err));
    assert_int_equal(err->code, code);
}

/* ---- save -------------------------------------------------------------- */

static void test_tee_save_two_builders(void **state)
{
    for (unsigned seed = 0; seed < 6; seed++) {
        TALLOC_CTX *ctx = talloc_new(*state);
        VsExDemo demo;
        VsExInner storage[VS_EX_SLOTS];
        VsVisitor *b1 = vs_tree_builder_new(ctx, ctx);
        VsVisitor *b2 = vs_tree_builder_new(ctx, ctx);
        VsVisitor *tee = vs_tee_visitor_new(ctx, b1, b2);
        GError *err = NULL;

        assert_int_equal(vs_visitor_kind(tee), VS_VISITOR_SAVE);
        assert_string_equal(vs_visitor_impl_name(tee), "tee");
        vs_ex_demo_fill(&demo, storage, seed);
        assert_true(vs_ex_visit_demo(tee, "vsdemo", &demo, &err));
        assert_true(vs_visitor_complete(tee, &err));
        assert_null(err);
        assert_non_null(vs_tree_builder_root(b1));
        assert_true(vs_node_equal(vs_tree_builder_root(b1), vs_tree_builder_root(b2)));
        assert_true(vs_node_equal(vs_tree_builder_root(b1), demo_tree(ctx, seed)));
        /* Both inner visitors were completed by the tee. */
        assert_false(vs_visitor_complete(b1, NULL));
        assert_false(vs_visitor_complete(b2, NULL));
        talloc_free(ctx);
    }
}

static void test_tee_save_builder_and_trace(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    VsExPic pic = { .irr = 0x10, .elcr = 0xc };
    g_autoptr(GString) trace = g_string_new(NULL);
    g_autoptr(GString) rendered = g_string_new(NULL);
    VsVisitor *b = vs_tree_builder_new(ctx, ctx);
    VsVisitor *t = vs_trace_visitor_new(ctx, trace);
    VsVisitor *tee = vs_tee_visitor_new(ctx, b, t);
    GError *err = NULL;

    assert_true(vs_ex_visit_pic(tee, "i8259", &pic, &err));
    assert_true(vs_visitor_complete(tee, &err));
    vs_render_trace(rendered, vs_tree_builder_root(b));
    assert_string_equal(trace->str, rendered->str);
    assert_non_null(strstr(trace->str, "\ni8259.irr = (uint8) 0x10\n"));
    talloc_free(ctx);
}

/* A tee is a visitor like any other: tees nest. */
static void test_tee_nested(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    VsExDemo demo;
    VsExInner storage[VS_EX_SLOTS];
    g_autoptr(GString) trace = g_string_new(NULL);
    VsVisitor *b1 = vs_tree_builder_new(ctx, ctx);
    VsVisitor *b2 = vs_tree_builder_new(ctx, ctx);
    VsVisitor *t = vs_trace_visitor_new(ctx, trace);
    VsVisitor *inner = vs_tee_visitor_new(ctx, b1, t);
    VsVisitor *outer = vs_tee_visitor_new(ctx, inner, b2);
    GError *err = NULL;

    vs_ex_demo_fill(&demo, storage, 5);
    assert_true(vs_ex_visit_demo(outer, "vsdemo", &demo, &err));
    assert_true(vs_visitor_complete(outer, &err));
    assert_true(vs_node_equal(vs_tree_builder_root(b1), vs_tree_builder_root(b2)));
    assert_non_null(strstr(trace->str, "vsdemo.vsdemo/irq.irq_pending = (uint8) 0x2\n"));
    talloc_free(ctx);
}

/* ---- load -------------------------------------------------------------- */

static void test_tee_load_reader_and_builder(void **state)
{
    for (unsigned seed = 0; seed < 6; seed++) {
        TALLOC_CTX *ctx = talloc_new(*state);
        TALLOC_CTX *result_ctx = talloc_new(ctx);
        VsExDemo orig, loaded;
        VsExInner orig_storage[VS_EX_SLOTS], storage[VS_EX_SLOTS];
        VsNode *src = demo_tree(ctx, seed);
        VsVisitor *r = vs_tree_reader_new(ctx, src, result_ctx);
        VsVisitor *b = vs_tree_builder_new(ctx, ctx);
        VsVisitor *tee = vs_tee_visitor_new(ctx, r, b);
        GError *err = NULL;

        assert_int_equal(vs_visitor_kind(tee), VS_VISITOR_LOAD);
        assert_ptr_equal(vs_visitor_result_ctx(tee), result_ctx);
        vs_ex_demo_fill(&orig, orig_storage, seed);
        vs_ex_demo_prepare_load(&loaded, storage, seed);
        assert_true(vs_ex_visit_demo(tee, "vsdemo", &loaded, &err));
        assert_true(vs_visitor_complete(tee, &err));
        assert_null(err);
        assert_true(vs_ex_demo_equal(&orig, &loaded));
        /* The observer saw the loaded values, versions and subsections. */
        assert_true(vs_node_equal(vs_tree_builder_root(b), src));
        talloc_free(ctx);
    }
}

static void test_tee_load_reader_and_trace(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    VsExDemo loaded;
    VsExInner storage[VS_EX_SLOTS];
    g_autoptr(GString) trace = g_string_new(NULL);
    g_autoptr(GString) rendered = g_string_new(NULL);
    VsNode *src = demo_tree(ctx, 1);
    VsVisitor *r = vs_tree_reader_new(ctx, src, NULL);
    VsVisitor *t = vs_trace_visitor_new(ctx, trace);
    VsVisitor *tee = vs_tee_visitor_new(ctx, r, t);
    GError *err = NULL;

    vs_ex_demo_prepare_load(&loaded, storage, 1);
    assert_true(vs_ex_visit_demo(tee, "vsdemo", &loaded, &err));
    assert_true(vs_visitor_complete(tee, &err));
    vs_render_trace(rendered, src);
    assert_string_equal(trace->str, rendered->str);
    talloc_free(ctx);
}

/* The struct version the primary loads is the one the observer records. */
static void test_tee_load_version_reaches_observer(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    VsExDemo loaded;
    VsExInner storage[VS_EX_SLOTS];
    VsNode *src = demo_tree(ctx, 1);
    VsVisitor *r;
    VsVisitor *b = vs_tree_builder_new(ctx, ctx);
    VsVisitor *tee;
    GError *err = NULL;

    src->version = 1;
    vs_node_free(vs_node_child(src, "extra"));
    r = vs_tree_reader_new(ctx, src, NULL);
    tee = vs_tee_visitor_new(ctx, r, b);
    vs_ex_demo_prepare_load(&loaded, storage, 1);
    assert_true(vs_ex_visit_demo(tee, "vsdemo", &loaded, &err));
    assert_int_equal(vs_tree_builder_root(b)->version, 1);
    assert_null(vs_node_child(vs_tree_builder_root(b), "extra"));
    assert_true(vs_node_equal(vs_tree_builder_root(b), src));
    talloc_free(ctx);
}

/* The legacy bytes of demo @seed, copied into @ctx; *@ret_len gets their length. */
static uint8_t *legacy_demo_bytes(TALLOC_CTX *ctx, unsigned seed, size_t *ret_len)
{
    VsExDemo demo;
    VsExInner storage[VS_EX_SLOTS];
    VsQemuFile *out = vs_qemufile_new_memory_writer(ctx);
    VsVisitor *save = vs_legacy_save_visitor_new(ctx, out);
    GError *err = NULL;
    const uint8_t *data;
    uint8_t *copy;

    vs_ex_demo_fill(&demo, storage, seed);
    assert_true(vs_ex_visit_demo(save, "vsdemo", &demo, &err));
    assert_true(vs_visitor_complete(save, &err));
    data = vs_qemufile_memory_data(out, ret_len);
    copy = talloc_memdup(ctx, data, *ret_len);
    vs_visitor_free(save);
    vs_qemufile_free(out);
    return copy;
}

/* Legacy load + trace: the trace of the load equals the trace of the save. */
static void test_tee_load_legacy_and_trace(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    VsExDemo orig, loaded;
    VsExInner orig_storage[VS_EX_SLOTS], storage[VS_EX_SLOTS];
    g_autoptr(GString) trace = g_string_new(NULL);
    g_autoptr(GString) rendered = g_string_new(NULL);
    size_t len;
    uint8_t *bytes = legacy_demo_bytes(ctx, 1, &len);
    VsQemuFile *in = vs_qemufile_new_memory_reader(ctx, bytes, len);
    VsVisitor *load = vs_legacy_load_visitor_new(ctx, in, ctx);
    VsVisitor *tee = vs_tee_visitor_new(ctx, load, vs_trace_visitor_new(ctx, trace));
    GError *err = NULL;

    vs_visitor_set_root_version(load, 2);
    vs_ex_demo_fill(&orig, orig_storage, 1);
    vs_ex_demo_prepare_load(&loaded, storage, 1);
    assert_true(vs_ex_visit_demo(tee, "vsdemo", &loaded, &err));
    assert_true(vs_visitor_complete(tee, &err));
    assert_null(err);
    assert_true(vs_ex_demo_equal(&orig, &loaded));
    vs_render_trace(rendered, demo_tree(ctx, 1));
    assert_string_equal(trace->str, rendered->str);
    talloc_free(ctx);
}

/* A truncated stream: the trace shows every value loaded before the end. */
static void test_tee_fail_legacy_truncated(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    VsExDemo loaded;
    VsExInner storage[VS_EX_SLOTS];
    g_autoptr(GString) trace = g_string_new(NULL);
    size_t len;
    uint8_t *bytes = legacy_demo_bytes(ctx, 1, &len);
    /* id(2) temperature(4) enabled(1) counter(8) gain(8) inner(5) regs(8), then
     * fifo_len and one byte short of the fifo */
    VsQemuFile *in = vs_qemufile_new_memory_reader(ctx, bytes, 2 + 4 + 1 + 8 + 8 + 5 + 8 + 1 + 3);
    VsVisitor *load = vs_legacy_load_visitor_new(ctx, in, ctx);
    VsVisitor *t = vs_trace_visitor_new(ctx, trace);
    VsVisitor *tee = vs_tee_visitor_new(ctx, load, t);
    g_autoptr(GError) err = NULL;

    assert_true(len > 40);
    vs_ex_demo_prepare_load(&loaded, storage, 1);
    assert_false(vs_ex_visit_demo(tee, "vsdemo", &loaded, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_TRUNCATED, "vsdemo.fifo[3]");
    assert_true(g_str_has_suffix(trace->str, "vsdemo.fifo_len = (uint8) 0x4\n"
                                             "vsdemo.fifo(4)(1).[0] = (uint8) 0xa0\n"
                                             "vsdemo.fifo(4)(1).[1] = (uint8) 0xa1\n"
                                             "vsdemo.fifo(4)(1).[2] = (uint8) 0xa2\n"));
    assert_failed_with(t, VS_VISIT_ERROR_TRUNCATED);
    assert_int_equal(vs_visitor_depth(load), 0);
    talloc_free(ctx);
}

/* ---- failures ---------------------------------------------------------- */

/* The primary fails at a leaf: the observer saw everything before it only. */
static void test_tee_fail_primary_leaf(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    VsExDemo loaded;
    VsExInner storage[VS_EX_SLOTS];
    VsNode *src = demo_tree(ctx, 1);
    VsVisitor *r = vs_tree_reader_new(ctx, src, NULL);
    VsVisitor *b = vs_tree_builder_new(ctx, ctx);
    VsVisitor *tee = vs_tee_visitor_new(ctx, r, b);
    VsNode *seen;
    g_autoptr(GError) err = NULL;

    vs_node_lookup(src, "vsdemo.inner.mask")->width = 2;
    vs_ex_demo_prepare_load(&loaded, storage, 1);
    assert_false(vs_ex_visit_demo(tee, "vsdemo", &loaded, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_MISMATCH, "vsdemo.inner.mask");
    seen = vs_tree_builder_root(b);
    assert_int_equal(vs_node_child(seen, "inner")->n_children, 1);
    assert_ptr_equal(seen->children[seen->n_children - 1], vs_node_child(seen, "inner"));
    /* Both inner visitors were ended cleanly and hold the primary's error. */
    assert_failed_with(r, VS_VISIT_ERROR_MISMATCH);
    assert_failed_with(b, VS_VISIT_ERROR_MISMATCH);
    assert_failed_with(tee, VS_VISIT_ERROR_MISMATCH);
    talloc_free(ctx);
}

/* The primary fails to start: the observer is never called. */
static void test_tee_fail_primary_start(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    VsExPic pic = { 0 };
    g_autoptr(GString) log = g_string_new(NULL);
    VsNode *src = vs_node_new_struct(ctx, "i8259", "VsExPic", "i8259", 1);
    VsVisitor *r = vs_tree_reader_new(ctx, src, NULL);
    VsVisitor *obs = failat_new(ctx, NULL, log);
    VsVisitor *tee = vs_tee_visitor_new(ctx, r, obs);
    g_autoptr(GError) err = NULL;

    assert_false(vs_ex_visit_pic(tee, "pic", &pic, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_MISMATCH, "pic");
    assert_string_equal(log->str, "");
    assert_failed_with(obs, VS_VISIT_ERROR_MISMATCH);
    talloc_free(ctx);
}

/* The primary's check_struct fails: both are still ended. */
static void test_tee_fail_primary_check_struct(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    VsExDemo loaded;
    VsExInner storage[VS_EX_SLOTS];
    g_autoptr(GString) log = g_string_new(NULL);
    VsNode *src = demo_tree(ctx, 1);
    VsVisitor *r = vs_tree_reader_new(ctx, src, NULL);
    VsVisitor *obs = failat_new(ctx, NULL, log);
    VsVisitor *tee = vs_tee_visitor_new(ctx, r, obs);
    g_autoptr(GError) err = NULL;

    vs_node_append(vs_node_child(src, "inner"), vs_node_new_bool(ctx, "late", true));
    vs_ex_demo_prepare_load(&loaded, storage, 1);
    assert_false(vs_ex_visit_demo(tee, "vsdemo", &loaded, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_MISMATCH, "vsdemo.inner");
    assert_non_null(strstr(log->str, "uint vsdemo.inner.mask\nend vsdemo.inner\nend vsdemo\n"));
    assert_failed_with(r, VS_VISIT_ERROR_MISMATCH);
    assert_failed_with(obs, VS_VISIT_ERROR_MISMATCH);
    talloc_free(ctx);
}

/* Runs a demo save through tee(builder, fail-at @where) and checks the failure. */
static VsNode *run_failing_observer(TALLOC_CTX *ctx, const char *where, const char *path,
                                    GString *log)
{
    VsExDemo demo;
    VsExInner storage[VS_EX_SLOTS];
    VsVisitor *b = vs_tree_builder_new(ctx, ctx);
    VsVisitor *obs = failat_new(ctx, where, log);
    VsVisitor *tee = vs_tee_visitor_new(ctx, b, obs);
    g_autoptr(GError) err = NULL;

    vs_ex_demo_fill(&demo, storage, 1);
    assert_false(vs_ex_visit_demo(tee, "vsdemo", &demo, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_IO, path);
    assert_gerror_contains(err, "injected failure");
    /* The primary was ended everywhere, holds the observer's error, no breach. */
    assert_failed_with(b, VS_VISIT_ERROR_IO);
    assert_failed_with(obs, VS_VISIT_ERROR_IO);
    assert_failed_with(tee, VS_VISIT_ERROR_IO);
    return vs_tree_builder_root(b);
}

static void test_tee_fail_observer_leaf(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    g_autoptr(GString) log = g_string_new(NULL);
    VsNode *seen = run_failing_observer(ctx, "vsdemo.regs(4)(2).[1]", "vsdemo.regs[1]", log);
    VsNode *regs = vs_node_child(seen, "regs");

    /* The primary had visited regs[1] before the observer failed on it. */
    assert_int_equal(regs->n_children, 2);
    assert_ptr_equal(seen->children[seen->n_children - 1], regs);
    assert_non_null(strstr(log->str, "uint vsdemo.regs(4)(2).[1]\nend vsdemo.regs(4)(2)\n"
                                     "end vsdemo\n"));
    talloc_free(ctx);
}

/* The observer's start fails: the tee ends the primary's start. */
static void test_tee_fail_observer_start_struct(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    g_autoptr(GString) log = g_string_new(NULL);
    VsNode *seen = run_failing_observer(ctx, "vsdemo.chans(2)(5).[1]", "vsdemo.chans[1]", log);
    VsNode *chans = vs_node_child(seen, "chans");

    assert_int_equal(chans->n_children, 2);
    assert_int_equal(chans->children[1]->n_children, 0);
    talloc_free(ctx);
}

static void test_tee_fail_observer_start_array(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    g_autoptr(GString) log = g_string_new(NULL);
    VsNode *seen = run_failing_observer(ctx, "vsdemo.fifo(4)(1)", "vsdemo.fifo", log);

    /* The primary's array was ended with none of its 4 elements visited. */
    assert_int_equal(vs_node_child(seen, "fifo")->n_children, 0);
    assert_null(vs_node_child(seen, "extra"));
    talloc_free(ctx);
}

static void test_tee_fail_observer_start_subsection(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    g_autoptr(GString) log = g_string_new(NULL);
    VsNode *seen = run_failing_observer(ctx, "vsdemo.vsdemo/irq", "vsdemo.vsdemo/irq", log);

    assert_int_equal(vs_node_child(seen, "vsdemo/irq")->n_children, 0);
    talloc_free(ctx);
}

/* The observer's completion fails (a full disk): the tee's completion fails. */
static void test_tee_fail_observer_complete(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    VsExPic pic = { .irr = 1 };
    FILE *fp = fopen("/dev/full", "w");
    VsVisitor *b = vs_tree_builder_new(ctx, ctx);
    VsVisitor *t;
    VsVisitor *tee;
    g_autoptr(GError) err = NULL;

    if (!fp) {
        talloc_free(ctx);
        skip();
    }
    t = vs_trace_visitor_new_file(ctx, fp);
    tee = vs_tee_visitor_new(ctx, b, t);
    assert_true(vs_ex_visit_pic(tee, "i8259", &pic, &err));
    assert_false(vs_visitor_complete(tee, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_IO, "<root>");
    fclose(fp);
    talloc_free(ctx);
}

/* Misuse of the tee itself is the tee core's business. */
static void test_tee_fail_contract(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    VsExPic pic = { 0 };
    VsVisitor *b1 = vs_tree_builder_new(ctx, ctx);
    VsVisitor *b2 = vs_tree_builder_new(ctx, ctx);
    VsVisitor *tee = vs_tee_visitor_new(ctx, b1, b2);
    uint32_t version = 1;
    g_autoptr(GError) err = NULL;

    assert_true(vs_visit_start_struct(tee, "i8259", &vs_ex_pic_type, &version, NULL));
    assert_true(vs_visit_u8(tee, "irr", &pic.irr, NULL));
    assert_false(vs_visitor_complete(tee, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_CONTRACT, "i8259");
    vs_visit_end_struct(tee);
    assert_int_equal(vs_visitor_depth(b1), 0);
    assert_int_equal(vs_visitor_depth(b2), 0);
    talloc_free(ctx);
}

/* ---- lists ------------------------------------------------------------- */

#define QUEUE_MAX 4

/* A QTAILQ-like queue: the elements in a fixed array, their number C-only. */
typedef struct Queue {
    uint32_t n;
    VsExInner items[QUEUE_MAX + 1];
} Queue;

static const VsTypeInfo queue_type = {
    .name = "Queue", .wire_name = "queue", .version = 1, .minimum_version = 1,
    .size = sizeof(Queue),
};

/* Struct "q" with list "items"; items[QUEUE_MAX] exists only to over-fill saves. */
static bool visit_queue(VsVisitor *v, Queue *s, GError **errp)
{
    uint32_t version = queue_type.version;
    uint32_t i;
    bool ok = false;

    if (!vs_visit_start_struct(v, "q", &queue_type, &version, errp)) {
        return false;
    }
    if (!vs_visit_start_list(v, "items", QUEUE_MAX, 5, errp)) {
        goto out;
    }
    for (i = 0;; i++) {
        bool more = i < s->n;

        if (!vs_visit_list_next(v, &more, errp) || !more ||
            !vs_ex_visit_inner(v, NULL, &s->items[i], errp)) {
            break;
        }
    }
    vs_visit_end_list(v);
    s->n = i;
    ok = !vs_visitor_failed(v) && vs_visit_check_struct(v, errp);
out:
    vs_visit_end_struct(v);
    return ok;
}

static void fill_queue(Queue *s, uint32_t n)
{
    memset(s, 0, sizeof(*s));
    s->n = n;
    for (uint32_t i = 0; i < n; i++) {
        s->items[i] = (VsExInner){ (uint8_t)(i + 1), 0x11u * (i + 1) };
    }
}

static VsNode *queue_tree(TALLOC_CTX *ctx, Queue *s)
{
    VsVisitor *b = vs_tree_builder_new(ctx, ctx);
    GError *err = NULL;
    VsNode *root;

    assert_true(visit_queue(b, s, &err));
    assert_true(vs_visitor_complete(b, &err));
    root = vs_tree_builder_root(b);
    vs_visitor_free(b);
    return root;
}

/* The legacy bytes of a queue of @n, copied into @ctx. */
static uint8_t *legacy_queue_bytes(TALLOC_CTX *ctx, uint32_t n, size_t *ret_len)
{
    Queue s;
    VsQemuFile *out = vs_qemufile_new_memory_writer(ctx);
    VsVisitor *save = vs_legacy_save_visitor_new(ctx, out);
    GError *err = NULL;
    const uint8_t *data;
    uint8_t *copy;

    fill_queue(&s, n);
    assert_true(visit_queue(save, &s, &err));
    assert_true(vs_visitor_complete(save, &err));
    data = vs_qemufile_memory_data(out, ret_len);
    copy = talloc_memdup(ctx, data, *ret_len);
    vs_visitor_free(save);
    vs_qemufile_free(out);
    return copy;
}

/* Save: both visitors see the list's steps and elements. */
static void test_tee_list_save(void **state)
{
    for (uint32_t n = 0; n <= QUEUE_MAX; n++) {
        TALLOC_CTX *ctx = talloc_new(*state);
        Queue s;
        g_autoptr(GString) log = g_string_new(NULL);
        VsVisitor *b = vs_tree_builder_new(ctx, ctx);
        VsVisitor *obs = failat_new(ctx, NULL, log);
        VsVisitor *tee = vs_tee_visitor_new(ctx, b, obs);
        GError *err = NULL;

        fill_queue(&s, n);
        assert_true(visit_queue(tee, &s, &err));
        assert_true(vs_visitor_complete(tee, &err));
        assert_null(err);
        assert_true(vs_node_equal(vs_tree_builder_root(b), queue_tree(ctx, &s)));
        assert_int_equal(vs_node_child(vs_tree_builder_root(b), "items")->count, n);
        assert_true(g_str_has_suffix(log->str, "last q.items(list)\nend q.items(list)\nend q\n"));
        if (n == 2) {
            assert_string_equal(log->str, "struct q\n"
                                          "list q.items(list)\n"
                                          "next q.items(list)\n"
                                          "struct q.items(list).[0]\n"
                                          "uint q.items(list).[0].mode\n"
                                          "uint q.items(list).[0].mask\n"
                                          "end q.items(list).[0]\n"
                                          "next q.items(list)\n"
                                          "struct q.items(list).[1]\n"
                                          "uint q.items(list).[1].mode\n"
                                          "uint q.items(list).[1].mask\n"
                                          "end q.items(list).[1]\n"
                                          "last q.items(list)\n"
                                          "end q.items(list)\n"
                                          "end q\n");
        }
        talloc_free(ctx);
    }
}

/* Load: the observer is told what the primary read, "more" and the end. */
static void test_tee_list_load_legacy_and_trace(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    Queue loaded;
    g_autoptr(GString) trace = g_string_new(NULL);
    g_autoptr(GString) rendered = g_string_new(NULL);
    size_t len;
    uint8_t *bytes = legacy_queue_bytes(ctx, 3, &len);
    VsQemuFile *in = vs_qemufile_new_memory_reader(ctx, bytes, len);
    VsVisitor *load = vs_legacy_load_visitor_new(ctx, in, ctx);
    VsVisitor *b = vs_tree_builder_new(ctx, ctx);
    VsVisitor *tee = vs_tee_visitor_new(ctx, load, vs_tee_visitor_new(ctx, b,
                                                   vs_trace_visitor_new(ctx, trace)));
    Queue orig;
    GError *err = NULL;

    memset(&loaded, 0, sizeof(loaded));
    assert_int_equal(len, 3 * 6 + 1);
    assert_true(visit_queue(tee, &loaded, &err));
    assert_true(vs_visitor_complete(tee, &err));
    assert_null(err);
    assert_int_equal(loaded.n, 3);
    fill_queue(&orig, 3);
    assert_true(vs_node_equal(vs_tree_builder_root(b), queue_tree(ctx, &orig)));
    vs_render_trace(rendered, queue_tree(ctx, &orig));
    assert_string_equal(trace->str, rendered->str);
    assert_true(g_str_has_suffix(trace->str, "q.items(list).[2].mask = (uint32) 0x33\n"));
    talloc_free(ctx);
}

/* The observer fails in the middle of a list: both are ended, no breach. */
static void test_tee_fail_list_observer_element(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    Queue s;
    g_autoptr(GString) log = g_string_new(NULL);
    VsVisitor *b = vs_tree_builder_new(ctx, ctx);
    VsVisitor *obs = failat_new(ctx, "q.items(list).[1].mask", log);
    VsVisitor *tee = vs_tee_visitor_new(ctx, b, obs);
    VsNode *items;
    g_autoptr(GError) err = NULL;

    fill_queue(&s, 3);
    assert_false(visit_queue(tee, &s, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_IO, "q.items[1].mask");
    items = vs_node_child(vs_tree_builder_root(b), "items");
    assert_int_equal(items->count, 2);
    assert_true(g_str_has_suffix(log->str, "uint q.items(list).[1].mask\n"
                                           "end q.items(list).[1]\n"
                                           "end q.items(list)\n"
                                           "end q\n"));
    assert_failed_with(b, VS_VISIT_ERROR_IO);
    assert_failed_with(obs, VS_VISIT_ERROR_IO);
    assert_failed_with(tee, VS_VISIT_ERROR_IO);
    talloc_free(ctx);
}

/* The observer fails a list step or the list's start. */
static void test_tee_fail_list_observer_step(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    Queue s;
    g_autoptr(GString) log = g_string_new(NULL);
    g_autoptr(GString) log2 = g_string_new(NULL);
    VsVisitor *b = vs_tree_builder_new(ctx, ctx);
    VsVisitor *obs = failat_new(ctx, "q.items(list)", log);
    VsVisitor *tee = vs_tee_visitor_new(ctx, b, obs);
    g_autoptr(GError) err = NULL;
    g_autoptr(GError) err2 = NULL;

    ((FailAtVisitor *)obs)->fail_op = "last";
    fill_queue(&s, 2);
    assert_false(visit_queue(tee, &s, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_IO, "q.items");
    assert_true(g_str_has_suffix(log->str, "last q.items(list)\nend q.items(list)\nend q\n"));
    assert_int_equal(vs_node_child(vs_tree_builder_root(b), "items")->count, 2);
    assert_failed_with(b, VS_VISIT_ERROR_IO);
    assert_failed_with(obs, VS_VISIT_ERROR_IO);

    b = vs_tree_builder_new(ctx, ctx);
    obs = failat_new(ctx, "q.items(list)", log2);
    ((FailAtVisitor *)obs)->fail_op = "list";
    tee = vs_tee_visitor_new(ctx, b, obs);
    assert_false(visit_queue(tee, &s, &err2));
    assert_gerror_path(err2, VS_VISIT_ERROR, VS_VISIT_ERROR_IO, "q.items");
    /* The tee ended the primary's list, which had no elements yet. */
    assert_int_equal(vs_node_child(vs_tree_builder_root(b), "items")->count, 0);
    assert_failed_with(b, VS_VISIT_ERROR_IO);
    assert_failed_with(obs, VS_VISIT_ERROR_IO);
    assert_failed_with(tee, VS_VISIT_ERROR_IO);
    talloc_free(ctx);
}

/* The primary reads a bad marker: the observer saw the elements before it. */
static void test_tee_fail_list_primary_marker(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    Queue loaded;
    g_autoptr(GString) log = g_string_new(NULL);
    size_t len;
    uint8_t *bytes = legacy_queue_bytes(ctx, 2, &len);
    VsQemuFile *in;
    VsVisitor *load;
    VsVisitor *obs = failat_new(ctx, NULL, log);
    VsVisitor *tee;
    g_autoptr(GError) err = NULL;

    bytes[6] = 0x07; /* the marker of element 1 */
    in = vs_qemufile_new_memory_reader(ctx, bytes, len);
    load = vs_legacy_load_visitor_new(ctx, in, ctx);
    tee = vs_tee_visitor_new(ctx, load, obs);
    memset(&loaded, 0, sizeof(loaded));
    assert_false(visit_queue(tee, &loaded, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_MISMATCH, "q.items");
    assert_gerror_contains(err, "list marker 0x07 is neither 1 nor 0 (offset 0x6)");
    assert_true(g_str_has_suffix(log->str, "uint q.items(list).[0].mask\n"
                                           "end q.items(list).[0]\n"
                                           "end q.items(list)\n"
                                           "end q\n"));
    assert_failed_with(load, VS_VISIT_ERROR_MISMATCH);
    assert_failed_with(obs, VS_VISIT_ERROR_MISMATCH);
    talloc_free(ctx);
}

/* Too many elements on save: the tee's core refuses before forwarding. */
static void test_tee_fail_list_limit(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    Queue s;
    g_autoptr(GString) log = g_string_new(NULL);
    VsVisitor *b = vs_tree_builder_new(ctx, ctx);
    VsVisitor *obs = failat_new(ctx, NULL, log);
    VsVisitor *tee = vs_tee_visitor_new(ctx, b, obs);
    g_autoptr(GError) err = NULL;

    fill_queue(&s, QUEUE_MAX + 1);
    assert_false(visit_queue(tee, &s, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_LIMIT, "q.items");
    assert_gerror_contains(err, "more than the declared maximum of 4 elements");
    assert_int_equal(vs_node_child(vs_tree_builder_root(b), "items")->count, QUEUE_MAX);
    /* Both inner visitors hold the tee's error, not a contract breach. */
    assert_failed_with(b, VS_VISIT_ERROR_LIMIT);
    assert_failed_with(obs, VS_VISIT_ERROR_LIMIT);
    assert_failed_with(tee, VS_VISIT_ERROR_LIMIT);
    talloc_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, vs_test_ctx_setup, vs_test_ctx_teardown)
        T(test_tee_save_two_builders),
        T(test_tee_save_builder_and_trace),
        T(test_tee_nested),
        T(test_tee_load_reader_and_builder),
        T(test_tee_load_reader_and_trace),
        T(test_tee_load_version_reaches_observer),
        T(test_tee_load_legacy_and_trace),
        T(test_tee_fail_legacy_truncated),
        T(test_tee_fail_primary_leaf),
        T(test_tee_fail_primary_start),
        T(test_tee_fail_primary_check_struct),
        T(test_tee_fail_observer_leaf),
        T(test_tee_fail_observer_start_struct),
        T(test_tee_fail_observer_start_array),
        T(test_tee_fail_observer_start_subsection),
        T(test_tee_fail_observer_complete),
        T(test_tee_fail_contract),
        T(test_tee_list_save),
        T(test_tee_list_load_legacy_and_trace),
        T(test_tee_fail_list_observer_element),
        T(test_tee_fail_list_observer_step),
        T(test_tee_fail_list_primary_marker),
        T(test_tee_fail_list_limit),
#undef T
    };

    return cmocka_run_group_tests_name("tee", tests, NULL, NULL);
}
