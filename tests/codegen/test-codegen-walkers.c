/*
 * test-codegen-walkers.c: the walkers vstate-gen generates, end to end.
 *
 * SPDX-License-Identifier: MIT
 *
 * features.vs, common.vs and bound.vs use every feature of the schema
 * language (docs/schema.md); features-impl.c is the device author's side.
 * For one filled state of each type the expected legacy bytes are written
 * out by hand from docs/qemufile.md and the QEMU stream format (§2), one
 * comment per field group.  Then: round trips, older versions, subsections,
 * predicates, the load-time checks, hooks, the codec, lists and trees, the
 * type descriptors, the registry, a trace of the tree builder, and every
 * truncation of every golden stream.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bound.vs.h"
#include "common.vs.h"
#include "features-fill.h"
#include "features-impl.h"
#include "features.vs.h"
#include "tests/unit/test-helpers.h"
#include "visitor/pretty/pretty.h"
#include "visitor/qemufile/legacy-visitor.h"
#include "visitor/registry.h"

/* ---- harness ---------------------------------------------------------- */

/* No root version given to the load visitor: the type's own applies. */
#define NO_ROOT_VERSION (-1)

#define WALKER(T)                                                                   \
    static bool walk_##T(VsVisitor *v, const char *name, void *obj, GError **errp) \
    {                                                                               \
        return vs_visit_##T(v, name, obj, errp);                                    \
    }

WALKER(Scalars)
WALKER(Fifo)
WALKER(Arrays)
WALKER(Nested)
WALKER(Lists)
WALKER(Versioned)
WALKER(Hooked)
WALKER(PciLike)
WALKER(Bound)

/* Saves @obj with @walk; returns the bytes (a child of @mem) or NULL with *@errp set. */
static uint8_t *save_walk(TALLOC_CTX *mem, VsWalkerFn walk, const char *name, void *obj,
                          size_t *ret_len, GError **errp)
{
    VsQemuFile *f = vs_qemufile_new_memory_writer(mem);
    VsVisitor *v = vs_legacy_save_visitor_new(mem, f);
    uint8_t *copy = NULL;

    *ret_len = 0;
    if (walk(v, name, obj, errp) && vs_visitor_complete(v, errp)) {
        size_t len = 0;
        const uint8_t *data = vs_qemufile_memory_data(f, &len);

        copy = talloc_memdup(mem, len ? data : (const uint8_t *)"", len ? len : 1);
        *ret_len = len;
    }
    vs_visitor_free(v);
    vs_qemufile_free(f);
    return copy;
}

static uint8_t *save_ok(TALLOC_CTX *mem, VsWalkerFn walk, const char *name, void *obj,
                        size_t *ret_len)
{
    GError *err = NULL;
    uint8_t *bytes = save_walk(mem, walk, name, obj, ret_len, &err);

    if (!bytes) {
        print_error("save failed: %s\n", err->message);
        g_error_free(err);
        fail();
    }
    return bytes;
}

/* Loads @len bytes at @data into @obj; what the load allocates goes under @result. */
static bool load_walk(TALLOC_CTX *result, const uint8_t *data, size_t len, VsWalkerFn walk,
                      const char *name, void *obj, int64_t root_version, GError **errp)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    VsQemuFile *f = vs_qemufile_new_memory_reader(mem, data, len);
    VsVisitor *v = vs_legacy_load_visitor_new(mem, f, result);
    bool ok;

    if (root_version >= 0) {
        vs_visitor_set_root_version(v, (uint32_t)root_version);
    }
    ok = walk(v, name, obj, errp) && vs_visitor_complete(v, errp);
    vs_visitor_free(v);
    vs_qemufile_free(f);
    talloc_free(mem);
    return ok;
}

static void load_ok(TALLOC_CTX *result, const uint8_t *data, size_t len, VsWalkerFn walk,
                    const char *name, void *obj, int64_t root_version)
{
    GError *err = NULL;

    if (!load_walk(result, data, len, walk, name, obj, root_version, &err)) {
        print_error("load failed: %s\n", err->message);
        g_error_free(err);
        fail();
    }
}

/* Loads and expects a failure; returns the error (the caller frees it). */
static GError *load_fails(TALLOC_CTX *result, const uint8_t *data, size_t len, VsWalkerFn walk,
                          const char *name, void *obj, int64_t root_version)
{
    GError *err = NULL;

    assert_false(load_walk(result, data, len, walk, name, obj, root_version, &err));
    assert_non_null(err);
    return err;
}

static GError *save_fails(TALLOC_CTX *mem, VsWalkerFn walk, const char *name, void *obj)
{
    GError *err = NULL;
    size_t len;

    assert_null(save_walk(mem, walk, name, obj, &len, &err));
    assert_non_null(err);
    return err;
}

