/*
 * test-legacy.c: the legacy (vmstate) SAVE and LOAD visitors, operation by
 * operation and in both directions, then whole structs: arrays, lists,
 * subsections, versions and round trips of the demo device.
 *
 * SPDX-License-Identifier: MIT
 *
 * Single operations are visited inside a root struct "t", so their paths
 * read "t.<field>".  Expected bytes are written out by hand from the wire
 * rules in legacy-visitor.h and docs §2.
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
#include "visitor/qemufile/legacy-visitor.h"

/* ---- harness ---------------------------------------------------------- */

typedef bool (*Walk)(VsVisitor *v, void *arg, GError **errp);
typedef bool (*Body)(VsVisitor *v, void *arg, GError **errp);

/* No root version given to the load visitor. */
#define NO_ROOT_VERSION (-1)

/*
 * Saves with @walk into a memory writer; returns a copy of the bytes (a
 * child of @mem) or NULL with *@errp set.
 */
static uint8_t *save_walk(TALLOC_CTX *mem, Walk walk, void *arg, size_t *ret_len,
                          GError **errp)
{
    VsQemuFile *f = vs_qemufile_new_memory_writer(mem);
    VsVisitor *v = vs_legacy_save_visitor_new(mem, f);
    uint8_t *copy = NULL;

    *ret_len = 0;
    if (walk(v, arg, errp)) {
        size_t len = 0;
        const uint8_t *data = vs_qemufile_memory_data(f, &len);

        copy = talloc_memdup(mem, len ? data : (const uint8_t *)"", len ? len : 1);
        *ret_len = len;
    }
    vs_visitor_free(v);
    vs_qemufile_free(f);
    return copy;
}

static uint8_t *save_ok(TALLOC_CTX *mem, Walk walk, void *arg, size_t *ret_len)
{
    GError *err = NULL;
    uint8_t *bytes = save_walk(mem, walk, arg, ret_len, &err);

    if (!bytes) {
        print_error("save failed: %s\n", err->message);
        fail();
    }
    return bytes;
}

/*
 * Loads @len bytes at @data with @walk; allocations go under @result.
 * *@consumed (optional) is set to the bytes the load read.
 */
static bool load_walk(TALLOC_CTX *result, const uint8_t *data, size_t len, Walk walk,
                      void *arg, int64_t root_version, uint64_t *consumed, GError **errp)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    VsQemuFile *f = vs_qemufile_new_memory_reader(mem, data, len);
    VsVisitor *v = vs_legacy_load_visitor_new(mem, f, result);
    bool ok;

    if (root_version >= 0) {
        vs_visitor_set_root_version(v, (uint32_t)root_version);
    }
    ok = walk(v, arg, errp);
    if (consumed) {
        *consumed = vs_qemufile_pos(f);
    }
    vs_visitor_free(v);
    vs_qemufile_free(f);
    assert_int_equal(talloc_total_blocks(mem), 1);
    talloc_free(mem);
    return ok;
}

static void load_ok(TALLOC_CTX *result, const uint8_t *data, size_t len, Walk walk,
                    void *arg, int64_t root_version)
{
    GError *err = NULL;
    uint64_t consumed = 0;

    if (!load_walk(result, data, len, walk, arg, root_version, &consumed, &err)) {
        print_error("load failed: %s\n", err->message);
        fail();
    }
    assert_int_equal(consumed, len);
}

/* A root struct "t" around the test's own members. */
static const VsTypeInfo t_type = {
    .name = "T", .wire_name = "t", .version = 1, .minimum_version = 1, .size = 0,
};

typedef struct LeafWalk {
    Body body;
    void *arg;
} LeafWalk;

static bool walk_leaf(VsVisitor *v, void *arg, GError **errp)
{
    LeafWalk *lw = arg;
    uint32_t version = t_type.version;
    bool ok;

    if (!vs_visit_start_struct(v, "t", &t_type, &version, errp)) {
        return false;
    }
    ok = lw->body(v, lw->arg, errp) && vs_visit_check_struct(v, errp);
    vs_visit_end_struct(v);
    return ok && vs_visitor_complete(v, errp);
}

static uint8_t *save_body(TALLOC_CTX *mem, Body body, void *arg, size_t *ret_len)
{
    LeafWalk lw = { body, arg };

    return save_ok(mem, walk_leaf, &lw, ret_len);
}

static void load_body(TALLOC_CTX *result, const uint8_t *data, size_t len, Body body,
                      void *arg)
{
    LeafWalk lw = { body, arg };

    load_ok(result, data, len, walk_leaf, &lw, NO_ROOT_VERSION);
}

static bool load_body_fails(TALLOC_CTX *result, const uint8_t *data, size_t len, Body body,
                            void *arg, GError **errp)
{
    LeafWalk lw = { body, arg };
    bool ok = load_walk(result, data, len, walk_leaf, &lw, NO_ROOT_VERSION, NULL, errp);

    assert_false(ok);
    return ok;
}

static bool walk_demo(VsVisitor *v, void *arg, GError **errp)
{
    return vs_ex_visit_demo(v, "vsdemo", arg, errp) && vs_visitor_complete(v, errp);
}

/* ---- integers --------------------------------------------------------- */

typedef struct Uints {
    uint8_t a, b;
    uint16_t c, d;
    uint32_t e, f;
    uint64_t g, h;
} Uints;

static bool body_uints(VsVisitor *v, void *arg, GError **errp)
{
    Uints *u = arg;

    return vs_visit_u8(v, "a", &u->a, errp) && vs_visit_u8(v, "b", &u->b, errp) &&
           vs_visit_u16(v, "c", &u->c, errp) && vs_visit_u16(v, "d", &u->d, errp) &&
           vs_visit_u32(v, "e", &u->e, errp) && vs_visit_u32(v, "f", &u->f, errp) &&
           vs_visit_u64(v, "g", &u->g, errp) && vs_visit_u64(v, "h", &u->h, errp);
}

static void test_legacy_uint(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    Uints in = { 0x00, 0xff, 0x1234, 0xffff, 0xdeadbeef, 0, UINT64_C(0x0123456789abcdef),
                 UINT64_MAX };
    Uints out;
    static const uint8_t want[] = {
        0x00, 0xff,                                     /* a, b */
        0x12, 0x34, 0xff, 0xff,                         /* c, d */
        0xde, 0xad, 0xbe, 0xef, 0x00, 0x00, 0x00, 0x00, /* e, f */
        0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, /* g */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* h */
    };
    size_t len;
    uint8_t *bytes = save_body(mem, body_uints, &in, &len);

    assert_bytes(bytes, len, want, sizeof(want));
    memset(&out, 0x5a, sizeof(out));
    load_body(mem, want, sizeof(want), body_uints, &out);
    assert_int_equal(out.a, in.a);
    assert_int_equal(out.b, in.b);
    assert_int_equal(out.c, in.c);
    assert_int_equal(out.d, in.d);
    assert_int_equal(out.e, in.e);
    assert_int_equal(out.f, in.f);
    assert_true(out.g == in.g);
    assert_true(out.h == in.h);
    talloc_free(mem);
}

typedef struct Ints {
    int8_t a, b, c;
    int16_t d, e;
    int32_t f, g;
    int64_t h, i;
} Ints;

