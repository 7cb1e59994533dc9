/*
 * test-ber.c: the BER visitors (docs/ber-format.md): exact bytes, round
 * trips through the example walkers, agreement with the legacy format and
 * the tree builder, schema mismatches in strict and lenient mode, and
 * every truncation of several encodings.
 *
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "examples/example-walkers.h"
#include "tests/unit/test-helpers.h"
#include "visitor/ber/ber-visitor.h"
#include "visitor/pretty/pretty.h"
#include "visitor/pretty/tree-walk.h"
#include "visitor/qemufile/legacy-visitor.h"

typedef bool (*Walk)(VsVisitor *v, const char *name, void *obj, GError **errp);

/* ---- harness ---------------------------------------------------------- */

/* Saves @obj as BER; the bytes are a talloc child of @mem. */
static uint8_t *ber_save(TALLOC_CTX *mem, Walk walk, const char *name, void *obj,
                         size_t *ret_len)
{
    VsVisitor *v = vs_ber_save_visitor_new(mem);
    GError *err = NULL;
    const uint8_t *data;
    uint8_t *copy;

    if (!walk(v, name, obj, &err) || !vs_visitor_complete(v, &err)) {
        print_error("BER save failed: %s\n", err->message);
        g_error_free(err);
        fail();
    }
    data = vs_ber_save_visitor_data(v, ret_len);
    copy = talloc_memdup(mem, data, *ret_len ? *ret_len : 1);
    vs_visitor_free(v);
    return copy;
}

/* As ber_save(), with the items at @marks (NULL-terminated) marked must-understand. */
static uint8_t *ber_save_marked(TALLOC_CTX *mem, Walk walk, const char *name, void *obj,
                                const char *const *marks, size_t *ret_len)
{
    VsVisitor *v = vs_ber_save_visitor_new(mem);
    GError *err = NULL;
    const uint8_t *data;
    uint8_t *copy;

    for (size_t i = 0; marks[i]; i++) {
        vs_ber_save_visitor_mark(v, marks[i]);
    }
    if (!walk(v, name, obj, &err) || !vs_visitor_complete(v, &err)) {
        print_error("BER save failed: %s\n", err->message);
        g_error_free(err);
        fail();
    }
    data = vs_ber_save_visitor_data(v, ret_len);
    copy = talloc_memdup(mem, data, *ret_len ? *ret_len : 1);
    vs_visitor_free(v);
    return copy;
}

/* Loads; on success *@ret_warnings (when given) counts the lenient warnings. */
static bool ber_load(TALLOC_CTX *mem, const uint8_t *data, size_t len, VsBerPolicy policy,
                     Walk walk, const char *name, void *obj, char **ret_warnings,
                     GError **errp)
{
    VsVisitor *v = vs_ber_load_visitor_new(mem, data, len, policy, mem);
    bool ok = walk(v, name, obj, errp) && vs_visitor_complete(v, errp);

    if (ret_warnings) {
        size_t n;
        const char *const *w = vs_ber_load_visitor_warnings(v, &n);
        char *all = talloc_strdup(mem, "");

        for (size_t i = 0; i < n; i++) {
            all = talloc_asprintf_append(all, "%s\n", w[i]);
        }
        *ret_warnings = all;
    }
    vs_visitor_free(v);
    return ok;
}

static VsNode *tree_of(TALLOC_CTX *mem, Walk walk, const char *name, void *obj)
{
    VsVisitor *b = vs_tree_builder_new(mem, mem);
    GError *err = NULL;
    VsNode *root;

    assert_true(walk(b, name, obj, &err) && vs_visitor_complete(b, &err));
    root = vs_tree_builder_root(b);
    vs_visitor_free(b);
    return root;
}

static void assert_trees_equal(TALLOC_CTX *mem, const VsNode *a, const VsNode *b)
{
    char *path = NULL, *reason = NULL;

    if (!vs_node_compare(a, b, mem, &path, &reason)) {
        print_error("trees differ at %s: %s\n", path, reason);
        fail();
    }
}

static bool walk_demo(VsVisitor *v, const char *name, void *obj, GError **errp)
{
    return vs_ex_visit_demo(v, name, obj, errp);
}

static bool walk_pic(VsVisitor *v, const char *name, void *obj, GError **errp)
{
    return vs_ex_visit_pic(v, name, obj, errp);
}

static bool walk_inner(VsVisitor *v, const char *name, void *obj, GError **errp)
{
    return vs_ex_visit_inner(v, name, obj, errp);
}

/* ---- every kind of value ------------------------------------------------ */

typedef struct Kinds {
    uint16_t a;
    int32_t b;
    bool c;
    double d;
    uint8_t e[3];
    char *f;
    uint8_t h;
    uint64_t i;
    int64_t j;
    int8_t k;
} Kinds;

static const VsTypeInfo kinds_type = {
    .name = "Kinds", .wire_name = "kinds", .version = 1, .minimum_version = 1,
};

static bool walk_kinds(VsVisitor *v, const char *name, void *obj, GError **errp)
{
    Kinds *s = obj;
    uint32_t version = 1;
    bool ok;

    if (!vs_visit_start_struct(v, name, &kinds_type, &version, errp)) {
        return false;
    }
    ok = vs_visit_u16(v, "a", &s->a, errp) && vs_visit_i32(v, "b", &s->b, errp) &&
         vs_visit_bool(v, "c", &s->c, errp) && vs_visit_f64(v, "d", &s->d, errp) &&
         vs_visit_buffer(v, "e", s->e, sizeof(s->e), errp) &&
         vs_visit_string(v, "f", &s->f, 255, errp) && vs_visit_unused(v, "g", 3, errp) &&
         vs_visit_u8(v, "h", &s->h, errp) && vs_visit_u64(v, "i", &s->i, errp) &&
         vs_visit_i64(v, "j", &s->j, errp) && vs_visit_i8(v, "k", &s->k, errp) &&
         vs_visit_check_struct(v, errp);
    vs_visit_end_struct(v);
    return ok;
}