/* Saves @obj and checks the bytes against @want. */
#define assert_saves(mem, T, name, obj, want)                                \
    do {                                                                    \
        size_t got_len_;                                                    \
        uint8_t *got_ = save_ok((mem), walk_##T, (name), (obj), &got_len_); \
        assert_bytes(got_, got_len_, (want), sizeof(want));                 \
        talloc_free(got_);                                                  \
    } while (0)

/* ---- filled states and their bytes ------------------------------------ */

static const uint8_t scalars_bytes[] = {
    /* a: u8 */
    0x12,
    /* b: be16, c: be32 */
    0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde,
    /* d: be64 */
    0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
    /* e = -2, f = -300, g = -100000: two's complement, big-endian */
    0xfe, 0xfe, 0xd4, 0xff, 0xfe, 0x79, 0x60,
    /* h = -0x123456789 */
    0xff, 0xff, 0xff, 0xfe, 0xdc, 0xba, 0x98, 0x77,
    /* flag: one byte */
    0x01,
    /* ratio = 1.5: IEEE bits 0x3ff8000000000000 */
    0x3f, 0xf8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    /* deadline: -1, not armed */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    /* unused 3: zeros */
    0x00, 0x00, 0x00,
};

static const uint8_t arrays_bytes[] = {
    /* fixed16[3] */
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
    /* n8 = 2, by_u8[n8] */
    0x02, 0xa1, 0xa2,
    /* n16 = 1, by_u16[n16] */
    0x00, 0x01, 0xbe, 0xef,
    /* n32 = 2, by_u32[n32] */
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0xca, 0xfe, 0xf0, 0x0d,
    /* ni = 3, by_i32[ni] = -1 0 1 */
    0x00, 0x00, 0x00, 0x03, 0xff, 0x00, 0x01,
    /* by_local[nlocal = 2]: the count is local, never sent */
    0x11, 0x11, 0x22, 0x22,
    /* rows = 2, grid[rows * 2] */
    0x02, 0x00, 0x01, 0x00, 0x02, 0x00, 0x03, 0x00, 0x04,
    /* raw[4] */
    'R', 'A', 'W', '!',
    /* vbuf[n8] */
    0xd0, 0xd1,
    /* mbuf[rows * 3] */
    0x60, 0x61, 0x62, 0x63, 0x64, 0x65,
    /* nbits = 70, bits: 2 be64 words */
    0x00, 0x46,
    0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3f,
};

static const uint8_t nested_bytes[] = {
    /* at = {1, -1} */
    0x00, 0x01, 0xff, 0xff,
    /* *heap = {2, 3} */
    0x00, 0x02, 0x00, 0x03,
    /* pts[2] */
    0x00, 0x04, 0x00, 0x05, 0x00, 0x06, 0x00, 0x07,
    /* npts = 1, vpts[npts] */
    0x01, 0x00, 0x08, 0x00, 0x09,
    /* slots[3]: a Point, NULL (marker 0x30), a Point */
    0x00, 0x0a, 0x00, 0x0b, 0x30, 0x00, 0x0c, 0x00, 0x0d,
    /* timers[3]: NULL, 1 s, not armed */
    0x30,
    0x00, 0x00, 0x00, 0x00, 0x3b, 0x9a, 0xca, 0x00,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    /* fifo: data[capacity = 4] (the capacity is not sent), head, num */
    0xf0, 0xf1, 0xf2, 0xf3, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x03,
};

static const uint8_t lists_bytes[] = {
    /* q: per element 01 + Point, then 00 */
    0x01, 0x00, 0x01, 0x00, 0x02,
    0x01, 0x00, 0x03, 0x00, 0x04,
    0x00,
    /* l: empty */
    0x00,
    /* t: be32 nnodes = 1; 01, be64 key 5, Point {7, 8}; 00 */
    0x00, 0x00, 0x00, 0x01,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x07, 0x00, 0x08,
    0x00,
    /* kt: nnodes = 2; 01, Key {0x10, 2}, Point {-1, 1}; 01, Key {0x11, 3}, Point {0, 0}; 00 */
    0x00, 0x00, 0x00, 0x02,
    0x01, 0x00, 0x00, 0x00, 0x10, 0x02, 0xff, 0xff, 0x00, 0x01,
    0x01, 0x00, 0x00, 0x00, 0x11, 0x03, 0x00, 0x00, 0x00, 0x00,
    0x00,
};

static const uint8_t versioned_bytes[] = {
    /* base */
    0xde, 0xad, 0xbe, 0xef,
    /* version 3 fields: added, on = false, neg = -5, plain */
    0x12, 0x34, 0x00, 0xfb, 0x09,
    /* mode = 3: extra is absent (mode != 2), by_fn present (mode odd), arith present */
    0x03, 0xab, 0xcd, 0x5a,
    /* magic (equal), limit (le) */
    0x00, 0x00, 0x00, 0x56, 0x00, 0x00, 0x00, 0x07,
};

static const uint8_t hooked_bytes[] = {
    /* value = 21 */
    0x00, 0x00, 0x00, 0x15,
    /* tmp: doubled = 42 */
    0x00, 0x00, 0x00, 0x2a,
    /* n = 2, arr[n] */
    0x02, 0x0a, 0x0b,
    /* late (since 2), flags */
    0x1a, 0x05,
    /* subsection hooked/a: 05, name, be32 version 1, a */
    0x05, 0x08, 'h', 'o', 'o', 'k', 'e', 'd', '/', 'a', 0x00, 0x00, 0x00, 0x01,
    0x0a, 0x0b,
    /* subsection hooked/b version 3: b, b3 */
    0x05, 0x08, 'h', 'o', 'o', 'k', 'e', 'd', '/', 'b', 0x00, 0x00, 0x00, 0x03,
    0x00, 0x00, 0x0b, 0xbb, 0x00, 0x00, 0x00, 0x33,
    /* its subsection hooked/b/inner version 1: inner */
    0x05, 0x0e, 'h', 'o', 'o', 'k', 'e', 'd', '/', 'b', '/', 'i', 'n', 'n', 'e', 'r',
    0x00, 0x00, 0x00, 0x01,
    0x77,
};

/* Offsets in hooked_bytes where a stream may end: before a subsection header. */
static const size_t hooked_sub_starts[] = { 13, 29, 51 };

static const uint8_t pcilike_bytes[] = {
    /* version_id (le) */
    0x00, 0x00, 0x00, 0x02,
    /* config: whatever the codec writes, here the 256 bytes */
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
    0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
    0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
    0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f,
    0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f,
    0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f,
    0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f,
    0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f,
    0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f,
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
    0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf,
    0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf,
    0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
    0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef,
    0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff,
};

static const uint8_t bound_bytes[] = {
    /* id (C: regs.id) */
    0x00, 0x00, 0x00, 0x42,
    /* n = 3, vals[n] (C: regs.vals) */
    0x03, 0x00, 0x01, 0x00, 0x02, 0x00, 0x03,
    /* *where (C: loc) = {-2, 2} */
    0xff, 0xfe, 0x00, 0x02,
    /* enabled */
    0x01,
};

/* ---- golden bytes and round trips ------------------------------------- */

/*
 * For a plain type: the filled state saves as @want, loads back into a
 * prepared target equal to it (memcmp), and saves again to the same bytes.
 */
#define assert_golden_flat(ctx, T, name, filled, target, want)                        \
    do {                                                                              \
        size_t len_;                                                                  \
        uint8_t *again_;                                                              \
        assert_saves((ctx), T, (name), (filled), (want));                             \
        load_ok((ctx), (want), sizeof(want), walk_##T, (name), (target),              \
                NO_ROOT_VERSION);                                                     \
        assert_memory_equal((filled), (target), sizeof(*(filled)));                   \
        again_ = save_ok((ctx), walk_##T, (name), (target), &len_);                   \
        assert_bytes(again_, len_, (want), sizeof(want));                             \
        talloc_free(again_);                                                          \
    } while (0)

static void test_codegen_scalars_golden(void **state)
{
    Scalars s, t;

    fill_scalars(&s);
    memset(&t, 0, sizeof(t));
    assert_golden_flat(*state, Scalars, "scalars", &s, &t, scalars_bytes);
}

static void test_codegen_arrays_golden(void **state)
{
    Arrays s, t;

    fill_arrays(&s);
    prepare_arrays(&t);
    assert_golden_flat(*state, Arrays, "arrays", &s, &t, arrays_bytes);
}

static void test_codegen_versioned_golden(void **state)
{
    Versioned s, t;

    fill_versioned(&s);
    prepare_versioned(&t);
    assert_golden_flat(*state, Versioned, "versioned", &s, &t, versioned_bytes);
}

static void test_codegen_pcilike_golden(void **state)
{
    PciLike s, t;

    fill_pcilike(&s);
    prepare_pcilike(&t);
    features_probe_reset();
    assert_golden_flat(*state, PciLike, "pcilike", &s, &t, pcilike_bytes);
    /* The codec served both directions: two saves, one load. */
    assert_int_equal(features_probe.codec_saves, 2);
    assert_int_equal(features_probe.codec_loads, 1);
}

static void test_codegen_hooked_golden(void **state)
{
    Hooked s, t;

    fill_hooked(&s);
    memset(&t, 0, sizeof(t));
    features_probe_reset();
    assert_saves(*state, Hooked, "hooked", &s, hooked_bytes);
    assert_string_equal(features_probe.log,
                        "hooked_pre_save hooked_tmp_pre_save hooked_b_pre_save "
                        "hooked_b_post_save hooked_post_save");

    features_probe_reset();
    load_ok(*state, hooked_bytes, sizeof(hooked_bytes), walk_Hooked, "hooked", &t,
            NO_ROOT_VERSION);
    assert_string_equal(features_probe.log,
                        "hooked_pre_load hooked_tmp_post_load(1) hooked_b_pre_load "
                        "hooked_b_post_load(3) hooked_post_load(2)");
    assert_memory_equal(&s, &t, sizeof(s));
    assert_saves(*state, Hooked, "hooked", &t, hooked_bytes);
}

/*
 * With hooks turned off on the visitor, the walk runs none of the type's or
 * subsections' hooks (a hook set to fail does not matter), only the tmp_for
 * type's, and the bytes are the same both ways.
 */
static void test_codegen_hooked_hooks_off(void **state)
{
    TALLOC_CTX *mem = talloc_new(*state);
    VsQemuFile *w = vs_qemufile_new_memory_writer(mem);
    VsVisitor *save = vs_legacy_save_visitor_new(mem, w);
    VsVisitor *load;
    GError *err = NULL;
    const uint8_t *bytes;
    size_t len;
    Hooked s, t;

    fill_hooked(&s);
    memset(&t, 0, sizeof(t));
    features_probe_reset();
    features_probe.fail = "hooked_pre_save";
    vs_visitor_set_hooks(save, false);
    assert_true(vs_visit_Hooked(save, "hooked", &s, &err) && vs_visitor_complete(save, &err));
    assert_string_equal(features_probe.log, "hooked_tmp_pre_save");
    bytes = vs_qemufile_memory_data(w, &len);
    assert_bytes(bytes, len, hooked_bytes, sizeof(hooked_bytes));

    features_probe_reset();
    features_probe.fail = "hooked_post_load";
    load = vs_legacy_load_visitor_new(mem, vs_qemufile_new_memory_reader(mem, bytes, len), mem);
    vs_visitor_set_hooks(load, false);
    assert_true(vs_visit_Hooked(load, "hooked", &t, &err) && vs_visitor_complete(load, &err));
    assert_null(err);
    assert_string_equal(features_probe.log, "hooked_tmp_post_load(1)");
    assert_memory_equal(&s, &t, sizeof(s));

    /* The same load with hooks on runs the failing hook. */
    features_probe_reset();
    features_probe.fail = "hooked_post_load";
    err = load_fails(mem, hooked_bytes, sizeof(hooked_bytes), walk_Hooked, "hooked", &t,
                     NO_ROOT_VERSION);
    assert_int_equal(err->code, VS_VISIT_ERROR_HOOK);
    g_error_free(err);
    features_probe_reset();
    talloc_free(mem);
}

static void test_codegen_nested_golden(void **state)
{
    TALLOC_CTX *result = talloc_new(*state);
    Nested s, t;
    size_t len;
    uint8_t *again;

    fill_nested(*state, &s);
    prepare_nested(*state, &t);
    assert_saves(*state, Nested, "nested", &s, nested_bytes);
    load_ok(result, nested_bytes, sizeof(nested_bytes), walk_Nested, "nested", &t,
            NO_ROOT_VERSION);
    assert_nested_equal(&s, &t);
    /* The pointer member was allocated by the load, under its result context. */
    assert_ptr_equal(talloc_parent(t.heap), result);
    again = save_ok(*state, walk_Nested, "nested", &t, &len);
    assert_bytes(again, len, nested_bytes, sizeof(nested_bytes));
    talloc_free(again);

    /* One free releases what the load allocated. */
    talloc_free(result);
    talloc_free(s.heap);
    for (int i = 0; i < 3; i++) {
        talloc_free(s.slots[i]);
        talloc_free(s.timers[i]);
        talloc_free(t.slots[i]);
        talloc_free(t.timers[i]);
    }
}

static void test_codegen_lists_golden(void **state)
{
    TALLOC_CTX *result = talloc_new(*state);
    Lists s, t;
    size_t len;
    uint8_t *again;

    fill_lists(*state, &s);
    memset(&t, 0, sizeof(t));
    assert_saves(*state, Lists, "lists", &s, lists_bytes);
    load_ok(result, lists_bytes, sizeof(lists_bytes), walk_Lists, "lists", &t,
            NO_ROOT_VERSION);
    assert_lists_equal(&s, &t);
    assert_null(t.l);
    assert_ptr_equal(talloc_parent(t.q), result);
    assert_ptr_equal(talloc_parent(t.kt), result);
    again = save_ok(*state, walk_Lists, "lists", &t, &len);
    assert_bytes(again, len, lists_bytes, sizeof(lists_bytes));
    talloc_free(again);
    talloc_free(result);
    talloc_free(s.q);
    talloc_free(s.t);
    talloc_free(s.kt);
}

static void test_codegen_lists_empty(void **state)
{
    static const uint8_t want[] = {
        /* q, l: just the end marker */
        0x00, 0x00,
        /* t, kt: nnodes = 0, end marker */
        0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00,
    };
    Lists s, t;

    memset(&s, 0, sizeof(s));
    memset(&t, 0, sizeof(t));
    assert_saves(*state, Lists, "lists", &s, want);
    load_ok(*state, want, sizeof(want), walk_Lists, "lists", &t, NO_ROOT_VERSION);
    assert_lists_equal(&s, &t);
    assert_null(t.q);
    assert_null(t.kt);
}

static void test_codegen_bound_golden(void **state)
{
    TALLOC_CTX *result = talloc_new(*state);
    BoundDev s, t;
    size_t len;
    uint8_t *again;

    fill_bound(*state, &s);
    memset(&t, 0, sizeof(t));
    assert_saves(*state, Bound, "bound", &s, bound_bytes);
    load_ok(result, bound_bytes, sizeof(bound_bytes), walk_Bound, "bound", &t,
            NO_ROOT_VERSION);
    assert_null(t.label);
    assert_int_equal(t.regs.id, 0x42);
    assert_int_equal(t.n, 3);
    assert_memory_equal(t.regs.vals, s.regs.vals, sizeof(t.regs.vals));
    assert_non_null(t.loc);
    assert_points_equal(t.loc, s.loc);
    assert_true(t.enabled);
    again = save_ok(*state, walk_Bound, "bound", &t, &len);
    assert_bytes(again, len, bound_bytes, sizeof(bound_bytes));
    talloc_free(again);
    talloc_free(result);
    talloc_free(s.loc);
}

/* The tree builder and reader serve the same walkers (lists included). */
static void test_codegen_tree_round_trip(void **state)
{
    TALLOC_CTX *result = talloc_new(*state);
    Lists s, t;
    Hooked h, h2;
    VsVisitor *b, *r;
    GError *err = NULL;

    fill_lists(*state, &s);
    memset(&t, 0, sizeof(t));
    b = vs_tree_builder_new(*state, NULL);
    assert_true(vs_visit_Lists(b, "lists", &s, &err) && vs_visitor_complete(b, &err));
    r = vs_tree_reader_new(*state, vs_tree_builder_root(b), result);
    assert_true(vs_visit_Lists(r, "lists", &t, &err) && vs_visitor_complete(r, &err));
    assert_null(err);
    assert_lists_equal(&s, &t);
    vs_visitor_free(r);
    vs_visitor_free(b);

    fill_hooked(&h);
    memset(&h2, 0, sizeof(h2));
    b = vs_tree_builder_new(*state, NULL);
    assert_true(vs_visit_Hooked(b, "hooked", &h, &err) && vs_visitor_complete(b, &err));
    r = vs_tree_reader_new(*state, vs_tree_builder_root(b), result);
    assert_true(vs_visit_Hooked(r, "hooked", &h2, &err) && vs_visitor_complete(r, &err));
    assert_null(err);
    assert_memory_equal(&h, &h2, sizeof(h));
    vs_visitor_free(r);
    vs_visitor_free(b);

    talloc_free(result);
    talloc_free(s.q);
    talloc_free(s.t);
    talloc_free(s.kt);
}

/* ---- versions, defaults, conditions ------------------------------------ */

static void test_codegen_versioned_old_stream(void **state)
{
    static const uint8_t v2[] = {
        /* base */
        0xde, 0xad, 0xbe, 0xef,
        /* no since-3 fields; mode = 1: by_fn present, extra absent (version < 3) */
        0x01, 0x43, 0x21,
        /* magic, limit */
        0x00, 0x00, 0x00, 0x56, 0x00, 0x00, 0x00, 0x00,
    };
    Versioned t;

    prepare_versioned(&t);
    t.plain = 0x77; /* no default: left alone */
    load_ok(*state, v2, sizeof(v2), walk_Versioned, "versioned", &t, 2);
    assert_int_equal(t.base, 0xdeadbeef);
    assert_int_equal(t.added, 0x55); /* defaults of fields since 3 */
    assert_true(t.on);
    assert_int_equal(t.neg, -2);
    assert_int_equal(t.plain, 0x77);
    assert_int_equal(t.mode, 1);
    assert_int_equal(t.by_fn, 0x4321);
    assert_int_equal(t.limit, 0);
}

static void test_codegen_fail_version_too_old(void **state)
{
    Versioned t;
    GError *err;

    prepare_versioned(&t);
    err = load_fails(*state, versioned_bytes, sizeof(versioned_bytes), walk_Versioned,
                     "versioned", &t, 1);
    assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_VERSION,
                  "versioned: version 1 of 'versioned' is too old (oldest supported 2)");
    g_error_free(err);
}

static void test_codegen_fail_version_too_new(void **state)
{
    Versioned t;
    GError *err;

    prepare_versioned(&t);
    err = load_fails(*state, versioned_bytes, sizeof(versioned_bytes), walk_Versioned,
                     "versioned", &t, 4);
    assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_VERSION,
                  "versioned: version 4 of 'versioned' is too new (newest supported 3)");
    g_error_free(err);
}

