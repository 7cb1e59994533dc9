/*
 * test-codegen-ber.c: the generated walkers through the BER visitors.
 *
 * SPDX-License-Identifier: MIT
 *
 * For a filled state of every type of features.vs, common.vs and bound.vs
 * (the states of features-fill.h): the BER save visitor's bytes load back
 * under VS_BER_STRICT into an equal state; the state tree of that load,
 * the tree of a legacy save and load of the same state, and the schema-less
 * vs_ber_decode_tree() of the BER bytes are one tree (vs_node_compare());
 * and every proper prefix of the BER bytes fails, in the loader and in the
 * decoder, with an error message and nothing left allocated.
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
#include "visitor/ber/ber-visitor.h"
#include "visitor/pretty/pretty.h"
#include "visitor/pretty/state-tree.h"
#include "visitor/qemufile/legacy-visitor.h"
#include "visitor/registry.h"

/* ---- the cases -------------------------------------------------------- */

typedef void (*VsFillFn)(TALLOC_CTX *mem, void *obj);
typedef void (*VsEqualFn)(const void *a, const void *b, size_t size);

/* One type: its walker, a filled state, a prepared load target, a comparison. */
typedef struct VsBerCase {
    const char *name; /* the root name: the type's wire name */
    VsWalkerFn walk;
    size_t size;
    VsFillFn fill;
    VsFillFn prepare;
    VsEqualFn equal; /* NULL: the trees compare it */
} VsBerCase;

#define WALKER(T)                                                                   \
    static bool walk_##T(VsVisitor *v, const char *name, void *obj, GError **errp) \
    {                                                                               \
        return vs_visit_##T(v, name, obj, errp);                                    \
    }

WALKER(Point)
WALKER(Key)
WALKER(Scalars)
WALKER(Fifo)
WALKER(Arrays)
WALKER(Nested)
WALKER(Lists)
WALKER(Versioned)
WALKER(Hooked)
WALKER(PciLike)
WALKER(Bound)

static void equal_memory(const void *a, const void *b, size_t size)
{
    assert_memory_equal(a, b, size);
}

static void equal_nested(const void *a, const void *b, size_t size)
{
    assert_nested_equal(a, b);
}

static void equal_lists(const void *a, const void *b, size_t size)
{
    assert_lists_equal(a, b);
}

static void prep_zero(TALLOC_CTX *mem, void *obj)
{
}

static void fill_point_case(TALLOC_CTX *mem, void *obj)
{
    *(Point *)obj = (Point){ -7, 0x7fff };
}

static void fill_key_case(TALLOC_CTX *mem, void *obj)
{
    *(Key *)obj = (Key){ .id = 0xffffffff, .kind = 0xff };
}

static void fill_scalars_case(TALLOC_CTX *mem, void *obj)
{
    fill_scalars(obj);
}

static void prep_fifo_case(TALLOC_CTX *mem, void *obj)
{
    prepare_fifo(obj);
}

static void fill_fifo_case(TALLOC_CTX *mem, void *obj)
{
    Fifo *f = obj;

    prepare_fifo(f);
    memcpy(f->data, "\x80\x7f\x00\xff", 4);
    f->head = 3;
    f->num = 2;
}

static void prep_arrays_case(TALLOC_CTX *mem, void *obj)
{
    prepare_arrays(obj);
}

static void fill_arrays_case(TALLOC_CTX *mem, void *obj)
{
    fill_arrays(obj);
}

static void prep_nested_case(TALLOC_CTX *mem, void *obj)
{
    prepare_nested(mem, obj);
}

static void fill_nested_case(TALLOC_CTX *mem, void *obj)
{
    fill_nested(mem, obj);
}

static void fill_lists_case(TALLOC_CTX *mem, void *obj)
{
    fill_lists(mem, obj);
}

static void prep_versioned_case(TALLOC_CTX *mem, void *obj)
{
    prepare_versioned(obj);
}

static void fill_versioned_case(TALLOC_CTX *mem, void *obj)
{
    fill_versioned(obj);
}

static void fill_hooked_case(TALLOC_CTX *mem, void *obj)
{
    fill_hooked(obj);
}

static void prep_pcilike_case(TALLOC_CTX *mem, void *obj)
{
    prepare_pcilike(obj);
}

