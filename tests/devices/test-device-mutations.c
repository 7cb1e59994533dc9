/*
 * test-device-mutations.c: damaged sections of the UART, PIIX3 (with its
 * PCI bus), the BOOTP table and the queue device.  Each busy state is
 * saved in both forms, then loaded again truncated at every length and
 * with seeded random byte changes, with hooks on and off.  A load either
 * succeeds or fails with a message that starts with the section's name;
 * after a successful one the model is driven a little, so a state the
 * schema accepts is one the model survives (the sanitizer build checks the
 * memory side of that).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "devices/bootp.h"
#include "devices/piix3.h"
#include "devices/ring.h"
#include "devices/serial.h"
#include "section-io.h"
#include "tests/unit/test-helpers.h"

#define MUTATIONS 2000

typedef struct Subject {
    const char *section;
    uint32_t version;           /* the section header's */
    /* Makes a fresh device (the load target) under @ctx, with its clock. */
    void *(*make)(TALLOC_CTX *ctx, VsClock *clock);
    /* Puts @dev in a state with something in every part of its schema. */
    void (*fill)(void *dev);
    VsTestWalk walk;
    /* Drives a loaded device: registers, timers, the clock moving on. */
    void (*exercise)(void *dev, VsClock *clock);
} Subject;

/* ---- UART ------------------------------------------------------------- */

static bool sink_busy(void *opaque, uint8_t byte)
{
    (void)opaque;
    (void)byte;
    return false;
}

static void *serial_make(TALLOC_CTX *ctx, VsClock *clock)
{
    VsSerial *d = talloc_zero(ctx, VsSerial);

    vs_serial_init(d, clock, vs_irq_make(NULL, NULL, 0), sink_busy, NULL, true);
    return d;
}

static void serial_fill(void *dev)
{
    VsSerial *d = dev;

    vs_serial_write(d, VS_UART_FCR, 0x41);
    vs_serial_write(d, VS_UART_IER, 0x0f);
    vs_serial_receive(d, (const uint8_t *)"abc", 3);
    vs_serial_write(d, VS_UART_THR, 'x');
    vs_serial_write(d, VS_UART_THR, 'y');
    d->regs.state.timeout_ipending = 1;
}

static bool serial_walk(void *dev, VsVisitor *v, GError **errp)
{
    return vs_serial_visit(dev, v, errp);
}

static void serial_exercise(void *dev, VsClock *clock)
{
    VsSerial *d = dev;

    for (unsigned reg = 0; reg < 8; reg++) {
        (void)vs_serial_read(d, reg);
    }
    for (int i = 0; i < 20; i++) {
        (void)vs_serial_read(d, VS_UART_RBR);
        vs_serial_write(d, VS_UART_THR, (uint8_t)i);
    }
    vs_serial_backend_ready(d);
    vs_serial_receive(d, (const uint8_t *)"0123456789abcdefg", 17);
    vs_serial_receive_break(d);
    vs_clock_advance(clock, 1000000000);
    vs_serial_run_timers(d);
    vs_serial_write(d, VS_UART_FCR, 0x07);
}

/* ---- PIIX3 and its bus ------------------------------------------------- */

typedef struct PiixRig {
    VsPciBus bus;
    VsPiix3 piix3;
    PCIDevice fn_state;
    VsPciFunction fn;
} PiixRig;

static void *piix_make(TALLOC_CTX *ctx, VsClock *clock)
{
    PiixRig *r = talloc_zero(ctx, PiixRig);

    (void)clock;
    vs_pci_bus_init(&r->bus, 4, NULL, NULL, NULL);
    vs_piix3_init(&r->piix3, &r->bus, 1 << 3, NULL, NULL, NULL);
    vs_pci_function_init(&r->fn, &r->fn_state, &r->bus, 2 << 3, 0x1af4, 0x1000, 0, 0x020000, 0);
    return r;
}

static void piix_fill(void *dev)
{
    PiixRig *r = dev;

    vs_pci_config_write(&r->piix3.pci, VS_PIIX3_PIRQCA, 0x0b0a0b0a, 4);
    vs_pci_set_irq(&r->fn, 0, 1);
    vs_pci_set_irq(&r->piix3.pci, 2, 1);
    vs_piix3_rcr_write(&r->piix3, VS_PIIX3_RCR_SYS_RST);
}

static bool piix_walk(void *dev, VsVisitor *v, GError **errp)
{
    PiixRig *r = dev;

    return vs_piix3_visit(&r->piix3, v, errp);
}

static bool bus_walk(void *dev, VsVisitor *v, GError **errp)
{
    PiixRig *r = dev;

    return vs_pci_bus_visit(&r->bus, v, errp);
}