/* `if (mode == 2 && version >= 3)` true, the C predicate false. */
static void test_codegen_predicates(void **state)
{
    static const uint8_t want[] = {
        /* base, added, on = true, neg, plain */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x01, 0x03, 0x04,
        /* mode = 2: extra present, by_fn absent (mode even) */
        0x02, 0x00, 0x00, 0x00, 0x05,
        /* magic, limit */
        0x00, 0x00, 0x00, 0x56, 0x00, 0x00, 0x00, 0x06,
    };
    Versioned s, t;

    prepare_versioned(&s);
    s.base = 1;
    s.added = 2;
    s.on = true;
    s.neg = 3;
    s.plain = 4;
    s.mode = 2;
    s.extra = 5;
    s.by_fn = 0xffff; /* not sent */
    s.limit = 6;
    features_probe_reset();
    assert_saves(*state, Versioned, "versioned", &s, want);
    assert_int_equal(features_probe.by_fn_calls, 1);

    prepare_versioned(&t);
    load_ok(*state, want, sizeof(want), walk_Versioned, "versioned", &t, NO_ROOT_VERSION);
    assert_int_equal(features_probe.by_fn_calls, 2);
    assert_int_equal(t.extra, 5);
    assert_int_equal(t.by_fn, 0);

    /* The expression is false at version 2 although mode is 2. */
    {
        static const uint8_t v2[] = {
            0x00, 0x00, 0x00, 0x01, 0x02,
            0x00, 0x00, 0x00, 0x56, 0x00, 0x00, 0x00, 0x06,
        };

        prepare_versioned(&t);
        load_ok(*state, v2, sizeof(v2), walk_Versioned, "versioned", &t, 2);
        assert_int_equal(t.mode, 2);
        assert_int_equal(t.extra, 0);
        assert_int_equal(t.limit, 6);
    }
}