static void fill_pcilike_case(TALLOC_CTX *mem, void *obj)
{
    fill_pcilike(obj);
}

static void fill_bound_case(TALLOC_CTX *mem, void *obj)
{
    fill_bound(mem, obj);
}

#define CASE(T, C, wire, fill, prep, eq) \
    { (wire), walk_##T, sizeof(C), (fill), (prep), (eq) }

static const VsBerCase cases[] = {
    CASE(Point, Point, "point", fill_point_case, prep_zero, equal_memory),
    CASE(Key, Key, "key", fill_key_case, prep_zero, equal_memory),
    CASE(Scalars, Scalars, "scalars", fill_scalars_case, prep_zero, equal_memory),
    CASE(Fifo, Fifo, "fifo8", fill_fifo_case, prep_fifo_case, equal_memory),
    CASE(Arrays, Arrays, "arrays", fill_arrays_case, prep_arrays_case, equal_memory),
    CASE(Nested, Nested, "nested", fill_nested_case, prep_nested_case, equal_nested),
    CASE(Lists, Lists, "lists", fill_lists_case, prep_zero, equal_lists),
    CASE(Versioned, Versioned, "versioned", fill_versioned_case, prep_versioned_case,
         equal_memory),
    CASE(Hooked, Hooked, "hooked", fill_hooked_case, prep_zero, equal_memory),
    CASE(PciLike, PciLike, "pcilike", fill_pcilike_case, prep_pcilike_case, equal_memory),
    CASE(Bound, BoundDev, "bound", fill_bound_case, prep_zero, NULL),
};

/* ---- harness ---------------------------------------------------------- */

static void fail_with(const char *what, const VsBerCase *c, GError *err)
{
    print_error("%s: %s failed: %s\n", c->name, what, err ? err->message : "(no error)");
    g_clear_error(&err);
    fail();
}

/* A zeroed, prepared load target under @mem. */
static void *new_target(TALLOC_CTX *mem, const VsBerCase *c)
{
    void *obj = talloc_zero_size(mem, c->size);

    c->prepare(mem, obj);
    return obj;
}

/* The BER bytes of @obj, a child of @mem. */
static uint8_t *ber_save(TALLOC_CTX *mem, const VsBerCase *c, void *obj, size_t *ret_len)
{
    VsVisitor *v = vs_ber_save_visitor_new(mem);
    GError *err = NULL;
    const uint8_t *data;
    uint8_t *copy;

    if (!c->walk(v, c->name, obj, &err) || !vs_visitor_complete(v, &err)) {
        fail_with("BER save", c, err);
    }
    data = vs_ber_save_visitor_data(v, ret_len);
    copy = talloc_memdup(mem, data, *ret_len ? *ret_len : 1);
    vs_visitor_free(v);
    return copy;
}

static bool ber_load(TALLOC_CTX *result, const uint8_t *data, size_t len, const VsBerCase *c,
                     void *obj, GError **errp)
{
    VsVisitor *v = vs_ber_load_visitor_new(NULL, data, len, VS_BER_STRICT, result);
    bool ok = c->walk(v, c->name, obj, errp) && vs_visitor_complete(v, errp);

    vs_visitor_free(v);
    return ok;
}

/* Legacy save of @obj, then a legacy load into a new target under @mem. */
static void *legacy_round_trip(TALLOC_CTX *mem, const VsBerCase *c, void *obj)
{
    VsQemuFile *w = vs_qemufile_new_memory_writer(mem);
    VsVisitor *v = vs_legacy_save_visitor_new(mem, w);
    void *target = new_target(mem, c);
    GError *err = NULL;
    const uint8_t *data;
    size_t len = 0;
    VsQemuFile *r;

    if (!c->walk(v, c->name, obj, &err) || !vs_visitor_complete(v, &err)) {
        fail_with("legacy save", c, err);
    }
    data = vs_qemufile_memory_data(w, &len);
    r = vs_qemufile_new_memory_reader(mem, data, len);
    vs_visitor_free(v);
    v = vs_legacy_load_visitor_new(mem, r, mem);
    if (!c->walk(v, c->name, target, &err) || !vs_visitor_complete(v, &err)) {
        fail_with("legacy load", c, err);
    }
    vs_visitor_free(v);
    vs_qemufile_free(r);
    vs_qemufile_free(w);
    return target;
}

static VsNode *tree_of(TALLOC_CTX *mem, const VsBerCase *c, void *obj)
{
    VsVisitor *b = vs_tree_builder_new(mem, mem);
    GError *err = NULL;
    VsNode *root;

    if (!c->walk(b, c->name, obj, &err) || !vs_visitor_complete(b, &err)) {
        fail_with("tree builder", c, err);
    }
    root = vs_tree_builder_root(b);
    vs_visitor_free(b);
    return root;
}

static void assert_trees_equal(TALLOC_CTX *mem, const VsBerCase *c, const char *what,
                               const VsNode *a, const VsNode *b)
{
    char *path = NULL, *reason = NULL;

    if (!vs_node_compare(a, b, mem, &path, &reason)) {
        print_error("%s: %s: trees differ at %s: %s\n", c->name, what, path, reason);
        fail();
    }
}

/* ---- round trips ------------------------------------------------------ */

static void round_trip_one(TALLOC_CTX *ctx, const VsBerCase *c)
{
    TALLOC_CTX *mem = talloc_new(ctx);
    void *filled = talloc_zero_size(mem, c->size);
    void *loaded = new_target(mem, c);
    GError *err = NULL;
    VsNode *decoded;
    size_t len;
    uint8_t *bytes;

    c->fill(mem, filled);
    bytes = ber_save(mem, c, filled, &len);
    if (!ber_load(mem, bytes, len, c, loaded, &err)) {
        fail_with("strict BER load", c, err);
    }
    if (c->equal) {
        c->equal(filled, loaded, c->size);
    }
    decoded = vs_ber_decode_tree(mem, bytes, len, &err);
    if (!decoded) {
        fail_with("vs_ber_decode_tree", c, err);
    }
    assert_trees_equal(mem, c, "saved vs BER-loaded", tree_of(mem, c, filled),
                       tree_of(mem, c, loaded));
    assert_trees_equal(mem, c, "legacy-loaded vs BER-loaded",
                       tree_of(mem, c, legacy_round_trip(mem, c, filled)),
                       tree_of(mem, c, loaded));
    assert_trees_equal(mem, c, "BER-loaded vs decoded", tree_of(mem, c, loaded), decoded);
    talloc_free(mem);
}

static void test_codegen_ber_round_trips(void **state)
{
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        round_trip_one(*state, &cases[i]);
    }
}