static bool body_ints(VsVisitor *v, void *arg, GError **errp)
{
    Ints *s = arg;

    return vs_visit_i8(v, "a", &s->a, errp) && vs_visit_i8(v, "b", &s->b, errp) &&
           vs_visit_i8(v, "c", &s->c, errp) && vs_visit_i16(v, "d", &s->d, errp) &&
           vs_visit_i16(v, "e", &s->e, errp) && vs_visit_i32(v, "f", &s->f, errp) &&
           vs_visit_i32(v, "g", &s->g, errp) && vs_visit_i64(v, "h", &s->h, errp) &&
           vs_visit_i64(v, "i", &s->i, errp);
}

static void test_legacy_int(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    Ints in = { -1, INT8_MIN, INT8_MAX, -2, INT16_MIN, -41, INT32_MAX, INT64_MIN, -1 };
    Ints out;
    static const uint8_t want[] = {
        0xff, 0x80, 0x7f,                               /* a, b, c */
        0xff, 0xfe, 0x80, 0x00,                         /* d, e */
        0xff, 0xff, 0xff, 0xd7, 0x7f, 0xff, 0xff, 0xff, /* f, g */
        0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* h */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* i */
    };
    size_t len;
    uint8_t *bytes = save_body(mem, body_ints, &in, &len);

    assert_bytes(bytes, len, want, sizeof(want));
    memset(&out, 0, sizeof(out));
    load_body(mem, want, sizeof(want), body_ints, &out);
    assert_int_equal(out.a, -1);
    assert_int_equal(out.b, INT8_MIN);
    assert_int_equal(out.c, INT8_MAX);
    assert_int_equal(out.d, -2);
    assert_int_equal(out.e, INT16_MIN);
    assert_int_equal(out.f, -41);
    assert_int_equal(out.g, INT32_MAX);
    assert_true(out.h == INT64_MIN);
    assert_true(out.i == -1);
    talloc_free(mem);
}

/* ---- bool, f64 -------------------------------------------------------- */

typedef struct Bools {
    bool a, b;
} Bools;

static bool body_bools(VsVisitor *v, void *arg, GError **errp)
{
    Bools *s = arg;

    return vs_visit_bool(v, "a", &s->a, errp) && vs_visit_bool(v, "b", &s->b, errp);
}

static void test_legacy_bool(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    Bools in = { true, false };
    Bools out = { false, true };
    static const uint8_t want[] = { 0x01, 0x00 };
    static const uint8_t loose[] = { 0x02, 0x00 }; /* QEMU: non-zero is true */
    size_t len;
    uint8_t *bytes = save_body(mem, body_bools, &in, &len);

    assert_bytes(bytes, len, want, sizeof(want));
    load_body(mem, want, sizeof(want), body_bools, &out);
    assert_true(out.a);
    assert_false(out.b);
    out = (Bools){ false, true };
    load_body(mem, loose, sizeof(loose), body_bools, &out);
    assert_true(out.a);
    assert_false(out.b);
    talloc_free(mem);
}

typedef struct Doubles {
    double a, b, c;
} Doubles;

static bool body_doubles(VsVisitor *v, void *arg, GError **errp)
{
    Doubles *s = arg;

    return vs_visit_f64(v, "a", &s->a, errp) && vs_visit_f64(v, "b", &s->b, errp) &&
           vs_visit_f64(v, "c", &s->c, errp);
}

static void test_legacy_f64(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    Doubles in = { 2.5, -0.0, 1.0 / 3.0 };
    Doubles out = { 0, 1, 0 };
    static const uint8_t want[] = {
        0x40, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 2.5 */
        0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* -0.0 */
        0x3f, 0xd5, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, /* 1/3 */
    };
    size_t len;
    uint8_t *bytes = save_body(mem, body_doubles, &in, &len);

    assert_bytes(bytes, len, want, sizeof(want));
    load_body(mem, want, sizeof(want), body_doubles, &out);
    assert_memory_equal(&out, &in, sizeof(in));
    talloc_free(mem);
}

/* ---- buffer, string, unused ------------------------------------------- */

typedef struct Buf {
    uint8_t data[5];
    uint8_t tail;
} Buf;

static bool body_buffer(VsVisitor *v, void *arg, GError **errp)
{
    Buf *s = arg;

    return vs_visit_buffer(v, "data", s->data, sizeof(s->data), errp) &&
           vs_visit_buffer(v, "none", NULL, 0, errp) && vs_visit_u8(v, "tail", &s->tail, errp);
}

static void test_legacy_buffer(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    Buf in = { { 1, 2, 3, 0xfe, 0xff }, 0x42 };
    Buf out = { { 0 }, 0 };
    static const uint8_t want[] = { 0x01, 0x02, 0x03, 0xfe, 0xff, 0x42 };
    size_t len;
    uint8_t *bytes = save_body(mem, body_buffer, &in, &len);

    assert_bytes(bytes, len, want, sizeof(want));
    load_body(mem, want, sizeof(want), body_buffer, &out);
    assert_memory_equal(&out, &in, sizeof(in));
    talloc_free(mem);
}

typedef struct Str {
    char *s;
    size_t max_len;
} Str;

static bool body_string(VsVisitor *v, void *arg, GError **errp)
{
    Str *s = arg;

    return vs_visit_string(v, "name", &s->s, s->max_len, errp);
}

static void test_legacy_string(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    TALLOC_CTX *result = talloc_new(mem);
    static const uint8_t hello[] = { 0x05, 'h', 'e', 'l', 'l', 'o' };
    static const uint8_t empty[] = { 0x00 };
    char max[256];
    uint8_t max_bytes[256];
    Str in = { (char *)"hello", 255 };
    Str out = { NULL, 255 };
    size_t len;
    uint8_t *bytes = save_body(mem, body_string, &in, &len);

    assert_bytes(bytes, len, hello, sizeof(hello));
    load_body(result, hello, sizeof(hello), body_string, &out);
    assert_string_equal(out.s, "hello");
    assert_ptr_equal(talloc_parent(out.s), result);

    /* Empty and NULL both write a zero length; loading gives "". */
    in.s = (char *)"";
    bytes = save_body(mem, body_string, &in, &len);
    assert_bytes(bytes, len, empty, sizeof(empty));
    in.s = NULL;
    bytes = save_body(mem, body_string, &in, &len);
    assert_bytes(bytes, len, empty, sizeof(empty));
    out.s = NULL;
    load_body(result, empty, sizeof(empty), body_string, &out);
    assert_string_equal(out.s, "");

    /* The longest counted string. */
    memset(max, 'x', 255);
    max[255] = '\0';
    max_bytes[0] = 0xff;
    memset(max_bytes + 1, 'x', 255);
    in.s = max;
    bytes = save_body(mem, body_string, &in, &len);
    assert_bytes(bytes, len, max_bytes, sizeof(max_bytes));
    out.s = NULL;
    load_body(result, max_bytes, sizeof(max_bytes), body_string, &out);
    assert_string_equal(out.s, max);
    talloc_free(mem);
}

