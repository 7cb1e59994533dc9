/*
 * test-device-history.c: the compatibility harness.  The older schemas of
 * schema/history/ are compiled with vstate-gen --prefix (V1_, V2_, V3_) and
 * linked next to the current walkers, so both directions of a migration
 * between versions are exercised with real walkers:
 *
 *   - older streams load into the current schema, with `since` defaults
 *     applied and the device working afterwards (i8254 v2, mc146818rtc v1,
 *     v2, i8259 as QEMU 7.2 writes it);
 *   - current streams load into the older schema as long as no new
 *     subsection is needed, and fail clearly when one is (backward
 *     migration: i8259/ltim, the RTC's reinjection counter);
 *   - a raised minimum refuses what it no longer accepts (i8254 version 1).
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
#include "devices/i8259.h"
#include "devices/mc146818rtc.h"
#include "i8254-v2.vs.h"
#include "i8259-v1.vs.h"
#include "mc146818rtc-v1.vs.h"
#include "mc146818rtc-v2.vs.h"
#include "mc146818rtc-v3.vs.h"
#include "tests/devices/pc-core-helpers.h"
#include "tests/unit/test-helpers.h"

PC_WALKER(walk_pic, VsI8259State)
PC_WALKER(walk_pic_v1, V1_VsI8259State)
PC_WALKER(walk_pit, VsI8254State)
PC_WALKER(walk_pit_v2, V2_VsI8254State)
PC_WALKER(walk_rtc, VsRtcState)
PC_WALKER(walk_rtc_v1, V1_VsRtcState)
PC_WALKER(walk_rtc_v2, V2_VsRtcState)
PC_WALKER(walk_rtc_v3, V3_VsRtcState)

#define SEC 1000000000LL
/* 2026-11-21 22:52:18 UTC. */
#define WALL0 1795301538LL

static void busy_pic(V1_VsI8259State *s)
{
    memset(s, 0, sizeof(*s));
    s->last_irr = 0x11;
    s->irr = 0x10;
    s->imr = 0xa8;
    s->isr = 0x01;
    s->priority_add = 3;
    s->irq_base = 0x08;
    s->read_reg_select = 1;
    s->init4 = 1;
    s->elcr = 0x00;
}

/* QEMU 7.2's form (no subsection) loads into the current schema. */
static void test_history_i8259_v1_into_current(void **state)
{
    V1_VsI8259State old;
    VsI8259Pair pair;
    VsI8259State *cur;
    size_t len;
    uint8_t *bytes;

    busy_pic(&old);
    bytes = pc_save(*state, PC_LEGACY, walk_pic_v1, "i8259", &old, true, &len);
    assert_int_equal(len, 16);
    vs_i8259_init(&pair, (VsIrq){ 0 });
    cur = vs_i8259_state(&pair, 0);
    pc_load(*state, PC_LEGACY, bytes, len, walk_pic, "i8259", cur, 1, true);
    assert_int_equal(cur->isr, old.isr);
    assert_int_equal(cur->imr, old.imr);
    assert_int_equal(cur->priority_add, old.priority_add);
    assert_int_equal(cur->ltim, 0);
    /* And it works: line 4 is requested, unmasked, above the one in service? */
    assert_int_equal(vs_i8259_pending(&pair), 4);
    assert_int_equal(vs_i8259_acknowledge(&pair), 0x0c);
    talloc_free(bytes);
}

/* Backward: fine without LTIM; with it, QEMU 7.2's schema cannot load it. */
static void test_history_i8259_current_into_v1(void **state)
{
    VsI8259Pair pair;
    V1_VsI8259State old;
    size_t len;
    uint8_t *bytes;
    GError *err = NULL;

    vs_i8259_init(&pair, (VsIrq){ 0 });
    vs_i8259_write(&pair, 0x20, 0x11);
    vs_i8259_write(&pair, 0x21, 0x08);
    bytes = pc_save(*state, PC_LEGACY, walk_pic, "i8259", vs_i8259_state(&pair, 0), true, &len);
    memset(&old, 0, sizeof(old));
    pc_load(*state, PC_LEGACY, bytes, len, walk_pic_v1, "i8259", &old, 1, true);
    assert_int_equal(old.init_state, 2);
    talloc_free(bytes);

    vs_i8259_write(&pair, 0x20, 0x19);              /* ICW1 with LTIM */
    bytes = pc_save(*state, PC_LEGACY, walk_pic, "i8259", vs_i8259_state(&pair, 0), true, &len);
    assert_false(pc_load_try(*state, PC_LEGACY, bytes, len, walk_pic_v1, "i8259", &old, 1, true,
                             &err));
    assert_int_equal(err->code, VS_VISIT_ERROR_SUBSECTION);
    assert_gerror_contains(err, "i8259/ltim");
    g_error_free(err);
    talloc_free(bytes);
}