static const uint8_t kinds_bytes[] = {
    0xac, 0x81, 0xad, 0x30, 0x81, 0xaa,                                       /* [12] struct */
    0x0c, 0x05, 'K', 'i', 'n', 'd', 's', 0x0c, 0x05, 'k', 'i', 'n', 'd', 's', /* type, wire name */
    0x02, 0x01, 0x01,                                                         /* version 1 */
    0xa0, 0x0b, 0x30, 0x09, 0x0c, 0x01, 'a', 0xa2, 0x04, 0x02, 0x02, 0x12, 0x34, /* u16 0x1234 */
    0xa1, 0x0a, 0x30, 0x08, 0x0c, 0x01, 'b', 0xa7, 0x03, 0x02, 0x01, 0xd7,    /* i32 -41 */
    0xa2, 0x08, 0x30, 0x06, 0x0c, 0x01, 'c', 0x01, 0x01, 0xff,                /* bool true */
    0xa3, 0x11, 0x30, 0x0f, 0x0c, 0x01, 'd',                                  /* f64 2.5 */
    0xa9, 0x0a, 0x04, 0x08, 0x40, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xa4, 0x0a, 0x30, 0x08, 0x0c, 0x01, 'e', 0x04, 0x03, 'v', 's', 't',       /* buffer */
    0xa5, 0x09, 0x30, 0x07, 0x0c, 0x01, 'f', 0x1a, 0x02, 'h', 'i',            /* string */
    0xa6, 0x0a, 0x30, 0x08, 0x0c, 0x01, 'g', 0xaa, 0x03, 0x02, 0x01, 0x03,    /* unused 3 */
    0xa7, 0x0b, 0x30, 0x09, 0x0c, 0x01, 'h', 0xa1, 0x04, 0x02, 0x02, 0x00, 0xff, /* u8 0xff */
    0xa8, 0x12, 0x30, 0x10, 0x0c, 0x01, 'i',                                  /* u64 2^63 */
    0xa4, 0x0b, 0x02, 0x09, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xa9, 0x11, 0x30, 0x0f, 0x0c, 0x01, 'j',                                  /* i64 min */
    0xa8, 0x0a, 0x02, 0x08, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xaa, 0x0a, 0x30, 0x08, 0x0c, 0x01, 'k', 0xa5, 0x03, 0x02, 0x01, 0x80,    /* i8 -128 */
};

static void fill_kinds(Kinds *s)
{
    *s = (Kinds){ .a = 0x1234, .b = -41, .c = true, .d = 2.5, .e = { 'v', 's', 't' },
                  .f = (char *)"hi", .h = 0xff, .i = UINT64_C(1) << 63, .j = INT64_MIN,
                  .k = -128 };
}

static void test_ber_value_kinds(void **state)
{
    Kinds s, t;
    size_t len;
    uint8_t *bytes;
    GError *err = NULL;

    fill_kinds(&s);
    bytes = ber_save(*state, walk_kinds, "kinds", &s, &len);
    assert_bytes(bytes, len, kinds_bytes, sizeof(kinds_bytes));
    memset(&t, 0, sizeof(t));
    assert_true(ber_load(*state, bytes, len, VS_BER_STRICT, walk_kinds, "kinds", &t, NULL, &err));
    assert_int_equal(t.a, s.a);
    assert_int_equal(t.b, s.b);
    assert_true(t.c);
    assert_true(t.d == 2.5);
    assert_memory_equal(t.e, s.e, 3);
    assert_string_equal(t.f, "hi");
    assert_int_equal(t.h, 0xff);
    assert_true(t.i == s.i && t.j == s.j && t.k == s.k);
}

/* docs/ber-format.md's example, byte for byte (saved as a section: no field wrapper). */
static void test_ber_spec_example(void **state)
{
    static const uint8_t want[] = {
        0xac, 0x40, 0x30, 0x3e,
        0x0c, 0x09, 'V', 's', 'E', 'x', 'I', 'n', 'n', 'e', 'r',
        0x0c, 0x0c, 'v', 's', 'd', 'e', 'm', 'o', '-', 'i', 'n', 'n', 'e', 'r',
        0x02, 0x01, 0x01,
        0xa0, 0x0d, 0x30, 0x0b, 0x0c, 0x04, 'm', 'o', 'd', 'e', 0xa1, 0x03, 0x02, 0x01, 0x03,
        0xa1, 0x11, 0x30, 0x0f, 0x0c, 0x04, 'm', 'a', 's', 'k',
        0xa3, 0x07, 0x02, 0x05, 0x00, 0xde, 0xad, 0xbe, 0xef,
    };
    /* The same with `mask` marked must-understand (docs/ber-format.md). */
    static const uint8_t want_marked[] = {
        0xac, 0x43, 0x30, 0x41,
        0x0c, 0x09, 'V', 's', 'E', 'x', 'I', 'n', 'n', 'e', 'r',
        0x0c, 0x0c, 'v', 's', 'd', 'e', 'm', 'o', '-', 'i', 'n', 'n', 'e', 'r',
        0x02, 0x01, 0x01,
        0xa0, 0x0d, 0x30, 0x0b, 0x0c, 0x04, 'm', 'o', 'd', 'e', 0xa1, 0x03, 0x02, 0x01, 0x03,
        0xa1, 0x14, 0x30, 0x12, 0x0c, 0x04, 'm', 'a', 's', 'k',
        0xa3, 0x07, 0x02, 0x05, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x01, 0xff,
    };
    static const char *const marks[] = { "inner.mask", NULL };
    VsExInner in = { .mode = 3, .mask = 0xdeadbeef };
    size_t len;
    uint8_t *bytes = ber_save(*state, walk_inner, "inner", &in, &len);

    assert_bytes(bytes, len, want, sizeof(want));
    talloc_free(bytes);
    bytes = ber_save_marked(*state, walk_inner, "inner", &in, marks, &len);
    assert_bytes(bytes, len, want_marked, sizeof(want_marked));
}

/* A content over 127 bytes moves behind a longer length; 2-octet lengths too. */
static void test_ber_long_lengths(void **state)
{
    static uint8_t big[300];
    VsExDemo s;
    VsExInner storage[VS_EX_SLOTS];
    size_t len;
    uint8_t *bytes;
    VsNode *tree;
    GError *err = NULL;

    vs_ex_demo_fill(&s, storage, 1);
    bytes = ber_save(*state, walk_demo, "vsdemo", &s, &len);
    assert_true(len > 256);
    assert_int_equal(bytes[0], 0xac);
    assert_int_equal(bytes[1], 0x82);   /* two length octets */
    assert_int_equal(((size_t)bytes[2] << 8 | bytes[3]) + 4, len);
    tree = vs_ber_decode_tree(*state, bytes, len, &err);
    assert_non_null(tree);
    talloc_free(tree);
    (void)big;
}

/* ---- round trips ---------------------------------------------------------- */