/* ---- load-time checks -------------------------------------------------- */

/* versioned_bytes with byte @at replaced by @value. */
static GError *load_versioned_patched(TALLOC_CTX *ctx, size_t at, uint8_t value)
{
    uint8_t bytes[sizeof(versioned_bytes)];
    Versioned t;

    memcpy(bytes, versioned_bytes, sizeof(bytes));
    bytes[at] = value;
    prepare_versioned(&t);
    return load_fails(ctx, bytes, sizeof(bytes), walk_Versioned, "versioned", &t,
                      NO_ROOT_VERSION);
}

static void test_codegen_fail_equal(void **state)
{
    GError *err = load_versioned_patched(*state, 16, 0x57);

    assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_MISMATCH,
                  "versioned.magic: stream holds 0x57, expected 0x56 (equal field)");
    g_error_free(err);
}

static void test_codegen_fail_le(void **state)
{
    GError *err = load_versioned_patched(*state, 20, 11);

    assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_RANGE,
                  "versioned.limit: stream holds 11, outside 0..10 (le field)");
    g_error_free(err);

    err = load_versioned_patched(*state, 17, 0x80);
    assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_RANGE,
                  "versioned.limit: stream holds -2147483641, outside 0..10 (le field)");
    g_error_free(err);
}

static void test_codegen_fail_validate(void **state)
{
    static const uint8_t bytes[] = {
        0xde, 0xad, 0xbe, 0xef, 0x12, 0x34, 0x00, 0xfb, 0x09,
        /* mode = 5: by_fn (odd) follows, arith does not */
        0x05, 0xab, 0xcd,
        0x00, 0x00, 0x00, 0x56, 0x00, 0x00, 0x00, 0x07,
    };
    Versioned t;
    GError *err;

    prepare_versioned(&t);
    err = load_fails(*state, bytes, sizeof(bytes), walk_Versioned, "versioned", &t,
                     NO_ROOT_VERSION);
    assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_MISMATCH,
                  "versioned: Input validation failed: versioned/mode_ok");
    g_error_free(err);
}

/* A count above its maximum fails before any element is read. */
static void test_codegen_fail_count_limit(void **state)
{
    static const uint8_t bytes[] = {
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, /* fixed16 */
        0x05,                               /* n8 = 5 > 4, and nothing after it */
    };
    Arrays t, s;
    GError *err;

    prepare_arrays(&t);
    err = load_fails(*state, bytes, sizeof(bytes), walk_Arrays, "arrays", &t, NO_ROOT_VERSION);
    assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_LIMIT,
                  "arrays.by_u8: 5 elements exceed the declared maximum of 4");
    g_error_free(err);

    /* The same check on save, for every kind of count. */
#define SAVE_LIMIT(field, value, msg)                                          \
    do {                                                                       \
        fill_arrays(&s);                                                       \
        s.field = (value);                                                     \
        err = save_fails(*state, walk_Arrays, "arrays", &s);                   \
        assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_LIMIT, msg);         \
        g_error_free(err);                                                     \
    } while (0)
    SAVE_LIMIT(n16, 4, "arrays.by_u16: 4 elements exceed the declared maximum of 3");
    SAVE_LIMIT(n32, 0xffffffff,
               "arrays.by_u32: 4294967295 elements exceed the declared maximum of 2");
    SAVE_LIMIT(ni, 4, "arrays.by_i32: 4 elements exceed the declared maximum of 3");
    SAVE_LIMIT(nlocal, 5, "arrays.by_local: 5 elements exceed the declared maximum of 4");
    SAVE_LIMIT(rows, 5, "arrays.grid: 10 elements exceed the declared maximum of 8");
    SAVE_LIMIT(nbits, 131, "arrays.bits: 131 bits exceed the declared maximum of 130");
#undef SAVE_LIMIT

    /* Buffers: vbuf shares n8 with by_u8, mbuf rows with grid; a local count alone. */
    {
        Fifo f;

        prepare_fifo(&f);
        f.capacity = 17;
        err = save_fails(*state, walk_Fifo, "fifo8", &f);
        assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_LIMIT,
                      "fifo8.data: 17 bytes exceed the declared maximum of 16");
        g_error_free(err);
    }

    /* A local count the device set too high fails the load the same way. */
    prepare_arrays(&t);
    t.nlocal = 5;
    err = load_fails(*state, arrays_bytes, sizeof(arrays_bytes), walk_Arrays, "arrays", &t,
                     NO_ROOT_VERSION);
    assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_LIMIT,
                  "arrays.by_local: 5 elements exceed the declared maximum of 4");
    g_error_free(err);
}

static void test_codegen_fail_negative_count(void **state)
{
    uint8_t bytes[sizeof(arrays_bytes)];
    Arrays t;
    GError *err;

    memcpy(bytes, arrays_bytes, sizeof(bytes));
    memset(bytes + 25, 0xff, 4); /* ni = -1 */
    prepare_arrays(&t);
    err = load_fails(*state, bytes, sizeof(bytes), walk_Arrays, "arrays", &t, NO_ROOT_VERSION);
    assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_RANGE,
                  "arrays.by_i32: count ni is negative (-1)");
    g_error_free(err);
}

static void test_codegen_fail_null_pointer(void **state)
{
    Nested s, t;
    GError *err;

    /* Saving through a NULL pointer member is refused. */
    fill_nested(*state, &s);
    talloc_free(s.heap);
    s.heap = NULL;
    err = save_fails(*state, walk_Nested, "nested", &s);
    assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_MISMATCH,
                  "nested.heap: pointer member is NULL");
    g_error_free(err);

    /* Loading: a NULL element of the target expects the marker. */
    prepare_nested(*state, &t);
    talloc_free(t.slots[0]);
    t.slots[0] = NULL;
    err = load_fails(*state, nested_bytes, sizeof(nested_bytes), walk_Nested, "nested", &t,
                     NO_ROOT_VERSION);
    assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_MISMATCH, "nested.slots[0]: ");
    assert_gerror_contains(err, "expected null-pointer marker 0x30, found 0x00");
    g_error_free(err);

    for (int i = 0; i < 3; i++) {
        talloc_free(s.slots[i]);
        talloc_free(s.timers[i]);
        talloc_free(t.slots[i]);
        talloc_free(t.timers[i]);
    }
    talloc_free(t.heap);
}

/* ---- lists and trees ---------------------------------------------------- */

