/*
 * features-fill.h: filled states of the features.vs, common.vs and bound.vs
 * types, load targets prepared as a device would, and their comparisons,
 * shared by the codegen tests.
 *
 * SPDX-License-Identifier: MIT
 *
 * Include after <cmocka.h>: the comparisons assert.  fill_T gives T the
 * state the golden streams of test-codegen-walkers.c describe; prepare_T
 * sets what the device sets itself before a load.  Pointers the fill
 * allocates are talloc children of the context given.
 */
#ifndef VSTATE_FEATURES_FILL_H
#define VSTATE_FEATURES_FILL_H

#include <string.h>
#include <talloc.h>

#include "bound.vs.h"
#include "common.vs.h"
#include "features.vs.h"

static inline void fill_scalars(Scalars *s)
{
    memset(s, 0, sizeof(*s));
    s->a = 0x12;
    s->b = 0x3456;
    s->c = 0x789abcde;
    s->d = 0x0123456789abcdefull;
    s->e = -2;
    s->f = -300;
    s->g = -100000;
    s->h = -0x123456789ll;
    s->flag = true;
    s->ratio = 1.5;
    s->deadline = -1;
}

/* A load target with what the device sets itself: the local count. */
static inline void prepare_arrays(Arrays *s)
{
    memset(s, 0, sizeof(*s));
    s->nlocal = 2;
}

static inline void fill_arrays(Arrays *s)
{
    prepare_arrays(s);
    s->fixed16[0] = 0x0102;
    s->fixed16[1] = 0x0304;
    s->fixed16[2] = 0x0506;
    s->n8 = 2;
    s->by_u8[0] = 0xa1;
    s->by_u8[1] = 0xa2;
    s->n16 = 1;
    s->by_u16[0] = 0xbeef;
    s->n32 = 2;
    s->by_u32[0] = 1;
    s->by_u32[1] = 0xcafef00d;
    s->ni = 3;
    s->by_i32[0] = -1;
    s->by_i32[1] = 0;
    s->by_i32[2] = 1;
    s->by_local[0] = 0x1111;
    s->by_local[1] = 0x2222;
    s->rows = 2;
    for (int i = 0; i < 4; i++) {
        s->grid[i] = (uint16_t)(i + 1);
    }
    memcpy(s->raw, "RAW!", 4);
    s->vbuf[0] = 0xd0;
    s->vbuf[1] = 0xd1;
    for (int i = 0; i < 6; i++) {
        s->mbuf[i] = (uint8_t)(0x60 + i);
    }
    s->nbits = 70;
    s->bits[0] = 0x8000000000000001ull;
    s->bits[1] = 0x3f;
}

static inline void prepare_fifo(Fifo *f)
{
    memset(f, 0, sizeof(*f));
    f->capacity = 4;
}

/*
 * A load target: pointers the stream fills must exist (QEMU loads through
 * the device's pointers); `heap` stays NULL, so the load allocates it.
 */
static inline void prepare_nested(TALLOC_CTX *mem, Nested *s)
{
    memset(s, 0, sizeof(*s));
    s->slots[0] = talloc_zero(mem, Point);
    s->slots[2] = talloc_zero(mem, Point);
    s->timers[1] = talloc_zero(mem, int64_t);
    s->timers[2] = talloc_zero(mem, int64_t);
    prepare_fifo(&s->fifo);
}

static inline void fill_nested(TALLOC_CTX *mem, Nested *s)
{
    prepare_nested(mem, s);
    s->at = (Point){ 1, -1 };
    s->heap = talloc_zero(mem, Point);
    *s->heap = (Point){ 2, 3 };
    s->pts[0] = (Point){ 4, 5 };
    s->pts[1] = (Point){ 6, 7 };
    s->npts = 1;
    s->vpts[0] = (Point){ 8, 9 };
    *s->slots[0] = (Point){ 10, 11 };
    *s->slots[2] = (Point){ 12, 13 };
    *s->timers[1] = 1000000000;
    *s->timers[2] = -1;
    memcpy(s->fifo.data, "\xf0\xf1\xf2\xf3", 4);
    s->fifo.head = 1;
    s->fifo.num = 3;
}

static inline void assert_points_equal(const Point *a, const Point *b)
{
    assert_int_equal(a->x, b->x);
    assert_int_equal(a->y, b->y);
}

