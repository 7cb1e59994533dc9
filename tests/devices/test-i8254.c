/*
 * test-i8254.c: the 8254 PIT: counting modes, access modes, latches and
 * read-back through the ports, channel 0's interrupt against a manual
 * clock, save -> load round trips in the legacy form and in BER, and QEMU
 * 7.2's own "i8254" sections from the corpus.
 *
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "devices/i8254.h"
#include "tests/devices/pc-core-helpers.h"
#include "tests/unit/test-helpers.h"

PC_WALKER(walk_pit, VsI8254State)

#define MS 1000000LL
#define FREQ 1193182LL

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

/*
 * Ticks of the 1.193182 MHz input in @ns (rounded down), computed apart
 * from the model; plain 64-bit arithmetic holds for the spans used here.
 */
static int64_t ticks(int64_t ns)
{
    assert_true(ns >= 0 && ns < INT64_MAX / FREQ);
    return ns * FREQ / 1000000000;
}

static void program(VsI8254 *pit, int channel, int mode, unsigned count)
{
    vs_i8254_write(pit, 0x43, (uint8_t)(channel << 6 | 0x30 | mode << 1));
    vs_i8254_write(pit, 0x40 + channel, count & 0xff);
    vs_i8254_write(pit, 0x40 + channel, (count >> 8) & 0xff);
}

static uint16_t read_word(VsI8254 *pit, int channel)
{
    uint16_t lo = vs_i8254_read(pit, 0x40 + channel);

    return lo | vs_i8254_read(pit, 0x40 + channel) << 8;
}

static void test_i8254_reset_state(void **state)
{
    VsClock clk;
    Line irq = { 0 };
    VsI8254 pit;

    (void)state;
    vs_clock_init_manual(&clk, 1000, 0);
    vs_i8254_init(&pit, &clk, vs_irq_make(line_set, &irq, 0));
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pit.state.channels[i].mode, 3);
        assert_int_equal(pit.state.channels[i].count, 0x10000);
    }
    assert_int_equal(pit.state.channels[2].gate, 0);
    /* Square wave: high for the first half of the 65536-tick period. */
    assert_int_equal(irq.level, 1);
    assert_true(vs_i8254_next_event(&pit) > 1000);
}

static void test_i8254_rate_generator_irq(void **state)
{
    VsClock clk;
    Line irq = { 0 };
    VsI8254 pit;
    unsigned edges;

    (void)state;
    vs_clock_init_manual(&clk, 5 * MS, 0);
    vs_i8254_init(&pit, &clk, vs_irq_make(line_set, &irq, 0));
    program(&pit, 0, 2, 11932);                     /* about 100 Hz */
    irq.rises = 0;
    vs_clock_advance(&clk, 9 * MS);
    assert_int_equal(vs_i8254_run(&pit), 0);
    vs_clock_advance(&clk, 2 * MS);                 /* 11 ms: one period passed */
    assert_int_equal(vs_i8254_run(&pit), 1);
    assert_int_equal(irq.rises, 1);
    vs_clock_advance(&clk, 1000 * MS);
    edges = vs_i8254_run(&pit);
    assert_int_equal(irq.rises, 1 + edges);
    /* Periods completed in 1011 ms, counted independently of the model. */
    assert_int_equal(1 + edges, ticks(1011 * MS) / 11932);
    /* The counter counts down from the count in every period. */
    assert_int_equal(vs_i8254_count(&pit, 0), 11932 - ticks(1011 * MS) % 11932);
}

static void test_i8254_counter_latch(void **state)
{
    VsClock clk;
    VsI8254 pit;
    uint16_t latched;

    (void)state;
    vs_clock_init_manual(&clk, 0, 0);
    vs_i8254_init(&pit, &clk, (VsIrq){ 0 });
    program(&pit, 0, 0, 50000);
    vs_clock_advance(&clk, 10 * MS);
    vs_i8254_write(&pit, 0x43, 0x00);                 /* latch channel 0 */
    vs_clock_advance(&clk, 10 * MS);
    latched = read_word(&pit, 0);
    assert_int_equal(latched, 50000 - ticks(10 * MS));
    /* Unlatched reads follow the clock again. */
    assert_int_equal(read_word(&pit, 0), 50000 - ticks(20 * MS));
    /* A second latch command before the read keeps the first value. */
    vs_i8254_write(&pit, 0x43, 0x00);
    vs_clock_advance(&clk, 1 * MS);
    vs_i8254_write(&pit, 0x43, 0x00);
    assert_int_equal(read_word(&pit, 0), 50000 - ticks(20 * MS));
}

