/*
 * test-serial-history.c: the UART's schema history (schema/history/
 * serial-v2.vs, serial-v3.vs, and schema/serial.vs today), checked in both
 * directions with the old walkers linked next to the current one:
 *
 *   - version 1 (one-byte divisor) loads into version 2, not into today's
 *     schema, whose minimum is 2;
 *   - a version 2 section loads into version 3 (fcr defaults to 0) but not
 *     into today's: QEMU walks the nested UART core at its own version, 3,
 *     whatever the section header says, so the body is one byte short;
 *   - a version 3 section from before the subsections loads today, and
 *     today's section loads into the version 3 walker exactly when no
 *     subsection is needed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "devices/serial.h"
#include "section-io.h"
#include "tests/unit/test-helpers.h"
#include "serial-v2.vs.h"
#include "serial-v3.vs.h"

static bool walk_v2(void *s, VsVisitor *v, GError **errp)
{
    return vs_visit_V2_SerialState(v, "serial", s, errp);
}

static bool walk_v3(void *s, VsVisitor *v, GError **errp)
{
    return vs_visit_V3_SerialState(v, "serial", s, errp);
}

static bool walk_now(void *dev, VsVisitor *v, GError **errp)
{
    return vs_serial_visit(dev, v, errp);
}

static void uart_init(VsSerial *d, VsClock *clock)
{
    vs_clock_init_manual(clock, 0, 0);
    vs_serial_init(d, clock, vs_irq_make(NULL, NULL, 0), NULL, NULL, false);
}

/* A version 1 body: one-byte divisor, then the eight registers. */
static const uint8_t v1_body[] = { 0x0c, 0x00, 0x05, 0xc1, 0x03, 0x0b, 0x60, 0xb0, 0x42 };

static void test_v1_loads_into_v2_only(void **state)
{
    TALLOC_CTX *ctx = *state;
    g_autoptr(GError) err = NULL;
    V2_SerialState old = { 0 };
    VsClock clock;
    VsSerial now;

    vs_test_load_ok(ctx, VS_TEST_LEGACY, walk_v2, &old, v1_body, sizeof(v1_body), 1, true, ctx);
    assert_int_equal(old.divider_byte, 0x0c);
    assert_int_equal(old.ier, 0x05);
    assert_int_equal(old.scr, 0x42);

    uart_init(&now, &clock);
    assert_false(vs_test_load(ctx, VS_TEST_LEGACY, walk_now, &now, v1_body, sizeof(v1_body), 1,
                              true, ctx, &err));
    assert_gerror(err, VS_VISIT_ERROR, VS_VISIT_ERROR_VERSION, "serial");
}

static void test_v2_loads_into_v3_not_today(void **state)
{
    TALLOC_CTX *ctx = *state;
    g_autoptr(GError) err = NULL;
    V2_SerialState old = { .divider = 0x0030, .ier = 0x01, .iir = 0x01, .lcr = 0x03,
                           .mcr = 0x08, .lsr = 0x60, .msr = 0xb0, .scr = 0x77 };
    V3_SerialState mid = { .fcr_vmstate = 0xaa };
    VsClock clock;
    VsSerial now;
    uint8_t *bytes;
    size_t len;

    bytes = vs_test_save(ctx, VS_TEST_LEGACY, walk_v2, &old, true, &len);
    assert_int_equal(len, 2 + 8);
    vs_test_load_ok(ctx, VS_TEST_LEGACY, walk_v3, &mid, bytes, len, 2, true, ctx);
    assert_int_equal(mid.divider, 0x0030);
    assert_int_equal(mid.scr, 0x77);
    assert_int_equal(mid.fcr_vmstate, 0);      /* the `since 3` default */

    uart_init(&now, &clock);
    assert_false(vs_test_load(ctx, VS_TEST_LEGACY, walk_now, &now, bytes, len, 2, true, ctx,
                              &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_TRUNCATED,
                       "serial.state.fcr_vmstate");
    talloc_free(bytes);
}

static void test_v3_loads_today(void **state)
{
    TALLOC_CTX *ctx = *state;
    V3_SerialState old = { .divider = 0x0001, .ier = 0x03, .iir = 0xc1, .lcr = 0x03,
                           .mcr = 0x0b, .lsr = 0x60, .msr = 0xb0, .scr = 0x11,
                           .fcr_vmstate = 0x81 };
    VsClock clock;
    VsSerial now;
    uint8_t *bytes;
    size_t len;

    bytes = vs_test_save(ctx, VS_TEST_LEGACY, walk_v3, &old, true, &len);
    uart_init(&now, &clock);
    vs_test_load_ok(ctx, VS_TEST_LEGACY, walk_now, &now, bytes, len, 3, true, ctx);
    /* post_load derived the live FIFO state from the saved FCR. */
    assert_int_equal(now.regs.state.fcr, 0x81);
    assert_int_equal(now.regs.state.recv_fifo_itl, 8);
    assert_int_equal(vs_serial_read(&now, VS_UART_SCR), 0x11);
    /* IER.THRI with IIR not showing THRE: no subsection said otherwise, so none is pending. */
    assert_int_equal(now.regs.state.thr_ipending, 0);
    talloc_free(bytes);
}

static void test_today_into_v3_when_nothing_needed(void **state)
{
    TALLOC_CTX *ctx = *state;
    VsClock clock;
    VsSerial now;
    V3_SerialState old = { 0 };
    uint8_t *bytes, *again;
    size_t len, again_len;

    /* Configured, FIFOs on, nothing in flight: no subsection is needed. */
    uart_init(&now, &clock);
    vs_serial_write(&now, VS_UART_FCR, 0xc1);
    vs_serial_write(&now, VS_UART_SCR, 0x99);
    bytes = vs_test_save(ctx, VS_TEST_LEGACY, walk_now, &now, true, &len);
    vs_test_load_ok(ctx, VS_TEST_LEGACY, walk_v3, &old, bytes, len, 3, true, ctx);
    assert_int_equal(old.fcr_vmstate, 0xc1);
    assert_int_equal(old.scr, 0x99);
    /* And the old walker writes the very same bytes. */
    again = vs_test_save(ctx, VS_TEST_LEGACY, walk_v3, &old, true, &again_len);
    assert_bytes(again, again_len, bytes, len);
    talloc_free(bytes);
    talloc_free(again);
}

static void test_today_into_v3_refused_when_needed(void **state)
{
    TALLOC_CTX *ctx = *state;
    g_autoptr(GError) err = NULL;
    VsClock clock;
    VsSerial now;
    V3_SerialState old = { 0 };
    uint8_t *bytes;
    size_t len;

    /* Received data waiting in the FIFO: the recv_fifo subsection must go along. */
    uart_init(&now, &clock);
    vs_serial_write(&now, VS_UART_FCR, 0xc1);
    assert_int_equal(vs_serial_receive(&now, (const uint8_t *)"ab", 2), 2);
    bytes = vs_test_save(ctx, VS_TEST_LEGACY, walk_now, &now, true, &len);
    assert_false(vs_test_load(ctx, VS_TEST_LEGACY, walk_v3, &old, bytes, len, 3, true, ctx,
                              &err));
    assert_gerror_contains(err, "serial/recv_fifo");
    talloc_free(bytes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_v1_loads_into_v2_only, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_v2_loads_into_v3_not_today, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_v3_loads_today, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_today_into_v3_when_nothing_needed,
                                        vs_test_ctx_setup, vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_today_into_v3_refused_when_needed,
                                        vs_test_ctx_setup, vs_test_ctx_teardown),
    };

    return cmocka_run_group_tests_name("serial-history", tests, NULL, NULL);
}
