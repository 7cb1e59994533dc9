/*
 * test-ring.c: the queue device (devices/ring.c): posting, in-order
 * completion against the clock, used-ring back-pressure, interrupts;
 * save -> load -> same state and behaviour in both forms with requests in
 * flight (a list), absent queues (NULL pointers) and rings counted by a
 * field; refused streams.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "devices/ring.h"
#include "section-io.h"
#include "tests/unit/test-helpers.h"

typedef struct Rig {
    VsClock clock;
    VsRing *ring;
    int irq;
} Rig;

static void record_irq(void *opaque, int line, int level)
{
    Rig *r = opaque;

    (void)line;
    r->irq = level;
}

/* 2 queues of 8 entries, 10 ns per byte. */
static void rig_init(Rig *r, TALLOC_CTX *ctx, unsigned nqueues, uint16_t size)
{
    memset(r, 0, sizeof(*r));
    vs_clock_init_manual(&r->clock, 1000, 0);
    r->ring = vs_ring_new(ctx, &r->clock, vs_irq_make(record_irq, r, 11), nqueues, size, 10);
    assert_non_null(r->ring);
    vs_ring_enable(r->ring, true);
    vs_ring_set_irq_mask(r->ring, 0xf);
}

static bool walk_ring(void *dev, VsVisitor *v, GError **errp)
{
    return vs_ring_visit(dev, v, errp);
}

static void test_configurations(void **state)
{
    TALLOC_CTX *ctx = *state;
    VsClock clock;

    vs_clock_init_manual(&clock, 0, 0);
    assert_null(vs_ring_new(ctx, &clock, vs_irq_make(NULL, NULL, 0), 0, 8, 1));
    assert_null(vs_ring_new(ctx, &clock, vs_irq_make(NULL, NULL, 0), 5, 8, 1));
    assert_null(vs_ring_new(ctx, &clock, vs_irq_make(NULL, NULL, 0), 1, 12, 1));
    assert_null(vs_ring_new(ctx, &clock, vs_irq_make(NULL, NULL, 0), 1, 128, 1));
}

static void test_requests_complete_in_order(void **state)
{
    Rig r;
    uint16_t id;
    uint32_t len;

    rig_init(&r, *state, 2, 8);
    assert_true(vs_ring_post(r.ring, 0, 0x1000, 100, 1));
    assert_true(vs_ring_post(r.ring, 0, 0x2000, 50, 2));
    assert_false(vs_ring_post(r.ring, 3, 0x3000, 1, 3));   /* no such queue */
    assert_int_equal(vs_ring_in_flight(r.ring, 0), 0);      /* not yet notified */
    vs_ring_notify(r.ring, 0);
    assert_int_equal(vs_ring_in_flight(r.ring, 0), 2);
    /* 100 bytes take 1000 ns; the second starts when the first ends. */
    assert_int_equal(vs_ring_next_deadline(r.ring), 1000 + 1000);
    vs_clock_advance(&r.clock, 999);
    vs_ring_run(r.ring);
    assert_false(vs_ring_take_used(r.ring, 0, &id, &len));
    assert_int_equal(r.irq, 0);
    vs_clock_advance(&r.clock, 1);
    vs_ring_run(r.ring);
    assert_int_equal(r.irq, 1);
    assert_true(vs_ring_take_used(r.ring, 0, &id, &len));
    assert_int_equal(id, 1);
    assert_int_equal(len, 100);
    assert_int_equal(vs_ring_ack(r.ring), 1);
    assert_int_equal(r.irq, 0);
    vs_clock_advance(&r.clock, 500);
    vs_ring_run(r.ring);
    assert_true(vs_ring_take_used(r.ring, 0, &id, &len));
    assert_int_equal(id, 2);
    assert_int_equal(r.ring->state.completed, 2);
    assert_int_equal(vs_ring_next_deadline(r.ring), -1);
    talloc_free(r.ring);
}