static void piix_exercise(void *dev, VsClock *clock)
{
    PiixRig *r = dev;

    (void)clock;
    for (int pin = 0; pin < 4; pin++) {
        vs_pci_set_irq(&r->fn, pin, 1);
        vs_pci_set_irq(&r->fn, pin, 0);
    }
    vs_pci_config_write(&r->piix3.pci, VS_PIIX3_PIRQCA, 0xffffffff, 4);
    vs_pci_config_write(&r->piix3.pci, VS_PCI_COMMAND, 0x0400, 2);
    vs_pci_set_irq(&r->piix3.pci, 0, 1);
    (void)vs_piix3_pic_level(&r->piix3, 11);
    vs_piix3_reset(&r->piix3);
}

/* ---- BOOTP ------------------------------------------------------------- */

static void *bootp_make(TALLOC_CTX *ctx, VsClock *clock)
{
    VsBootp *b = talloc_zero(ctx, VsBootp);

    vs_bootp_init(b, clock, 0x0a000200, 15, 600);
    return b;
}

static void bootp_fill(void *dev)
{
    VsBootp *b = dev;
    uint8_t mac[6] = { 0x52, 0x54, 0, 0, 0, 0 };
    uint32_t addr;

    for (int i = 0; i < 5; i++) {
        mac[5] = (uint8_t)i;
        vs_bootp_discover(b, mac, (uint32_t)i, &addr);
        if (i % 2) {
            vs_bootp_request(b, mac, (uint32_t)i, 0, &addr);
        }
    }
}

static bool bootp_walk(void *dev, VsVisitor *v, GError **errp)
{
    return vs_bootp_visit(dev, v, errp);
}

static void bootp_exercise(void *dev, VsClock *clock)
{
    VsBootp *b = dev;
    uint8_t mac[6] = { 0x52, 0x54, 0, 0, 0, 0 };
    uint32_t addr;

    for (int i = 0; i < 20; i++) {
        mac[5] = (uint8_t)i;
        vs_bootp_discover(b, mac, 1, &addr);
        vs_bootp_request(b, mac, 1, 0, &addr);
        (void)vs_bootp_lease_left(b, mac);
    }
    vs_clock_advance(clock, 700LL * 1000000000LL);
    vs_bootp_expire(b);
}

/* ---- queue device ------------------------------------------------------ */

static void *ring_make(TALLOC_CTX *ctx, VsClock *clock)
{
    VsRing *r = vs_ring_new(ctx, clock, vs_irq_make(NULL, NULL, 0), 2, 4, 3);

    vs_ring_enable(r, true);
    return r;
}

static void ring_fill(void *dev)
{
    VsRing *r = dev;

    for (uint16_t i = 0; i < 3; i++) {
        vs_ring_post(r, 0, 0x1000, 10, i);
        vs_ring_post(r, 1, 0x2000, 20, (uint16_t)(10 + i));
    }
    vs_ring_notify(r, 0);
    vs_ring_notify(r, 1);
    vs_clock_advance(r->clock, 25);
    vs_ring_run(r);
}

static bool ring_walk(void *dev, VsVisitor *v, GError **errp)
{
    return vs_ring_visit(dev, v, errp);
}

static void ring_exercise(void *dev, VsClock *clock)
{
    VsRing *r = dev;
    uint16_t id;
    uint32_t len;

    for (int round = 0; round < 3; round++) {
        for (unsigned q = 0; q < 4; q++) {
            vs_ring_post(r, q, 0, 1, 1);
            vs_ring_notify(r, q);
            while (vs_ring_take_used(r, q, &id, &len)) {
            }
        }
        vs_clock_advance(clock, 1000000);
        vs_ring_run(r);
    }
    (void)vs_ring_ack(r);
}

static const Subject subjects[] = {
    { "serial", 3, serial_make, serial_fill, serial_walk, serial_exercise },
    { "PIIX3", 3, piix_make, piix_fill, piix_walk, piix_exercise },
    { "PCIBUS", 1, piix_make, piix_fill, bus_walk, piix_exercise },
    { "bootp", 1, bootp_make, bootp_fill, bootp_walk, bootp_exercise },
    { "ring", 1, ring_make, ring_fill, ring_walk, ring_exercise },
};

/* ---- the driver --------------------------------------------------------- */

typedef struct Tally {
    unsigned loaded, refused;
} Tally;

/* Loads @data into a fresh device; checks the error or drives the result. */
static void try_load(TALLOC_CTX *ctx, const Subject *sub, VsTestFormat fmt, const uint8_t *data,
                     size_t len, bool hooks, Tally *tally)
{
    TALLOC_CTX *tmp = talloc_new(ctx);
    g_autoptr(GError) err = NULL;
    VsClock clock;
    void *dev;

    vs_clock_init_manual(&clock, 1000, 0);
    dev = sub->make(tmp, &clock);
    if (vs_test_load(tmp, fmt, sub->walk, dev, data, len, sub->version, hooks, tmp, &err)) {
        tally->loaded++;
        sub->exercise(dev, &clock);
    } else {
        tally->refused++;
        assert_non_null(err);
        /*
         * A damaged subsection marker ends the section early; the bytes left
         * over are what a stream's footer check refuses (the helper says so).
         */
        if (!g_str_has_prefix(err->message, sub->section) &&
            !(fmt == VS_TEST_LEGACY && strstr(err->message, "bytes left after the section"))) {
            print_error("%s (%s): error without the section's path: %s\n", sub->section,
                        vs_test_format_names[fmt], err->message);
            fail();
        }
    }
    talloc_free(tmp);
}