static void test_legacy_fail_string_load_limit(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    TALLOC_CTX *result = talloc_new(mem);
    static const uint8_t long_str[] = { 0x0a, '0', '1', '2', '3', '4', '5', '6', '7', '8', '9' };
    Str out = { NULL, 4 };
    GError *err = NULL;

    load_body_fails(result, long_str, sizeof(long_str), body_string, &out, &err);
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_LIMIT, "t.name");
    assert_gerror_contains(err, "string of 10 bytes exceeds the maximum of 4 (offset 0x0)");
    /* Refused before anything was allocated. */
    assert_null(out.s);
    assert_int_equal(talloc_total_blocks(result), 1);
    g_clear_error(&err);

    /* A length the stream cannot back: nothing is left allocated either. */
    out.max_len = 255;
    load_body_fails(result, long_str, 6, body_string, &out, &err);
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_TRUNCATED, "t.name");
    assert_gerror_contains(err, "stream ends after 5 of 10 bytes (offset 0x1)");
    assert_null(out.s);
    assert_int_equal(talloc_total_blocks(result), 1);
    g_clear_error(&err);
    talloc_free(mem);
}

static void test_legacy_fail_string_save_limit(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    char big[257];
    Str in = { big, 300 };
    LeafWalk lw = { body_string, &in };
    GError *err = NULL;
    size_t len;

    /* Longer than a counted string can say, though within max_len. */
    memset(big, 'y', 256);
    big[256] = '\0';
    assert_null(save_walk(mem, walk_leaf, &lw, &len, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_LIMIT, "t.name");
    assert_gerror_contains(err, "256 bytes");
    g_clear_error(&err);

    /* Longer than max_len: refused by the core. */
    in.s = (char *)"hello";
    in.max_len = 4;
    assert_null(save_walk(mem, walk_leaf, &lw, &len, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_LIMIT, "t.name");
    g_clear_error(&err);
    talloc_free(mem);
}

static void test_legacy_fail_string_nul(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    static const uint8_t nul[] = { 0x03, 'a', 0x00, 'b' };
    Str out = { NULL, 255 };
    GError *err = NULL;

    load_body_fails(mem, nul, sizeof(nul), body_string, &out, &err);
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_MISMATCH, "t.name");
    assert_null(out.s);
    assert_int_equal(talloc_total_blocks(mem), 1);
    g_clear_error(&err);
    talloc_free(mem);
}

typedef struct Unused {
    uint8_t after;
} Unused;

static bool body_unused(VsVisitor *v, void *arg, GError **errp)
{
    Unused *s = arg;

    return vs_visit_unused(v, "unused", 4, errp) && vs_visit_u8(v, "after", &s->after, errp);
}

static void test_legacy_unused(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    static const uint8_t zeros[] = { 0, 0, 0, 0, 0x9a };
    static const uint8_t junk[] = { 0x12, 0x34, 0x56, 0x78, 0x9a };
    Unused in = { 0x9a };
    Unused out = { 0 };
    size_t len;
    uint8_t *bytes = save_body(mem, body_unused, &in, &len);

    assert_bytes(bytes, len, zeros, sizeof(zeros));
    load_body(mem, junk, sizeof(junk), body_unused, &out);
    assert_int_equal(out.after, 0x9a);
    talloc_free(mem);
}

static void test_legacy_fail_unused_truncated(void **state)
{
    static const uint8_t junk[] = { 0x12, 0x34 };
    Unused out = { 0 };
    GError *err = NULL;

    load_body_fails(NULL, junk, sizeof(junk), body_unused, &out, &err);
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_TRUNCATED, "t.unused");
    assert_gerror_contains(err, "stream ends after 2 of 4 bytes (offset 0x0)");
    g_clear_error(&err);
}

/* ---- null-pointer markers, opaque payloads ---------------------------- */

typedef struct Ptrs {
    bool p, q;
    uint8_t after;
} Ptrs;

static bool body_ptrs(VsVisitor *v, void *arg, GError **errp)
{
    Ptrs *s = arg;

    return vs_visit_nullptr(v, "p", &s->p, errp) && vs_visit_nullptr(v, "q", &s->q, errp) &&
           vs_visit_u8(v, "after", &s->after, errp);
}

static void test_legacy_nullptr(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    static const uint8_t want[] = { 0x30, 0x7f }; /* p NULL: marker; q set: nothing */
    Ptrs in = { true, false, 0x7f };
    Ptrs out = { true, false, 0 };
    size_t len;
    uint8_t *bytes = save_body(mem, body_ptrs, &in, &len);

    assert_bytes(bytes, len, want, sizeof(want));
    load_body(mem, want, sizeof(want), body_ptrs, &out);
    assert_true(out.p);
    assert_false(out.q);
    assert_int_equal(out.after, 0x7f);
    talloc_free(mem);
}

static void test_legacy_fail_nullptr_mismatch(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    static const uint8_t bad[] = { 0x31, 0x7f };
    Ptrs out = { true, false, 0 };
    VsExDemo demo, loaded;
    VsExInner storage[VS_EX_SLOTS], lstorage[VS_EX_SLOTS];
    GError *err = NULL;
    uint8_t *bytes;
    size_t len;

    load_body_fails(mem, bad, sizeof(bad), body_ptrs, &out, &err);
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_MISMATCH, "t.p");
    assert_gerror_contains(err, "expected null-pointer marker 0x30, found 0x31 (offset 0x0)");
    g_clear_error(&err);

    /* The destination's slot 1 is NULL, the source's is not. */
    vs_ex_demo_fill(&demo, storage, 1);
    bytes = save_ok(mem, walk_demo, &demo, &len);
    vs_ex_demo_prepare_load(&loaded, lstorage, 0);
    assert_false(load_walk(mem, bytes, len, walk_demo, &loaded, NO_ROOT_VERSION, NULL, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_MISMATCH, "vsdemo.slots[1]");
    assert_gerror_contains(err, "found 0x08 (offset 0x3f)"); /* slot 1 starts at 63 */
    g_clear_error(&err);
    talloc_free(mem);
}

typedef struct Opaque {
    uint8_t *data;
    size_t len;
    size_t max_len;
} Opaque;

static bool body_opaque(VsVisitor *v, void *arg, GError **errp)
{
    Opaque *s = arg;

    return vs_visit_opaque(v, "payload", &s->data, &s->len, s->max_len, errp);
}

static void test_legacy_opaque(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    TALLOC_CTX *result = talloc_new(mem);
    static uint8_t five[] = { 9, 8, 7, 6, 5 };
    uint8_t *big = talloc_array(mem, uint8_t, 10000);
    Opaque in = { five, sizeof(five), 16 };
    Opaque out = { NULL, sizeof(five), 16 };
    size_t len;
    uint8_t *bytes = save_body(mem, body_opaque, &in, &len);

    assert_bytes(bytes, len, five, sizeof(five));
    load_body(result, five, sizeof(five), body_opaque, &out);
    assert_memory_equal(out.data, five, sizeof(five));
    assert_int_equal(out.len, sizeof(five));
    assert_ptr_equal(talloc_parent(out.data), result);

    /* Empty. */
    in = (Opaque){ NULL, 0, 16 };
    bytes = save_body(mem, body_opaque, &in, &len);
    assert_int_equal(len, 0);
    out = (Opaque){ NULL, 0, 16 };
    load_body(result, five, 0, body_opaque, &out);
    assert_non_null(out.data);

    /* Larger than one read chunk. */
    for (size_t i = 0; i < 10000; i++) {
        big[i] = (uint8_t)(i * 7);
    }
    in = (Opaque){ big, 10000, 1 << 20 };
    bytes = save_body(mem, body_opaque, &in, &len);
    assert_bytes(bytes, len, big, 10000);
    out = (Opaque){ NULL, 10000, 1 << 20 };
    load_body(result, bytes, len, body_opaque, &out);
    assert_memory_equal(out.data, big, 10000);
    assert_int_equal(talloc_get_size(out.data), 10000);
    talloc_free(mem);
}