/* Version 2 streams: irq_disabled (since 3) takes its default, 0. */
static void test_history_i8254_v2_into_current(void **state)
{
    V2_VsI8254State old;
    VsClock clk;
    VsI8254 pit;
    size_t len;
    uint8_t *bytes;

    memset(&old, 0, sizeof(old));
    for (int i = 0; i < 3; i++) {
        old.channels[i].count = 0x10000;
        old.channels[i].mode = 3;
        old.channels[i].gate = i != 2;
        old.channels[i].rw_mode = 3;
        old.channels[i].read_state = 3;
        old.channels[i].write_state = 3;
        old.channels[i].next_transition_time = -1;
    }
    old.channels[0].mode = 2;
    old.channels[0].count = 1000;
    old.channels[0].count_load_time = 2 * SEC;
    old.channels[0].next_transition_time = 2 * SEC + 837238;
    old.irq_timer = old.channels[0].next_transition_time;
    bytes = pc_save(*state, PC_LEGACY, walk_pit_v2, "i8254", &old, true, &len);
    assert_int_equal(len, 3 * 32 + 8);

    vs_clock_init_manual(&clk, 2 * SEC, 0);
    vs_i8254_init(&pit, &clk, (VsIrq){ 0 });
    pit.state.irq_disabled = 7;                     /* the default must replace it */
    pc_load(*state, PC_LEGACY, bytes, len, walk_pit, "i8254", &pit.state, 2, true);
    assert_int_equal(pit.state.irq_disabled, 0);
    assert_int_equal(pit.state.channels[0].count, 1000);
    assert_int_equal(pit.state.channels[0].next_transition_time, old.irq_timer);
    /* Counting on from the old load time: 1000 ticks take 838 us. */
    vs_clock_advance(&clk, 900000);
    assert_int_equal(vs_i8254_run(&pit), 1);
    talloc_free(bytes);
}

/*
 * The minimum was raised from 1 to 2 when QEMU dropped its loader of the
 * pre-vmstate format: a version 1 section is refused, by the version 2
 * schema and the current one alike, naming the accepted range.
 */
static void test_history_i8254_v1_refused(void **state)
{
    VsClock clk;
    VsI8254 pit;
    V2_VsI8254State old;
    size_t len;
    uint8_t *bytes;
    GError *err = NULL;

    vs_clock_init_manual(&clk, 0, 0);
    vs_i8254_init(&pit, &clk, (VsIrq){ 0 });
    bytes = pc_save(*state, PC_LEGACY, walk_pit, "i8254", &pit.state, true, &len);
    assert_false(pc_load_try(*state, PC_LEGACY, bytes, len, walk_pit, "i8254", &pit.state, 1,
                             true, &err));
    assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_VERSION, "i8254");
    g_clear_error(&err);
    memset(&old, 0, sizeof(old));
    assert_false(pc_load_try(*state, PC_LEGACY, bytes, len, walk_pit_v2, "i8254", &old, 1,
                             true, &err));
    assert_int_equal(err->code, VS_VISIT_ERROR_VERSION);
    g_error_free(err);
    talloc_free(bytes);
}

/* A CMOS image at 2026-11-21 22:52:18, BCD, 24 hours, running. */
static void fill_cmos(uint8_t *cmos)
{
    static const uint8_t regs[] = { 0x18, 0, 0x52, 0, 0x22, 0, 0x07, 0x21, 0x11, 0x26,
                                    0x26, 0x02, 0x00, 0x80 };

    memset(cmos, 0, 128);
    memcpy(cmos, regs, sizeof(regs));
    cmos[0x32] = 0x20;
    cmos[0x40] = 0xa5;
}

