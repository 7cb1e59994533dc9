/*
 * test-bootp.c: the BOOTP/DHCP lease table (devices/bootp.c): offers,
 * binding, release, exhaustion and expiry against the clock; save -> load
 * -> same table and same leases running out at the same times, in both
 * forms; refused tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "devices/bootp.h"
#include "section-io.h"
#include "tests/unit/test-helpers.h"

#define NET 0x0a000200u        /* 10.0.2.0 */
#define SEC 1000000000LL

static void mac_of(uint8_t mac[6], int n)
{
    static const uint8_t base[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x00 };

    memcpy(mac, base, 6);
    mac[5] = (uint8_t)n;
}

static void server_init(VsBootp *b, VsClock *clock)
{
    vs_clock_init_manual(clock, 5 * SEC, 0);
    vs_bootp_init(b, clock, NET, 15, 3600);
}

static bool walk_bootp(void *dev, VsVisitor *v, GError **errp)
{
    return vs_bootp_visit(dev, v, errp);
}

/* DISCOVER then REQUEST binds the offered address (DORA). */
static void bind(VsBootp *b, int n, uint32_t *addr)
{
    uint8_t mac[6];
    uint32_t offer = 0;

    mac_of(mac, n);
    assert_true(vs_bootp_discover(b, mac, 0x1000u + (uint32_t)n, &offer));
    assert_true(vs_bootp_request(b, mac, 0x1000u + (uint32_t)n, offer, addr));
    assert_int_equal(*addr, offer);
}

static void test_discover_request_release(void **state)
{
    VsClock clock;
    VsBootp b;
    uint8_t mac[6], other[6];
    uint32_t offer = 0, addr = 0, again = 0;

    (void)state;
    server_init(&b, &clock);
    mac_of(mac, 1);
    mac_of(other, 2);
    assert_true(vs_bootp_discover(&b, mac, 7, &offer));
    assert_int_equal(offer, NET | 15);                 /* 10.0.2.15, slirp's first */
    /* The same client asking again gets the same address. */
    assert_true(vs_bootp_discover(&b, mac, 8, &again));
    assert_int_equal(again, offer);
    /* Another client gets the next one and cannot take the first. */
    assert_true(vs_bootp_discover(&b, other, 9, &again));
    assert_int_equal(again, NET | 16);
    assert_false(vs_bootp_request(&b, other, 9, offer, &addr));
    assert_int_equal(b.state.naks, 1);
    assert_true(vs_bootp_request(&b, mac, 8, offer, &addr));
    assert_int_equal(addr, offer);
    assert_int_equal(vs_bootp_lease_left(&b, mac), 3600);
    assert_int_equal(b.state.clients[0].xid, 8);
    /* An unknown client is refused. */
    uint8_t stranger[6];
    mac_of(stranger, 99);
    assert_false(vs_bootp_request(&b, stranger, 1, 0, &addr));
    /* Release frees the entry for someone else. */
    assert_true(vs_bootp_release(&b, mac));
    assert_false(vs_bootp_release(&b, mac));
    assert_int_equal(vs_bootp_lookup(&b, mac), -1);
    mac_of(stranger, 3);
    assert_true(vs_bootp_discover(&b, stranger, 2, &again));
    assert_int_equal(again, NET | 15);
}

static void test_pool_exhaustion(void **state)
{
    VsClock clock;
    VsBootp b;
    uint8_t mac[6];
    uint32_t addr;

    (void)state;
    server_init(&b, &clock);
    for (int n = 0; n < VS_BOOTP_CLIENTS; n++) {
        bind(&b, n, &addr);
        assert_int_equal(addr, NET | (uint32_t)(15 + n));
    }
    mac_of(mac, 200);
    assert_false(vs_bootp_discover(&b, mac, 1, &addr));
    /* Once one lease runs out the newcomer gets its address. */
    vs_clock_advance(&clock, 3600 * SEC);
    assert_true(vs_bootp_discover(&b, mac, 1, &addr));
    assert_int_equal(addr, NET | 15);
}

static void test_offer_and_lease_expiry(void **state)
{
    VsClock clock;
    VsBootp b;
    uint8_t mac[6], late[6];
    uint32_t offer, addr;

    (void)state;
    server_init(&b, &clock);
    mac_of(mac, 1);
    mac_of(late, 2);
    assert_true(vs_bootp_discover(&b, late, 1, &offer));
    bind(&b, 1, &addr);
    /* An offer nobody took lapses after a minute; the lease does not. */
    vs_clock_advance(&clock, VS_BOOTP_OFFER_NS);
    assert_int_equal(vs_bootp_expire(&b), 1);
    assert_int_equal(vs_bootp_lookup(&b, late), -1);
    assert_int_equal(vs_bootp_lease_left(&b, mac), 3600 - 60);
    /* Renewing (REQUEST again) restarts the lease. */
    assert_true(vs_bootp_request(&b, mac, 2, 0, &addr));
    assert_int_equal(vs_bootp_lease_left(&b, mac), 3600);
    vs_clock_advance(&clock, 3600 * SEC - 1);
    assert_int_equal(vs_bootp_expire(&b), 0);
    vs_clock_advance(&clock, 1);
    assert_int_equal(vs_bootp_expire(&b), 1);
    assert_int_equal(vs_bootp_lease_left(&b, mac), 0);
}