static void test_legacy_fail_opaque(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    TALLOC_CTX *result = talloc_new(mem);
    uint8_t *big = talloc_zero_array(mem, uint8_t, 5000);
    Opaque out = { NULL, 10000, 1 << 30 };
    GError *err = NULL;

    /* A claimed length the stream cannot back: clean error, nothing kept. */
    load_body_fails(result, big, 5000, body_opaque, &out, &err);
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_TRUNCATED, "t.payload");
    assert_gerror_contains(err, "stream ends after 5000 of 10000 bytes (offset 0x0)");
    assert_null(out.data);
    assert_int_equal(talloc_total_blocks(result), 1);
    g_clear_error(&err);

    /* Above max_len: refused by the core before the op runs. */
    out = (Opaque){ NULL, 17, 16 };
    load_body_fails(result, big, 5000, body_opaque, &out, &err);
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_LIMIT, "t.payload");
    assert_null(out.data);
    assert_int_equal(talloc_total_blocks(result), 1);
    g_clear_error(&err);
    talloc_free(mem);
}

/* ---- structs and arrays ----------------------------------------------- */

typedef struct Nest {
    VsExInner inner;
    uint8_t n;
    uint16_t vals[5];
} Nest;

static bool body_nest(VsVisitor *v, void *arg, GError **errp)
{
    Nest *s = arg;
    uint32_t n;
    bool ok = true;

    if (!vs_ex_visit_inner(v, "inner", &s->inner, errp) || !vs_visit_u8(v, "n", &s->n, errp)) {
        return false;
    }
    n = s->n;
    if (!vs_visit_start_array(v, "vals", &n, G_N_ELEMENTS(s->vals), 2, errp)) {
        return false;
    }
    for (uint32_t i = 0; ok && i < n; i++) {
        ok = vs_visit_u16(v, NULL, &s->vals[i], errp);
    }
    vs_visit_end_array(v);
    return ok;
}

static void test_legacy_struct_and_arrays(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    Nest in = { { 3, 0xdeadbeef }, 2, { 0x0102, 0x0304, 0x0506 } };
    Nest out;
    static const uint8_t want[] = {
        0x03, 0xde, 0xad, 0xbe, 0xef, /* inner: nothing around its members */
        0x02,                         /* n */
        0x01, 0x02, 0x03, 0x04,       /* vals[0..1]: no count on the wire */
    };
    static const uint8_t empty[] = { 0x01, 0x00, 0x00, 0x00, 0x02, 0x00 };
    size_t len;
    uint8_t *bytes = save_body(mem, body_nest, &in, &len);

    assert_bytes(bytes, len, want, sizeof(want));
    memset(&out, 0, sizeof(out));
    load_body(mem, want, sizeof(want), body_nest, &out);
    assert_int_equal(out.inner.mode, 3);
    assert_int_equal(out.inner.mask, 0xdeadbeef);
    assert_int_equal(out.n, 2);
    assert_int_equal(out.vals[0], 0x0102);
    assert_int_equal(out.vals[1], 0x0304);
    assert_int_equal(out.vals[2], 0);

    /* A variable array with zero elements. */
    memset(&out, 0, sizeof(out));
    load_body(mem, empty, sizeof(empty), body_nest, &out);
    assert_int_equal(out.inner.mask, 2);
    assert_int_equal(out.n, 0);
    talloc_free(mem);
}