static void test_ber_round_trip_demo(void **state)
{
    for (unsigned seed = 0; seed < 6; seed++) {
        VsExDemo s, t;
        VsExInner storage[VS_EX_SLOTS], storage2[VS_EX_SLOTS];
        char *warnings = NULL;
        GError *err = NULL;
        size_t len;
        uint8_t *bytes;

        vs_ex_demo_fill(&s, storage, seed);
        bytes = ber_save(*state, walk_demo, "vsdemo", &s, &len);
        for (int policy = VS_BER_STRICT; policy <= VS_BER_LENIENT; policy++) {
            vs_ex_demo_prepare_load(&t, storage2, seed);
            if (!ber_load(*state, bytes, len, policy, walk_demo, "vsdemo", &t, &warnings, &err)) {
                print_error("seed %u: %s\n", seed, err->message);
                fail();
            }
            assert_string_equal(warnings, "");
            assert_true(vs_ex_demo_equal(&s, &t));
        }
        talloc_free(bytes);
    }
}

static void test_ber_round_trip_pic(void **state)
{
    VsExPic s, t;
    size_t len;
    uint8_t *bytes;
    GError *err = NULL;

    for (unsigned i = 0; i < sizeof(s); i++) {
        ((uint8_t *)&s)[i] = (uint8_t)(i * 37 + 1);
    }
    bytes = ber_save(*state, walk_pic, "i8259", &s, &len);
    memset(&t, 0, sizeof(t));
    assert_true(ber_load(*state, bytes, len, VS_BER_STRICT, walk_pic, "i8259", &t, NULL, &err));
    assert_memory_equal(&s, &t, sizeof(s));
    talloc_free(bytes);
}

/* The schema-less decoder gives the tree builder's tree, type names included. */
static void test_ber_decode_tree_demo(void **state)
{
    for (unsigned seed = 0; seed < 4; seed++) {
        VsExDemo s;
        VsExInner storage[VS_EX_SLOTS];
        GError *err = NULL;
        size_t len;
        uint8_t *bytes;
        VsNode *want, *got;

        vs_ex_demo_fill(&s, storage, seed);
        bytes = ber_save(*state, walk_demo, "vsdemo", &s, &len);
        want = tree_of(*state, walk_demo, "vsdemo", &s);
        got = vs_ber_decode_tree(*state, bytes, len, &err);
        assert_non_null(got);
        assert_trees_equal(*state, want, got);
        talloc_free(want);
        talloc_free(got);
        talloc_free(bytes);
    }
}

static void test_ber_decode_tree_kinds(void **state)
{
    Kinds s;
    GError *err = NULL;
    VsNode *want, *got;

    fill_kinds(&s);
    want = tree_of(*state, walk_kinds, "kinds", &s);
    got = vs_ber_decode_tree(*state, kinds_bytes, sizeof(kinds_bytes), &err);
    assert_non_null(got);
    assert_trees_equal(*state, want, got);
    talloc_free(want);
    talloc_free(got);
}

/* A tree walked into the BER save visitor gives the walker's bytes. */
static void test_ber_tree_walk_same_bytes(void **state)
{
    VsExDemo s;
    VsExInner storage[VS_EX_SLOTS];
    GError *err = NULL;
    size_t len, len2;
    uint8_t *bytes;
    const uint8_t *bytes2;
    VsNode *tree;
    VsVisitor *v;

    /*
     * Seed 2 leaves a slot NULL: a tree knows an array of pointers only by
     * its NULL elements, and the element type says "pointer to".
     */
    vs_ex_demo_fill(&s, storage, 2);
    bytes = ber_save(*state, walk_demo, "vsdemo", &s, &len);
    tree = vs_ber_decode_tree(*state, bytes, len, &err);
    assert_non_null(tree);
    v = vs_ber_save_visitor_new(*state);
    assert_true(vs_node_walk(tree, v, &err) && vs_visitor_complete(v, &err));
    bytes2 = vs_ber_save_visitor_data(v, &len2);
    assert_bytes(bytes2, len2, bytes, len);
    vs_visitor_free(v);
    talloc_free(tree);
    talloc_free(bytes);
}

/* Legacy bytes and BER bytes of one state load to the same tree. */
static void test_ber_same_tree_as_legacy(void **state)
{
    for (unsigned seed = 0; seed < 4; seed++) {
        VsExDemo s, from_legacy, from_ber;
        VsExInner storage[VS_EX_SLOTS], st1[VS_EX_SLOTS], st2[VS_EX_SLOTS];
        VsQemuFile *f = vs_qemufile_new_memory_writer(*state);
        VsVisitor *v = vs_legacy_save_visitor_new(*state, f);
        GError *err = NULL;
        const uint8_t *legacy;
        size_t legacy_len, len;
        uint8_t *bytes;
        VsQemuFile *r;
        VsNode *a, *b;

        vs_ex_demo_fill(&s, storage, seed);
        assert_true(vs_ex_visit_demo(v, "vsdemo", &s, &err) && vs_visitor_complete(v, &err));
        vs_visitor_free(v);
        legacy = vs_qemufile_memory_data(f, &legacy_len);
        r = vs_qemufile_new_memory_reader(*state, legacy, legacy_len);
        v = vs_legacy_load_visitor_new(*state, r, *state);
        vs_ex_demo_prepare_load(&from_legacy, st1, seed);
        assert_true(vs_ex_visit_demo(v, "vsdemo", &from_legacy, &err) &&
                    vs_visitor_complete(v, &err));
        vs_visitor_free(v);
        vs_qemufile_free(r);
        vs_qemufile_free(f);

        bytes = ber_save(*state, walk_demo, "vsdemo", &s, &len);
        vs_ex_demo_prepare_load(&from_ber, st2, seed);
        assert_true(ber_load(*state, bytes, len, VS_BER_STRICT, walk_demo, "vsdemo", &from_ber,
                             NULL, &err));
        a = tree_of(*state, walk_demo, "vsdemo", &from_legacy);
        b = tree_of(*state, walk_demo, "vsdemo", &from_ber);
        assert_trees_equal(*state, a, b);
        talloc_free(a);
        talloc_free(b);
        talloc_free(bytes);
    }
}

/* ---- mismatches ------------------------------------------------------------ */

/*
 * Mini, as the loader knows it, and a writer that can differ from it in one
 * way at a time.
 */
typedef struct Mini {
    uint8_t a;
    uint8_t b;
    uint8_t arr[3];
    uint8_t sub_x;
    uint8_t c;          /* the newer writer's version 2 field */
} Mini;