static void mutate_subject(void **state, const Subject *sub, VsTestFormat fmt)
{
    TALLOC_CTX *ctx = *state;
    VsClock clock;
    void *dev;
    uint8_t *good, *bad;
    size_t len;
    GRand *rng = g_rand_new_with_seed(0x5e71a1);
    Tally tally = { 0 };

    vs_clock_init_manual(&clock, 1000, 0);
    dev = sub->make(ctx, &clock);
    sub->fill(dev);
    good = vs_test_save(ctx, fmt, sub->walk, dev, true, &len);

    /*
     * Every truncation is refused, with hooks on and off, except in the
     * legacy form right before a subsection (05, name...): the bytes up to
     * there are the section as it would be without the optional parts.
     */
    for (size_t cut = 0; cut < len; cut++) {
        bool boundary = fmt == VS_TEST_LEGACY && good[cut] == 0x05 &&
                        cut + 2 < len && good[cut + 2] == (uint8_t)sub->section[0] &&
                        cut + 1 + good[cut + 1] <= len &&
                        memcmp(good + cut + 2, sub->section, strlen(sub->section)) == 0;
        Tally t = { 0 };

        try_load(ctx, sub, fmt, good, cut, cut % 2 == 0, &t);
        if (t.loaded != boundary) {
            print_error("%s (%s): %zu of %zu bytes %s\n", sub->section,
                        vs_test_format_names[fmt], cut, len, t.loaded ? "loaded" : "refused");
            fail();
        }
    }
    /* The intact bytes load. */
    try_load(ctx, sub, fmt, good, len, true, &tally);
    assert_int_equal(tally.loaded, 1);

    bad = talloc_memdup(ctx, good, len);
    for (int i = 0; i < MUTATIONS; i++) {
        int changes = g_rand_int_range(rng, 1, 4);

        memcpy(bad, good, len);
        for (int c = 0; c < changes; c++) {
            size_t at = (size_t)g_rand_int_range(rng, 0, (gint32)len);

            bad[at] = g_rand_boolean(rng) ? (uint8_t)g_rand_int(rng) : (uint8_t)(bad[at] ^ 0x80);
        }
        try_load(ctx, sub, fmt, bad, len, i % 2 == 0, &tally);
    }
    print_message("# %s (%s): %zu bytes; %u mutated loads accepted, %u refused\n",
                  sub->section, vs_test_format_names[fmt], len, tally.loaded - 1,
                  tally.refused);
    /* Both outcomes happen: the schema checks something, and accepts plain values. */
    assert_true(tally.refused > 0);
    assert_true(tally.loaded > 1);
    g_rand_free(rng);
    talloc_free(bad);
    talloc_free(good);
    talloc_free(dev);
}

static void test_serial_legacy(void **state) { mutate_subject(state, &subjects[0], VS_TEST_LEGACY); }
static void test_serial_ber(void **state) { mutate_subject(state, &subjects[0], VS_TEST_BER); }
static void test_piix3_legacy(void **state) { mutate_subject(state, &subjects[1], VS_TEST_LEGACY); }
static void test_piix3_ber(void **state) { mutate_subject(state, &subjects[1], VS_TEST_BER); }
static void test_pcibus_legacy(void **state) { mutate_subject(state, &subjects[2], VS_TEST_LEGACY); }
static void test_pcibus_ber(void **state) { mutate_subject(state, &subjects[2], VS_TEST_BER); }
static void test_bootp_legacy(void **state) { mutate_subject(state, &subjects[3], VS_TEST_LEGACY); }
static void test_bootp_ber(void **state) { mutate_subject(state, &subjects[3], VS_TEST_BER); }
static void test_ring_legacy(void **state) { mutate_subject(state, &subjects[4], VS_TEST_LEGACY); }
static void test_ring_ber(void **state) { mutate_subject(state, &subjects[4], VS_TEST_BER); }

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, vs_test_ctx_setup, vs_test_ctx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_serial_legacy), T(test_serial_ber), T(test_piix3_legacy), T(test_piix3_ber),
        T(test_pcibus_legacy), T(test_pcibus_ber), T(test_bootp_legacy), T(test_bootp_ber), T(test_ring_legacy), T(test_ring_ber),
    };
#undef T

    return cmocka_run_group_tests_name("device-mutations", tests, NULL, NULL);
}