static void test_codegen_fail_list_too_long(void **state)
{
    static const uint8_t bytes[] = {
        /* q: four elements, one more than max 3 */
        0x01, 0x00, 0x01, 0x00, 0x01,
        0x01, 0x00, 0x02, 0x00, 0x02,
        0x01, 0x00, 0x03, 0x00, 0x03,
        0x01, 0x00, 0x04, 0x00, 0x04,
        0x00,
    };
    TALLOC_CTX *result = talloc_new(*state);
    Lists s, t;
    GError *err;

    memset(&t, 0, sizeof(t));
    err = load_fails(result, bytes, sizeof(bytes), walk_Lists, "lists", &t, NO_ROOT_VERSION);
    assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_LIMIT, "lists.q");
    assert_gerror_contains(err, "more than the declared maximum of 3 elements");
    g_error_free(err);
    assert_int_equal(t.q_count, 3); /* the fourth was never visited */
    talloc_free(result);

    memset(&s, 0, sizeof(s));
    s.l_count = 4;
    s.l = talloc_zero_array(*state, Point, 4);
    err = save_fails(*state, walk_Lists, "lists", &s);
    assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_LIMIT, "lists.l");
    g_error_free(err);
    talloc_free(s.l);
}

static void test_codegen_fail_tree_counts(void **state)
{
    static const uint8_t too_many[] = {
        0x00, 0x00,             /* q, l empty */
        0x00, 0x00, 0x00, 0x04, /* t: nnodes 4 > max 3 */
    };
    static const uint8_t mismatch[] = {
        0x00, 0x00,
        /* t: nnodes says 2, one node follows */
        0x00, 0x00, 0x00, 0x02,
        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x07, 0x00, 0x08,
        0x00,
    };
    TALLOC_CTX *result = talloc_new(*state);
    Lists t;
    GError *err;

    memset(&t, 0, sizeof(t));
    err = load_fails(result, too_many, sizeof(too_many), walk_Lists, "lists", &t,
                     NO_ROOT_VERSION);
    assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_LIMIT,
                  "lists.t: 4 nodes exceed the declared maximum of 3");
    g_error_free(err);

    memset(&t, 0, sizeof(t));
    err = load_fails(result, mismatch, sizeof(mismatch), walk_Lists, "lists", &t,
                     NO_ROOT_VERSION);
    assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_MISMATCH,
                  "lists.t: the tree holds 1 nodes, its count says 2");
    g_error_free(err);
    talloc_free(result);
}

/* ---- subsections --------------------------------------------------------- */

static void test_codegen_subsections_absent(void **state)
{
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x15, /* value */
        0x00, 0x00, 0x00, 0x2a, /* tmp.doubled */
        0x00,                   /* n = 0 */
        0x1a, 0x00,             /* late, flags = 0: no hooked/a */
        /* b == 0: no hooked/b */
    };
    Hooked s, t;

    fill_hooked(&s);
    s.n = 0;
    s.arr[0] = s.arr[1] = 0;
    s.flags = 0;
    s.a = 0;
    s.b = s.b3 = 0;
    s.inner = 0;
    features_probe_reset();
    assert_saves(*state, Hooked, "hooked", &s, want);
    assert_int_equal(features_probe.b_needed_calls, 1);
    assert_string_equal(features_probe.log,
                        "hooked_pre_save hooked_tmp_pre_save hooked_post_save");

    /* On load the stream decides: the predicate is not asked. */
    memset(&t, 0, sizeof(t));
    features_probe_reset();
    load_ok(*state, want, sizeof(want), walk_Hooked, "hooked", &t, NO_ROOT_VERSION);
    assert_int_equal(features_probe.b_needed_calls, 0);
    assert_memory_equal(&s, &t, sizeof(s));

    /* Present in the stream although the state would not need it: loaded. */
    memset(&t, 0, sizeof(t));
    load_ok(*state, hooked_bytes, sizeof(hooked_bytes), walk_Hooked, "hooked", &t,
            NO_ROOT_VERSION);
    assert_int_equal(t.a, 0x0a0b);
    assert_int_equal(t.inner, 0x77);
}

static void test_codegen_fail_subsection_unknown(void **state)
{
    static const uint8_t bytes[] = {
        0x00, 0x00, 0x00, 0x15, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x1a, 0x00,
        /* a subsection the schema does not declare */
        0x05, 0x09, 'h', 'o', 'o', 'k', 'e', 'd', '/', 'z', 'z', 0x00, 0x00, 0x00, 0x01,
        0x00,
    };
    Hooked t;
    GError *err;

    memset(&t, 0, sizeof(t));
    err = load_fails(*state, bytes, sizeof(bytes), walk_Hooked, "hooked", &t, NO_ROOT_VERSION);
    assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_SUBSECTION,
                  "hooked: unknown subsection 'hooked/zz' (version 1) in 'hooked'");
    g_error_free(err);
}

/* hooked_bytes with hooked/b's version replaced. */
static GError *load_hooked_b_version(TALLOC_CTX *ctx, Hooked *t, uint8_t version, bool ok)
{
    uint8_t bytes[sizeof(hooked_bytes)];
    GError *err = NULL;

    memcpy(bytes, hooked_bytes, sizeof(bytes));
    assert_int_equal(bytes[29], 0x05);
    bytes[29 + 13] = version;
    memset(t, 0, sizeof(*t));
    if (ok) {
        load_ok(ctx, bytes, sizeof(bytes), walk_Hooked, "hooked", t, NO_ROOT_VERSION);
        return NULL;
    }
    assert_false(load_walk(ctx, bytes, sizeof(bytes), walk_Hooked, "hooked", t,
                           NO_ROOT_VERSION, &err));
    return err;
}

static void test_codegen_subsection_versions(void **state)
{
    static const uint8_t v2[] = {
        0x00, 0x00, 0x00, 0x15, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x1a, 0x00,
        /* hooked/b version 2: b only, b3 takes its default; no inner */
        0x05, 0x08, 'h', 'o', 'o', 'k', 'e', 'd', '/', 'b', 0x00, 0x00, 0x00, 0x02,
        0x00, 0x00, 0x00, 0x01,
    };
    Hooked t;
    GError *err;

    memset(&t, 0, sizeof(t));
    features_probe_reset();
    load_ok(*state, v2, sizeof(v2), walk_Hooked, "hooked", &t, NO_ROOT_VERSION);
    assert_int_equal(t.b, 1);
    assert_int_equal(t.b3, 7);
    assert_string_equal(features_probe.log,
                        "hooked_pre_load hooked_tmp_post_load(1) hooked_b_pre_load "
                        "hooked_b_post_load(2) hooked_post_load(2)");

    err = load_hooked_b_version(*state, &t, 1, false);
    assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_VERSION, "hooked.hooked/b: ");
    assert_gerror_contains(err, "version 1 of 'hooked/b' is too old (oldest supported 2)");
    g_error_free(err);
    err = load_hooked_b_version(*state, &t, 4, false);
    assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_VERSION, "hooked.hooked/b: ");
    assert_gerror_contains(err, "version 4 of 'hooked/b' is too new (newest supported 3)");
    g_error_free(err);
}

/* ---- hooks ----------------------------------------------------------------- */

static void test_codegen_hooked_v1(void **state)
{
    static const uint8_t v1[] = {
        0x00, 0x00, 0x00, 0x15, 0x00, 0x00, 0x00, 0x2a,
        0x01, 0x09, /* n = 1, arr */
        0x00,       /* no late before version 2; flags */
    };
    Hooked t;

    memset(&t, 0, sizeof(t));
    features_probe_reset();
    load_ok(*state, v1, sizeof(v1), walk_Hooked, "hooked", &t, 1);
    assert_string_equal(features_probe.log,
                        "hooked_pre_load hooked_tmp_post_load(1) hooked_post_load(1)");
    assert_int_equal(t.value, 21);
    assert_int_equal(t.arr[0], 9);
    assert_int_equal(t.late, 0xee); /* set by post_load for version 1 */
}