static void test_full_rings(void **state)
{
    Rig r;
    uint16_t id;
    uint32_t len;

    rig_init(&r, *state, 1, 4);
    for (uint16_t i = 0; i < 4; i++) {
        assert_true(vs_ring_post(r.ring, 0, 0, 1, i));
    }
    assert_false(vs_ring_post(r.ring, 0, 0, 1, 9));       /* descriptor ring full */
    vs_ring_notify(r.ring, 0);
    assert_true(vs_ring_post(r.ring, 0, 0, 1, 4));        /* taken: room again */
    vs_ring_notify(r.ring, 0);
    assert_int_equal(vs_ring_in_flight(r.ring, 0), 4);   /* at most one ring in flight */
    vs_clock_advance(&r.clock, 1000);
    vs_ring_run(r.ring);
    /* The used ring holds 4; the fifth completion waits for the driver. */
    assert_int_equal(vs_ring_in_flight(r.ring, 0), 0);
    vs_ring_notify(r.ring, 0);
    assert_int_equal(vs_ring_in_flight(r.ring, 0), 1);
    vs_clock_advance(&r.clock, 1000);
    vs_ring_run(r.ring);
    assert_int_equal(vs_ring_in_flight(r.ring, 0), 1);
    assert_true(vs_ring_take_used(r.ring, 0, &id, &len));
    assert_int_equal(id, 0);
    vs_ring_run(r.ring);
    assert_int_equal(vs_ring_in_flight(r.ring, 0), 0);
    /* Disabled, the doorbell does nothing. */
    vs_ring_enable(r.ring, false);
    assert_true(vs_ring_post(r.ring, 0, 0, 1, 7));
    vs_ring_notify(r.ring, 0);
    assert_int_equal(vs_ring_in_flight(r.ring, 0), 0);
    talloc_free(r.ring);
}

/* Three queues in use, one request done and unread, three in flight. */
static void busy_rig(Rig *r, TALLOC_CTX *ctx)
{
    rig_init(r, ctx, 3, 8);
    for (uint16_t i = 0; i < 3; i++) {
        assert_true(vs_ring_post(r->ring, 0, 0x1000u * i, 10u * (i + 1), (uint16_t)(100 + i)));
    }
    assert_true(vs_ring_post(r->ring, 2, 0xa000, 5, 200));
    assert_true(vs_ring_post(r->ring, 2, 0xb000, 20, 201));
    vs_ring_notify(r->ring, 0);
    vs_ring_notify(r->ring, 2);
    /* Done at +100, +300, +600 on queue 0 and +50, +250 on queue 2. */
    vs_clock_advance(&r->clock, 150);
    vs_ring_run(r->ring);
    /* One posted, not yet notified. */
    assert_true(vs_ring_post(r->ring, 1, 0xc000, 7, 300));
}

static void drain(Rig *r, uint16_t *ids, size_t *n)
{
    uint16_t id;
    uint32_t len;

    *n = 0;
    for (unsigned q = 0; q < 3; q++) {
        while (vs_ring_take_used(r->ring, q, &id, &len)) {
            ids[(*n)++] = id;
        }
    }
}

static void assert_same_state(const VsRing *a, const VsRing *b)
{
    assert_int_equal(a->state.status, b->state.status);
    assert_int_equal(a->state.isr, b->state.isr);
    assert_int_equal(a->state.completed, b->state.completed);
    for (unsigned q = 0; q < VS_RING_MAX_QUEUES; q++) {
        const RingQueue *x = a->state.queues[q], *y = b->state.queues[q];

        assert_int_equal(x == NULL, y == NULL);
        if (!x) {
            continue;
        }
        assert_int_equal(x->size, y->size);
        for (uint32_t i = 0; i < x->size; i++) {
            assert_int_equal(x->desc[i].addr, y->desc[i].addr);
            assert_int_equal(x->desc[i].len, y->desc[i].len);
            assert_int_equal(x->desc[i].id, y->desc[i].id);
            assert_int_equal(x->used[i].id, y->used[i].id);
            assert_int_equal(x->used[i].len, y->used[i].len);
        }
        assert_int_equal(x->avail_idx, y->avail_idx);
        assert_int_equal(x->last_avail, y->last_avail);
        assert_int_equal(x->used_idx, y->used_idx);
        assert_int_equal(x->used_seen, y->used_seen);
        assert_int_equal(x->pending_count, y->pending_count);
        for (uint32_t i = 0; i < x->pending_count; i++) {
            assert_int_equal(x->pending[i].id, y->pending[i].id);
            assert_int_equal(x->pending[i].len, y->pending[i].len);
            assert_int_equal(x->pending[i].done_at, y->pending[i].done_at);
        }
    }
}