typedef enum Change {
    SAME,
    RENAMED,            /* b is written as "bee" */
    WIDENED,            /* a is written as uint16 */
    LONGER,             /* arr has 3 elements */
    NEWER,              /* version 2, with field c */
    EXTRA_SUBSECTION,   /* an unknown subsection "mini/extra" */
} Change;

static Change writer_change;

static const VsTypeInfo mini_type = {
    .name = "Mini", .wire_name = "mini", .version = 1, .minimum_version = 1,
};
static const VsTypeInfo mini_v2_type = {
    .name = "Mini", .wire_name = "mini", .version = 2, .minimum_version = 1,
};
static const VsTypeInfo mini_sub_type = {
    .name = "MiniSub", .wire_name = "mini/sub", .version = 1, .minimum_version = 1,
};
static const VsTypeInfo mini_extra_type = {
    .name = "MiniExtra", .wire_name = "mini/extra", .version = 1, .minimum_version = 1,
};

static bool visit_mini_sub(VsVisitor *v, const VsTypeInfo *type, uint8_t *x, bool send,
                           GError **errp)
{
    uint32_t version = 1;
    bool present = send;
    bool ok;

    if (!vs_visit_start_subsection(v, type->wire_name, type, &version, &present, errp)) {
        return false;
    }
    if (!present) {
        return true;
    }
    ok = vs_visit_u8(v, "x", x, errp) && vs_visit_check_struct(v, errp);
    vs_visit_end_subsection(v);
    return ok;
}

/* The loader's walker, or the writer's with writer_change applied (@writer). */
static bool visit_mini(VsVisitor *v, const char *name, Mini *s, bool writer, GError **errp)
{
    Change ch = writer ? writer_change : SAME;
    const VsTypeInfo *type = ch == NEWER ? &mini_v2_type : &mini_type;
    uint32_t version = type->version;
    uint32_t n = ch == LONGER ? 3 : 2;
    bool ok = false;

    if (!vs_visit_start_struct(v, name, type, &version, errp)) {
        return false;
    }
    if (ch == WIDENED) {
        uint16_t wide = s->a;

        ok = vs_visit_u16(v, "a", &wide, errp);
        s->a = (uint8_t)wide;
    } else {
        ok = vs_visit_u8(v, "a", &s->a, errp);
    }
    if (!ok || !vs_visit_u8(v, ch == RENAMED ? "bee" : "b", &s->b, errp)) {
        ok = false;
        goto out;
    }
    ok = false;
    if (!vs_visit_start_array(v, "arr", &n, 3, 1, errp)) {
        goto out;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (!vs_visit_u8(v, NULL, &s->arr[i], errp)) {
            break;
        }
    }
    vs_visit_end_array(v);
    if (vs_visitor_failed(v)) {
        goto out;
    }
    if (version >= 2 && !vs_visit_u8(v, "c", &s->c, errp)) {
        goto out;
    }
    if (!visit_mini_sub(v, &mini_sub_type, &s->sub_x, s->sub_x != 0, errp)) {
        goto out;
    }
    if (ch == EXTRA_SUBSECTION && !visit_mini_sub(v, &mini_extra_type, &s->c, true, errp)) {
        goto out;
    }
    ok = vs_visit_check_struct(v, errp);
out:
    vs_visit_end_struct(v);
    return ok;
}

static bool walk_mini_writer(VsVisitor *v, const char *name, void *obj, GError **errp)
{
    return visit_mini(v, name, obj, true, errp);
}

static bool walk_mini(VsVisitor *v, const char *name, void *obj, GError **errp)
{
    return visit_mini(v, name, obj, false, errp);
}

/* Strict fails with @path and @text; lenient loads and lists @warning. */
static void check_change(void **state, Change ch, const char *path, const char *text,
                         const char *warning)
{
    Mini w = { .a = 5, .b = 6, .arr = { 7, 8, 9 }, .sub_x = 1, .c = 10 };
    Mini t;
    char *warnings = NULL;
    GError *err = NULL;
    size_t len;
    uint8_t *bytes;

    writer_change = ch;
    bytes = ber_save(*state, walk_mini_writer, "mini", &w, &len);
    memset(&t, 0, sizeof(t));
    assert_false(ber_load(*state, bytes, len, VS_BER_STRICT, walk_mini, "mini", &t, NULL, &err));
    assert_gerror_path(err, err->domain, err->code, path);
    assert_gerror_contains(err, text);
    assert_gerror_contains(err, "(offset 0x");
    g_clear_error(&err);

    memset(&t, 0, sizeof(t));
    if (!ber_load(*state, bytes, len, VS_BER_LENIENT, walk_mini, "mini", &t, &warnings, &err)) {
        print_error("lenient load failed: %s\n", err->message);
        fail();
    }
    if (!strstr(warnings, warning)) {
        print_error("warning '%s' not in:\n%s", warning, warnings);
        fail();
    }
    assert_int_equal(t.a, 5);
    assert_int_equal(t.arr[0], 7);
    assert_int_equal(t.arr[1], 8);
    assert_int_equal(t.sub_x, 1);
    talloc_free(bytes);
    talloc_free(warnings);
}

static void test_ber_fail_renamed_field(void **state)
{
    check_change(state, RENAMED, "mini.b", "the stream holds field 'bee' here",
                 "skipped field 'bee' the schema does not know");
}

static void test_ber_fail_widened_field(void **state)
{
    check_change(state, WIDENED, "mini.a", "the stream holds uint16, the schema uint8",
                 "mini.a: the stream's uint16 accepted as uint8");
}

static void test_ber_fail_longer_array(void **state)
{
    check_change(state, LONGER, "mini.arr", "the stream holds 3 elements, the schema 2",
                 "mini.arr: the stream holds 3 elements, the schema 2; the extra ones are skipped");
}

static void test_ber_fail_newer_version(void **state)
{
    check_change(state, NEWER, "mini", "version 2 of 'mini' is too new",
                 "version 2 of 'mini' is newer than 1; loaded as 1");
}

static void test_ber_fail_unknown_subsection(void **state)
{
    check_change(state, EXTRA_SUBSECTION, "mini",
                 "the stream holds subsection 'mini/extra' the schema does not know",
                 "mini: skipped subsection 'mini/extra' the schema does not know");
}

/* ---- must-understand ------------------------------------------------------ */