static void test_codegen_fail_post_load_hook(void **state)
{
    Hooked t;
    GError *err;

    memset(&t, 0, sizeof(t));
    features_probe_reset();
    features_probe.fail = "hooked_post_load";
    err = load_fails(*state, hooked_bytes, sizeof(hooked_bytes), walk_Hooked, "hooked", &t,
                     NO_ROOT_VERSION);
    assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_HOOK,
                  "hooked: post_load hook hooked_post_load failed: injected failure");
    g_error_free(err);

    /* A temporary's hook fails at the temporary's path, with the hook's reason. */
    {
        uint8_t bytes[sizeof(hooked_bytes)];

        memcpy(bytes, hooked_bytes, sizeof(bytes));
        bytes[7] = 0x2b; /* doubled = 43 */
        memset(&t, 0, sizeof(t));
        features_probe_reset();
        err = load_fails(*state, bytes, sizeof(bytes), walk_Hooked, "hooked", &t,
                         NO_ROOT_VERSION);
        assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_HOOK,
                      "hooked.tmp: post_load hook hooked_tmp_post_load failed: "
                      "doubled value 43 is odd");
        g_error_free(err);
        /* Nothing after the failure ran. */
        assert_string_equal(features_probe.log, "hooked_pre_load hooked_tmp_post_load(1)");
    }

    /* A subsection's hook. */
    memset(&t, 0, sizeof(t));
    features_probe_reset();
    features_probe.fail = "hooked_b_pre_load";
    err = load_fails(*state, hooked_bytes, sizeof(hooked_bytes), walk_Hooked, "hooked", &t,
                     NO_ROOT_VERSION);
    assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_HOOK,
                  "hooked.hooked/b: pre_load hook hooked_b_pre_load failed: injected failure");
    g_error_free(err);
}

static void test_codegen_fail_pre_save_hook(void **state)
{
    Hooked s;
    GError *err;

    fill_hooked(&s);
    features_probe_reset();
    features_probe.fail = "hooked_pre_save";
    err = save_fails(*state, walk_Hooked, "hooked", &s);
    assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_HOOK,
                  "hooked: pre_save hook hooked_pre_save failed: injected failure");
    g_error_free(err);
    /* As in QEMU, no post_save after a failed pre_save. */
    assert_string_equal(features_probe.log, "hooked_pre_save");
}

static void test_codegen_fail_save_runs_post_save(void **state)
{
    Hooked s;
    GError *err;

    /* A member fails (n above its maximum): post_save still runs, the error stays. */
    fill_hooked(&s);
    s.n = 3;
    features_probe_reset();
    err = save_fails(*state, walk_Hooked, "hooked", &s);
    assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_LIMIT,
                  "hooked.arr: 3 elements exceed the declared maximum of 2");
    g_error_free(err);
    assert_string_equal(features_probe.log,
                        "hooked_pre_save hooked_tmp_pre_save hooked_post_save");

    /* post_save failing after a failed member does not replace the first error. */
    features_probe_reset();
    features_probe.fail = "hooked_post_save";
    err = save_fails(*state, walk_Hooked, "hooked", &s);
    assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_LIMIT, "hooked.arr: ");
    g_error_free(err);

    /* post_save failing on its own fails the save. */
    fill_hooked(&s);
    features_probe_reset();
    features_probe.fail = "hooked_post_save";
    err = save_fails(*state, walk_Hooked, "hooked", &s);
    assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_HOOK,
                  "hooked: post_save hook hooked_post_save failed: injected failure");
    g_error_free(err);

    /* A subsection's pre_save failing skips its post_save; the type's still runs. */
    fill_hooked(&s);
    features_probe_reset();
    features_probe.fail = "hooked_b_pre_save";
    err = save_fails(*state, walk_Hooked, "hooked", &s);
    assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_HOOK,
                  "hooked.hooked/b: pre_save hook hooked_b_pre_save failed: injected failure");
    g_error_free(err);
    assert_string_equal(features_probe.log,
                        "hooked_pre_save hooked_tmp_pre_save hooked_b_pre_save "
                        "hooked_post_save");
}

/* ---- the codec ---------------------------------------------------------------- */

static void test_codegen_fail_codec_readonly(void **state)
{
    uint8_t bytes[sizeof(pcilike_bytes)];
    PciLike t;
    GError *err;

    memcpy(bytes, pcilike_bytes, sizeof(bytes));
    bytes[4 + 2] = 0x42; /* config[2] is read-only */
    prepare_pcilike(&t);
    features_probe_reset();
    err = load_fails(*state, bytes, sizeof(bytes), walk_PciLike, "pcilike", &t,
                     NO_ROOT_VERSION);
    assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_MISMATCH,
                  "pcilike.config: read-only bits of byte 0x2 differ (stream 0x42, "
                  "device 0x02)");
    g_error_free(err);
    assert_int_equal(features_probe.codec_loads, 1);
    assert_int_equal(t.config[2], 2);
}

/* ---- descriptors and registry ------------------------------------------------ */

static const VsFieldInfo *field(const VsTypeInfo *type, const char *name)
{
    for (uint32_t i = 0; i < type->n_fields; i++) {
        if (strcmp(type->fields[i].name, name) == 0) {
            return &type->fields[i];
        }
    }
    print_error("no field '%s' in %s\n", name, type->name);
    fail();
    return NULL;
}

