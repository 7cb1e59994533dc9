/*
 * test-mc146818rtc.c: the MC146818 RTC: time and date registers in BCD and
 * binary, 12 and 24 hours, setting the time, the periodic, alarm and
 * update-ended interrupts, register C's clear-on-read; save -> load round
 * trips in the legacy form and in BER that keep the time running across
 * machines whose clocks disagree; and QEMU 7.2's own "mc146818rtc" sections.
 *
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "devices/mc146818rtc.h"
#include "tests/devices/pc-core-helpers.h"
#include "tests/unit/test-helpers.h"

PC_WALKER(walk_rtc, VsRtcState)

#define SEC 1000000000LL
#define MS 1000000LL
/* 2026-11-21 22:52:18 UTC, a Saturday. */
#define WALL0 1795301538LL

typedef struct Line {
    int level;
    unsigned rises;
} Line;

static void line_set(void *opaque, int n, int level)
{
    Line *l = opaque;

    (void)n;
    if (level && !l->level) {
        l->rises++;
    }
    l->level = level;
}

static uint8_t cmos_read(VsRtc *rtc, uint8_t index)
{
    vs_rtc_write(rtc, 0x70, index);
    return vs_rtc_read(rtc, 0x71);
}

static void cmos_write(VsRtc *rtc, uint8_t index, uint8_t val)
{
    vs_rtc_write(rtc, 0x70, index);
    vs_rtc_write(rtc, 0x71, val);
}

static int bcd(uint8_t v)
{
    return (v >> 4) * 10 + (v & 0xf);
}

/* Seconds of the day the registers show (BCD, 24 hours). */
static int day_seconds(VsRtc *rtc)
{
    return bcd(cmos_read(rtc, 4)) * 3600 + bcd(cmos_read(rtc, 2)) * 60 + bcd(cmos_read(rtc, 0));
}

static void start(VsRtc *rtc, VsClock *clk, Line *irq, int64_t wall_ns)
{
    vs_clock_init_manual(clk, 0, wall_ns);
    vs_rtc_init(rtc, clk, vs_irq_make(line_set, irq, 0));
}

static void test_rtc_time_from_clock(void **state)
{
    VsClock clk;
    Line irq = { 0 };
    VsRtc rtc;

    (void)state;
    start(&rtc, &clk, &irq, WALL0 * SEC + 250 * MS);
    assert_int_equal(cmos_read(&rtc, 0), 0x18);
    assert_int_equal(cmos_read(&rtc, 2), 0x52);
    assert_int_equal(cmos_read(&rtc, 4), 0x22);
    assert_int_equal(cmos_read(&rtc, 6), 0x07);     /* Saturday */
    assert_int_equal(cmos_read(&rtc, 7), 0x21);
    assert_int_equal(cmos_read(&rtc, 8), 0x11);
    assert_int_equal(cmos_read(&rtc, 9), 0x26);
    assert_int_equal(cmos_read(&rtc, 0x32), 0x20);
    assert_int_equal(cmos_read(&rtc, 0x0d), 0x80);
    /* The time runs with the clock, across midnight and the date. */
    vs_clock_advance(&clk, (3600 + 7 * 60 + 42) * SEC);
    assert_int_equal(cmos_read(&rtc, 4), 0x00);
    assert_int_equal(cmos_read(&rtc, 2), 0x00);
    assert_int_equal(cmos_read(&rtc, 0), 0x00);
    assert_int_equal(cmos_read(&rtc, 7), 0x22);
    assert_int_equal(cmos_read(&rtc, 6), 0x01);     /* Sunday */
    assert_int_equal(vs_rtc_time(&rtc), WALL0 + 3600 + 462);
    /* The port 0x70 read is not the index. */
    assert_int_equal(vs_rtc_read(&rtc, 0x70), 0xff);
}

static void test_rtc_binary_and_12_hour(void **state)
{
    VsClock clk;
    Line irq = { 0 };
    VsRtc rtc;

    (void)state;
    start(&rtc, &clk, &irq, WALL0 * SEC);
    cmos_write(&rtc, 0x0b, 0x04);                   /* binary, 12 hours */
    assert_int_equal(cmos_read(&rtc, 4), 0x80 | 10);  /* 10 PM */
    assert_int_equal(cmos_read(&rtc, 2), 52);
    assert_int_equal(cmos_read(&rtc, 9), 26);
    cmos_write(&rtc, 0x0b, 0x00);                   /* BCD, 12 hours */
    assert_int_equal(cmos_read(&rtc, 4), 0x90);
    vs_clock_advance(&clk, (67 * 60 + 42) * SEC);   /* 00:00:00 is 12 AM */
    assert_int_equal(cmos_read(&rtc, 4), 0x12);
}