/* Version 1: no lost-tick fields, no time relation: defaults, time from the registers. */
static void test_history_rtc_v1_into_current(void **state)
{
    V1_VsRtcState old;
    VsClock clk;
    VsRtc rtc;
    size_t len;
    uint8_t *bytes;

    memset(&old, 0, sizeof(old));
    fill_cmos(old.cmos_data);
    old.tm_year = 126;
    old.periodic_timer = -1;
    old.second_timer = -1;
    old.second_timer2 = -1;
    bytes = pc_save(*state, PC_LEGACY, walk_rtc_v1, "mc146818rtc", &old, true, &len);
    assert_int_equal(len, 128 + 1 + 28 + 8 + 8 + 24);

    vs_clock_init_manual(&clk, 0, 77 * SEC);
    vs_rtc_init(&rtc, &clk, (VsIrq){ 0 });
    rtc.state.irq_coalesced = 9;
    rtc.state.period = 9;
    pc_load(*state, PC_LEGACY, bytes, len, walk_rtc, "mc146818rtc", &rtc.state, 1, true);
    assert_int_equal(rtc.state.irq_coalesced, 0);
    assert_int_equal(rtc.state.cmos_data[0x40], 0xa5);
    assert_int_equal(vs_rtc_time(&rtc), WALL0);
    vs_clock_advance(&clk, 10 * SEC);
    assert_int_equal(vs_rtc_time(&rtc), WALL0 + 10);
    talloc_free(bytes);
}

/* Version 2 adds irq_coalesced and period (`since 2`); the current schema reads them. */
static void test_history_rtc_v2_into_current(void **state)
{
    V2_VsRtcState old;
    VsClock clk;
    VsRtc rtc;
    size_t len;
    uint8_t *bytes;

    memset(&old, 0, sizeof(old));
    fill_cmos(old.cmos_data);
    old.cmos_data[0x0b] = 0x42;                     /* PIE: the period stays meaningful */
    old.periodic_timer = -1;
    old.second_timer = -1;
    old.second_timer2 = -1;
    old.irq_coalesced = 0;
    old.period = 32;
    bytes = pc_save(*state, PC_LEGACY, walk_rtc_v2, "mc146818rtc", &old, true, &len);
    assert_int_equal(len, 128 + 1 + 28 + 8 + 8 + 24 + 8);

    vs_clock_init_manual(&clk, 0, 5 * SEC);
    vs_rtc_init(&rtc, &clk, (VsIrq){ 0 });
    rtc.state.base_rtc = 12345;
    pc_load(*state, PC_LEGACY, bytes, len, walk_rtc, "mc146818rtc", &rtc.state, 2, true);
    assert_int_equal(rtc.state.period, 32);
    assert_int_equal(vs_rtc_time(&rtc), WALL0);
    /* The periodic interrupt was re-armed on the new clock. */
    assert_true(rtc.state.periodic_timer > 5 * SEC);
    talloc_free(bytes);
}

/*
 * Version 3 before the reinjection subsection: a current stream without
 * it loads there; with it (a count not zero), the old schema fails on it.
 */
static void test_history_rtc_current_into_v3(void **state)
{
    VsClock clk;
    VsRtc rtc;
    V3_VsRtcState old;
    size_t len;
    uint8_t *bytes;
    GError *err = NULL;

    vs_clock_init_manual(&clk, 0, WALL0 * SEC);
    vs_rtc_init(&rtc, &clk, (VsIrq){ 0 });
    bytes = pc_save(*state, PC_LEGACY, walk_rtc, "mc146818rtc", &rtc.state, true, &len);
    memset(&old, 0, sizeof(old));
    pc_load(*state, PC_LEGACY, bytes, len, walk_rtc_v3, "mc146818rtc", &old, 3, true);
    assert_int_equal(old.base_rtc, WALL0);
    assert_memory_equal(old.cmos_data, rtc.state.cmos_data, 128);
    talloc_free(bytes);

    rtc.state.irq_reinject_on_ack_count = 2;
    bytes = pc_save(*state, PC_LEGACY, walk_rtc, "mc146818rtc", &rtc.state, true, &len);
    assert_false(pc_load_try(*state, PC_LEGACY, bytes, len, walk_rtc_v3, "mc146818rtc", &old, 3,
                             true, &err));
    assert_int_equal(err->code, VS_VISIT_ERROR_SUBSECTION);
    assert_gerror_contains(err, "mc146818rtc/irq_reinject_on_ack_count");
    g_error_free(err);
    talloc_free(bytes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, vs_test_ctx_setup, vs_test_ctx_teardown)
        T(test_history_i8259_v1_into_current),
        T(test_history_i8259_current_into_v1),
        T(test_history_i8254_v2_into_current),
        T(test_history_i8254_v1_refused),
        T(test_history_rtc_v1_into_current),
        T(test_history_rtc_v2_into_current),
        T(test_history_rtc_current_into_v3),
#undef T
    };
    return cmocka_run_group_tests_name("device-history", tests, NULL, NULL);
}