static void round_trip(void **state, VsTestFormat fmt)
{
    TALLOC_CTX *ctx = *state;
    VsClock ca, cb;
    VsBootp a, b;
    uint8_t mac[6], fresh[6];
    uint32_t addr, addr_b;
    uint8_t *bytes;
    size_t len;

    server_init(&a, &ca);
    for (int n = 0; n < 5; n++) {
        bind(&a, n, &addr);
        vs_clock_advance(&ca, 100 * SEC);
    }
    mac_of(mac, 2);
    assert_true(vs_bootp_release(&a, mac));
    mac_of(fresh, 40);
    assert_true(vs_bootp_discover(&a, fresh, 77, &addr));   /* an open offer */
    bytes = vs_test_save(ctx, fmt, walk_bootp, &a, true, &len);

    /* The destination's clock reads the same virtual time (migrated with the VM). */
    server_init(&b, &cb);
    cb = ca;
    b.clock = &cb;
    b.state.lease_time = 1;     /* overwritten by the load */
    vs_test_load_ok(ctx, fmt, walk_bootp, &b, bytes, len, 1, true, ctx);
    assert_memory_equal(&a.state, &b.state, sizeof(a.state));

    /* Same behaviour: the open offer is still the client's... */
    assert_true(vs_bootp_request(&a, fresh, 77, 0, &addr));
    assert_true(vs_bootp_request(&b, fresh, 77, 0, &addr_b));
    assert_int_equal(addr, addr_b);
    assert_int_equal(addr, NET | 17);                      /* the released entry, reused */
    /* ...and the leases run out at the same moments on both. */
    for (int step = 0; step < 6; step++) {
        vs_clock_advance(&ca, 700 * SEC);
        vs_clock_advance(&cb, 700 * SEC);
        assert_int_equal(vs_bootp_expire(&a), vs_bootp_expire(&b));
        assert_memory_equal(&a.state, &b.state, sizeof(a.state));
    }
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

/* The legacy layout: 13 header bytes, then 20 per client, then 3 counters. */
static void test_layout_and_bad_tables(void **state)
{
    TALLOC_CTX *ctx = *state;
    VsClock clock;
    VsBootp a, b;
    uint32_t addr;
    uint8_t *bytes;
    size_t len;

    server_init(&a, &clock);
    bind(&a, 9, &addr);
    bytes = vs_test_save(ctx, VS_TEST_LEGACY, walk_bootp, &a, true, &len);
    assert_int_equal(len, 4 + 1 + 4 + 16 * (1 + 6 + 1 + 4 + 8) + 3 * 4);
    /* Client 0: allocated, MAC, state bound. */
    assert_int_equal(bytes[9], 1);
    assert_int_equal(bytes[9 + 6], 9);
    assert_int_equal(bytes[9 + 7], VS_BOOTP_BOUND);

    {
        g_autoptr(GError) err = NULL;
        bytes[9 + 7] = 3;        /* no such state */
        server_init(&b, &clock);
        assert_false(vs_test_load(ctx, VS_TEST_LEGACY, walk_bootp, &b, bytes, len, 1, true,
                                  ctx, &err));
        assert_gerror_contains(err, "bootp.clients[0]");
        assert_gerror_contains(err, "known_state");
        bytes[9 + 7] = VS_BOOTP_BOUND;
    }
    {
        g_autoptr(GError) err = NULL;
        bytes[4] = 250;          /* the pool would run past .255 */
        server_init(&b, &clock);
        assert_false(vs_test_load(ctx, VS_TEST_LEGACY, walk_bootp, &b, bytes, len, 1, true,
                                  ctx, &err));
        assert_gerror_contains(err, "pool_fits");
    }
    {
        g_autoptr(GError) err = NULL;
        server_init(&b, &clock);
        assert_false(vs_test_load(ctx, VS_TEST_LEGACY, walk_bootp, &b, bytes, len - 1, 1, true,
                                  ctx, &err));
        assert_gerror_contains(err, "bootp.naks");
    }
    talloc_free(bytes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_discover_request_release),
        cmocka_unit_test(test_pool_exhaustion),
        cmocka_unit_test(test_offer_and_lease_expiry),
        cmocka_unit_test_setup_teardown(test_round_trip_legacy, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_ber, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_layout_and_bad_tables, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
    };

    return cmocka_run_group_tests_name("bootp", tests, NULL, NULL);
}