static void test_rtc_set_time(void **state)
{
    VsClock clk;
    Line irq = { 0 };
    VsRtc rtc;

    (void)state;
    start(&rtc, &clk, &irq, WALL0 * SEC);
    cmos_write(&rtc, 0x0b, 0x82);                   /* SET, 24 hours, BCD */
    cmos_write(&rtc, 4, 0x09);
    cmos_write(&rtc, 2, 0x30);
    cmos_write(&rtc, 0, 0x00);
    cmos_write(&rtc, 9, 0x99);
    cmos_write(&rtc, 0x32, 0x19);
    vs_clock_advance(&clk, 5 * SEC);                /* frozen while SET */
    assert_int_equal(cmos_read(&rtc, 0), 0x00);
    cmos_write(&rtc, 0x0b, 0x02);
    vs_clock_advance(&clk, 75 * SEC);
    assert_int_equal(day_seconds(&rtc), 9 * 3600 + 31 * 60 + 15);
    assert_int_equal(cmos_read(&rtc, 9), 0x99);
    assert_int_equal(cmos_read(&rtc, 0x32), 0x19);
}

static void test_rtc_periodic_and_register_c(void **state)
{
    VsClock clk;
    Line irq = { 0 };
    VsRtc rtc;
    uint8_t c;

    (void)state;
    start(&rtc, &clk, &irq, WALL0 * SEC);
    cmos_write(&rtc, 0x0a, 0x26);                   /* 1024 Hz */
    cmos_write(&rtc, 0x0b, 0x42);                   /* PIE */
    assert_int_equal(rtc.state.period, 32);
    vs_clock_advance(&clk, 1 * MS);
    assert_int_equal(vs_rtc_run(&rtc), 1);
    assert_int_equal(irq.level, 1);
    c = cmos_read(&rtc, 0x0c);
    assert_int_equal(c & (VS_RTC_C_IRQF | VS_RTC_C_PF), VS_RTC_C_IRQF | VS_RTC_C_PF);
    assert_int_equal(irq.level, 0);
    assert_int_equal(cmos_read(&rtc, 0x0c), 0x00);  /* clear on read */
    /* Not enabled: the flag is set, the line stays low. */
    cmos_write(&rtc, 0x0a, 0x2f);                   /* 2 Hz */
    cmos_write(&rtc, 0x0b, 0x02);
    assert_int_equal(rtc.state.periodic_timer, -1);
    vs_clock_advance(&clk, 2 * SEC);
    vs_rtc_run(&rtc);
    assert_int_equal(irq.level, 0);
}

static void test_rtc_update_ended(void **state)
{
    VsClock clk;
    Line irq = { 0 };
    VsRtc rtc;

    (void)state;
    start(&rtc, &clk, &irq, WALL0 * SEC + 400 * MS);
    (void)cmos_read(&rtc, 0x0c);
    cmos_write(&rtc, 0x0b, 0x12);                   /* UIE */
    vs_clock_advance(&clk, 500 * MS);
    assert_int_equal(vs_rtc_run(&rtc), 0);
    vs_clock_advance(&clk, 200 * MS);               /* crosses the second */
    assert_int_equal(vs_rtc_run(&rtc), 1);
    assert_int_equal(cmos_read(&rtc, 0x0c) & 0x90, 0x90);
    assert_int_equal(cmos_read(&rtc, 0), 0x19);
    /* UIP reads set just before the next update. */
    vs_clock_advance(&clk, 1000 * MS - 100000 - 100 * MS);
    assert_int_equal(cmos_read(&rtc, 0x0a) & 0x80, 0x80);
}

static void test_rtc_alarm(void **state)
{
    VsClock clk;
    Line irq = { 0 };
    VsRtc rtc;

    (void)state;
    start(&rtc, &clk, &irq, WALL0 * SEC + 100 * MS);
    cmos_write(&rtc, 1, 0x21);                      /* 22:52:21 */
    cmos_write(&rtc, 3, 0x52);
    cmos_write(&rtc, 5, 0x22);
    cmos_write(&rtc, 0x0b, 0x22);                   /* AIE */
    (void)cmos_read(&rtc, 0x0c);
    vs_clock_advance(&clk, 2 * SEC);
    vs_rtc_run(&rtc);
    assert_int_equal(irq.level, 0);
    vs_clock_advance(&clk, 1 * SEC);
    vs_rtc_run(&rtc);
    assert_int_equal(irq.level, 1);
    assert_int_equal(cmos_read(&rtc, 0x0c) & 0xa0, 0xa0);
    assert_int_equal(day_seconds(&rtc), 22 * 3600 + 52 * 60 + 21);
    /* Hours and minutes "don't care": every minute at second 30 (from :21
     * on, 130 s pass :30 of three minutes). */
    cmos_write(&rtc, 3, 0xc0);
    cmos_write(&rtc, 5, 0xc0);
    cmos_write(&rtc, 1, 0x30);
    irq.rises = 0;
    for (int i = 0; i < 130; i++) {
        vs_clock_advance(&clk, 1 * SEC);
        vs_rtc_run(&rtc);
        (void)cmos_read(&rtc, 0x0c);
    }
    assert_int_equal(irq.rises, 3);
}