/* ---- truncation ------------------------------------------------------- */

static void assert_cut_fails(TALLOC_CTX *ctx, const VsBerCase *c, const uint8_t *bytes,
                             size_t cut, size_t len)
{
    TALLOC_CTX *mem = talloc_new(ctx);
    uint8_t *copy = talloc_memdup(mem, bytes, cut ? cut : 1);
    GError *err = NULL;

    if (ber_load(mem, copy, cut, c, new_target(mem, c), &err) || !err || !err->message[0]) {
        print_error("%s: cut at %zu of %zu: the load did not fail cleanly\n", c->name, cut,
                    len);
        fail();
    }
    g_clear_error(&err);
    if (vs_ber_decode_tree(mem, copy, cut, &err) || !err || !err->message[0]) {
        print_error("%s: cut at %zu of %zu: the decoder did not fail cleanly\n", c->name, cut,
                    len);
        fail();
    }
    g_clear_error(&err);
    talloc_free(mem);
}

static void truncations_one(TALLOC_CTX *ctx, const VsBerCase *c)
{
    TALLOC_CTX *mem = talloc_new(ctx);
    void *filled = talloc_zero_size(mem, c->size);
    size_t len;
    uint8_t *bytes;

    c->fill(mem, filled);
    bytes = ber_save(mem, c, filled, &len);
    for (size_t cut = 0; cut < len; cut++) {
        assert_cut_fails(mem, c, bytes, cut, len);
    }
    talloc_free(mem);
}

static void test_codegen_ber_truncation(void **state)
{
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        truncations_one(*state, &cases[i]);
    }
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, vs_test_ctx_setup, vs_test_ctx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_codegen_ber_round_trips),
        T(test_codegen_ber_truncation),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