static void round_trip(void **state, VsTestFormat fmt)
{
    TALLOC_CTX *ctx = *state;
    TALLOC_CTX *load_ctx = talloc_new(ctx);
    Rig a, b;
    uint8_t *bytes;
    size_t len, na, nb;
    uint16_t ids_a[32], ids_b[32];

    busy_rig(&a, ctx);
    assert_int_equal(vs_ring_in_flight(a.ring, 0), 2);
    assert_int_equal(vs_ring_in_flight(a.ring, 2), 1);
    assert_null(a.ring->state.queues[3]);
    bytes = vs_test_save(ctx, fmt, walk_ring, a.ring, true, &len);

    rig_init(&b, ctx, 3, 8);
    b.clock = a.clock;
    /* Loaded lists are allocated under load_ctx, then owned by the device. */
    vs_test_load_ok(ctx, fmt, walk_ring, b.ring, bytes, len, 1, true, load_ctx);
    talloc_free(load_ctx);
    assert_same_state(a.ring, b.ring);
    assert_int_equal(a.irq, b.irq);

    /* Same behaviour: notify, let everything finish, same completions in the same order. */
    vs_ring_notify(a.ring, 1);
    vs_ring_notify(b.ring, 1);
    for (int step = 0; step < 12; step++) {
        vs_clock_advance(&a.clock, 40);
        vs_clock_advance(&b.clock, 40);
        vs_ring_run(a.ring);
        vs_ring_run(b.ring);
        assert_int_equal(vs_ring_next_deadline(a.ring), vs_ring_next_deadline(b.ring));
    }
    drain(&a, ids_a, &na);
    drain(&b, ids_b, &nb);
    assert_int_equal(na, 6);
    assert_int_equal(na, nb);
    assert_memory_equal(ids_a, ids_b, na * sizeof(ids_a[0]));
    assert_same_state(a.ring, b.ring);
    talloc_free(a.ring);
    talloc_free(b.ring);
    talloc_free(bytes);
}

static void test_round_trip_legacy(void **state)
{
    round_trip(state, VS_TEST_LEGACY);
}

static void test_round_trip_ber(void **state)
{
    round_trip(state, VS_TEST_BER);
}

/* A queue the device does not have is a NULL marker (0x30) on the wire. */
static void test_absent_queue_marker(void **state)
{
    TALLOC_CTX *ctx = *state;
    Rig r;
    uint8_t *bytes;
    size_t len;

    rig_init(&r, ctx, 1, 2);
    bytes = vs_test_save(ctx, VS_TEST_LEGACY, walk_ring, r.ring, true, &len);
    /*
     * 5 x u32, then queue 0: size, 2 descs (16 bytes each), 2 used (6
     * each), 4 indices, an empty list (one 00), then three markers.
     */
    assert_int_equal(len, 20 + 2 + 2 * 16 + 2 * 6 + 8 + 1 + 3);
    assert_memory_equal(bytes + len - 3, "\x30\x30\x30", 3);
    talloc_free(bytes);
    talloc_free(r.ring);
}

static void test_bad_streams_refused(void **state)
{
    TALLOC_CTX *ctx = *state;
    Rig a, b;
    uint8_t *bytes;
    size_t len;

    busy_rig(&a, ctx);
    bytes = vs_test_save(ctx, VS_TEST_LEGACY, walk_ring, a.ring, true, &len);
    /* A device built with other ring sizes. */
    {
        g_autoptr(GError) err = NULL;
        rig_init(&b, ctx, 3, 16);
        assert_false(vs_test_load(ctx, VS_TEST_LEGACY, walk_ring, b.ring, bytes, len, 1, true,
                                  b.ring, &err));
        assert_gerror_contains(err, "ring.queues[0].size");
        talloc_free(b.ring);
    }
    /* A device built with fewer queues: the stream's queue 2 is not a NULL marker. */
    {
        g_autoptr(GError) err = NULL;
        rig_init(&b, ctx, 2, 8);
        assert_false(vs_test_load(ctx, VS_TEST_LEGACY, walk_ring, b.ring, bytes, len, 1, true,
                                  b.ring, &err));
        assert_gerror_contains(err, "ring.queues[2]");
        talloc_free(b.ring);
    }
    /* Indices further apart than the ring. */
    {
        g_autoptr(GError) err = NULL;
        size_t avail = 20 + 2 + 8 * 16 + 8 * 6;   /* queue 0's avail_idx */
        bytes[avail] = 0x40;
        rig_init(&b, ctx, 3, 8);
        assert_false(vs_test_load(ctx, VS_TEST_LEGACY, walk_ring, b.ring, bytes, len, 1, true,
                                  b.ring, &err));
        assert_gerror_contains(err, "ring.queues[0]");
        assert_gerror_contains(err, "indices_fit");
        talloc_free(b.ring);
    }
    talloc_free(bytes);
    talloc_free(a.ring);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_configurations, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_requests_complete_in_order, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_full_rings, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_legacy, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_ber, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_absent_queue_marker, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_streams_refused, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
    };

    return cmocka_run_group_tests_name("ring", tests, NULL, NULL);
}