/*
 * The writer's change with @mark marked must-understand: strict fails as
 * without the mark, lenient fails too, naming the marked item (the error's
 * path, @path, is the part the loader was reading when it met the item),
 * where unmarked it skips it (the check_change tests).
 */
static void check_marked(void **state, Change ch, const char *mark, const char *path,
                         VsVisitError code, const char *text)
{
    Mini w = { .a = 5, .b = 6, .arr = { 7, 8, 9 }, .sub_x = 1, .c = 10 };
    const char *marks[] = { mark, NULL };
    Mini t;
    GError *err = NULL;
    size_t len, plain_len;
    uint8_t *bytes, *plain;

    writer_change = ch;
    plain = ber_save(*state, walk_mini_writer, "mini", &w, &plain_len);
    bytes = ber_save_marked(*state, walk_mini_writer, "mini", &w, marks, &len);
    /* The mark is the marker's three octets, and the lengths around it. */
    assert_true(len > plain_len);
    assert_non_null(memmem(bytes, len, "\x01\x01\xff", 3));

    memset(&t, 0, sizeof(t));
    assert_false(ber_load(*state, bytes, len, VS_BER_STRICT, walk_mini, "mini", &t, NULL, &err));
    assert_non_null(err);
    g_clear_error(&err);

    memset(&t, 0, sizeof(t));
    assert_false(ber_load(*state, bytes, len, VS_BER_LENIENT, walk_mini, "mini", &t, NULL, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, code, path);
    assert_gerror_contains(err, text);
    assert_gerror_contains(err, "marked must-understand");
    assert_gerror_contains(err, "(offset 0x");
    g_clear_error(&err);

    /* Unmarked, the same change loads leniently. */
    memset(&t, 0, sizeof(t));
    assert_true(ber_load(*state, plain, plain_len, VS_BER_LENIENT, walk_mini, "mini", &t, NULL,
                         &err));
    talloc_free(bytes);
    talloc_free(plain);
}

static void test_ber_must_understand_unknown_field(void **state)
{
    /* The item is met while the loader looks for the subsection after it. */
    check_marked(state, NEWER, "mini.c", "mini.mini/sub", VS_VISIT_ERROR_MISMATCH,
                 "field 'c'");
}

static void test_ber_must_understand_renamed_field(void **state)
{
    check_marked(state, RENAMED, "mini.bee", "mini.arr", VS_VISIT_ERROR_MISMATCH,
                 "field 'bee'");
}

static void test_ber_must_understand_unknown_subsection(void **state)
{
    check_marked(state, EXTRA_SUBSECTION, "mini.mini/extra", "mini",
                 VS_VISIT_ERROR_SUBSECTION, "subsection 'mini/extra'");
}

/*
 * Marked items the loader knows load as unmarked ones, strict and lenient,
 * without warnings; the schema-less decoder gives the same tree.
 */
static void test_ber_must_understand_known(void **state)
{
    static const char *const marks[] = { "mini.a", "mini.arr", "mini.mini/sub",
                                         "mini.mini/sub.x", NULL };
    Mini w = { .a = 5, .b = 6, .arr = { 7, 8, 9 }, .sub_x = 1, .c = 10 };
    Mini t;
    GError *err = NULL;
    char *warnings = NULL;
    size_t len, plain_len, n_markers = 0;
    uint8_t *bytes, *plain;
    VsNode *a, *b;

    writer_change = SAME;
    plain = ber_save(*state, walk_mini_writer, "mini", &w, &plain_len);
    bytes = ber_save_marked(*state, walk_mini_writer, "mini", &w, marks, &len);
    for (const uint8_t *p = bytes; (p = memmem(p, len - (size_t)(p - bytes), "\x01\x01\xff", 3));
         p += 3) {
        n_markers++;
    }
    assert_int_equal(n_markers, 4);
    for (int policy = VS_BER_STRICT; policy <= VS_BER_LENIENT; policy++) {
        memset(&t, 0, sizeof(t));
        if (!ber_load(*state, bytes, len, policy, walk_mini, "mini", &t, &warnings, &err)) {
            print_error("load failed: %s\n", err->message);
            fail();
        }
        assert_string_equal(warnings, "");
        assert_int_equal(t.a, 5);
        assert_int_equal(t.b, 6);
        assert_int_equal(t.arr[1], 8);
        assert_int_equal(t.sub_x, 1);
    }
    a = vs_ber_decode_tree(*state, plain, plain_len, &err);
    assert_non_null(a);
    b = vs_ber_decode_tree(*state, bytes, len, &err);
    if (!b) {
        print_error("decode failed: %s\n", err->message);
        fail();
    }
    assert_trees_equal(*state, a, b);
    talloc_free(bytes);
    talloc_free(plain);
}

/* A marker that is not BOOLEAN TRUE, or anything after it, is refused. */
static void test_ber_must_understand_malformed(void **state)
{
    static const char *const marks[] = { "mini.a", NULL };
    Mini w = { .a = 5, .b = 6, .arr = { 7, 8, 9 }, .sub_x = 1 };
    Mini t;
    GError *err = NULL;
    size_t len;
    uint8_t *bytes, *m;

    writer_change = SAME;
    bytes = ber_save_marked(*state, walk_mini_writer, "mini", &w, marks, &len);
    m = memmem(bytes, len, "\x01\x01\xff", 3);
    assert_non_null(m);
    m[2] = 0x00;        /* BOOLEAN FALSE is no marker */
    for (int policy = VS_BER_STRICT; policy <= VS_BER_LENIENT; policy++) {
        memset(&t, 0, sizeof(t));
        assert_false(ber_load(*state, bytes, len, policy, walk_mini, "mini", &t, NULL, &err));
        assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_MISMATCH, "mini.a");
        assert_gerror_contains(err, "trailing bytes after the value");
        g_clear_error(&err);
    }
    assert_null(vs_ber_decode_tree(*state, bytes, len, &err));
    assert_non_null(err);
    g_clear_error(&err);
    talloc_free(bytes);
}

/* ---- long forms ------------------------------------------------------------ */

/* 40 u8 fields (slots 31 and up take two identifier octets), then a long array. */
typedef struct Wide {
    uint8_t f[40];
    uint8_t arr[200];
} Wide;

static const VsTypeInfo wide_type = {
    .name = "Wide", .wire_name = "wide", .version = 1, .minimum_version = 1,
};