/*
 * Saved on one machine, loaded on another whose clock says something else:
 * the time continues from the saved one and runs on the new clock.
 */
static void round_trip(void **state, PcForm form)
{
    VsClock ca, cb;
    Line la = { 0 }, lb = { 0 };
    VsRtc a, b;
    size_t len;
    uint8_t *bytes;
    int64_t saved;

    start(&a, &ca, &la, WALL0 * SEC + 700 * MS);
    cmos_write(&a, 0x0a, 0x2a);                     /* 64 Hz */
    cmos_write(&a, 0x0b, 0x52);                     /* PIE, UIE */
    cmos_write(&a, 0x40, 0x5a);                     /* CMOS RAM */
    vs_clock_advance(&ca, 3 * SEC + 100 * MS);
    vs_rtc_run(&a);
    saved = vs_rtc_time(&a);

    bytes = pc_save(*state, form, walk_rtc, "mc146818rtc", &a.state, true, &len);
    if (form == PC_LEGACY) {
        assert_int_equal(len, 245);                 /* no reinjection subsection */
    }
    /* Same clock: the very same state. */
    vs_rtc_init(&b, &ca, vs_irq_make(line_set, &lb, 0));
    pc_load(*state, form, bytes, len, walk_rtc, "mc146818rtc", &b.state, 3, true);
    assert_same_state(VsRtcState, &a.state, &b.state);

    /* A clock five hours off: same guest time, running on. */
    start(&b, &cb, &lb, (WALL0 - 5 * 3600) * SEC + 20 * MS);
    pc_load(*state, form, bytes, len, walk_rtc, "mc146818rtc", &b.state, 3, true);
    assert_int_equal(vs_rtc_time(&b), saved);
    assert_int_equal(cmos_read(&b, 0x40), 0x5a);
    for (int step = 0; step < 4; step++) {
        vs_clock_advance(&ca, 1 * SEC + 150 * MS);
        vs_clock_advance(&cb, 1 * SEC + 150 * MS);
        vs_rtc_run(&a);
        vs_rtc_run(&b);
        assert_int_equal(day_seconds(&a), day_seconds(&b));
        assert_int_equal(cmos_read(&a, 0x0c), cmos_read(&b, 0x0c));
        assert_int_equal(la.level, lb.level);
    }
    /* Saved at .8 s past a second, 4.6 s later it is 5 seconds on. */
    assert_int_equal(vs_rtc_time(&b), saved + 5);
    assert_int_equal(vs_rtc_time(&b), vs_rtc_time(&a));
    talloc_free(bytes);
}

static void test_rtc_round_trip_legacy(void **state)
{
    round_trip(state, PC_LEGACY);
}

static void test_rtc_round_trip_ber(void **state)
{
    round_trip(state, PC_BER);
}

static void test_rtc_reinject_subsection(void **state)
{
    static const char name[] = "mc146818rtc/irq_reinject_on_ack_count";
    VsClock clk;
    Line irq = { 0 };
    VsRtc a, b;
    size_t len;
    uint8_t *bytes;

    start(&a, &clk, &irq, WALL0 * SEC);
    a.state.irq_reinject_on_ack_count = 3;
    bytes = pc_save(*state, PC_LEGACY, walk_rtc, "mc146818rtc", &a.state, true, &len);
    assert_int_equal(len, 245 + 2 + strlen(name) + 4 + 2);
    assert_int_equal(bytes[245], 0x05);
    assert_memory_equal(bytes + 247, name, strlen(name));
    start(&b, &clk, &irq, WALL0 * SEC);
    pc_load(*state, PC_LEGACY, bytes, len, walk_rtc, "mc146818rtc", &b.state, 3, true);
    assert_int_equal(b.state.irq_reinject_on_ack_count, 3);
    talloc_free(bytes);
}