static void test_legacy_fail_array_limit(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    VsExDemo demo, loaded;
    VsExInner storage[VS_EX_SLOTS], lstorage[VS_EX_SLOTS];
    GError *err = NULL;
    uint8_t *bytes;
    size_t len;

    vs_ex_demo_fill(&demo, storage, 1);
    bytes = save_ok(mem, walk_demo, &demo, &len);

    /* Load: the count field (offset 36, see test-legacy-golden.c) says 32. */
    assert_int_equal(bytes[36], 4);
    bytes[36] = 0x20;
    vs_ex_demo_prepare_load(&loaded, lstorage, 1);
    assert_false(load_walk(mem, bytes, len, walk_demo, &loaded, NO_ROOT_VERSION, NULL, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_LIMIT, "vsdemo.fifo");
    assert_gerror_contains(err, "32 elements exceed the declared maximum of 16");
    g_clear_error(&err);

    /* Save: a state whose count is out of bounds is refused too. */
    demo.fifo_len = VS_EX_FIFO_MAX + 1;
    assert_null(save_walk(mem, walk_demo, &demo, &len, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_LIMIT, "vsdemo.fifo");
    g_clear_error(&err);
    talloc_free(mem);
}

static void test_legacy_fail_truncated_path(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    VsExDemo demo, loaded;
    VsExInner storage[VS_EX_SLOTS], lstorage[VS_EX_SLOTS];
    GError *err = NULL;
    uint8_t *bytes;
    size_t len;

    vs_ex_demo_fill(&demo, storage, 1);
    bytes = save_ok(mem, walk_demo, &demo, &len);
    /* chans[1].mask starts at offset 54; cut two bytes into it. */
    vs_ex_demo_prepare_load(&loaded, lstorage, 1);
    assert_false(load_walk(mem, bytes, 56, walk_demo, &loaded, NO_ROOT_VERSION, NULL, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_TRUNCATED, "vsdemo.chans[1].mask");
    assert_string_equal(err->message,
                        "vsdemo.chans[1].mask: stream ends after 2 of 4 bytes (offset 0x36)");
    g_clear_error(&err);
    talloc_free(mem);
}

/* ---- lists (QTAILQ, QLIST, GTree) ------------------------------------ */

/*
 * A QTAILQ as a device keeps it, modelled with a fixed C array: the
 * elements in use and how many there are (C only, not on the wire), then
 * a field after the list to show the stream continues where it should.
 */
#define QT_CAP 8

typedef struct QtElem {
    uint16_t id;
    uint32_t val;
} QtElem;

typedef struct QtHead {
    uint32_t count;
    QtElem elems[QT_CAP];
    uint8_t after;
} QtHead;

static const VsTypeInfo qt_elem_type = {
    .name = "QtElem", .wire_name = "qt-elem", .version = 1, .minimum_version = 1,
    .size = sizeof(QtElem),
};

static bool visit_qt_elem(VsVisitor *v, const char *name, QtElem *e, GError **errp)
{
    uint32_t version = qt_elem_type.version;
    bool ok;

    if (!vs_visit_start_struct(v, name, &qt_elem_type, &version, errp)) {
        return false;
    }
    ok = vs_visit_u16(v, "id", &e->id, errp) && vs_visit_u32(v, "val", &e->val, errp) &&
         vs_visit_check_struct(v, errp);
    vs_visit_end_struct(v);
    return ok;
}

/* On load the core's maximum check keeps i below QT_CAP. */
static bool body_qtailq(VsVisitor *v, void *arg, GError **errp)
{
    QtHead *h = arg;
    uint32_t i;

    if (!vs_visit_start_list(v, "elems", QT_CAP, 6, errp)) {
        return false;
    }
    for (i = 0;; i++) {
        bool more = i < h->count;

        if (!vs_visit_list_next(v, &more, errp) || !more ||
            !visit_qt_elem(v, NULL, &h->elems[i], errp)) {
            break;
        }
    }
    vs_visit_end_list(v);
    if (vs_visitor_failed(v)) {
        return false;
    }
    h->count = i;
    return vs_visit_u8(v, "after", &h->after, errp);
}

static void qt_fill(QtHead *h, uint32_t count)
{
    memset(h, 0, sizeof(*h));
    h->count = count;
    for (uint32_t i = 0; i < count; i++) {
        h->elems[i] = (QtElem){ (uint16_t)(0xe0 + i), 0x10203040u + i };
    }
    h->after = 0x5a;
}

static void assert_qt_equal(const QtHead *a, const QtHead *b)
{
    assert_int_equal(a->count, b->count);
    for (uint32_t i = 0; i < a->count; i++) {
        assert_int_equal(a->elems[i].id, b->elems[i].id);
        assert_int_equal(a->elems[i].val, b->elems[i].val);
    }
    assert_int_equal(a->after, b->after);
}

/* Saves @count elements, checks the bytes, loads them back and saves again. */
static void check_qtailq_bytes(uint32_t count, const uint8_t *want, size_t want_len)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    QtHead in, out;
    size_t len, len2;
    uint8_t *bytes, *again;

    qt_fill(&in, count);
    bytes = save_body(mem, body_qtailq, &in, &len);
    assert_bytes(bytes, len, want, want_len);
    memset(&out, 0xa5, sizeof(out));
    load_body(mem, want, want_len, body_qtailq, &out);
    assert_qt_equal(&in, &out);
    again = save_body(mem, body_qtailq, &out, &len2);
    assert_bytes(again, len2, want, want_len);
    talloc_free(mem);
}

static void test_legacy_list_bytes(void **state)
{
    static const uint8_t none[] = {
        0x00, /* the end */
        0x5a, /* after */
    };
    static const uint8_t one[] = {
        0x01, 0x00, 0xe0, 0x10, 0x20, 0x30, 0x40, /* more, [0] */
        0x00, 0x5a,                               /* the end, after */
    };
    static const uint8_t three[] = {
        0x01, 0x00, 0xe0, 0x10, 0x20, 0x30, 0x40, /* more, [0] */
        0x01, 0x00, 0xe1, 0x10, 0x20, 0x30, 0x41, /* more, [1] */
        0x01, 0x00, 0xe2, 0x10, 0x20, 0x30, 0x42, /* more, [2] */
        0x00, 0x5a,                               /* the end, after */
    };

    check_qtailq_bytes(0, none, sizeof(none));
    check_qtailq_bytes(1, one, sizeof(one));
    check_qtailq_bytes(3, three, sizeof(three));
}

static void test_legacy_list_round_trip(void **state)
{
    for (uint32_t count = 0; count <= QT_CAP; count++) {
        TALLOC_CTX *mem = talloc_new(NULL);
        QtHead in, out;
        size_t len;
        uint8_t *bytes;

        qt_fill(&in, count);
        bytes = save_body(mem, body_qtailq, &in, &len);
        assert_int_equal(len, count * 7 + 2);
        memset(&out, 0, sizeof(out));
        load_body(mem, bytes, len, body_qtailq, &out);
        assert_qt_equal(&in, &out);
        talloc_free(mem);
    }
}

static void test_legacy_fail_list_marker(void **state)
{
    static const uint8_t bad_first[] = { 0x02, 0x5a };
    static const uint8_t bad_second[] = {
        0x01, 0x00, 0xe0, 0x10, 0x20, 0x30, 0x40, /* more, [0] */
        0xff, 0x5a,                               /* neither more nor the end */
    };
    QtHead out;
    GError *err = NULL;

    load_body_fails(NULL, bad_first, sizeof(bad_first), body_qtailq, &out, &err);
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_MISMATCH, "t.elems");
    assert_string_equal(err->message,
                        "t.elems: list marker 0x02 is neither 1 nor 0 (offset 0x0)");
    g_clear_error(&err);
    load_body_fails(NULL, bad_second, sizeof(bad_second), body_qtailq, &out, &err);
    assert_string_equal(err->message,
                        "t.elems: list marker 0xff is neither 1 nor 0 (offset 0x7)");
    assert_int_equal(out.elems[0].val, 0x10203040);
    g_clear_error(&err);
}

static void test_legacy_fail_list_truncated(void **state)
{
    static const uint8_t one[] = {
        0x01, 0x00, 0xe0, 0x10, 0x20, 0x30, 0x40, /* more, [0] */
        0x00, 0x5a,                               /* the end, after */
    };
    QtHead out;
    GError *err = NULL;

    /* No marker at all. */
    load_body_fails(NULL, one, 0, body_qtailq, &out, &err);
    assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_TRUNCATED,
                  "t.elems: stream ends after 0 of 1 bytes (offset 0x0)");
    g_clear_error(&err);
    /* The end marker is missing after an element. */
    load_body_fails(NULL, one, 7, body_qtailq, &out, &err);
    assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_TRUNCATED,
                  "t.elems: stream ends after 0 of 1 bytes (offset 0x7)");
    g_clear_error(&err);
    /* Inside an element: the element's path. */
    load_body_fails(NULL, one, 5, body_qtailq, &out, &err);
    assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_TRUNCATED,
                  "t.elems[0].val: stream ends after 2 of 4 bytes (offset 0x3)");
    g_clear_error(&err);
    /* After the end marker: the next field. */
    load_body_fails(NULL, one, 8, body_qtailq, &out, &err);
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_TRUNCATED, "t.after");
    g_clear_error(&err);
}