static const char *const wide_names[40] = {
    "f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9",
    "f10", "f11", "f12", "f13", "f14", "f15", "f16", "f17", "f18", "f19",
    "f20", "f21", "f22", "f23", "f24", "f25", "f26", "f27", "f28", "f29",
    "f30", "f31", "f32", "f33", "f34", "f35", "f36", "f37", "f38", "f39",
};

static bool walk_wide(VsVisitor *v, const char *name, void *obj, GError **errp)
{
    Wide *w = obj;
    uint32_t version = 1;
    bool ok = false;

    if (!vs_visit_start_struct(v, name, &wide_type, &version, errp)) {
        return false;
    }
    for (unsigned i = 0; i < 40; i++) {
        if (!vs_visit_u8(v, wide_names[i], &w->f[i], errp)) {
            goto out;
        }
    }
    ok = vs_visit_u8_array(v, "arr", w->arr, 200, errp) && vs_visit_check_struct(v, errp);
out:
    vs_visit_end_struct(v);
    return ok;
}

/*
 * Field numbers of two identifier octets and containers of two length
 * octets take the writers' and readers' general paths: the bytes follow
 * X.690, a marked item among them too, and they load back.
 */
static void test_ber_long_tags(void **state)
{
    static const char *const marks[] = { "wide.f35", NULL };
    /* [35] L SEQUENCE { "f35", [1] INTEGER 35, marker } */
    static const uint8_t f35[] = {
        0xbf, 0x23, 0x0f, 0x30, 0x0d, 0x0c, 0x03, 'f', '3', '5',
        0xa1, 0x03, 0x02, 0x01, 0x23, 0x01, 0x01, 0xff,
    };
    Wide w, t;
    GError *err = NULL;
    char *warnings = NULL;
    size_t len;
    uint8_t *bytes, *at;
    VsNode *a, *b;

    for (unsigned i = 0; i < 40; i++) {
        w.f[i] = (uint8_t)i;
    }
    for (unsigned i = 0; i < 200; i++) {
        w.arr[i] = (uint8_t)(i * 3);
    }
    bytes = ber_save_marked(*state, walk_wide, "wide", &w, marks, &len);
    assert_non_null(memmem(bytes, len, f35, sizeof(f35)));
    /* The array, last in the struct: [40] with two identifier octets and a long length. */
    at = memmem(bytes, len, "\xbf\x28\x82", 3);
    assert_non_null(at);
    assert_int_equal((size_t)(at - bytes) + 5 + ((size_t)at[3] << 8 | at[4]), len);
    for (int policy = VS_BER_STRICT; policy <= VS_BER_LENIENT; policy++) {
        memset(&t, 0, sizeof(t));
        if (!ber_load(*state, bytes, len, policy, walk_wide, "wide", &t, &warnings, &err)) {
            print_error("load failed: %s\n", err->message);
            fail();
        }
        assert_string_equal(warnings, "");
        assert_memory_equal(&t, &w, sizeof(w));
    }
    a = tree_of(*state, walk_wide, "wide", &w);
    b = vs_ber_decode_tree(*state, bytes, len, &err);
    assert_non_null(b);
    assert_trees_equal(*state, a, b);
    talloc_free(bytes);
}

/* ---- the visitor in the caller's storage -------------------------------- */

/* As ber_save(), with the visitor in place (vs_ber_save_visitor_init()). */
static uint8_t *ber_save_in_place(TALLOC_CTX *mem, Walk walk, const char *name, void *obj,
                                  const char *const *marks, size_t *ret_len)
{
    VsBerSaveStorage storage;
    VsVisitor *v = vs_ber_save_visitor_init(&storage);
    GError *err = NULL;
    const uint8_t *data;
    uint8_t *copy;

    assert_ptr_equal(v, &storage);
    assert_null(vs_visitor_result_ctx(v));
    for (size_t i = 0; marks && marks[i]; i++) {
        vs_ber_save_visitor_mark(v, marks[i]);
    }
    if (!walk(v, name, obj, &err) || !vs_visitor_complete(v, &err)) {
        print_error("BER save failed: %s\n", err->message);
        g_error_free(err);
        fail();
    }
    data = vs_ber_save_visitor_data(v, ret_len);
    copy = talloc_memdup(mem, data, *ret_len ? *ret_len : 1);
    vs_visitor_free(v);
    return copy;
}

/* A chain of @depth structs, each a u8 and the next: deeper than any inline frame stack. */
static const VsTypeInfo chain_type = {
    .name = "Chain", .wire_name = "chain", .version = 1, .minimum_version = 1,
};

static bool walk_chain_at(VsVisitor *v, const char *name, uint8_t *vals, unsigned depth,
                          bool fail_deepest, GError **errp)
{
    uint32_t version = 1;
    bool ok;

    if (!vs_visit_start_struct(v, name, &chain_type, &version, errp)) {
        return false;
    }
    ok = vs_visit_u8(v, "x", &vals[0], errp);
    if (ok && depth > 1) {
        ok = walk_chain_at(v, "next", vals + 1, depth - 1, fail_deepest, errp);
    } else if (ok && fail_deepest) {
        ok = vs_visit_report(v, "x", errp, VS_VISIT_ERROR_MISMATCH, "refused at the bottom");
    }
    ok = ok && vs_visit_check_struct(v, errp);
    vs_visit_end_struct(v);
    return ok;
}

#define CHAIN_DEPTH 20

static bool walk_chain(VsVisitor *v, const char *name, void *obj, GError **errp)
{
    return walk_chain_at(v, name, obj, CHAIN_DEPTH, false, errp);
}

/*
 * vs_ber_save_visitor_init() writes the bytes vs_ber_save_visitor_new()
 * writes: on small and large walks (output past the storage), deep ones
 * (frames past the storage, in the core and in the writer) and with marked
 * items.  What it holds on the heap then, and after a failure deep down
 * (a rendered path, the error), vs_visitor_free() releases: the ASan build
 * checks that nothing leaks.
 */