static void test_codegen_descriptors(void **state)
{
    static const char *const scalar_names[] = {
        "a", "b", "c", "d", "e", "f", "g", "h", "flag", "ratio", "deadline", "unused",
    };
    static const VsFieldKind scalar_kinds[] = {
        VS_FIELD_UINT, VS_FIELD_UINT, VS_FIELD_UINT, VS_FIELD_UINT, VS_FIELD_INT,
        VS_FIELD_INT, VS_FIELD_INT, VS_FIELD_INT, VS_FIELD_BOOL, VS_FIELD_F64,
        VS_FIELD_TIMER, VS_FIELD_UNUSED,
    };
    static const size_t scalar_offsets[] = {
        offsetof(Scalars, a), offsetof(Scalars, b), offsetof(Scalars, c),
        offsetof(Scalars, d), offsetof(Scalars, e), offsetof(Scalars, f),
        offsetof(Scalars, g), offsetof(Scalars, h), offsetof(Scalars, flag),
        offsetof(Scalars, ratio), offsetof(Scalars, deadline), SIZE_MAX,
    };
    const VsTypeInfo *sub;
    const VsFieldInfo *f;

    (void)state;
    assert_string_equal(vs_type_Scalars.name, "Scalars");
    assert_string_equal(vs_type_Scalars.wire_name, "scalars");
    assert_int_equal(vs_type_Scalars.size, sizeof(Scalars));
    assert_int_equal(vs_type_Scalars.n_fields, 12);
    for (uint32_t i = 0; i < 12; i++) {
        assert_string_equal(vs_type_Scalars.fields[i].name, scalar_names[i]);
        assert_int_equal(vs_type_Scalars.fields[i].kind, scalar_kinds[i]);
        assert_int_equal(vs_type_Scalars.fields[i].offset, scalar_offsets[i]);
    }
    assert_null(vs_type_Scalars.fields[12].name);
    assert_int_equal(field(&vs_type_Scalars, "c")->width, 4);
    assert_int_equal(field(&vs_type_Scalars, "unused")->count, 3);

    /* Arrays: counts, maxima, multipliers, locals. */
    f = field(&vs_type_Arrays, "grid");
    assert_int_equal(f->flags, VS_FIELD_F_ARRAY);
    assert_string_equal(f->count_field, "rows");
    assert_int_equal(f->multiply, 2);
    assert_int_equal(f->max, 8);
    assert_int_equal(f->elem_size, 2);
    assert_int_equal(f->offset, offsetof(Arrays, grid));
    f = field(&vs_type_Arrays, "fixed16");
    assert_int_equal(f->count, 3);
    assert_null(f->count_field);
    f = field(&vs_type_Arrays, "nlocal");
    assert_int_equal(f->flags, VS_FIELD_F_LOCAL);
    f = field(&vs_type_Arrays, "mbuf");
    assert_int_equal(f->kind, VS_FIELD_BUFFER);
    assert_int_equal(f->multiply, 3);
    f = field(&vs_type_Arrays, "bits");
    assert_int_equal(f->kind, VS_FIELD_BITMAP);
    assert_int_equal(f->max, 130);
    assert_string_equal(f->count_field, "nbits");

    /* Nested: structs, pointers, arrays of pointers. */
    f = field(&vs_type_Nested, "at");
    assert_ptr_equal(f->type, &vs_type_Point);
    assert_int_equal(f->elem_size, 4);
    f = field(&vs_type_Nested, "heap");
    assert_int_equal(f->flags, VS_FIELD_F_POINTER);
    assert_int_equal(f->offset, offsetof(Nested, heap));
    f = field(&vs_type_Nested, "slots");
    assert_int_equal(f->flags, VS_FIELD_F_ARRAY | VS_FIELD_F_PTR_ARRAY);
    assert_int_equal(f->elem_size, 0); /* NULL elements take one byte */
    f = field(&vs_type_Nested, "timers");
    assert_int_equal(f->kind, VS_FIELD_TIMER);
    assert_int_equal(f->flags, VS_FIELD_F_ARRAY | VS_FIELD_F_PTR_ARRAY);
    assert_int_equal(f->elem_size, 0);
    assert_ptr_equal(field(&vs_type_Nested, "fifo")->type, &vs_type_Fifo);

    /* Lists and trees. */
    f = field(&vs_type_Lists, "q");
    assert_int_equal(f->kind, VS_FIELD_QTAILQ);
    assert_int_equal(f->max, 3);
    assert_ptr_equal(f->type, &vs_type_Point);
    assert_int_equal(field(&vs_type_Lists, "l")->kind, VS_FIELD_QLIST);
    f = field(&vs_type_Lists, "t");
    assert_int_equal(f->kind, VS_FIELD_GTREE);
    assert_null(f->key_type);
    assert_int_equal(f->elem_size, 12);
    f = field(&vs_type_Lists, "kt");
    assert_ptr_equal(f->key_type, &vs_type_Key);
    assert_int_equal(f->elem_size, 9);

    /* Versions, defaults, tests. */
    assert_int_equal(vs_type_Versioned.version, 3);
    assert_int_equal(vs_type_Versioned.minimum_version, 2);
    f = field(&vs_type_Versioned, "added");
    assert_int_equal(f->since, 3);
    assert_int_equal(f->flags, VS_FIELD_F_DEFAULT);
    assert_int_equal(f->default_value, 0x55);
    assert_int_equal(field(&vs_type_Versioned, "neg")->default_value, -2);
    assert_int_equal(field(&vs_type_Versioned, "plain")->flags, 0);
    assert_string_equal(field(&vs_type_Versioned, "extra")->test,
                        "((mode == 2) && (version >= 3))");
    assert_string_equal(field(&vs_type_Versioned, "by_fn")->test, "versioned_by_fn_exists()");
    assert_int_equal(field(&vs_type_Versioned, "magic")->flags, VS_FIELD_F_EQUAL);
    assert_int_equal(field(&vs_type_Versioned, "limit")->flags, VS_FIELD_F_LE);
    f = field(&vs_type_Versioned, "mode_ok");
    assert_int_equal(f->kind, VS_FIELD_VALIDATE);
    assert_string_equal(f->test, "(mode < 4)");
    assert_int_equal(f->offset, SIZE_MAX);

    /* Temporaries and subsections (nested ones under theirs). */
    f = field(&vs_type_Hooked, "tmp");
    assert_int_equal(f->kind, VS_FIELD_TMP);
    assert_ptr_equal(f->type, &vs_type_HookedTmp);
    f = field(&vs_type_Hooked, "hooked/b");
    assert_int_equal(f->kind, VS_FIELD_SUBSECTION);
    sub = f->type;
    assert_string_equal(sub->wire_name, "hooked/b");
    assert_int_equal(sub->version, 3);
    assert_int_equal(sub->minimum_version, 2);
    assert_int_equal(sub->size, 0);
    assert_string_equal(sub->needed, "hooked_b_needed()");
    assert_int_equal(field(sub, "b3")->offset, offsetof(Hooked, b3));
    sub = field(sub, "hooked/b/inner")->type;
    assert_string_equal(sub->needed, "(flags & 4)");
    assert_int_equal(field(sub, "inner")->offset, offsetof(Hooked, inner));
    assert_string_equal(field(&vs_type_Hooked, "hooked/a")->type->needed,
                        "((flags & 1) != 0)");

    /* The codec, and a struct bound with cstruct/cname. */
    f = field(&vs_type_PciLike, "config");
    assert_int_equal(f->kind, VS_FIELD_CODEC);
    assert_string_equal(f->codec, "pci config");
    assert_int_equal(f->elem_size, 256);
    assert_int_equal(vs_type_Bound.size, sizeof(BoundDev));
    assert_string_equal(vs_type_Bound.name, "Bound");
    assert_int_equal(field(&vs_type_Bound, "id")->offset, offsetof(BoundDev, regs.id));
    assert_int_equal(field(&vs_type_Bound, "vals")->offset, offsetof(BoundDev, regs.vals));
    assert_int_equal(field(&vs_type_Bound, "where")->offset, offsetof(BoundDev, loc));
}

static void test_codegen_registry(void **state)
{
    static const uint8_t zero_nested[] = {
        0x00, 0x00, 0x00, 0x00, /* at */
        0x00, 0x00, 0x00, 0x00, /* *heap, allocated by the init function */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* pts */
        0x00,                                           /* npts */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* slots: all allocated */
        0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* timers: all allocated */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* fifo: capacity 0, head, num */
    };
    const VsRegistryEntry *e;
    void *obj;
    size_t len;
    uint8_t *bytes;

    vs_schema_common_register();
    vs_schema_bound_register();
    vs_schema_features_register();
    vs_schema_features_register(); /* again: harmless */

    /* Temporaries are not sections of their own. */
    assert_null(vs_registry_lookup("hooked-tmp"));
    assert_ptr_equal(vs_registry_lookup("point")->type, &vs_type_Point);
    assert_ptr_equal(vs_registry_lookup("bound")->type, &vs_type_Bound);

    /* A new object is prepared for a load: what it points to exists. */
    e = vs_registry_lookup("nested");
    assert_non_null(e);
    assert_ptr_equal(e->type, &vs_type_Nested);
    obj = vs_registry_new_object(*state, e);
    assert_non_null(((Nested *)obj)->heap);
    assert_non_null(((Nested *)obj)->slots[1]);
    assert_non_null(((Nested *)obj)->timers[0]);
    bytes = save_ok(*state, e->walker, "nested", obj, &len);
    assert_bytes(bytes, len, zero_nested, sizeof(zero_nested));
    talloc_free(bytes);
    talloc_free(obj);

    /* Walk golden bytes into a registry object and back. */
    e = vs_registry_lookup("scalars");
    obj = vs_registry_new_object(*state, e);
    load_ok(*state, scalars_bytes, sizeof(scalars_bytes), e->walker, "scalars", obj,
            NO_ROOT_VERSION);
    assert_int_equal(((Scalars *)obj)->h, -0x123456789ll);
    bytes = save_ok(*state, e->walker, "scalars", obj, &len);
    assert_bytes(bytes, len, scalars_bytes, sizeof(scalars_bytes));
    talloc_free(bytes);
    talloc_free(obj);

    e = vs_registry_lookup("bound");
    obj = vs_registry_new_object(*state, e);
    assert_non_null(((BoundDev *)obj)->loc);
    load_ok(*state, bound_bytes, sizeof(bound_bytes), e->walker, "bound", obj,
            NO_ROOT_VERSION);
    assert_int_equal(((BoundDev *)obj)->loc->x, -2);
    talloc_free(obj);
}

/* ---- renderings ------------------------------------------------------------- */

static char *trace_of(TALLOC_CTX *mem, VsWalkerFn walk, const char *name, void *obj)
{
    VsVisitor *b = vs_tree_builder_new(mem, NULL);
    GString *out = g_string_new(NULL);
    GError *err = NULL;
    char *text;

    if (!walk(b, name, obj, &err) || !vs_visitor_complete(b, &err)) {
        print_error("tree builder failed: %s\n", err->message);
        fail();
    }
    vs_render_trace(out, vs_tree_builder_root(b));
    text = talloc_strdup(mem, out->str);
    g_string_free(out, TRUE);
    vs_visitor_free(b);
    return text;
}

/* @text holds @line as a whole line. */
static void assert_has_line(const char *text, const char *line)
{
    size_t len = strlen(line);

    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, line, len) == 0 && (p[len] == '\n' || p[len] == '\0')) {
            return;
        }
    }
    print_error("no line '%s' in:\n%s", line, text ? text : "(nothing)");
    fail();
}

