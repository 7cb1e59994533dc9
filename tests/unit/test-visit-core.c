/*
 * test-visit-core.c: the visitor core on its own: field paths, contract
 * checks, narrowing, bounds, versions, sticky failure.
 *
 * SPDX-License-Identifier: MIT
 *
 * The core is exercised through a small scripted visitor defined here: in
 * SAVE mode it records what it was given; in LOAD mode it hands out the
 * values queued by the test, so out-of-range values, stream versions and list
 * lengths can be injected.  It also records the error path the core reports
 * at each op.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "examples/example-walkers.h"
#include "tests/unit/test-helpers.h"
#include "visitor/visitor-impl.h"

typedef struct ScriptVisitor {
    VsVisitor base;
    GString *log;           /* one line per op: "op trace-path" */
    uint64_t next_uint;     /* LOAD: value handed out by type_uint */
    int64_t next_int;
    uint32_t next_version;  /* LOAD: 0 = keep the caller's */
    uint32_t next_count;    /* LOAD: 0 = keep the caller's */
    bool next_present;
    uint32_t more_left;     /* LOAD: list_next says "more" this many times */
    const char *fail_at;    /* fail the op whose trace path equals this */
} ScriptVisitor;

static ScriptVisitor *to_sv(VsVisitor *v)
{
    return (ScriptVisitor *)v;
}

static bool script_note(VsVisitor *v, const char *op, GError **errp)
{
    ScriptVisitor *sv = to_sv(v);
    const char *path = vs_visitor_trace_path(v);

    g_string_append_printf(sv->log, "%s %s\n", op, path);
    if (sv->fail_at && strcmp(sv->fail_at, path) == 0) {
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_IO, "scripted failure");
    }
    return true;
}

static bool script_start_struct(VsVisitor *v, const char *name, const VsTypeInfo *type,
                                uint32_t *version, GError **errp)
{
    if (vs_visit_is_load(v) && to_sv(v)->next_version) {
        *version = to_sv(v)->next_version;
    }
    return script_note(v, "struct", errp);
}

static bool script_start_array(VsVisitor *v, const char *name, uint32_t *count, uint32_t max,
                               size_t elem_size, GError **errp)
{
    if (vs_visit_is_load(v) && to_sv(v)->next_count) {
        *count = to_sv(v)->next_count;
    }
    return script_note(v, "array", errp);
}

static bool script_start_subsection(VsVisitor *v, const char *name, const VsTypeInfo *type,
                                    uint32_t *version, bool *present, GError **errp)
{
    if (vs_visit_is_load(v)) {
        *present = to_sv(v)->next_present;
    }
    return script_note(v, "subsection", errp);
}

static bool script_uint(VsVisitor *v, const char *name, uint64_t *val, unsigned width,
                        GError **errp)
{
    if (vs_visit_is_load(v)) {
        *val = to_sv(v)->next_uint;
    }
    return script_note(v, "uint", errp);
}

static bool script_int(VsVisitor *v, const char *name, int64_t *val, unsigned width,
                       GError **errp)
{
    if (vs_visit_is_load(v)) {
        *val = to_sv(v)->next_int;
    }
    return script_note(v, "int", errp);
}

static bool script_bool(VsVisitor *v, const char *name, bool *val, GError **errp)
{
    return script_note(v, "bool", errp);
}

static bool script_buffer(VsVisitor *v, const char *name, uint8_t *buf, size_t len,
                          GError **errp)
{
    return script_note(v, "buffer", errp);
}

static bool script_string(VsVisitor *v, const char *name, char **str, size_t max_len,
                          GError **errp)
{
    if (vs_visit_is_load(v)) {
        *str = talloc_strdup(vs_visitor_result_ctx(v), "a-rather-long-name");
    }
    return script_note(v, "string", errp);
}

static bool script_unused(VsVisitor *v, const char *name, size_t len, GError **errp)
{
    return script_note(v, "unused", errp);
}

static bool script_nullptr(VsVisitor *v, const char *name, bool *is_null, GError **errp)
{
    return script_note(v, "nullptr", errp);
}

static bool script_start_list(VsVisitor *v, const char *name, uint32_t max, size_t elem_size,
                              GError **errp)
{
    return script_note(v, "list", errp);
}

static bool script_list_next(VsVisitor *v, bool *more, GError **errp)
{
    ScriptVisitor *sv = to_sv(v);

    if (vs_visit_is_load(v)) {
        *more = sv->more_left > 0;
        sv->more_left -= *more;
    }
    return script_note(v, *more ? "next" : "last", errp);
}

static bool script_offset(VsVisitor *v, uint64_t *ret_offset)
{
    *ret_offset = 0x2a;
    return true;
}

static void script_destroy(VsVisitor *v)
{
    g_string_free(to_sv(v)->log, TRUE);
}

#define SCRIPT_OPS(kind_, name_, start_list_, list_next_) \
    {                                                   \
        .kind = (kind_),                                \
        .impl_name = (name_),                           \
        .start_struct = script_start_struct,            \
        .start_array = script_start_array,              \
        .start_subsection = script_start_subsection,    \
        .start_list = (start_list_),                    \
        .list_next = (list_next_),                      \
        .type_uint = script_uint,                       \
        .type_int = script_int,                         \
        .type_bool = script_bool,                       \
        .buffer = script_buffer,                        \
        .string = script_string,                        \
        .unused = script_unused,                        \
        .nullptr_marker = script_nullptr,               \
        .offset = script_offset,                        \
        .destroy = script_destroy,                      \
    }

static const VsVisitorOps script_save_ops =
    SCRIPT_OPS(VS_VISITOR_SAVE, "script-save", script_start_list, script_list_next);