static void test_ber_in_place_visitor(void **state)
{
    static const char *const marks[] = { "vsdemo.inner.mask", "vsdemo.vsdemo/irq", NULL };
    uint8_t chain[CHAIN_DEPTH];
    VsExPic pic;
    size_t len_a, len_b;
    uint8_t *a, *b;

    for (unsigned seed = 0; seed < 4; seed++) {
        VsExDemo s;
        VsExInner storage[VS_EX_SLOTS];

        vs_ex_demo_fill(&s, storage, seed);
        a = ber_save(*state, walk_demo, "vsdemo", &s, &len_a);
        b = ber_save_in_place(*state, walk_demo, "vsdemo", &s, NULL, &len_b);
        assert_true(len_a > sizeof(VsBerSaveStorage) / 2);
        assert_int_equal(len_a, len_b);
        assert_memory_equal(a, b, len_a);
        a = ber_save_marked(*state, walk_demo, "vsdemo", &s, marks, &len_a);
        b = ber_save_in_place(*state, walk_demo, "vsdemo", &s, marks, &len_b);
        assert_int_equal(len_a, len_b);
        assert_memory_equal(a, b, len_a);
    }

    for (unsigned i = 0; i < sizeof(pic); i++) {
        ((uint8_t *)&pic)[i] = (uint8_t)(i * 11 + 3);
    }
    a = ber_save(*state, walk_pic, "i8259", &pic, &len_a);
    b = ber_save_in_place(*state, walk_pic, "i8259", &pic, NULL, &len_b);
    assert_int_equal(len_a, len_b);
    assert_memory_equal(a, b, len_a);

    for (unsigned i = 0; i < CHAIN_DEPTH; i++) {
        chain[i] = (uint8_t)(200 + i);
    }
    a = ber_save(*state, walk_chain, "chain", chain, &len_a);
    b = ber_save_in_place(*state, walk_chain, "chain", chain, NULL, &len_b);
    assert_int_equal(len_a, len_b);
    assert_memory_equal(a, b, len_a);

    {
        VsBerSaveStorage st;
        VsVisitor *v = vs_ber_save_visitor_init(&st);
        GError *err = NULL;

        assert_false(walk_chain_at(v, "chain", chain, CHAIN_DEPTH, true, &err));
        assert_non_null(err);
        assert_non_null(strstr(err->message, "chain.next.next.next.next.next.next.next.next.next"));
        assert_non_null(strstr(err->message, "refused at the bottom"));
        g_clear_error(&err);
        assert_true(vs_visitor_failed(v));
        assert_false(vs_visitor_complete(v, &err));
        assert_non_null(err);
        g_clear_error(&err);
        vs_visitor_free(v);
    }
}

/* ---- schema digests ------------------------------------------------------- */

static void digest_of_fields(const VsFieldInfo *fields, uint32_t version,
                             uint8_t out[VS_BER_DIGEST_LEN])
{
    const VsTypeInfo t = { .name = "T", .wire_name = "t", .version = version,
                           .minimum_version = 1, .fields = fields, .n_fields = 1 };

    vs_ber_schema_digest(&t, out);
}

/* The canonical text (docs/ber-format.md), its SHA-256, and what changes it. */
static void test_ber_schema_digest(void **state)
{
    static const VsTypeInfo sub = { .name = "T__s", .wire_name = "t/s", .version = 1,
                                    .minimum_version = 1, .needed = "(a != 0)" };
    static const VsFieldInfo fields[] = {
        { .name = "a", .kind = VS_FIELD_UINT, .width = 1, .elem_size = 1, .count = 1,
          .multiply = 1, .offset = 4 },
        { .name = "t/s", .kind = VS_FIELD_SUBSECTION, .count = 1, .multiply = 1,
          .offset = SIZE_MAX, .type = &sub },
    };
    const VsTypeInfo t = { .name = "T", .wire_name = "t", .version = 2, .minimum_version = 1,
                           .fields = fields, .n_fields = 2 };
    VsFieldInfo moved[1] = { fields[0] }, widened[1] = { fields[0] },
                renamed[1] = { fields[0] }, later[1] = { fields[0] };
    uint8_t d[VS_BER_DIGEST_LEN], e[VS_BER_DIGEST_LEN], want[VS_BER_DIGEST_LEN];
    g_autofree char *text = vs_ber_schema_text(&t);
    g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
    gsize n = sizeof(want);

    assert_string_equal(text,
                        "vstate schema 1\n"
                        "type T wire t version 2 minimum 1 needed - fields 2\n"
                        "field a uint width 1 flags 0x0 elem 1 count 1 max 0 count-field - "
                        "multiply 1 since 0 test - default 0 codec -\n"
                        "field t/s subsection width 0 flags 0x0 elem 0 count 1 max 0 "
                        "count-field - multiply 1 since 0 test - default 0 codec -\n"
                        "{\n"
                        "type T__s wire t/s version 1 minimum 1 needed (a != 0) fields 0\n"
                        "}\n");
    vs_ber_schema_digest(&t, d);
    g_checksum_update(sum, (const guchar *)text, -1);
    g_checksum_get_digest(sum, want, &n);
    assert_memory_equal(d, want, sizeof(d));

    /* The C layout is not part of it; the wire's shape is. */
    digest_of_fields(fields, 2, d);
    moved[0].offset = 12;
    digest_of_fields(moved, 2, e);
    assert_memory_equal(d, e, sizeof(d));
    widened[0].width = 2;
    digest_of_fields(widened, 2, e);
    assert_memory_not_equal(d, e, sizeof(d));
    renamed[0].name = "b";
    digest_of_fields(renamed, 2, e);
    assert_memory_not_equal(d, e, sizeof(d));
    later[0].since = 2;
    digest_of_fields(later, 2, e);
    assert_memory_not_equal(d, e, sizeof(d));
    digest_of_fields(fields, 3, e);
    assert_memory_not_equal(d, e, sizeof(d));
}

/* A widened value that does not fit fails even when lenient. */
static void test_ber_fail_widened_too_big(void **state)
{
    Mini t;
    GError *err = NULL;

    {
        static const uint8_t big[] = {
            0xac, 0x1e, 0x30, 0x1c,
            0x0c, 0x04, 'M', 'i', 'n', 'i', 0x0c, 0x04, 'm', 'i', 'n', 'i', 0x02, 0x01, 0x01,
            0xa0, 0x0b, 0x30, 0x09, 0x0c, 0x01, 'a', 0xa2, 0x04, 0x02, 0x02, 0x01, 0x05, /* 0x105 */
        };

        memset(&t, 0, sizeof(t));
        assert_false(ber_load(*state, big, sizeof(big), VS_BER_LENIENT, walk_mini, "mini", &t,
                              NULL, &err));
        assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_RANGE, "mini.a");
        g_clear_error(&err);
    }
}

/* ---- malformed input ------------------------------------------------------ */