/* The time in a raw CMOS image (BCD, 24 hours), decoded here, not by the model. */
static int64_t image_time(const uint8_t *cmos)
{
    int y = bcd(cmos[0x32]) * 100 + bcd(cmos[9]), m = bcd(cmos[8]), d = bcd(cmos[7]);
    int64_t days;

    /* Days since 1970 by counting, for the years the corpus can hold. */
    static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    days = 0;
    for (int yy = 1970; yy < y; yy++) {
        days += 365 + ((yy % 4 == 0 && yy % 100 != 0) || yy % 400 == 0);
    }
    for (int mm = 1; mm < m; mm++) {
        days += mdays[mm - 1] + (mm == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    }
    days += d - 1;
    return days * 86400 + bcd(cmos[4]) * 3600 + bcd(cmos[2]) * 60 + bcd(cmos[0]);
}

/*
 * QEMU 7.2's sections: the same bytes after a load and a save with hooks
 * off; loaded with hooks on into an RTC whose clock has nothing to do with
 * the capturing host's, the guest reads the time QEMU saved, advanced by
 * the time elapsed since.
 */
static void test_rtc_corpus(void **state)
{
    PcCorpusSection *secs = NULL;
    size_t n = pc_corpus_sections(*state, "mc146818rtc", &secs);

    assert_true(n >= 1);
    for (size_t i = 0; i < n; i++) {
        VsRtcState st, bare;
        VsClock clk;
        Line irq = { 0 };
        VsRtc rtc;
        size_t len;
        uint8_t *again;
        int64_t want;

        memset(&st, 0, sizeof(st));
        pc_load(*state, PC_LEGACY, secs[i].body, secs[i].len, walk_rtc, "mc146818rtc", &st,
                secs[i].version, false);
        again = pc_save(*state, PC_LEGACY, walk_rtc, "mc146818rtc", &st, false, &len);
        assert_bytes(again, len, secs[i].body, secs[i].len);
        talloc_free(again);
        /* With hooks on, a bare state (no RTC, no clock) loads the same values. */
        memset(&bare, 0, sizeof(bare));
        pc_load(*state, PC_LEGACY, secs[i].body, secs[i].len, walk_rtc, "mc146818rtc", &bare,
                secs[i].version, true);
        assert_same_state(VsRtcState, &bare, &st);
        pc_assert_ber_keeps(*state, walk_rtc, "mc146818rtc", &st, sizeof(st), secs[i].body,
                            secs[i].len);

        /* The corpus guests run in BCD, 24 hours, the clock running. */
        assert_int_equal(st.cmos_data[0x0b] & 0x86, 0x02);
        want = image_time(st.cmos_data);
        start(&rtc, &clk, &irq, 42 * SEC);
        pc_load(*state, PC_LEGACY, secs[i].body, secs[i].len, walk_rtc, "mc146818rtc",
                &rtc.state, secs[i].version, true);
        assert_int_equal(vs_rtc_time(&rtc), want);
        vs_clock_advance(&clk, 5 * SEC);
        assert_int_equal(vs_rtc_time(&rtc), want + 5);
        assert_int_equal(day_seconds(&rtc), (want + 5) % 86400);
        vs_clock_advance(&clk, 86400 * SEC);
        assert_int_equal(vs_rtc_time(&rtc), want + 5 + 86400);
        /* A guest read refreshes the registers: the date moved on by a day. */
        (void)cmos_read(&rtc, 7);
        assert_int_equal(image_time(rtc.state.cmos_data), want + 5 + 86400);
    }
    talloc_free(secs);
}

/* Any 245 bytes load (the format has no invalid values) and the RTC copes. */
static void test_rtc_random_states(void **state)
{
    GRand *rand = g_rand_new_with_seed(8);
    uint8_t bytes[245];

    for (int round = 0; round < 300; round++) {
        VsClock clk;
        Line irq = { 0 };
        VsRtc rtc;

        for (size_t i = 0; i < sizeof(bytes); i++) {
            bytes[i] = (uint8_t)g_rand_int(rand);
        }
        start(&rtc, &clk, &irq, (int64_t)g_rand_int(rand) * SEC);
        pc_load(*state, PC_LEGACY, bytes, sizeof(bytes), walk_rtc, "mc146818rtc", &rtc.state,
                3, true);
        vs_clock_advance(&clk, (int64_t)g_rand_int_range(rand, 0, 100000) * MS);
        vs_rtc_run(&rtc);
        for (int r = 0; r < 0x0e; r++) {
            (void)cmos_read(&rtc, (uint8_t)r);
        }
        (void)vs_rtc_time(&rtc);
    }
    g_rand_free(rand);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, vs_test_ctx_setup, vs_test_ctx_teardown)
        T(test_rtc_time_from_clock),
        T(test_rtc_binary_and_12_hour),
        T(test_rtc_set_time),
        T(test_rtc_periodic_and_register_c),
        T(test_rtc_update_ended),
        T(test_rtc_alarm),
        T(test_rtc_round_trip_legacy),
        T(test_rtc_round_trip_ber),
        T(test_rtc_reinject_subsection),
        T(test_rtc_corpus),
        T(test_rtc_random_states),
#undef T
    };
    return cmocka_run_group_tests_name("mc146818rtc", tests, NULL, NULL);
}