static void test_i8254_read_back(void **state)
{
    VsClock clk;
    VsI8254 pit;
    uint8_t status;

    (void)state;
    vs_clock_init_manual(&clk, 0, 0);
    vs_i8254_init(&pit, &clk, (VsIrq){ 0 });
    program(&pit, 2, 0, 1000);
    vs_clock_advance(&clk, 1 * MS);                 /* 1193 ticks: terminal count passed */
    vs_i8254_write(&pit, 0x43, 0xc8);               /* read-back ch2: count and status */
    status = vs_i8254_read(&pit, 0x42);
    assert_int_equal(status, 0x80 | 0x30 | 0 << 1); /* OUT high, word access, mode 0 */
    assert_int_equal(read_word(&pit, 2), (1000 - ticks(1 * MS)) & 0xffff);
    /* Status only (bit 5 set): the count reads live. */
    vs_i8254_write(&pit, 0x43, 0xe8);
    assert_int_equal(vs_i8254_read(&pit, 0x42), 0xb0);
    vs_clock_advance(&clk, 1 * MS);
    assert_int_equal(read_word(&pit, 2), (1000 - ticks(2 * MS)) & 0xffff);
}

static void test_i8254_access_modes(void **state)
{
    VsClock clk;
    VsI8254 pit;

    (void)state;
    vs_clock_init_manual(&clk, 0, 0);
    vs_i8254_init(&pit, &clk, (VsIrq){ 0 });
    vs_i8254_write(&pit, 0x43, 0x90);               /* ch2, LSB only, mode 0 */
    vs_i8254_write(&pit, 0x42, 0x40);
    assert_int_equal(pit.state.channels[2].count, 0x40);
    assert_int_equal(vs_i8254_read(&pit, 0x42), 0x40);
    vs_i8254_write(&pit, 0x43, 0xa0);               /* ch2, MSB only */
    vs_i8254_write(&pit, 0x42, 0x01);
    assert_int_equal(pit.state.channels[2].count, 0x100);
    assert_int_equal(vs_i8254_read(&pit, 0x42), 0x01);
    /* A count of 0 means 65536. */
    program(&pit, 2, 0, 0);
    assert_int_equal(pit.state.channels[2].count, 0x10000);
}

static void test_i8254_modes_output(void **state)
{
    VsClock clk;
    VsI8254 pit;
    const int64_t tick = 1000000000 / FREQ + 1;     /* a bit more than one tick */

    (void)state;
    vs_clock_init_manual(&clk, 0, 0);
    vs_i8254_init(&pit, &clk, (VsIrq){ 0 });

    /* Mode 0: low until the count expires, then high. */
    program(&pit, 2, 0, 100);
    assert_int_equal(vs_i8254_out(&pit, 2), 0);
    vs_clock_advance(&clk, 99 * tick);
    assert_int_equal(vs_i8254_out(&pit, 2), 0);
    vs_clock_advance(&clk, 2 * tick);
    assert_int_equal(vs_i8254_out(&pit, 2), 1);

    /* Mode 3: high for the first half of each period, low for the second. */
    program(&pit, 2, 3, 100);
    vs_clock_advance(&clk, 10 * tick);
    assert_int_equal(vs_i8254_out(&pit, 2), 1);
    vs_clock_advance(&clk, 50 * tick);
    assert_int_equal(vs_i8254_out(&pit, 2), 0);
    vs_clock_advance(&clk, 50 * tick);
    assert_int_equal(vs_i8254_out(&pit, 2), 1);

    /* Mode 4: high, one low tick when the count expires, high again. */
    program(&pit, 2, 4, 100);
    assert_int_equal(vs_i8254_out(&pit, 2), 1);
    vs_clock_advance(&clk, 1000000000LL * 100 / FREQ + 1);
    assert_int_equal(vs_i8254_out(&pit, 2), 0);
    vs_clock_advance(&clk, 2 * tick);
    assert_int_equal(vs_i8254_out(&pit, 2), 1);

    /* Mode 1: the gate's rising edge starts the one-shot (low, then high). */
    program(&pit, 2, 1, 100);
    vs_clock_advance(&clk, 200 * tick);
    assert_int_equal(vs_i8254_out(&pit, 2), 1);
    vs_i8254_set_gate(&pit, 2, 1);
    assert_int_equal(vs_i8254_out(&pit, 2), 0);
    vs_clock_advance(&clk, 101 * tick);
    assert_int_equal(vs_i8254_out(&pit, 2), 1);
    vs_i8254_set_gate(&pit, 2, 0);

    /* Mode 5: the gate triggers the strobe. */
    program(&pit, 2, 5, 100);
    vs_clock_advance(&clk, 500 * tick);
    vs_i8254_set_gate(&pit, 2, 1);
    assert_int_equal(vs_i8254_count(&pit, 2), 100);
    vs_clock_advance(&clk, 1000000000LL * 100 / FREQ + 1);
    assert_int_equal(vs_i8254_out(&pit, 2), 0);
}