static void assert_all_truncations_fail(void **state, Walk walk, const char *name, void *obj,
                                        size_t obj_size, const uint8_t *bytes, size_t len)
{
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = talloc_memdup(*state, bytes, cut ? cut : 1);
        void *target = talloc_zero_size(*state, obj_size);
        TALLOC_CTX *result = talloc_new(*state);
        GError *err = NULL;

        memcpy(target, obj, obj_size);
        for (int policy = VS_BER_STRICT; policy <= VS_BER_LENIENT; policy++) {
            if (ber_load(result, copy, cut, policy, walk, name, target, NULL, &err)) {
                print_error("load of %zu of %zu bytes succeeded\n", cut, len);
                fail();
            }
            assert_non_null(err);
            g_clear_error(&err);
        }
        assert_null(vs_ber_decode_tree(result, copy, cut, &err));
        assert_non_null(err);
        g_clear_error(&err);
        talloc_free(result);
        talloc_free(target);
        talloc_free(copy);
    }
}

static void test_ber_fail_truncation(void **state)
{
    VsExDemo s, t;
    VsExInner storage[VS_EX_SLOTS], st2[VS_EX_SLOTS];
    Kinds k;
    size_t len;
    uint8_t *bytes;

    for (unsigned seed = 0; seed < 2; seed++) {
        vs_ex_demo_fill(&s, storage, seed);
        bytes = ber_save(*state, walk_demo, "vsdemo", &s, &len);
        vs_ex_demo_prepare_load(&t, st2, seed);
        assert_all_truncations_fail(state, walk_demo, "vsdemo", &t, sizeof(t), bytes, len);
        talloc_free(bytes);
    }
    memset(&k, 0, sizeof(k));
    assert_all_truncations_fail(state, walk_kinds, "kinds", &k, sizeof(k), kinds_bytes,
                                sizeof(kinds_bytes));
    {
        /* Long identifiers and lengths, and a must-understand marker. */
        static const char *const marks[] = { "wide.f35", "wide.arr", NULL };
        Wide w, target;

        memset(&w, 0x81, sizeof(w));
        memset(&target, 0, sizeof(target));
        bytes = ber_save_marked(*state, walk_wide, "wide", &w, marks, &len);
        assert_all_truncations_fail(state, walk_wide, "wide", &target, sizeof(target), bytes,
                                    len);
        talloc_free(bytes);
    }
}

static void test_ber_fail_trailing_bytes(void **state)
{
    uint8_t buf[sizeof(kinds_bytes) + 2];
    Kinds k;
    GError *err = NULL;

    memcpy(buf, kinds_bytes, sizeof(kinds_bytes));
    buf[sizeof(kinds_bytes)] = 0x05;
    buf[sizeof(kinds_bytes) + 1] = 0x00;
    memset(&k, 0, sizeof(k));
    assert_false(ber_load(*state, buf, sizeof(buf), VS_BER_STRICT, walk_kinds, "kinds", &k, NULL,
                          &err));
    assert_gerror_contains(err, "2 bytes follow the section");
    g_clear_error(&err);
    assert_null(vs_ber_decode_tree(*state, buf, sizeof(buf), &err));
    g_clear_error(&err);
}

/* Indefinite lengths are accepted on read; nesting past 64 is refused. */
static void test_ber_indefinite_and_depth(void **state)
{
    static const uint8_t indefinite[] = {
        0xac, 0x80, 0x30, 0x80,
        0x0c, 0x09, 'V', 's', 'E', 'x', 'I', 'n', 'n', 'e', 'r',
        0x0c, 0x0c, 'v', 's', 'd', 'e', 'm', 'o', '-', 'i', 'n', 'n', 'e', 'r',
        0x02, 0x01, 0x01,
        0xa0, 0x0d, 0x30, 0x0b, 0x0c, 0x04, 'm', 'o', 'd', 'e', 0xa1, 0x03, 0x02, 0x01, 0x03,
        0xa1, 0x80, 0x30, 0x0f, 0x0c, 0x04, 'm', 'a', 's', 'k',
        0xa3, 0x07, 0x02, 0x05, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00,
    };
    VsExInner in = { 0 };
    GError *err = NULL;
    uint8_t deep[2 * 70 + 2];
    VsNode *tree;

    assert_true(ber_load(*state, indefinite, sizeof(indefinite), VS_BER_STRICT, walk_inner,
                         "inner", &in, NULL, &err));
    assert_int_equal(in.mode, 3);
    assert_int_equal(in.mask, 0xdeadbeef);
    tree = vs_ber_decode_tree(*state, indefinite, sizeof(indefinite), &err);
    assert_non_null(tree);
    talloc_free(tree);

    for (size_t i = 0; i < 70; i++) {
        deep[2 * i] = 0x30;
        deep[2 * i + 1] = 0x80;
    }
    deep[140] = 0;
    deep[141] = 0;
    assert_null(vs_ber_decode_tree(*state, deep, sizeof(deep), &err));
    assert_non_null(err);
    g_clear_error(&err);
    assert_false(ber_load(*state, deep, sizeof(deep), VS_BER_LENIENT, walk_inner, "inner", &in,
                          NULL, &err));
    g_clear_error(&err);
}

/*
 * Loads put their strings under the test's context; the context is emptied
 * before the helper checks it (leaks of malloc memory are ASan's to find).
 */
static int ber_teardown(void **state)
{
    talloc_free_children(*state);
    return vs_test_ctx_teardown(state);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, vs_test_ctx_setup, ber_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_ber_value_kinds),
        T(test_ber_spec_example),
        T(test_ber_long_lengths),
        T(test_ber_round_trip_demo),
        T(test_ber_round_trip_pic),
        T(test_ber_decode_tree_demo),
        T(test_ber_decode_tree_kinds),
        T(test_ber_tree_walk_same_bytes),
        T(test_ber_same_tree_as_legacy),
        T(test_ber_fail_renamed_field),
        T(test_ber_fail_widened_field),
        T(test_ber_fail_longer_array),
        T(test_ber_fail_newer_version),
        T(test_ber_fail_unknown_subsection),
        T(test_ber_fail_widened_too_big),
        T(test_ber_must_understand_unknown_field),
        T(test_ber_must_understand_renamed_field),
        T(test_ber_must_understand_unknown_subsection),
        T(test_ber_must_understand_known),
        T(test_ber_must_understand_malformed),
        T(test_ber_schema_digest),
        T(test_ber_long_tags),
        T(test_ber_in_place_visitor),
        T(test_ber_fail_truncation),
        T(test_ber_fail_trailing_bytes),
        T(test_ber_indefinite_and_depth),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