static inline void assert_nested_equal(const Nested *a, const Nested *b)
{
    assert_points_equal(&a->at, &b->at);
    assert_non_null(a->heap);
    assert_non_null(b->heap);
    assert_points_equal(a->heap, b->heap);
    assert_memory_equal(a->pts, b->pts, sizeof(a->pts));
    assert_int_equal(a->npts, b->npts);
    assert_memory_equal(a->vpts, b->vpts, sizeof(a->vpts));
    for (int i = 0; i < 3; i++) {
        assert_int_equal(a->slots[i] == NULL, b->slots[i] == NULL);
        if (a->slots[i]) {
            assert_points_equal(a->slots[i], b->slots[i]);
        }
        assert_int_equal(a->timers[i] == NULL, b->timers[i] == NULL);
        if (a->timers[i]) {
            assert_int_equal(*a->timers[i], *b->timers[i]);
        }
    }
    assert_memory_equal(&a->fifo, &b->fifo, sizeof(a->fifo));
}

static inline void fill_lists(TALLOC_CTX *mem, Lists *s)
{
    memset(s, 0, sizeof(*s));
    s->q_count = 2;
    s->q = talloc_array(mem, Point, 2);
    s->q[0] = (Point){ 1, 2 };
    s->q[1] = (Point){ 3, 4 };
    s->t_count = 1;
    s->t = talloc_zero_array(mem, Lists_t_node, 1);
    s->t[0].key = 5;
    s->t[0].value = (Point){ 7, 8 };
    s->kt_count = 2;
    s->kt = talloc_zero_array(mem, Lists_kt_node, 2);
    s->kt[0].key = (Key){ .id = 0x10, .kind = 2 };
    s->kt[0].value = (Point){ -1, 1 };
    s->kt[1].key = (Key){ .id = 0x11, .kind = 3 };
}

static inline void assert_lists_equal(const Lists *a, const Lists *b)
{
    assert_int_equal(a->q_count, b->q_count);
    assert_int_equal(a->l_count, b->l_count);
    assert_int_equal(a->t_count, b->t_count);
    assert_int_equal(a->kt_count, b->kt_count);
    for (uint32_t i = 0; i < a->q_count; i++) {
        assert_points_equal(&a->q[i], &b->q[i]);
    }
    for (uint32_t i = 0; i < a->l_count; i++) {
        assert_points_equal(&a->l[i], &b->l[i]);
    }
    for (uint32_t i = 0; i < a->t_count; i++) {
        assert_int_equal(a->t[i].key, b->t[i].key);
        assert_points_equal(&a->t[i].value, &b->t[i].value);
    }
    for (uint32_t i = 0; i < a->kt_count; i++) {
        assert_int_equal(a->kt[i].key.id, b->kt[i].key.id);
        assert_int_equal(a->kt[i].key.kind, b->kt[i].key.kind);
        assert_points_equal(&a->kt[i].value, &b->kt[i].value);
    }
}

/* A load target: what `equal` compares with and the bound of `le`. */
static inline void prepare_versioned(Versioned *s)
{
    memset(s, 0, sizeof(*s));
    s->magic = 0x56;
    s->limit = 10;
}

static inline void fill_versioned(Versioned *s)
{
    prepare_versioned(s);
    s->base = 0xdeadbeef;
    s->added = 0x1234;
    s->on = false;
    s->neg = -5;
    s->plain = 9;
    s->mode = 3;
    s->by_fn = 0xabcd;
    s->arith = 0x5a;
    s->limit = 7;
}

static inline void fill_hooked(Hooked *s)
{
    memset(s, 0, sizeof(*s));
    s->value = 21;
    s->n = 2;
    s->arr[0] = 0x0a;
    s->arr[1] = 0x0b;
    s->late = 0x1a;
    s->flags = 0x05; /* bit 0: hooked/a, bit 2: hooked/b/inner */
    s->a = 0x0a0b;
    s->b = 0x0bbb; /* non-zero: hooked/b is needed */
    s->b3 = 0x33;
    s->inner = 0x77;
}

/* A load target: the device's wmask (bytes 0..3 read-only) and its config. */
static inline void prepare_pcilike(PciLike *s)
{
    memset(s, 0, sizeof(*s));
    s->version_id = 2;
    memset(s->wmask, 0xff, sizeof(s->wmask));
    for (int i = 0; i < 4; i++) {
        s->wmask[i] = 0;
        s->config[i] = (uint8_t)i;
    }
}

static inline void fill_pcilike(PciLike *s)
{
    prepare_pcilike(s);
    for (int i = 0; i < 256; i++) {
        s->config[i] = (uint8_t)i;
    }
}

static inline void fill_bound(TALLOC_CTX *mem, BoundDev *s)
{
    memset(s, 0, sizeof(*s));
    s->label = "not migrated";
    s->regs.id = 0x42;
    s->n = 3;
    s->regs.vals[0] = 1;
    s->regs.vals[1] = 2;
    s->regs.vals[2] = 3;
    s->loc = talloc_zero(mem, Point);
    *s->loc = (Point){ -2, 2 };
    s->enabled = true;
}

#endif /* VSTATE_FEATURES_FILL_H */