static const VsVisitorOps script_load_ops =
    SCRIPT_OPS(VS_VISITOR_LOAD, "script-load", script_start_list, script_list_next);
/* Without list ops: lists are not supported. */
static const VsVisitorOps script_nolist_ops =
    SCRIPT_OPS(VS_VISITOR_SAVE, "script-nolist", NULL, NULL);

static ScriptVisitor *script_new(void *ctx, bool load)
{
    ScriptVisitor *sv = vs_visitor_new(ctx, load ? &script_load_ops : &script_save_ops,
                                       ScriptVisitor, NULL);

    sv->log = g_string_new(NULL);
    return sv;
}

static void assert_error(const GError *err, GQuark domain, int code, const char *text)
{
    assert_non_null(err);
    if (!strstr(err->message, text)) {
        fail_msg("error \"%s\" does not contain \"%s\"", err->message, text);
    }
    assert_int_equal(err->domain, domain);
    assert_int_equal(err->code, code);
}

/* ---- paths ----------------------------------------------------------- */

static void test_visit_core_trace_paths(void **state)
{
    ScriptVisitor *sv = script_new(*state, false);
    VsExDemo s;
    VsExInner storage[VS_EX_SLOTS];
    g_autoptr(GError) err = NULL;

    vs_ex_demo_fill(&s, storage, 1);
    assert_true(vs_ex_visit_demo(&sv->base, "vsdemo", &s, &err));
    assert_true(vs_visitor_complete(&sv->base, &err));
    assert_string_equal(sv->log->str,
                        "struct vsdemo\n"
                        "uint vsdemo.id\n"
                        "int vsdemo.temperature\n"
                        "bool vsdemo.enabled\n"
                        "uint vsdemo.counter\n"
                        "uint vsdemo.gain\n"
                        "struct vsdemo.inner\n"
                        "uint vsdemo.inner.mode\n"
                        "uint vsdemo.inner.mask\n"
                        "array vsdemo.regs(4)(2)\n"
                        "uint vsdemo.regs(4)(2).[0]\n"
                        "uint vsdemo.regs(4)(2).[1]\n"
                        "uint vsdemo.regs(4)(2).[2]\n"
                        "uint vsdemo.regs(4)(2).[3]\n"
                        "uint vsdemo.fifo_len\n"
                        "array vsdemo.fifo(4)(1)\n"
                        "uint vsdemo.fifo(4)(1).[0]\n"
                        "uint vsdemo.fifo(4)(1).[1]\n"
                        "uint vsdemo.fifo(4)(1).[2]\n"
                        "uint vsdemo.fifo(4)(1).[3]\n"
                        "uint vsdemo.extra\n"
                        "unused vsdemo.unused\n"
                        "array vsdemo.chans(2)(5)\n"
                        "struct vsdemo.chans(2)(5).[0]\n"
                        "uint vsdemo.chans(2)(5).[0].mode\n"
                        "uint vsdemo.chans(2)(5).[0].mask\n"
                        "struct vsdemo.chans(2)(5).[1]\n"
                        "uint vsdemo.chans(2)(5).[1].mode\n"
                        "uint vsdemo.chans(2)(5).[1].mask\n"
                        "array vsdemo.slots(2)(0)\n"
                        "nullptr vsdemo.slots(2)(0).[0]\n"
                        "struct vsdemo.slots(2)(0).[0]\n"
                        "uint vsdemo.slots(2)(0).[0].mode\n"
                        "uint vsdemo.slots(2)(0).[0].mask\n"
                        "nullptr vsdemo.slots(2)(0).[1]\n"
                        "struct vsdemo.slots(2)(0).[1]\n"
                        "uint vsdemo.slots(2)(0).[1].mode\n"
                        "uint vsdemo.slots(2)(0).[1].mask\n"
                        "buffer vsdemo.blob\n"
                        "subsection vsdemo.vsdemo/irq\n"
                        "uint vsdemo.vsdemo/irq.irq_pending\n"
                        "uint vsdemo.vsdemo/irq.irq_mask\n");
    vs_visitor_free(&sv->base);
}