static void test_i8254_irq_disabled(void **state)
{
    VsClock clk;
    Line irq = { 0 };
    VsI8254 pit;

    (void)state;
    vs_clock_init_manual(&clk, 0, 0);
    vs_i8254_init(&pit, &clk, vs_irq_make(line_set, &irq, 0));
    pit.state.irq_disabled = 1;
    program(&pit, 0, 2, 1000);
    irq.rises = 0;
    vs_clock_advance(&clk, 100 * MS);
    assert_int_equal(vs_i8254_run(&pit), 0);
    assert_int_equal(irq.rises, 0);
    assert_int_equal(vs_i8254_next_event(&pit), -1);
}

static void round_trip(void **state, PcForm form)
{
    VsClock clk;
    Line la = { 0 }, lb = { 0 };
    VsI8254 a, b;
    size_t len;
    uint8_t *bytes;

    vs_clock_init_manual(&clk, 123 * MS, 0);
    vs_i8254_init(&a, &clk, vs_irq_make(line_set, &la, 0));
    program(&a, 0, 2, 5000);
    program(&a, 2, 3, 777);
    vs_i8254_write(&a, 0x43, 0x40);                 /* latch ch1, read later */
    vs_clock_advance(&clk, 7 * MS);
    vs_i8254_run(&a);
    vs_i8254_write(&a, 0x43, 0xb0);                 /* ch2 word: first byte pending */
    vs_i8254_write(&a, 0x42, 0x12);

    bytes = pc_save(*state, form, walk_pit, "i8254", &a.state, true, &len);
    if (form == PC_LEGACY) {
        assert_int_equal(len, 108);
    }
    vs_i8254_init(&b, &clk, vs_irq_make(line_set, &lb, 0));
    pc_load(*state, form, bytes, len, walk_pit, "i8254", &b.state, 3, true);
    assert_same_state(VsI8254State, &a.state, &b.state);
    assert_int_equal(a.irq_level, b.irq_level);

    la.rises = lb.rises = 0;
    vs_i8254_write(&a, 0x42, 0x03);
    vs_i8254_write(&b, 0x42, 0x03);
    for (int step = 0; step < 5; step++) {
        vs_clock_advance(&clk, 3 * MS + step);
        assert_int_equal(vs_i8254_run(&a), vs_i8254_run(&b));
        for (int ch = 0; ch < 3; ch++) {
            assert_int_equal(vs_i8254_read(&a, 0x40 + ch), vs_i8254_read(&b, 0x40 + ch));
            assert_int_equal(vs_i8254_out(&a, ch), vs_i8254_out(&b, ch));
        }
    }
    assert_true(la.rises > 0);
    assert_int_equal(la.rises, lb.rises);
    assert_same_state(VsI8254State, &a.state, &b.state);
    talloc_free(bytes);
}

static void test_i8254_round_trip_legacy(void **state)
{
    round_trip(state, PC_LEGACY);
}

static void test_i8254_round_trip_ber(void **state)
{
    round_trip(state, PC_BER);
}

/* A count the chip cannot hold fails the load, naming the channel. */
static void test_i8254_fail_bad_count(void **state)
{
    VsClock clk;
    VsI8254 a, b;
    size_t len;
    uint8_t *bytes;
    GError *err = NULL;

    vs_clock_init_manual(&clk, 0, 0);
    vs_i8254_init(&a, &clk, (VsIrq){ 0 });
    a.state.channels[1].count = 0;
    bytes = pc_save(*state, PC_LEGACY, walk_pit, "i8254", &a.state, false, &len);
    vs_i8254_init(&b, &clk, (VsIrq){ 0 });
    assert_false(pc_load_try(*state, PC_LEGACY, bytes, len, walk_pit, "i8254", &b.state, 3,
                             true, &err));
    assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_HOOK, "i8254");
    assert_gerror_contains(err, "channel 1 count 0 is outside 1..65536");
    g_error_free(err);
    talloc_free(bytes);
}

/*
 * QEMU 7.2's sections: the same bytes after a load and a save with hooks
 * off; then, on a clock set where QEMU's virtual clock stood, channel 0
 * counts on from its load time and interrupts at its next transition.
 */