static void test_codegen_trace(void **state)
{
    Scalars sc;
    Lists li;
    Hooked ho;
    Nested ne;
    char *text;

    fill_scalars(&sc);
    text = trace_of(*state, walk_Scalars, "scalars", &sc);
    assert_has_line(text, "scalars.a = (uint8) 0x12");
    assert_has_line(text, "scalars.h = (int64) -0x123456789");
    assert_has_line(text, "scalars.flag = (bool) true");
    assert_has_line(text, "scalars.ratio = (float64) 1.5");
    assert_has_line(text, "scalars.deadline = (int64) -0x1");
    assert_has_line(text, "scalars.unused = (unused) 3 bytes");
    talloc_free(text);

    fill_lists(*state, &li);
    text = trace_of(*state, walk_Lists, "lists", &li);
    assert_has_line(text, "lists.q(list).[1].y = (int16) 0x4");
    assert_has_line(text, "lists.t_nnodes = (uint32) 0x1");
    assert_has_line(text, "lists.t(list).[0].key = (uint64) 0x5");
    assert_has_line(text, "lists.kt(list).[1].key.kind = (uint8) 0x3");
    talloc_free(text);
    talloc_free(li.q);
    talloc_free(li.t);
    talloc_free(li.kt);

    fill_hooked(&ho);
    text = trace_of(*state, walk_Hooked, "hooked", &ho);
    assert_has_line(text, "hooked.tmp.doubled = (uint32) 0x2a");
    assert_has_line(text, "hooked.arr(2)(1).[1] = (uint8) 0xb");
    assert_has_line(text, "hooked.hooked/b.hooked/b/inner.inner = (uint8) 0x77");
    talloc_free(text);

    fill_nested(*state, &ne);
    text = trace_of(*state, walk_Nested, "nested", &ne);
    assert_has_line(text, "nested.slots(3)(0).[1] = (nullptr)");
    assert_has_line(text, "nested.timers(3)(0).[1] = (int64) 0x3b9aca00");
    assert_has_line(text, "nested.fifo.data(4)(1).[3] = (uint8) 0xf3");
    talloc_free(text);
    talloc_free(ne.heap);
    for (int i = 0; i < 3; i++) {
        talloc_free(ne.slots[i]);
        talloc_free(ne.timers[i]);
    }
}

/* ---- truncation ---------------------------------------------------------------- */

typedef void (*Prepare)(TALLOC_CTX *mem, void *obj);

static void prep_zero_scalars(TALLOC_CTX *mem, void *obj)
{
    memset(obj, 0, sizeof(Scalars));
}

static void prep_arrays(TALLOC_CTX *mem, void *obj)
{
    prepare_arrays(obj);
}

static void prep_nested(TALLOC_CTX *mem, void *obj)
{
    prepare_nested(mem, obj);
}

static void prep_zero_lists(TALLOC_CTX *mem, void *obj)
{
    memset(obj, 0, sizeof(Lists));
}

static void prep_versioned(TALLOC_CTX *mem, void *obj)
{
    prepare_versioned(obj);
}

static void prep_zero_hooked(TALLOC_CTX *mem, void *obj)
{
    memset(obj, 0, sizeof(Hooked));
}

static void prep_pcilike(TALLOC_CTX *mem, void *obj)
{
    prepare_pcilike(obj);
}

static void prep_zero_bound(TALLOC_CTX *mem, void *obj)
{
    memset(obj, 0, sizeof(BoundDev));
}

static bool in_list(size_t value, const size_t *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (list[i] == value) {
            return true;
        }
    }
    return false;
}

/*
 * Every proper prefix of @bytes fails to load with an error whose path
 * starts with @name, and leaves nothing behind.  A stream may end right
 * before a subsection (@sub_starts), or after its first byte alone (QEMU
 * cannot tell that 0x05 from an outer field): those prefixes load.
 */
static void assert_truncations_fail(TALLOC_CTX *ctx, VsWalkerFn walk, const char *name,
                                    size_t obj_size, Prepare prepare, const uint8_t *bytes,
                                    size_t len, const size_t *sub_starts, size_t n_sub)
{
    size_t name_len = strlen(name);

    for (size_t cut = 0; cut < len; cut++) {
        TALLOC_CTX *mem = talloc_new(ctx);
        TALLOC_CTX *result = talloc_new(mem);
        void *obj = talloc_zero_size(mem, obj_size);
        GError *err = NULL;
        uint8_t *copy = talloc_memdup(mem, bytes, cut ? cut : 1);
        bool ok;

        prepare(mem, obj);
        ok = load_walk(result, copy, cut, walk, name, obj, NO_ROOT_VERSION, &err);
        if (ok) {
            if (!in_list(cut, sub_starts, n_sub) && !(cut && in_list(cut - 1, sub_starts, n_sub))) {
                print_error("%s: a stream cut after %zu of %zu bytes loaded\n", name, cut, len);
                fail();
            }
        } else if (strncmp(err->message, name, name_len) != 0 ||
                   (err->message[name_len] != '.' && err->message[name_len] != ':')) {
            print_error("%s cut at %zu: the path does not start with the root: %s\n", name,
                        cut, err->message);
            fail();
        }
        g_clear_error(&err);
        talloc_free(mem);
    }
}

#define TRUNCATIONS(ctx, T, C, name, prep, bytes, subs, n_subs)                          \
    assert_truncations_fail((ctx), walk_##T, (name), sizeof(C), (prep), (bytes),          \
                            sizeof(bytes), (subs), (n_subs))

static void test_codegen_truncation(void **state)
{
    TRUNCATIONS(*state, Scalars, Scalars, "scalars", prep_zero_scalars, scalars_bytes, NULL, 0);
    TRUNCATIONS(*state, Arrays, Arrays, "arrays", prep_arrays, arrays_bytes, NULL, 0);
    TRUNCATIONS(*state, Nested, Nested, "nested", prep_nested, nested_bytes, NULL, 0);
    TRUNCATIONS(*state, Lists, Lists, "lists", prep_zero_lists, lists_bytes, NULL, 0);
    TRUNCATIONS(*state, Versioned, Versioned, "versioned", prep_versioned, versioned_bytes,
                NULL, 0);
    TRUNCATIONS(*state, Hooked, Hooked, "hooked", prep_zero_hooked, hooked_bytes,
                hooked_sub_starts, G_N_ELEMENTS(hooked_sub_starts));
    TRUNCATIONS(*state, PciLike, PciLike, "pcilike", prep_pcilike, pcilike_bytes, NULL, 0);
    TRUNCATIONS(*state, Bound, BoundDev, "bound", prep_zero_bound, bound_bytes, NULL, 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, vs_test_ctx_setup, vs_test_ctx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_codegen_scalars_golden),
        T(test_codegen_arrays_golden),
        T(test_codegen_nested_golden),
        T(test_codegen_lists_golden),
        T(test_codegen_lists_empty),
        T(test_codegen_versioned_golden),
        T(test_codegen_hooked_golden),
        T(test_codegen_hooked_hooks_off),
        T(test_codegen_pcilike_golden),
        T(test_codegen_bound_golden),
        T(test_codegen_tree_round_trip),
        T(test_codegen_versioned_old_stream),
        T(test_codegen_fail_version_too_old),
        T(test_codegen_fail_version_too_new),
        T(test_codegen_predicates),
        T(test_codegen_fail_equal),
        T(test_codegen_fail_le),
        T(test_codegen_fail_validate),
        T(test_codegen_fail_count_limit),
        T(test_codegen_fail_negative_count),
        T(test_codegen_fail_null_pointer),
        T(test_codegen_fail_list_too_long),
        T(test_codegen_fail_tree_counts),
        T(test_codegen_subsections_absent),
        T(test_codegen_fail_subsection_unknown),
        T(test_codegen_subsection_versions),
        T(test_codegen_hooked_v1),
        T(test_codegen_fail_post_load_hook),
        T(test_codegen_fail_pre_save_hook),
        T(test_codegen_fail_save_runs_post_save),
        T(test_codegen_fail_codec_readonly),
        T(test_codegen_descriptors),
        T(test_codegen_registry),
        T(test_codegen_trace),
        T(test_codegen_truncation),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