/* A stream with more elements than the declared maximum: refused before [8]. */
static void test_legacy_fail_list_limit(void **state)
{
    uint8_t stream[(QT_CAP + 1) * 7 + 2];
    QtHead out;
    GError *err = NULL;
    uint64_t consumed = 0;
    LeafWalk lw = { body_qtailq, &out };

    for (size_t i = 0; i <= QT_CAP; i++) {
        static const uint8_t elem[] = { 0x01, 0x00, 0x07, 0x00, 0x00, 0x00, 0x09 };

        memcpy(stream + i * 7, elem, sizeof(elem));
    }
    stream[sizeof(stream) - 2] = 0x00;
    stream[sizeof(stream) - 1] = 0x5a;
    memset(&out, 0, sizeof(out));
    assert_false(load_walk(NULL, stream, sizeof(stream), walk_leaf, &lw, NO_ROOT_VERSION,
                           &consumed, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_LIMIT, "t.elems");
    assert_string_equal(err->message,
                        "t.elems: more than the declared maximum of 8 elements (offset 0x39)");
    /* The ninth marker was read, its element was not. */
    assert_int_equal(consumed, QT_CAP * 7 + 1);
    assert_int_equal(out.elems[QT_CAP - 1].val, 9);
    g_clear_error(&err);
}

/* ---- channel errors --------------------------------------------------- */

static void test_legacy_fail_channel(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    static const uint8_t two[] = { 1, 2 };
    Uints u = { 0 };
    LeafWalk lw = { body_uints, &u };
    GError *err = NULL;
    VsQemuFile *f;
    VsVisitor *v;

    /* Saving into a reader: the channel's own error, at the first field. */
    f = vs_qemufile_new_memory_reader(mem, two, sizeof(two));
    v = vs_legacy_save_visitor_new(mem, f);
    assert_false(walk_leaf(v, &lw, &err));
    assert_gerror_path(err, VS_QEMUFILE_ERROR, VS_QEMUFILE_ERROR_MODE, "t.a");
    g_clear_error(&err);
    vs_visitor_free(v);
    vs_qemufile_free(f);

    /* Loading from a writer: not a truncation, the channel's error. */
    f = vs_qemufile_new_memory_writer(mem);
    v = vs_legacy_load_visitor_new(mem, f, NULL);
    assert_false(walk_leaf(v, &lw, &err));
    assert_gerror_path(err, VS_QEMUFILE_ERROR, VS_QEMUFILE_ERROR_MODE, "t.a");
    g_clear_error(&err);
    vs_visitor_free(v);
    vs_qemufile_free(f);
    talloc_free(mem);
}

static bool body_nothing(VsVisitor *v, void *arg, GError **errp)
{
    return true;
}

static void test_legacy_fail_complete(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    LeafWalk lw = { body_nothing, NULL };
    GError *err = NULL;
    VsQemuFile *f = vs_qemufile_new_memory_writer(mem);
    VsVisitor *v = vs_legacy_save_visitor_new(mem, f);

    /* Nothing written, but the channel failed behind the walk's back. */
    vs_qemufile_set_error(f, g_error_new(VS_QEMUFILE_ERROR, VS_QEMUFILE_ERROR_IO, "disk full"));
    assert_false(walk_leaf(v, &lw, &err));
    assert_gerror_path(err, VS_QEMUFILE_ERROR, VS_QEMUFILE_ERROR_IO, "<root>");
    assert_gerror_contains(err, "disk full");
    g_clear_error(&err);
    vs_visitor_free(v);
    vs_qemufile_free(f);
    talloc_free(mem);
}

/* ---- subsections ------------------------------------------------------ */

/*
 * outer { a; in { b; [inner/x { c }] }; [outer/s1 { d; [outer/s1/deep { e }] }];
 *         [outer/s2 v2 { f }] }
 */
typedef struct Outer {
    uint8_t a, b, c, e, f;
    uint16_t d;
    bool x, s1, deep, s2;
    uint32_t s2_version;
} Outer;

static const VsTypeInfo outer_type = { "Outer", "outer", 1, 1, sizeof(Outer) };
static const VsTypeInfo outer_in_type = { "OuterIn", "inner", 1, 1, 0 };
static const VsTypeInfo outer_in_x_type = { "OuterInX", "inner/x", 1, 1, 0 };
static const VsTypeInfo outer_s1_type = { "OuterS1", "outer/s1", 1, 1, 0 };
static const VsTypeInfo outer_deep_type = { "OuterDeep", "outer/s1/deep", 1, 1, 0 };
static const VsTypeInfo outer_s2_type = { "OuterS2", "outer/s2", 2, 1, 0 };

typedef bool (*SubBody)(VsVisitor *v, Outer *o, GError **errp);

static bool visit_sub(VsVisitor *v, const VsTypeInfo *type, bool *present, uint32_t *ret_ver,
                      SubBody body, Outer *o, GError **errp)
{
    uint32_t version = type->version;
    bool ok;

    if (!vs_visit_start_subsection(v, type->wire_name, type, &version, present, errp)) {
        return false;
    }
    if (!*present) {
        return true;
    }
    if (ret_ver) {
        *ret_ver = version;
    }
    ok = body(v, o, errp) && vs_visit_check_struct(v, errp);
    vs_visit_end_subsection(v);
    return ok;
}

static bool sub_x(VsVisitor *v, Outer *o, GError **errp)
{
    return vs_visit_u8(v, "c", &o->c, errp);
}

static bool sub_deep(VsVisitor *v, Outer *o, GError **errp)
{
    return vs_visit_u8(v, "e", &o->e, errp);
}

static bool sub_s1(VsVisitor *v, Outer *o, GError **errp)
{
    return vs_visit_u16(v, "d", &o->d, errp) &&
           visit_sub(v, &outer_deep_type, &o->deep, NULL, sub_deep, o, errp);
}

static bool sub_s2(VsVisitor *v, Outer *o, GError **errp)
{
    return vs_visit_u8(v, "f", &o->f, errp);
}

static bool visit_outer_in(VsVisitor *v, Outer *o, GError **errp)
{
    uint32_t version = outer_in_type.version;
    bool ok;

    if (!vs_visit_start_struct(v, "in", &outer_in_type, &version, errp)) {
        return false;
    }
    ok = vs_visit_u8(v, "b", &o->b, errp) &&
         visit_sub(v, &outer_in_x_type, &o->x, NULL, sub_x, o, errp) &&
         vs_visit_check_struct(v, errp);
    vs_visit_end_struct(v);
    return ok;
}

static bool walk_outer(VsVisitor *v, void *arg, GError **errp)
{
    Outer *o = arg;
    uint32_t version = outer_type.version;
    bool ok;

    if (!vs_visit_start_struct(v, "outer", &outer_type, &version, errp)) {
        return false;
    }
    ok = vs_visit_u8(v, "a", &o->a, errp) && visit_outer_in(v, o, errp) &&
         visit_sub(v, &outer_s1_type, &o->s1, NULL, sub_s1, o, errp) &&
         visit_sub(v, &outer_s2_type, &o->s2, &o->s2_version, sub_s2, o, errp) &&
         vs_visit_check_struct(v, errp);
    vs_visit_end_struct(v);
    return ok && vs_visitor_complete(v, errp);
}

#define OUTER_ALL { 0x11, 0x22, 0x33, 0x66, 0x77, 0x4455, true, true, true, true, 0 }

/* All present: nested struct's, nested subsection inside a subsection. */
static const uint8_t outer_all[] = {
    0x11,                                                 /* a */
    0x22,                                                 /* in.b */
    0x05, 0x07, 'i', 'n', 'n', 'e', 'r', '/', 'x',        /* inner/x header */
    0x00, 0x00, 0x00, 0x01,                               /*   version 1 */
    0x33,                                                 /*   c */
    0x05, 0x08, 'o', 'u', 't', 'e', 'r', '/', 's', '1',   /* outer/s1 header */
    0x00, 0x00, 0x00, 0x01,                               /*   version 1 */
    0x44, 0x55,                                           /*   d */
    0x05, 0x0d, 'o', 'u', 't', 'e', 'r', '/', 's', '1',   /*   outer/s1/deep */
    '/', 'd', 'e', 'e', 'p', 0x00, 0x00, 0x00, 0x01,      /*     version 1 */
    0x66,                                                 /*     e */
    0x05, 0x08, 'o', 'u', 't', 'e', 'r', '/', 's', '2',   /* outer/s2 header */
    0x00, 0x00, 0x00, 0x02,                               /*   version 2 */
    0x77,                                                 /*   f */
};

static void test_legacy_subsection_present(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    Outer in = OUTER_ALL;
    Outer out;
    size_t len;
    uint8_t *bytes = save_ok(mem, walk_outer, &in, &len);

    assert_bytes(bytes, len, outer_all, sizeof(outer_all));
    memset(&out, 0, sizeof(out));
    load_ok(mem, outer_all, sizeof(outer_all), walk_outer, &out, 1);
    assert_true(out.x && out.s1 && out.deep && out.s2);
    assert_int_equal(out.c, 0x33);
    assert_int_equal(out.d, 0x4455);
    assert_int_equal(out.e, 0x66);
    assert_int_equal(out.f, 0x77);
    assert_int_equal(out.s2_version, 2);
    talloc_free(mem);
}

static void test_legacy_subsection_absent(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    Outer in = { .a = 0x11, .b = 0x22 };
    Outer out;
    static const uint8_t want[] = { 0x11, 0x22 };
    size_t len;
    uint8_t *bytes = save_ok(mem, walk_outer, &in, &len);

    assert_bytes(bytes, len, want, sizeof(want));
    memset(&out, 0xff, sizeof(out));
    out.x = out.s1 = out.deep = out.s2 = true;
    load_ok(mem, want, sizeof(want), walk_outer, &out, 1);
    assert_false(out.x || out.s1 || out.s2);
    assert_int_equal(out.a, 0x11);
    assert_int_equal(out.b, 0x22);
    talloc_free(mem);
}

/*
 * inner/x and outer/s1 absent: inner must leave outer/s2 (an outer struct's
 * subsection) alone, and outer/s1 must see it is a later one of its own.
 */
static void test_legacy_subsection_outer_left_alone(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    Outer in = { .a = 0x11, .b = 0x22, .s2 = true, .f = 0x77 };
    Outer out;
    static const uint8_t want[] = {
        0x11, 0x22,
        0x05, 0x08, 'o', 'u', 't', 'e', 'r', '/', 's', '2', 0x00, 0x00, 0x00, 0x02,
        0x77,
    };
    size_t len;
    uint8_t *bytes = save_ok(mem, walk_outer, &in, &len);

    assert_bytes(bytes, len, want, sizeof(want));
    memset(&out, 0, sizeof(out));
    load_ok(mem, want, sizeof(want), walk_outer, &out, 1);
    assert_false(out.x);
    assert_false(out.s1);
    assert_true(out.s2);
    assert_int_equal(out.f, 0x77);
    talloc_free(mem);
}

/* s1 without its nested subsection, then s2. */
static void test_legacy_subsection_nested(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    Outer in = OUTER_ALL;
    Outer out;
    size_t len;
    uint8_t *bytes;
    static const uint8_t want[] = {
        0x11, 0x22,
        0x05, 0x07, 'i', 'n', 'n', 'e', 'r', '/', 'x', 0x00, 0x00, 0x00, 0x01, 0x33,
        0x05, 0x08, 'o', 'u', 't', 'e', 'r', '/', 's', '1', 0x00, 0x00, 0x00, 0x01,
        0x44, 0x55,
        0x05, 0x08, 'o', 'u', 't', 'e', 'r', '/', 's', '2', 0x00, 0x00, 0x00, 0x02,
        0x77,
    };

    in.deep = false;
    bytes = save_ok(mem, walk_outer, &in, &len);
    assert_bytes(bytes, len, want, sizeof(want));
    memset(&out, 0, sizeof(out));
    out.deep = true;
    load_ok(mem, want, sizeof(want), walk_outer, &out, 1);
    assert_true(out.s1);
    assert_false(out.deep);
    assert_true(out.s2);
    assert_int_equal(out.f, 0x77);
    talloc_free(mem);
}

static void test_legacy_fail_subsection_unknown(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    Outer out;
    GError *err = NULL;
    static const uint8_t in_outer[] = {
        0x11, 0x22,
        0x05, 0x08, 'o', 'u', 't', 'e', 'r', '/', 'z', 'z', 0x00, 0x00, 0x00, 0x03, 0x00,
    };
    static const uint8_t in_inner[] = {
        0x11, 0x22,
        0x05, 0x07, 'i', 'n', 'n', 'e', 'r', '/', 'q', 0x00, 0x00, 0x00, 0x01, 0x00,
    };
    /* The prefix rule needs no '/': "outerx" is outer's too (as in QEMU). */
    static const uint8_t no_slash[] = {
        0x11, 0x22, 0x05, 0x06, 'o', 'u', 't', 'e', 'r', 'x', 0x00, 0x00, 0x00, 0x01,
    };

    memset(&out, 0, sizeof(out));
    assert_false(load_walk(mem, in_outer, sizeof(in_outer), walk_outer, &out, 1, NULL, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_SUBSECTION, "outer");
    assert_gerror_contains(err,
                           "unknown subsection 'outer/zz' (version 3) in 'outer' (offset 0x2)");
    g_clear_error(&err);

    assert_false(load_walk(mem, in_inner, sizeof(in_inner), walk_outer, &out, 1, NULL, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_SUBSECTION, "outer.in");
    assert_gerror_contains(err, "unknown subsection 'inner/q' (version 1) in 'inner'");
    g_clear_error(&err);

    assert_false(load_walk(mem, no_slash, sizeof(no_slash), walk_outer, &out, 1, NULL, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_SUBSECTION, "outer");
    g_clear_error(&err);
    talloc_free(mem);
}

/*
 * Subsections are taken in declared order: s2 before s1 on the wire makes
 * s1 absent and leaves s1 unclaimed, which check_struct reports.
 */
static void test_legacy_fail_subsection_order(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    Outer out;
    GError *err = NULL;
    static const uint8_t swapped[] = {
        0x11, 0x22,
        0x05, 0x08, 'o', 'u', 't', 'e', 'r', '/', 's', '2', 0x00, 0x00, 0x00, 0x02, 0x77,
        0x05, 0x08, 'o', 'u', 't', 'e', 'r', '/', 's', '1', 0x00, 0x00, 0x00, 0x01,
        0x44, 0x55,
    };

    memset(&out, 0, sizeof(out));
    assert_false(load_walk(mem, swapped, sizeof(swapped), walk_outer, &out, 1, NULL, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_SUBSECTION, "outer");
    assert_gerror_contains(err, "'outer/s1' (version 1)");
    g_clear_error(&err);
    talloc_free(mem);
}

/* Not a subsection of ours: left for the outer level (here: unread). */
static void test_legacy_subsection_foreign(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    Outer out;
    GError *err = NULL;
    uint64_t consumed = 0;
    static const uint8_t foreign[] = {
        0x11, 0x22, 0x05, 0x05, 'o', 't', 'h', 'e', 'r', 0x00, 0x00, 0x00, 0x01,
    };
    /* Name shorter than "outer/": not ours by QEMU's length test. */
    static const uint8_t short_name[] = { 0x11, 0x22, 0x05, 0x05, 'o', 'u', 't', 'e', 'r' };

    memset(&out, 0, sizeof(out));
    assert_true(load_walk(mem, foreign, sizeof(foreign), walk_outer, &out, 1, &consumed, &err));
    assert_int_equal(consumed, 2);
    assert_true(
        load_walk(mem, short_name, sizeof(short_name), walk_outer, &out, 1, &consumed, &err));
    assert_int_equal(consumed, 2);
    assert_null(err);
    talloc_free(mem);
}

static void test_legacy_fail_subsection_version(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    Outer out;
    GError *err = NULL;
    static const uint8_t too_new[] = {
        0x11, 0x22,
        0x05, 0x08, 'o', 'u', 't', 'e', 'r', '/', 's', '2', 0x00, 0x00, 0x00, 0x03, 0x77,
    };
    static const uint8_t too_old[] = {
        0x11, 0x22,
        0x05, 0x08, 'o', 'u', 't', 'e', 'r', '/', 's', '2', 0x00, 0x00, 0x00, 0x00, 0x77,
    };

    memset(&out, 0, sizeof(out));
    assert_false(load_walk(mem, too_new, sizeof(too_new), walk_outer, &out, 1, NULL, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_VERSION, "outer.outer/s2");
    assert_gerror_contains(err, "too new");
    g_clear_error(&err);
    assert_false(load_walk(mem, too_old, sizeof(too_old), walk_outer, &out, 1, NULL, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_VERSION, "outer.outer/s2");
    assert_gerror_contains(err, "too old");
    g_clear_error(&err);
    talloc_free(mem);
}

static void test_legacy_fail_subsection_demo_unknown(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    VsExDemo demo, loaded;
    VsExInner storage[VS_EX_SLOTS], lstorage[VS_EX_SLOTS];
    GError *err = NULL;
    static const uint8_t foo[] = {
        0x05, 0x0a, 'v', 's', 'd', 'e', 'm', 'o', '/', 'f', 'o', 'o', 0x00, 0x00, 0x00, 0x07,
    };
    uint8_t *bytes;
    size_t len;

    vs_ex_demo_fill(&demo, storage, 0); /* no irq subsection */
    bytes = save_ok(mem, walk_demo, &demo, &len);
    bytes = talloc_realloc(mem, bytes, uint8_t, len + sizeof(foo));
    memcpy(bytes + len, foo, sizeof(foo));
    vs_ex_demo_prepare_load(&loaded, lstorage, 0);
    assert_false(load_walk(mem, bytes, len + sizeof(foo), walk_demo, &loaded, NO_ROOT_VERSION,
                           NULL, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_SUBSECTION, "vsdemo");
    assert_gerror_contains(err, "unknown subsection 'vsdemo/foo' (version 7) in 'vsdemo'");
    g_clear_error(&err);
    talloc_free(mem);
}

/* ---- versions and round trips ----------------------------------------- */

static void test_legacy_root_version(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    VsExDemo demo, loaded;
    VsExInner storage[VS_EX_SLOTS], lstorage[VS_EX_SLOTS];
    size_t len;
    uint8_t *bytes;

    vs_ex_demo_fill(&demo, storage, 1);
    bytes = save_ok(mem, walk_demo, &demo, &len);
    /* Version 2 at the root is what save wrote: loads as is. */
    vs_ex_demo_prepare_load(&loaded, lstorage, 1);
    load_ok(mem, bytes, len, walk_demo, &loaded, 2);
    assert_true(vs_ex_demo_equal(&demo, &loaded));

    /* Version 1 has no `extra` (4 bytes at offset 41): cut them out. */
    memmove(bytes + 41, bytes + 45, len - 45);
    vs_ex_demo_prepare_load(&loaded, lstorage, 1);
    load_ok(mem, bytes, len - 4, walk_demo, &loaded, 1);
    assert_int_equal(loaded.extra, 0);
    loaded.extra = demo.extra;
    assert_true(vs_ex_demo_equal(&demo, &loaded));
    talloc_free(mem);
}

static void test_legacy_fail_root_version(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    VsExDemo demo, loaded;
    VsExInner storage[VS_EX_SLOTS], lstorage[VS_EX_SLOTS];
    GError *err = NULL;
    size_t len;
    uint8_t *bytes;

    vs_ex_demo_fill(&demo, storage, 1);
    bytes = save_ok(mem, walk_demo, &demo, &len);
    vs_ex_demo_prepare_load(&loaded, lstorage, 1);
    assert_false(load_walk(mem, bytes, len, walk_demo, &loaded, 3, NULL, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_VERSION, "vsdemo");
    assert_gerror_contains(err, "version 3 of 'vsdemo' is too new");
    g_clear_error(&err);
    assert_false(load_walk(mem, bytes, len, walk_demo, &loaded, 0, NULL, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_VERSION, "vsdemo");
    assert_gerror_contains(err, "version 0 of 'vsdemo' is too old");
    g_clear_error(&err);
    talloc_free(mem);
}

static void test_legacy_round_trip(void **state)
{
    for (unsigned seed = 0; seed < 8; seed++) {
        TALLOC_CTX *mem = talloc_new(NULL);
        VsExDemo demo, loaded;
        VsExInner storage[VS_EX_SLOTS], lstorage[VS_EX_SLOTS];
        size_t len, len2;
        uint8_t *bytes, *again;

        vs_ex_demo_fill(&demo, storage, seed);
        bytes = save_ok(mem, walk_demo, &demo, &len);
        vs_ex_demo_prepare_load(&loaded, lstorage, seed);
        load_ok(mem, bytes, len, walk_demo, &loaded, 2);
        assert_true(vs_ex_demo_equal(&demo, &loaded));
        again = save_ok(mem, walk_demo, &loaded, &len2);
        assert_bytes(again, len2, bytes, len);
        talloc_free(mem);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_legacy_uint),
        cmocka_unit_test(test_legacy_int),
        cmocka_unit_test(test_legacy_bool),
        cmocka_unit_test(test_legacy_f64),
        cmocka_unit_test(test_legacy_buffer),
        cmocka_unit_test(test_legacy_string),
        cmocka_unit_test(test_legacy_fail_string_load_limit),
        cmocka_unit_test(test_legacy_fail_string_save_limit),
        cmocka_unit_test(test_legacy_fail_string_nul),
        cmocka_unit_test(test_legacy_unused),
        cmocka_unit_test(test_legacy_fail_unused_truncated),
        cmocka_unit_test(test_legacy_nullptr),
        cmocka_unit_test(test_legacy_fail_nullptr_mismatch),
        cmocka_unit_test(test_legacy_opaque),
        cmocka_unit_test(test_legacy_fail_opaque),
        cmocka_unit_test(test_legacy_struct_and_arrays),
        cmocka_unit_test(test_legacy_fail_array_limit),
        cmocka_unit_test(test_legacy_fail_truncated_path),
        cmocka_unit_test(test_legacy_fail_channel),
        cmocka_unit_test(test_legacy_fail_complete),
        cmocka_unit_test(test_legacy_subsection_present),
        cmocka_unit_test(test_legacy_subsection_absent),
        cmocka_unit_test(test_legacy_subsection_outer_left_alone),
        cmocka_unit_test(test_legacy_subsection_nested),
        cmocka_unit_test(test_legacy_fail_subsection_unknown),
        cmocka_unit_test(test_legacy_fail_subsection_order),
        cmocka_unit_test(test_legacy_subsection_foreign),
        cmocka_unit_test(test_legacy_fail_subsection_version),
        cmocka_unit_test(test_legacy_fail_subsection_demo_unknown),
        cmocka_unit_test(test_legacy_root_version),
        cmocka_unit_test(test_legacy_fail_root_version),
        cmocka_unit_test(test_legacy_round_trip),
        cmocka_unit_test(test_legacy_list_bytes),
        cmocka_unit_test(test_legacy_list_round_trip),
        cmocka_unit_test(test_legacy_fail_list_marker),
        cmocka_unit_test(test_legacy_fail_list_truncated),
        cmocka_unit_test(test_legacy_fail_list_limit),
    };

    return cmocka_run_group_tests_name("legacy", tests, NULL, NULL);
}