static void test_visit_core_error_path_names_element(void **state)
{
    ScriptVisitor *sv = script_new(*state, false);
    VsExDemo s;
    VsExInner storage[VS_EX_SLOTS];
    g_autoptr(GError) err = NULL;

    vs_ex_demo_fill(&s, storage, 1);
    sv->fail_at = "vsdemo.chans(2)(5).[1].mask";
    assert_false(vs_ex_visit_demo(&sv->base, "vsdemo", &s, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_IO,
                 "vsdemo.chans[1].mask: scripted failure (offset 0x2a)");
    /* The walker paired everything on the way out: no contract breach. */
    g_clear_error(&err);
    assert_false(vs_visitor_complete(&sv->base, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_IO, "scripted failure");
    assert_int_equal(vs_visitor_depth(&sv->base), 0);
    vs_visitor_free(&sv->base);
}

static void test_visit_core_unnamed_root(void **state)
{
    ScriptVisitor *sv = script_new(*state, false);
    uint8_t b = 1;
    g_autoptr(GError) err = NULL;

    sv->fail_at = "<root>";
    assert_false(vs_visit_u8(&sv->base, NULL, &b, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_IO, "<root>: scripted failure");
    vs_visitor_free(&sv->base);
}

/*
 * Nested one-element arrays @depth deep around a u8 (each array an element
 * of the one outside it).  Every start is paired on the way out.
 */
static bool visit_nested(VsVisitor *v, unsigned depth, GError **errp)
{
    uint32_t count = 1;
    uint8_t b = 5;
    bool ok;

    if (depth == 0) {
        return vs_visit_u8(v, NULL, &b, errp);
    }
    if (!vs_visit_start_array(v, NULL, &count, 1, 1, errp)) {
        return false;
    }
    ok = visit_nested(v, depth - 1, errp);
    vs_visit_end_array(v);
    return ok;
}

/*
 * Deeper than the frames kept inside the visitor: the stack grows (also
 * when the leaf itself is the first frame past them) and paths still name
 * every level, in both forms.
 */
static void test_visit_core_deep_paths(void **state)
{
    for (unsigned depth = 1; depth <= 3 * VS_VISITOR_INLINE_FRAMES + 1; depth++) {
        ScriptVisitor *sv = script_new(*state, false);
        g_autoptr(GString) trace = g_string_new("a(1)(1)");
        g_autoptr(GString) path = g_string_new("a");
        g_autoptr(GError) err = NULL;
        uint32_t count = 1;
        bool ok;

        for (unsigned i = 1; i < depth; i++) {
            g_string_append(trace, ".[0](1)(1)");
            g_string_append(path, "[0]");
        }
        g_string_append(trace, ".[0]");
        g_string_append(path, "[0]: scripted failure (offset 0x2a)");
        sv->fail_at = trace->str;
        /* The outermost array is named "a"; the others are its elements. */
        assert_true(vs_visit_start_array(&sv->base, "a", &count, 1, 1, &err));
        ok = visit_nested(&sv->base, depth - 1, &err);
        vs_visit_end_array(&sv->base);
        assert_false(ok);
        assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_IO, path->str);
        assert_int_equal(vs_visitor_depth(&sv->base), 0);
        vs_visitor_free(&sv->base);
    }
}

/* ---- narrowing -------------------------------------------------------- */

static void test_visit_core_narrow_uint(void **state)
{
    ScriptVisitor *sv = script_new(*state, true);
    uint16_t val = 7;
    g_autoptr(GError) err = NULL;

    sv->next_uint = 0xffff;
    assert_true(vs_visit_u16(&sv->base, "ok", &val, &err));
    assert_int_equal(val, 0xffff);
    sv->next_uint = 0x10000;
    assert_false(vs_visit_u16(&sv->base, "reg", &val, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_RANGE,
                 "reg: value 0x10000 does not fit in 16 bits");
    assert_int_equal(val, 0xffff); /* untouched on failure */
    vs_visitor_free(&sv->base);
}

static void test_visit_core_narrow_int(void **state)
{
    ScriptVisitor *sv = script_new(*state, true);
    int8_t val = 0;
    g_autoptr(GError) err = NULL;

    sv->next_int = -128;
    assert_true(vs_visit_i8(&sv->base, "lo", &val, &err));
    assert_int_equal(val, -128);
    sv->next_int = 127;
    assert_true(vs_visit_i8(&sv->base, "hi", &val, &err));
    assert_int_equal(val, 127);
    sv->next_int = 128;
    assert_false(vs_visit_i8(&sv->base, "over", &val, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_RANGE,
                 "over: value 128 does not fit in 8 signed bits");
    vs_visitor_free(&sv->base);
}

static void test_visit_core_narrow_int_negative(void **state)
{
    ScriptVisitor *sv = script_new(*state, true);
    int16_t val = 0;
    g_autoptr(GError) err = NULL;

    sv->next_int = -32769;
    assert_false(vs_visit_i16(&sv->base, "under", &val, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_RANGE, "under: value -32769");
    vs_visitor_free(&sv->base);
}

/* ---- bounds ----------------------------------------------------------- */

static void test_visit_core_fail_count_over_max_save(void **state)
{
    ScriptVisitor *sv = script_new(*state, false);
    VsExDemo s;
    VsExInner storage[VS_EX_SLOTS];
    g_autoptr(GError) err = NULL;

    vs_ex_demo_fill(&s, storage, 0);
    s.fifo_len = VS_EX_FIFO_MAX + 1;
    assert_false(vs_ex_visit_demo(&sv->base, "vsdemo", &s, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_LIMIT,
                 "vsdemo.fifo: 17 elements exceed the declared maximum of 16");
    /* The check comes before the implementation sees the array. */
    assert_null(strstr(sv->log->str, "array vsdemo.fifo"));
    vs_visitor_free(&sv->base);
}

static void test_visit_core_fail_count_from_stream_over_max(void **state)
{
    ScriptVisitor *sv = script_new(*state, true);
    uint32_t n = 2;
    g_autoptr(GError) err = NULL;

    sv->next_count = 1000;
    assert_false(vs_visit_start_array(&sv->base, "ring", &n, 16, 1, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_LIMIT,
                 "ring: stream holds 1000 elements, more than the declared maximum of 16");
    assert_int_equal(vs_visitor_depth(&sv->base), 0);
    vs_visitor_free(&sv->base);
}

static void test_visit_core_fail_string_too_long(void **state)
{
    ScriptVisitor *save = script_new(*state, false);
    ScriptVisitor *load = script_new(*state, true);
    void *res = talloc_new(*state);
    char *str = (char *)"0123456789";
    g_autoptr(GError) err = NULL;

    assert_false(vs_visit_string(&save->base, "idstr", &str, 4, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_LIMIT,
                 "idstr: string of 10 bytes exceeds the maximum of 4");
    g_clear_error(&err);
    load->base.result_ctx = res;
    assert_false(vs_visit_string(&load->base, "idstr", &str, 4, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_LIMIT, "idstr: string exceeds");
    vs_visitor_free(&save->base);
    vs_visitor_free(&load->base);
    talloc_free(res);
}

/* ---- versions --------------------------------------------------------- */

static void test_visit_core_root_version_gates_fields(void **state)
{
    ScriptVisitor *sv = script_new(*state, true);
    VsExDemo s;
    VsExInner storage[VS_EX_SLOTS];
    g_autoptr(GError) err = NULL;

    vs_ex_demo_prepare_load(&s, storage, 0);
    sv->next_uint = 1;
    vs_visitor_set_root_version(&sv->base, 1);
    assert_true(vs_ex_visit_demo(&sv->base, "vsdemo", &s, &err));
    assert_null(strstr(sv->log->str, "vsdemo.extra"));
    assert_non_null(strstr(sv->log->str, "uint vsdemo.fifo_len\n"));
    vs_visitor_free(&sv->base);
}

static void test_visit_core_fail_version_too_new(void **state)
{
    ScriptVisitor *sv = script_new(*state, true);
    VsExPic pic = { 0 };
    g_autoptr(GError) err = NULL;

    vs_visitor_set_root_version(&sv->base, 2);
    assert_false(vs_ex_visit_pic(&sv->base, "i8259", &pic, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_VERSION,
                 "i8259: version 2 of 'i8259' is too new (newest supported 1)");
    assert_int_equal(vs_visitor_depth(&sv->base), 0);
    vs_visitor_free(&sv->base);
}

static void test_visit_core_fail_stream_version_too_new(void **state)
{
    ScriptVisitor *sv = script_new(*state, true);
    VsExPic pic = { 0 };
    g_autoptr(GError) err = NULL;

    sv->next_version = 0xffffffff;
    assert_false(vs_ex_visit_pic(&sv->base, "i8259", &pic, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_VERSION, "is too new");
    vs_visitor_free(&sv->base);
}

static void test_visit_core_subsection_absent_pairs_nothing(void **state)
{
    ScriptVisitor *sv = script_new(*state, true);
    VsExDemo s;
    VsExInner storage[VS_EX_SLOTS];
    g_autoptr(GError) err = NULL;

    vs_ex_demo_prepare_load(&s, storage, 0);
    sv->next_present = false;
    assert_true(vs_ex_visit_demo(&sv->base, "vsdemo", &s, &err));
    assert_true(vs_visitor_complete(&sv->base, &err));
    assert_null(strstr(sv->log->str, "irq_pending"));
    vs_visitor_free(&sv->base);
}

/* ---- contract --------------------------------------------------------- */

static void test_visit_core_fail_unpaired_start(void **state)
{
    ScriptVisitor *sv = script_new(*state, false);
    uint32_t version = 1;
    g_autoptr(GError) err = NULL;

    assert_true(vs_visit_start_struct(&sv->base, "i8259", &vs_ex_pic_type, &version, &err));
    assert_false(vs_visitor_complete(&sv->base, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_CONTRACT,
                 "walk ended with 1 open start(s)");
    vs_visitor_free(&sv->base);
}

static void test_visit_core_fail_mismatched_end(void **state)
{
    ScriptVisitor *sv = script_new(*state, false);
    uint32_t version = 1;
    uint8_t b = 0;
    g_autoptr(GError) err = NULL;

    assert_true(vs_visit_start_struct(&sv->base, "i8259", &vs_ex_pic_type, &version, &err));
    vs_visit_end_array(&sv->base);
    /* The breach is sticky: the next operation and completion report it. */
    assert_false(vs_visit_u8(&sv->base, "irr", &b, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_CONTRACT,
                 "i8259: vs_visit_end_array() without a matching start");
    vs_visit_end_struct(&sv->base);
    g_clear_error(&err);
    assert_false(vs_visitor_complete(&sv->base, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_CONTRACT, "without a matching start");
    vs_visitor_free(&sv->base);
}

static void test_visit_core_fail_too_many_elements(void **state)
{
    ScriptVisitor *sv = script_new(*state, false);
    uint32_t n = 1;
    uint8_t b = 0;
    g_autoptr(GError) err = NULL;

    assert_true(vs_visit_start_array(&sv->base, "regs", &n, 4, 1, &err));
    assert_true(vs_visit_u8(&sv->base, NULL, &b, &err));
    assert_false(vs_visit_u8(&sv->base, NULL, &b, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_CONTRACT,
                 "regs: more than the 1 declared elements visited");
    vs_visit_end_array(&sv->base);
    vs_visitor_free(&sv->base);
}

static void test_visit_core_fail_too_few_elements(void **state)
{
    ScriptVisitor *sv = script_new(*state, false);
    uint32_t n = 3;
    uint8_t b = 0;
    g_autoptr(GError) err = NULL;

    assert_true(vs_visit_start_array(&sv->base, "regs", &n, 4, 1, &err));
    assert_true(vs_visit_u8(&sv->base, NULL, &b, &err));
    vs_visit_end_array(&sv->base);
    assert_false(vs_visitor_complete(&sv->base, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_CONTRACT,
                 "regs: 1 of 3 declared elements visited");
    vs_visitor_free(&sv->base);
}

static void test_visit_core_fail_use_after_complete(void **state)
{
    ScriptVisitor *sv = script_new(*state, false);
    uint8_t b = 0;
    g_autoptr(GError) err = NULL;

    assert_true(vs_visitor_complete(&sv->base, &err));
    assert_false(vs_visit_u8(&sv->base, "late", &b, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_CONTRACT, "used after vs_visitor_complete");
    vs_visitor_free(&sv->base);
}

static void test_visit_core_fail_subsection_outside_struct(void **state)
{
    ScriptVisitor *sv = script_new(*state, false);
    uint32_t version = 1;
    bool present = true;
    g_autoptr(GError) err = NULL;

    assert_false(vs_visit_start_subsection(&sv->base, "vsdemo/irq", &vs_ex_demo_irq_type,
                                           &version, &present, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_CONTRACT,
                 "subsection 'vsdemo/irq' outside a struct");
    vs_visitor_free(&sv->base);
}

static void test_visit_core_fail_sticky(void **state)
{
    ScriptVisitor *sv = script_new(*state, false);
    uint8_t b = 0;
    g_autoptr(GError) err = NULL;

    sv->fail_at = "first";
    assert_false(vs_visit_u8(&sv->base, "first", &b, &err));
    g_clear_error(&err);
    assert_true(vs_visitor_failed(&sv->base));
    assert_false(vs_visit_u8(&sv->base, "second", &b, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_IO, "first: scripted failure");
    /* The implementation never saw the second call. */
    assert_null(strstr(sv->log->str, "second"));
    vs_visitor_free(&sv->base);
}

static void test_visit_core_fail_unsupported_op(void **state)
{
    ScriptVisitor *sv = script_new(*state, false);
    uint8_t *data = NULL;
    size_t len = 0;
    g_autoptr(GError) err = NULL;

    assert_false(vs_visit_opaque(&sv->base, "blob", &data, &len, 16, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_UNSUPPORTED,
                 "the script-save visitor cannot visit opaque payloads");
    vs_visitor_free(&sv->base);
}

static void test_visit_core_kind_and_name(void **state)
{
    ScriptVisitor *save = script_new(*state, false);
    ScriptVisitor *load = script_new(*state, true);

    assert_false(vs_visit_is_load(&save->base));
    assert_true(vs_visit_is_load(&load->base));
    assert_string_equal(vs_visitor_impl_name(&load->base), "script-load");
    assert_ptr_equal(vs_visitor_result_ctx(&load->base), &load->base);
    vs_visitor_free(&save->base);
    vs_visitor_free(&load->base);
    vs_visitor_free(NULL);
}

/* Hooks are on unless turned off, per visitor, and the switch goes both ways. */
static void test_visit_core_hooks_switch(void **state)
{
    ScriptVisitor *save = script_new(*state, false);
    ScriptVisitor *load = script_new(*state, true);

    assert_true(vs_visitor_hooks_enabled(&save->base));
    assert_true(vs_visitor_hooks_enabled(&load->base));
    vs_visitor_set_hooks(&load->base, false);
    assert_false(vs_visitor_hooks_enabled(&load->base));
    assert_true(vs_visitor_hooks_enabled(&save->base));
    vs_visitor_set_hooks(&load->base, true);
    assert_true(vs_visitor_hooks_enabled(&load->base));
    vs_visitor_free(&save->base);
    vs_visitor_free(&load->base);
}

/* ---- lists ------------------------------------------------------------ */

#define LIST_CAP 4

typedef struct ListT {
    uint32_t n;
    VsExInner e[LIST_CAP];
} ListT;

static const VsTypeInfo list_t_type = {
    .name = "ListT", .wire_name = "t", .version = 1, .minimum_version = 1,
    .size = sizeof(ListT),
};

/* Struct "t" holding list "l" of up to @max VsExInner (at most LIST_CAP). */
static bool visit_list_t(VsVisitor *v, ListT *s, uint32_t max, GError **errp)
{
    uint32_t version = list_t_type.version;
    uint32_t i;
    bool ok = false;

    if (!vs_visit_start_struct(v, "t", &list_t_type, &version, errp)) {
        return false;
    }
    if (!vs_visit_start_list(v, "l", max, 5, errp)) {
        goto out;
    }
    for (i = 0;; i++) {
        bool more = i < s->n;

        if (!vs_visit_list_next(v, &more, errp) || !more ||
            !vs_ex_visit_inner(v, NULL, &s->e[i], errp)) {
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

static ScriptVisitor *script_new_nolist(void *ctx)
{
    ScriptVisitor *sv = vs_visitor_new(ctx, &script_nolist_ops, ScriptVisitor, NULL);

    sv->log = g_string_new(NULL);
    return sv;
}

static void test_visit_core_list_paths(void **state)
{
    ScriptVisitor *sv = script_new(*state, false);
    ListT s = { 2, { { 1, 0x11 }, { 2, 0x22 } } };
    g_autoptr(GError) err = NULL;

    assert_true(visit_list_t(&sv->base, &s, LIST_CAP, &err));
    assert_true(vs_visitor_complete(&sv->base, &err));
    assert_string_equal(sv->log->str,
                        "struct t\n"
                        "list t.l(list)\n"
                        "next t.l(list)\n"
                        "struct t.l(list).[0]\n"
                        "uint t.l(list).[0].mode\n"
                        "uint t.l(list).[0].mask\n"
                        "next t.l(list)\n"
                        "struct t.l(list).[1]\n"
                        "uint t.l(list).[1].mode\n"
                        "uint t.l(list).[1].mask\n"
                        "last t.l(list)\n");
    assert_int_equal(s.n, 2);
    vs_visitor_free(&sv->base);
}

static void test_visit_core_list_load(void **state)
{
    ScriptVisitor *sv = script_new(*state, true);
    ListT s = { 0 };
    g_autoptr(GError) err = NULL;

    sv->more_left = 3;
    sv->next_uint = 7;
    assert_true(visit_list_t(&sv->base, &s, LIST_CAP, &err));
    assert_true(vs_visitor_complete(&sv->base, &err));
    assert_int_equal(s.n, 3);
    assert_int_equal(s.e[2].mask, 7);
    assert_non_null(strstr(sv->log->str, "uint t.l(list).[2].mask\nlast t.l(list)\n"));
    vs_visitor_free(&sv->base);

    /* An empty list: one "last" and nothing else. */
    sv = script_new(*state, true);
    s.n = 3;
    assert_true(visit_list_t(&sv->base, &s, LIST_CAP, &err));
    assert_int_equal(s.n, 0);
    assert_string_equal(sv->log->str, "struct t\nlist t.l(list)\nlast t.l(list)\n");
    vs_visitor_free(&sv->base);
}

static void test_visit_core_list_error_path_names_element(void **state)
{
    ScriptVisitor *sv = script_new(*state, false);
    ListT s = { 2, { { 1, 0x11 }, { 2, 0x22 } } };
    g_autoptr(GError) err = NULL;

    sv->fail_at = "t.l(list).[1].mask";
    assert_false(visit_list_t(&sv->base, &s, LIST_CAP, &err));
    assert_string_equal(err->message, "t.l[1].mask: scripted failure (offset 0x2a)");
    /* Left early after a failure: no contract breach, nothing open. */
    g_clear_error(&err);
    assert_false(vs_visitor_complete(&sv->base, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_IO, "scripted failure");
    assert_int_equal(vs_visitor_depth(&sv->base), 0);
    vs_visitor_free(&sv->base);
}

static void test_visit_core_fail_list_limit_save(void **state)
{
    ScriptVisitor *sv = script_new(*state, false);
    ListT s = { 3, { { 1, 0x11 }, { 2, 0x22 }, { 3, 0x33 } } };
    g_autoptr(GError) err = NULL;

    /* Exactly the maximum is fine. */
    s.n = 2;
    assert_true(visit_list_t(&sv->base, &s, 2, &err));
    vs_visitor_free(&sv->base);

    sv = script_new(*state, false);
    s.n = 3;
    assert_false(visit_list_t(&sv->base, &s, 2, &err));
    assert_string_equal(err->message,
                        "t.l: more than the declared maximum of 2 elements (offset 0x2a)");
    assert_int_equal(err->code, VS_VISIT_ERROR_LIMIT);
    /* Checked before the implementation is asked to write the marker. */
    assert_true(g_str_has_suffix(sv->log->str, "uint t.l(list).[1].mask\n"));
    assert_int_equal(vs_visitor_depth(&sv->base), 0);
    g_clear_error(&err);
    assert_false(vs_visitor_complete(&sv->base, &err));
    assert_int_equal(err->code, VS_VISIT_ERROR_LIMIT);
    vs_visitor_free(&sv->base);
}

static void test_visit_core_fail_list_limit_load(void **state)
{
    ScriptVisitor *sv = script_new(*state, true);
    ListT s = { 0 };
    g_autoptr(GError) err = NULL;

    sv->more_left = 1000;
    assert_false(visit_list_t(&sv->base, &s, 2, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_LIMIT,
                 "t.l: more than the declared maximum of 2 elements");
    /* The third "more" was read, its element never visited. */
    assert_true(g_str_has_suffix(sv->log->str, "uint t.l(list).[1].mask\nnext t.l(list)\n"));
    assert_int_equal(s.n, 2);
    assert_int_equal(vs_visitor_depth(&sv->base), 0);
    vs_visitor_free(&sv->base);

    /* A maximum of 0: the first "more" is already too many. */
    sv = script_new(*state, true);
    sv->more_left = 1;
    g_clear_error(&err);
    assert_false(visit_list_t(&sv->base, &s, 0, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_LIMIT, "maximum of 0 elements");
    vs_visitor_free(&sv->base);
}

static void test_visit_core_fail_list_next_outside_list(void **state)
{
    ScriptVisitor *sv = script_new(*state, false);
    uint32_t version = 1;
    uint32_t n = 1;
    bool more = true;
    g_autoptr(GError) err = NULL;

    assert_false(vs_visit_list_next(&sv->base, &more, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_CONTRACT,
                 "<root>: vs_visit_list_next() outside a list");
    assert_false(more);
    vs_visitor_free(&sv->base);

    /* Inside an array: not a list either; the breach is sticky. */
    sv = script_new(*state, false);
    g_clear_error(&err);
    assert_true(vs_visit_start_struct(&sv->base, "t", &list_t_type, &version, &err));
    assert_true(vs_visit_start_array(&sv->base, "regs", &n, 1, 1, &err));
    more = true;
    assert_false(vs_visit_list_next(&sv->base, &more, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_CONTRACT,
                 "t.regs: vs_visit_list_next() outside a list");
    vs_visit_end_array(&sv->base);
    vs_visit_end_struct(&sv->base);
    g_clear_error(&err);
    assert_false(vs_visitor_complete(&sv->base, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_CONTRACT, "outside a list");
    assert_null(strstr(sv->log->str, "next"));
    vs_visitor_free(&sv->base);
}

static void test_visit_core_fail_list_two_elements(void **state)
{
    ScriptVisitor *sv = script_new(*state, false);
    bool more = true;
    uint8_t b = 0;
    g_autoptr(GError) err = NULL;

    assert_true(vs_visit_start_list(&sv->base, "l", 4, 1, &err));
    assert_true(vs_visit_list_next(&sv->base, &more, &err));
    assert_true(vs_visit_u8(&sv->base, NULL, &b, &err));
    assert_false(vs_visit_u8(&sv->base, NULL, &b, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_CONTRACT,
                 "l: element 1 visited without vs_visit_list_next() announcing it");
    vs_visit_end_list(&sv->base);
    g_clear_error(&err);
    assert_false(vs_visitor_complete(&sv->base, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_CONTRACT, "element 1 visited without");
    assert_int_equal(vs_visitor_depth(&sv->base), 0);
    vs_visitor_free(&sv->base);
}

static void test_visit_core_fail_list_element_without_next(void **state)
{
    ScriptVisitor *sv = script_new(*state, false);
    uint8_t b = 0;
    g_autoptr(GError) err = NULL;

    assert_true(vs_visit_start_list(&sv->base, "l", 4, 1, &err));
    assert_false(vs_visit_u8(&sv->base, NULL, &b, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_CONTRACT,
                 "l: element 0 visited without vs_visit_list_next() announcing it");
    assert_null(strstr(sv->log->str, "uint"));
    vs_visit_end_list(&sv->base);
    vs_visitor_free(&sv->base);
}

/* "More" twice in a row, the end with an element due, a step after the end. */
static void test_visit_core_fail_list_steps(void **state)
{
    ScriptVisitor *sv = script_new(*state, false);
    bool more = true;
    uint8_t b = 0;
    g_autoptr(GError) err = NULL;

    assert_true(vs_visit_start_list(&sv->base, "l", 4, 1, &err));
    assert_true(vs_visit_list_next(&sv->base, &more, &err));
    assert_false(vs_visit_list_next(&sv->base, &more, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_CONTRACT,
                 "l: vs_visit_list_next() before element 0 was visited");
    vs_visit_end_list(&sv->base);
    vs_visitor_free(&sv->base);

    sv = script_new(*state, false);
    g_clear_error(&err);
    more = true;
    assert_true(vs_visit_start_list(&sv->base, "l", 4, 1, &err));
    assert_true(vs_visit_list_next(&sv->base, &more, &err));
    vs_visit_end_list(&sv->base);
    /* Found at the end, reported by the next call and by completion. */
    assert_false(vs_visit_u8(&sv->base, "after", &b, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_CONTRACT,
                 "l: vs_visit_end_list() before element 0 was visited");
    g_clear_error(&err);
    assert_false(vs_visitor_complete(&sv->base, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_CONTRACT, "before element 0 was visited");
    vs_visitor_free(&sv->base);

    sv = script_new(*state, false);
    g_clear_error(&err);
    more = false;
    assert_true(vs_visit_start_list(&sv->base, "l", 4, 1, &err));
    assert_true(vs_visit_list_next(&sv->base, &more, &err));
    more = true;
    assert_false(vs_visit_list_next(&sv->base, &more, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_CONTRACT,
                 "l: vs_visit_list_next() after the end of the list");
    vs_visit_end_list(&sv->base);
    vs_visitor_free(&sv->base);
}

/* Ending a list whose end was never announced would lose the end marker. */
static void test_visit_core_fail_list_end_unannounced(void **state)
{
    ScriptVisitor *sv = script_new(*state, false);
    bool more = true;
    uint8_t b = 0;
    g_autoptr(GError) err = NULL;

    assert_true(vs_visit_start_list(&sv->base, "l", 4, 1, &err));
    assert_true(vs_visit_list_next(&sv->base, &more, &err));
    assert_true(vs_visit_u8(&sv->base, NULL, &b, &err));
    vs_visit_end_list(&sv->base);
    assert_false(vs_visitor_complete(&sv->base, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_CONTRACT,
                 "l: vs_visit_end_list() before vs_visit_list_next() reported the end");
    vs_visitor_free(&sv->base);

    /* Mismatched end: a list ended as an array. */
    sv = script_new(*state, false);
    g_clear_error(&err);
    assert_true(vs_visit_start_list(&sv->base, "l", 4, 1, &err));
    vs_visit_end_array(&sv->base);
    assert_false(vs_visitor_complete(&sv->base, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_CONTRACT,
                 "l: vs_visit_end_array() without a matching start");
    vs_visit_end_list(&sv->base);
    vs_visitor_free(&sv->base);
}

static void test_visit_core_fail_list_unsupported(void **state)
{
    ScriptVisitor *sv = script_new_nolist(*state);
    ListT s = { 1, { { 1, 0x11 } } };
    g_autoptr(GError) err = NULL;

    assert_false(visit_list_t(&sv->base, &s, LIST_CAP, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_UNSUPPORTED,
                 "t.l: the script-nolist visitor cannot visit lists");
    assert_int_equal(vs_visitor_depth(&sv->base), 0);
    g_clear_error(&err);
    assert_false(vs_visitor_complete(&sv->base, &err));
    assert_int_equal(err->code, VS_VISIT_ERROR_UNSUPPORTED);
    vs_visitor_free(&sv->base);
}

/* ---- walker-level errors ------------------------------------------------ */

static void test_visit_core_report_root(void **state)
{
    ScriptVisitor *sv = script_new(*state, false);
    g_autoptr(GError) err = NULL;
    g_autoptr(GError) err2 = NULL;

    assert_false(vs_visit_report(&sv->base, "field", &err, VS_VISIT_ERROR_MISMATCH,
                                 "value %d differs", 3));
    assert_int_equal(err->domain, VS_VISIT_ERROR);
    assert_int_equal(err->code, VS_VISIT_ERROR_MISMATCH);
    assert_string_equal(err->message, "field: value 3 differs (offset 0x2a)");
    vs_visitor_free(&sv->base);

    sv = script_new(*state, false);
    assert_false(vs_visit_report(&sv->base, NULL, &err2, VS_VISIT_ERROR_RANGE, "bad"));
    assert_string_equal(err2->message, "<root>: bad (offset 0x2a)");
    assert_int_equal(err2->code, VS_VISIT_ERROR_RANGE);
    vs_visitor_free(&sv->base);
}

static void test_visit_core_report_in_struct(void **state)
{
    ScriptVisitor *sv = script_new(*state, false);
    uint32_t version = 1;
    g_autoptr(GError) err = NULL;
    g_autoptr(GError) err2 = NULL;

    assert_true(vs_visit_start_struct(&sv->base, "i8259", &vs_ex_pic_type, &version, &err));
    assert_false(vs_visit_report(&sv->base, "elcr", &err, VS_VISIT_ERROR_MISMATCH, "differs"));
    assert_string_equal(err->message, "i8259.elcr: differs (offset 0x2a)");
    /* With no field the path is the struct's; the first error stays. */
    assert_false(vs_visit_report(&sv->base, NULL, &err2, VS_VISIT_ERROR_RANGE, "later"));
    assert_string_equal(err2->message, "i8259: later (offset 0x2a)");
    assert_string_equal(vs_visitor_error(&sv->base)->message,
                        "i8259.elcr: differs (offset 0x2a)");
    vs_visit_end_struct(&sv->base);
    vs_visitor_free(&sv->base);
}

static void test_visit_core_report_in_element(void **state)
{
    ScriptVisitor *sv = script_new(*state, false);
    uint32_t version = 1;
    uint32_t n = 2;
    bool more = true;
    uint8_t b = 0;
    g_autoptr(GError) err = NULL;
    g_autoptr(GError) err2 = NULL;

    assert_true(vs_visit_start_struct(&sv->base, "t", &list_t_type, &version, &err));
    assert_true(vs_visit_start_array(&sv->base, "chans", &n, 2, 5, &err));
    assert_true(vs_visit_u8(&sv->base, NULL, &b, &err));
    assert_true(vs_visit_start_struct(&sv->base, NULL, &vs_ex_inner_type, &version, &err));
    assert_false(vs_visit_report(&sv->base, "mask", &err, VS_VISIT_ERROR_MISMATCH, "odd"));
    assert_string_equal(err->message, "t.chans[1].mask: odd (offset 0x2a)");
    vs_visit_end_struct(&sv->base);
    vs_visit_end_array(&sv->base);
    vs_visit_end_struct(&sv->base);
    vs_visitor_free(&sv->base);

    /* The same inside a list element. */
    sv = script_new(*state, false);
    assert_true(vs_visit_start_list(&sv->base, "l", 2, 5, &err2));
    assert_true(vs_visit_list_next(&sv->base, &more, &err2));
    assert_true(vs_visit_start_struct(&sv->base, NULL, &vs_ex_inner_type, &version, &err2));
    assert_false(vs_visit_report(&sv->base, NULL, &err2, VS_VISIT_ERROR_MISMATCH, "odd"));
    assert_string_equal(err2->message, "l[0]: odd (offset 0x2a)");
    vs_visit_end_struct(&sv->base);
    vs_visit_end_list(&sv->base);
    assert_int_equal(vs_visitor_depth(&sv->base), 0);
    vs_visitor_free(&sv->base);
}

/* After a report the visitor has failed: later calls and completion repeat it. */
static void test_visit_core_report_sticky(void **state)
{
    ScriptVisitor *sv = script_new(*state, false);
    uint32_t version = 1;
    uint8_t b = 0;
    g_autoptr(GError) err = NULL;

    assert_true(vs_visit_start_struct(&sv->base, "i8259", &vs_ex_pic_type, &version, &err));
    assert_false(vs_visitor_failed(&sv->base));
    /* errp may be NULL: the visitor still fails. */
    assert_false(vs_visit_report(&sv->base, "irr", NULL, VS_VISIT_ERROR_MISMATCH, "no"));
    assert_true(vs_visitor_failed(&sv->base));
    assert_false(vs_visit_u8(&sv->base, "imr", &b, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_MISMATCH, "i8259.irr: no");
    assert_null(strstr(sv->log->str, "imr"));
    g_clear_error(&err);
    assert_false(vs_visit_check_struct(&sv->base, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_MISMATCH, "i8259.irr: no");
    vs_visit_end_struct(&sv->base);
    g_clear_error(&err);
    assert_false(vs_visitor_complete(&sv->base, &err));
    assert_error(err, VS_VISIT_ERROR, VS_VISIT_ERROR_MISMATCH, "i8259.irr: no");
    vs_visitor_free(&sv->base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, vs_test_ctx_setup, vs_test_ctx_teardown)
        T(test_visit_core_trace_paths),
        T(test_visit_core_error_path_names_element),
        T(test_visit_core_unnamed_root),
        T(test_visit_core_deep_paths),
        T(test_visit_core_narrow_uint),
        T(test_visit_core_narrow_int),
        T(test_visit_core_narrow_int_negative),
        T(test_visit_core_fail_count_over_max_save),
        T(test_visit_core_fail_count_from_stream_over_max),
        T(test_visit_core_fail_string_too_long),
        T(test_visit_core_root_version_gates_fields),
        T(test_visit_core_fail_version_too_new),
        T(test_visit_core_fail_stream_version_too_new),
        T(test_visit_core_subsection_absent_pairs_nothing),
        T(test_visit_core_fail_unpaired_start),
        T(test_visit_core_fail_mismatched_end),
        T(test_visit_core_fail_too_many_elements),
        T(test_visit_core_fail_too_few_elements),
        T(test_visit_core_fail_use_after_complete),
        T(test_visit_core_fail_subsection_outside_struct),
        T(test_visit_core_fail_sticky),
        T(test_visit_core_fail_unsupported_op),
        T(test_visit_core_kind_and_name),
        T(test_visit_core_hooks_switch),
        T(test_visit_core_list_paths),
        T(test_visit_core_list_load),
        T(test_visit_core_list_error_path_names_element),
        T(test_visit_core_fail_list_limit_save),
        T(test_visit_core_fail_list_limit_load),
        T(test_visit_core_fail_list_next_outside_list),
        T(test_visit_core_fail_list_two_elements),
        T(test_visit_core_fail_list_element_without_next),
        T(test_visit_core_fail_list_steps),
        T(test_visit_core_fail_list_end_unannounced),
        T(test_visit_core_fail_list_unsupported),
        T(test_visit_core_report_root),
        T(test_visit_core_report_in_struct),
        T(test_visit_core_report_in_element),
        T(test_visit_core_report_sticky),
#undef T
    };
    return cmocka_run_group_tests_name("visit-core", tests, NULL, NULL);
}