static void test_i8254_corpus(void **state)
{
    PcCorpusSection *secs = NULL;
    size_t n = pc_corpus_sections(*state, "i8254", &secs);

    assert_true(n >= 1);
    for (size_t i = 0; i < n; i++) {
        VsI8254State st, bare;
        VsClock clk;
        Line irq = { 0 };
        VsI8254 pit;
        const VsI8254Channel *c0;
        size_t len;
        uint8_t *again;
        int64_t at, period_ns;

        memset(&st, 0, sizeof(st));
        pc_load(*state, PC_LEGACY, secs[i].body, secs[i].len, walk_pit, "i8254", &st,
                secs[i].version, false);
        again = pc_save(*state, PC_LEGACY, walk_pit, "i8254", &st, false, &len);
        assert_bytes(again, len, secs[i].body, secs[i].len);
        talloc_free(again);
        /* With hooks on, a bare state (not in a timer) loads the same values. */
        memset(&bare, 0, sizeof(bare));
        pc_load(*state, PC_LEGACY, secs[i].body, secs[i].len, walk_pit, "i8254", &bare,
                secs[i].version, true);
        assert_same_state(VsI8254State, &bare, &st);
        pc_assert_ber_keeps(*state, walk_pit, "i8254", &st, sizeof(st), secs[i].body,
                            secs[i].len);
        /* QEMU sends channel 0's next transition twice. */
        assert_int_equal(st.irq_timer, st.channels[0].next_transition_time);

        c0 = &pit.state.channels[0];
        vs_clock_init_manual(&clk, 0, 0);
        vs_i8254_init(&pit, &clk, vs_irq_make(line_set, &irq, 0));
        pc_load(*state, PC_LEGACY, secs[i].body, secs[i].len, walk_pit, "i8254", &pit.state,
                secs[i].version, true);
        if (c0->next_transition_time < 0 || c0->mode != 2) {
            continue;   /* not a running rate generator: nothing due */
        }
        at = c0->next_transition_time - 1000;
        clk.manual_ns = at;
        assert_int_equal(vs_i8254_count(&pit, 0),
                         c0->count - ticks(at - c0->count_load_time) % c0->count);
        irq.rises = 0;
        period_ns = c0->count * 1000000000LL / FREQ + 1;
        vs_clock_advance(&clk, 1000 + period_ns);
        assert_true(vs_i8254_run(&pit) >= 1);
        assert_true(irq.rises >= 1);
        assert_true(vs_i8254_next_event(&pit) > clk.manual_ns);
    }
    talloc_free(secs);
}

/*
 * Random states with valid counts load (post_load accepts them) and the
 * timer copes with any mode, latch state or load time they hold.
 */
static void test_i8254_random_states(void **state)
{
    GRand *rand = g_rand_new_with_seed(7);
    uint8_t bytes[108];

    for (int round = 0; round < 300; round++) {
        VsClock clk;
        Line irq = { 0 };
        VsI8254 pit;

        for (size_t i = 0; i < sizeof(bytes); i++) {
            bytes[i] = (uint8_t)g_rand_int(rand);
        }
        for (int ch = 0; ch < 3; ch++) {
            uint32_t count = (uint32_t)g_rand_int_range(rand, 1, 0x10001);

            bytes[4 + 32 * ch] = (uint8_t)(count >> 24);
            bytes[5 + 32 * ch] = (uint8_t)(count >> 16);
            bytes[6 + 32 * ch] = (uint8_t)(count >> 8);
            bytes[7 + 32 * ch] = (uint8_t)count;
        }
        vs_clock_init_manual(&clk, (int64_t)g_rand_int(rand) * 1000, 0);
        vs_i8254_init(&pit, &clk, vs_irq_make(line_set, &irq, 0));
        pc_load(*state, PC_LEGACY, bytes, sizeof(bytes), walk_pit, "i8254", &pit.state, 3, true);
        vs_clock_advance(&clk, (int64_t)g_rand_int_range(rand, 0, 1000) * MS);
        vs_i8254_run(&pit);
        for (int port = 0x40; port < 0x44; port++) {
            (void)vs_i8254_read(&pit, (uint16_t)port);
            (void)vs_i8254_read(&pit, (uint16_t)port);
        }
        vs_i8254_set_gate(&pit, 2, 1);
    }
    g_rand_free(rand);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, vs_test_ctx_setup, vs_test_ctx_teardown)
        T(test_i8254_reset_state),
        T(test_i8254_rate_generator_irq),
        T(test_i8254_counter_latch),
        T(test_i8254_read_back),
        T(test_i8254_access_modes),
        T(test_i8254_modes_output),
        T(test_i8254_irq_disabled),
        T(test_i8254_round_trip_legacy),
        T(test_i8254_round_trip_ber),
        T(test_i8254_fail_bad_count),
        T(test_i8254_corpus),
        T(test_i8254_random_states),
#undef T
    };
    return cmocka_run_group_tests_name("i8254", tests, NULL, NULL);
}
