/*
 * test-piix3.c: the PCI device base and bus (devices/pci.c) and PIIX3
 * (devices/piix3.c): config-space masks, BAR sizing, INTx through the bus
 * and PIIX3's routing to PIC inputs, reset control; save -> load -> same
 * state and behaviour in both forms; refused input; and QEMU 7.2's
 * "PIIX3" and "PCIBUS" sections from every corpus stream re-saved byte for
 * byte, then driven.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include <glib/gstdio.h>

#include "devices/piix3.h"
#include "section-io.h"
#include "tests/unit/test-helpers.h"

/* A bus with PIIX3 at 00:01.0 and a plain function in slot 3, PIC inputs recorded. */
typedef struct Board {
    VsPciBus bus;
    VsPiix3 piix3;
    PCIDevice nic_state;
    VsPciFunction nic;
    int pic[16];
    int resets;
    bool last_reset_hard;
} Board;

static void record_pic(void *opaque, int line, int level)
{
    Board *b = opaque;

    b->pic[line] = level;
}

static void record_reset(void *opaque, bool hard)
{
    Board *b = opaque;

    b->resets++;
    b->last_reset_hard = hard;
}

static void board_init(Board *b, int nirq)
{
    VsIrq pic[16];

    memset(b, 0, sizeof(*b));
    for (int i = 0; i < 16; i++) {
        pic[i] = vs_irq_make(record_pic, b, i);
    }
    vs_pci_bus_init(&b->bus, nirq, NULL, NULL, NULL);
    vs_piix3_init(&b->piix3, &b->bus, 1 << 3, pic, record_reset, b);
    vs_pci_function_init(&b->nic, &b->nic_state, &b->bus, 3 << 3, 0x10ec, 0x8139, 0x20,
                         0x020000, 0);
    vs_pci_register_bar(&b->nic, 0, 256, VS_PCI_BAR_IO);
    vs_pci_register_bar(&b->nic, 1, 4096, 0);
}

static void route(Board *b, int pirq, uint8_t pic_irq)
{
    vs_pci_config_write(&b->piix3.pci, VS_PIIX3_PIRQCA + (uint32_t)pirq, pic_irq, 1);
}

static bool walk_piix3(void *dev, VsVisitor *v, GError **errp)
{
    return vs_piix3_visit(dev, v, errp);
}

static bool walk_bus(void *dev, VsVisitor *v, GError **errp)
{
    return vs_pci_bus_visit(dev, v, errp);
}

/* ---- PCI base ------------------------------------------------------- */

static void test_config_masks(void **state)
{
    Board b;
    VsPciFunction *f;

    (void)state;
    board_init(&b, 4);
    f = &b.nic;
    assert_int_equal(vs_pci_config_read(f, VS_PCI_VENDOR_ID, 4), 0x813910ec);
    vs_pci_config_write(f, VS_PCI_VENDOR_ID, 0xffffffff, 4);     /* read-only */
    assert_int_equal(vs_pci_config_read(f, VS_PCI_VENDOR_ID, 4), 0x813910ec);
    assert_int_equal(vs_pci_config_read(f, VS_PCI_CLASS_DEVICE, 2), 0x0200);
    /* Only the defined command bits stick. */
    vs_pci_config_write(f, VS_PCI_COMMAND, 0xffff, 2);
    assert_int_equal(vs_pci_config_read(f, VS_PCI_COMMAND, 2), 0x0507);
    assert_true(vs_pci_bus_master(f));
    /* Status error bits: write 1 to clear, other bits untouched. */
    f->state->config[VS_PCI_STATUS + 1] = 0xf9;
    vs_pci_config_write(f, VS_PCI_STATUS, 0x2000, 2);             /* received master abort */
    assert_int_equal(vs_pci_config_read(f, VS_PCI_STATUS, 2), 0xd900);
    /* Device-specific space is the guest's. */
    vs_pci_config_write(f, 0x40, 0xdeadbeef, 4);
    assert_int_equal(vs_pci_config_read(f, 0x40, 4), 0xdeadbeef);
    /* Out of range or odd widths do nothing and read as all ones. */
    vs_pci_config_write(f, 0xfe, 0x12345678, 4);
    assert_int_equal(vs_pci_config_read(f, 0xfe, 4), 0xffffffff);
}

static void test_bar_sizing_and_decode(void **state)
{
    Board b;
    VsPciFunction *f;

    (void)state;
    board_init(&b, 4);
    f = &b.nic;
    /* Sizing: all ones in, the size mask and type bits out. */
    vs_pci_config_write(f, VS_PCI_BASE_ADDRESS_0, 0xffffffff, 4);
    assert_int_equal(vs_pci_config_read(f, VS_PCI_BASE_ADDRESS_0, 4), 0xffffff01);
    vs_pci_config_write(f, VS_PCI_BASE_ADDRESS_0 + 4, 0xffffffff, 4);
    assert_int_equal(vs_pci_config_read(f, VS_PCI_BASE_ADDRESS_0 + 4, 4), 0xfffff000);
    /* An unimplemented BAR stays zero. */
    vs_pci_config_write(f, VS_PCI_BASE_ADDRESS_0 + 8, 0xffffffff, 4);
    assert_int_equal(vs_pci_config_read(f, VS_PCI_BASE_ADDRESS_0 + 8, 4), 0);
    vs_pci_config_write(f, VS_PCI_BASE_ADDRESS_0, 0xc123, 4);
    vs_pci_config_write(f, VS_PCI_BASE_ADDRESS_0 + 4, 0xfebf1234, 4);
    assert_int_equal(vs_pci_config_read(f, VS_PCI_BASE_ADDRESS_0, 4), 0xc101);
    /* Decoding follows the command register. */
    vs_pci_config_write(f, VS_PCI_COMMAND, 0, 2);
    assert_true(vs_pci_bar_address(f, 0) == VS_PCI_BAR_UNMAPPED);
    vs_pci_config_write(f, VS_PCI_COMMAND, VS_PCI_COMMAND_IO, 2);
    assert_int_equal(vs_pci_bar_address(f, 0), 0xc100);
    assert_true(vs_pci_bar_address(f, 1) == VS_PCI_BAR_UNMAPPED);
    vs_pci_config_write(f, VS_PCI_COMMAND, VS_PCI_COMMAND_IO | VS_PCI_COMMAND_MEMORY, 2);
    assert_int_equal(vs_pci_bar_address(f, 1), 0xfebf1000);

    /* A 64-bit prefetchable BAR of 8 GiB spans registers 2 and 3. */
    vs_pci_register_bar(f, 2, 8ULL << 30, VS_PCI_BAR_MEM64 | VS_PCI_BAR_PREFETCH);
    vs_pci_config_write(f, VS_PCI_BASE_ADDRESS_0 + 8, 0xffffffff, 4);
    vs_pci_config_write(f, VS_PCI_BASE_ADDRESS_0 + 12, 0xffffffff, 4);
    assert_int_equal(vs_pci_config_read(f, VS_PCI_BASE_ADDRESS_0 + 8, 4), 0x0000000c);
    assert_int_equal(vs_pci_config_read(f, VS_PCI_BASE_ADDRESS_0 + 12, 4), 0xfffffffe);
    assert_true(vs_pci_bar_address(f, 2) == VS_PCI_BAR_UNMAPPED);   /* still sizing */
    vs_pci_config_write(f, VS_PCI_BASE_ADDRESS_0 + 8, 0, 4);
    vs_pci_config_write(f, VS_PCI_BASE_ADDRESS_0 + 12, 0x4, 4);
    assert_int_equal(vs_pci_bar_address(f, 2), 0x400000000ULL);
    /* Not in the last register, and I/O BARs stay within 256 bytes. */
    vs_pci_register_bar(f, 5, 4096, VS_PCI_BAR_MEM64);
    assert_int_equal(f->bar_size[5], 0);
    vs_pci_register_bar(f, 4, 1024, VS_PCI_BAR_IO);
    assert_int_equal(f->bar_size[4], 0);
}

/* ---- interrupts through the bus and PIIX3 ------------------------------ */

static void test_intx_routing(void **state)
{
    Board b;

    (void)state;
    board_init(&b, 4);
    /* Slot 3, INTA: PIRQ (0 + 3 - 1) mod 4 = C.  Unrouted, nothing happens. */
    vs_pci_set_irq(&b.nic, 0, 1);
    assert_int_equal(vs_pci_bus_irq_level(&b.bus, 2), 1);
    for (int i = 0; i < 16; i++) {
        assert_int_equal(b.pic[i], 0);
    }
    assert_int_equal(vs_pci_config_read(&b.nic, VS_PCI_STATUS, 1) & VS_PCI_STATUS_INTERRUPT,
                     VS_PCI_STATUS_INTERRUPT);
    /* Routing PIRQC to 11 delivers the level already asserted. */
    route(&b, 2, 11);
    assert_int_equal(b.pic[11], 1);
    assert_int_equal(vs_piix3_route(&b.piix3, 2), 11);
    /* Moving the route moves the interrupt. */
    route(&b, 2, 10);
    assert_int_equal(b.pic[11], 0);
    assert_int_equal(b.pic[10], 1);
    /* INTx disable withdraws the pin from the bus; enabling restores it. */
    vs_pci_config_write(&b.nic, VS_PCI_COMMAND, VS_PCI_COMMAND_INTX_DISABLE, 2);
    assert_int_equal(b.pic[10], 0);
    vs_pci_config_write(&b.nic, VS_PCI_COMMAND, 0, 2);
    assert_int_equal(b.pic[10], 1);
    vs_pci_set_irq(&b.nic, 0, 0);
    assert_int_equal(b.pic[10], 0);
    assert_int_equal(vs_pci_config_read(&b.nic, VS_PCI_STATUS, 1) & VS_PCI_STATUS_INTERRUPT, 0);
}

static void test_shared_pirq(void **state)
{
    Board b;

    (void)state;
    board_init(&b, 4);
    route(&b, 2, 11);
    route(&b, 0, 11);
    /* Slot 3 INTA -> PIRQC, slot 1 (PIIX3 itself) INTB -> PIRQA: both on IRQ 11. */
    vs_pci_set_irq(&b.nic, 0, 1);
    vs_pci_set_irq(&b.piix3.pci, 3, 1);   /* slot 1, INTD: (3 + 0) mod 4 = D */
    assert_int_equal(vs_pci_bus_irq_level(&b.bus, 3), 1);
    route(&b, 3, 11);
    vs_pci_set_irq(&b.nic, 0, 0);
    assert_int_equal(b.pic[11], 1);       /* PIRQD still holds it */
    vs_pci_set_irq(&b.piix3.pci, 3, 0);
    assert_int_equal(b.pic[11], 0);
    /* A routing value of 16 or more, or bit 7, disables the line. */
    route(&b, 2, 0x10);
    assert_int_equal(vs_piix3_route(&b.piix3, 2), -1);
}

static void test_reset_control(void **state)
{
    Board b;

    (void)state;
    board_init(&b, 4);
    assert_int_equal(vs_piix3_rcr_read(&b.piix3), 0);
    vs_piix3_rcr_write(&b.piix3, 0x0a);
    assert_int_equal(vs_piix3_rcr_read(&b.piix3), VS_PIIX3_RCR_SYS_RST);
    vs_piix3_rcr_write(&b.piix3, VS_PIIX3_RCR_RST_CPU | VS_PIIX3_RCR_SYS_RST);
    assert_int_equal(b.resets, 1);
    assert_true(b.last_reset_hard);
    vs_piix3_reset(&b.piix3);
    assert_int_equal(vs_piix3_rcr_read(&b.piix3), 0);
    assert_int_equal(vs_pci_config_read(&b.piix3.pci, VS_PCI_COMMAND, 2), 0x0007);
    assert_int_equal(vs_pci_config_read(&b.piix3.pci, VS_PIIX3_PIRQCA, 4), 0x80808080);
}

/* ---- save and load -------------------------------------------------- */

static void busy_board(Board *b)
{
    board_init(b, 4);
    route(b, 2, 11);
    route(b, 3, 5);
    vs_pci_set_irq(&b->nic, 0, 1);
    vs_pci_set_irq(&b->nic, 1, 1);        /* INTB -> PIRQD -> 5 */
    vs_piix3_rcr_write(&b->piix3, VS_PIIX3_RCR_SYS_RST);
    vs_pci_config_write(&b->piix3.pci, 0x4c, 0x4f, 1);
}

static void round_trip(void **state, VsTestFormat fmt)
{
    TALLOC_CTX *ctx = *state;
    Board a, b;
    uint8_t *bus_bytes, *piix_bytes;
    size_t bus_len, piix_len;

    busy_board(&a);
    bus_bytes = vs_test_save(ctx, fmt, walk_bus, &a.bus, true, &bus_len);
    piix_bytes = vs_test_save(ctx, fmt, walk_piix3, &a.piix3, true, &piix_len);
    if (fmt == VS_TEST_LEGACY) {
        assert_non_null(memmem(piix_bytes, piix_len, "PIIX3/rcr", 9));
    }

    board_init(&b, 4);
    /* The other side's function holds its own pins (its section is not modelled here). */
    b.nic_state.irq_state[0] = b.nic_state.irq_state[1] = 1;
    vs_test_load_ok(ctx, fmt, walk_bus, &b.bus, bus_bytes, bus_len, 1, true, ctx);
    vs_test_load_ok(ctx, fmt, walk_piix3, &b.piix3, piix_bytes, piix_len, 3, true, ctx);
    assert_memory_equal(&a.bus.regs, &b.bus.regs, sizeof(a.bus.regs));
    assert_memory_equal(&a.piix3.regs, &b.piix3.regs, sizeof(a.piix3.regs));
    assert_true(vs_piix3_pic_level(&b.piix3, 11));
    assert_true(vs_piix3_pic_level(&b.piix3, 5));

    /* Same behaviour: dropping one pin lowers its IRQ and keeps the other. */
    for (Board *x = &a; x; x = x == &a ? &b : NULL) {
        x->pic[11] = x->pic[5] = 1;       /* as the PIC's own state would say */
        vs_pci_set_irq(&x->nic, 0, 0);
        assert_int_equal(x->pic[11], 0);
        assert_int_equal(x->pic[5], 1);
        assert_int_equal(vs_piix3_rcr_read(&x->piix3), VS_PIIX3_RCR_SYS_RST);
    }
    assert_memory_equal(&a.piix3.regs, &b.piix3.regs, sizeof(a.piix3.regs));
    talloc_free(bus_bytes);
    talloc_free(piix_bytes);
}

static void test_round_trip_legacy(void **state)
{
    round_trip(state, VS_TEST_LEGACY);
}

static void test_round_trip_ber(void **state)
{
    round_trip(state, VS_TEST_BER);
}

/* A version 2 section has no PIRQ levels: it loads, taking them from the bus. */
static void test_version_2_section(void **state)
{
    TALLOC_CTX *ctx = *state;
    Board a, b;
    uint8_t *bytes, *v2;
    size_t len;

    busy_board(&a);
    a.piix3.regs.rcr = 0;
    bytes = vs_test_save(ctx, VS_TEST_LEGACY, walk_piix3, &a.piix3, true, &len);
    assert_int_equal(len, 4 + 256 + 16 + 16);
    v2 = talloc_memdup(ctx, bytes, len - 16);
    board_init(&b, 4);
    vs_test_load_ok(ctx, VS_TEST_LEGACY, walk_piix3, &b.piix3, v2, len - 16, 2, true, ctx);
    assert_memory_equal(b.piix3.regs.dev.config, a.piix3.regs.dev.config, 256);
    assert_int_equal(vs_piix3_route(&b.piix3, 3), 5);
    talloc_free(bytes);
    talloc_free(v2);
}

/* Stream bytes the device cannot accept are refused with the field's path. */
static void test_bad_sections_refused(void **state)
{
    TALLOC_CTX *ctx = *state;
    Board a, b;
    uint8_t *bytes, *bus_bytes;
    size_t len, bus_len;

    busy_board(&a);
    bytes = vs_test_save(ctx, VS_TEST_LEGACY, walk_piix3, &a.piix3, true, &len);

    /* Another device's identity. */
    {
        g_autoptr(GError) err = NULL;
        bytes[4 + VS_PCI_DEVICE_ID] ^= 0x01;
        board_init(&b, 4);
        assert_false(vs_test_load(ctx, VS_TEST_LEGACY, walk_piix3, &b.piix3, bytes, len, 3,
                                  true, ctx, &err));
        assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_MISMATCH, "PIIX3.dev.config");
        assert_gerror_contains(err, "byte 0x2 differs");
        bytes[4 + VS_PCI_DEVICE_ID] ^= 0x01;
    }
    /* An INTx level other than 0 or 1. */
    {
        g_autoptr(GError) err = NULL;
        bytes[4 + 256 + 3] = 2;
        board_init(&b, 4);
        assert_false(vs_test_load(ctx, VS_TEST_LEGACY, walk_piix3, &b.piix3, bytes, len, 3,
                                  true, ctx, &err));
        assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_RANGE, "PIIX3.dev.irq_state");
        assert_gerror_contains(err, "pin 0 is 2, must be 0 or 1");
        bytes[4 + 256 + 3] = 0;
    }
    /* A PCI state version above the device's. */
    {
        g_autoptr(GError) err = NULL;
        bytes[3] = 3;
        board_init(&b, 4);
        assert_false(vs_test_load(ctx, VS_TEST_LEGACY, walk_piix3, &b.piix3, bytes, len, 3,
                                  true, ctx, &err));
        assert_gerror_contains(err, "PIIX3.dev.version_id");
    }
    /* A bus with another number of lines. */
    {
        g_autoptr(GError) err = NULL;
        bus_bytes = vs_test_save(ctx, VS_TEST_LEGACY, walk_bus, &a.bus, true, &bus_len);
        board_init(&b, 8);
        assert_false(vs_test_load(ctx, VS_TEST_LEGACY, walk_bus, &b.bus, bus_bytes, bus_len, 1,
                                  true, ctx, &err));
        assert_gerror_contains(err, "PCIBUS.nirq");
        talloc_free(bus_bytes);
    }
    talloc_free(bytes);
}

/* ---- QEMU 7.2's sections, from the corpus --------------------------- */

/*
 * Loads the stream's PCIBUS section into @b's bus, as a restore does before
 * PIIX3 (the bus's PIRQ levels are the ones PIIX3 keeps after its load).
 */
static void restore_bus(TALLOC_CTX *ctx, const char *path, Board *b)
{
    g_autofree uint8_t *file = NULL;
    VsTestSection bus = { 0 };

    assert_true(vs_test_find_section(ctx, path, "PCIBUS", &file, &bus));
    vs_test_load_ok(ctx, VS_TEST_LEGACY, walk_bus, &b->bus, bus.body, bus.len, bus.version,
                    false, ctx);
}

static void test_corpus_piix3(void **state)
{
    TALLOC_CTX *ctx = *state;
    g_autofree char *dir = vs_test_corpus_dir();
    g_autoptr(GPtrArray) streams = NULL;
    int found = 0;

    SKIP_WITHOUT_CORPUS(dir);
    streams = vs_test_corpus_streams(dir);
    for (guint i = 0; i < streams->len; i++) {
        g_autofree char *path = g_strdup_printf("%s.bin", (char *)g_ptr_array_index(streams, i));
        g_autofree uint8_t *file = NULL;
        VsTestSection sec = { 0 };
        Board b;
        uint8_t *again;
        size_t len;

        if (!vs_test_find_section(ctx, path, "PIIX3", &file, &sec)) {
            continue;
        }
        found++;
        board_init(&b, 4);
        restore_bus(ctx, path, &b);
        vs_test_load_ok(ctx, VS_TEST_LEGACY, walk_piix3, &b.piix3, sec.body, sec.len,
                        sec.version, false, ctx);
        again = vs_test_save(ctx, VS_TEST_LEGACY, walk_piix3, &b.piix3, false, &len);
        assert_bytes(again, len, sec.body, sec.len);
        talloc_free(again);

        /* Through BER and back: the same QEMU bytes again. */
        {
            Board c;
            uint8_t *ber = vs_test_save(ctx, VS_TEST_BER, walk_piix3, &b.piix3, false, &len);

            board_init(&c, 4);
            c.bus.regs = b.bus.regs;
            vs_test_load_ok(ctx, VS_TEST_BER, walk_piix3, &c.piix3, ber, len, 0, false, ctx);
            again = vs_test_save(ctx, VS_TEST_LEGACY, walk_piix3, &c.piix3, false, &len);
            assert_bytes(again, len, sec.body, sec.len);
            talloc_free(again);
            talloc_free(ber);
        }

        /*
         * Behaviour from the loaded state: INTA of a function in slot
         * pirq + 1 drives PIRQ pirq, which must reach the PIC input the
         * stream's routing register (config byte 0x60 + pirq) names.
         */
        for (int pirq = 0; pirq < 4; pirq++) {
            uint8_t reg = sec.body[4 + VS_PIIX3_PIRQCA + pirq];
            PCIDevice st;
            VsPciFunction fn;

            vs_pci_function_init(&fn, &st, &b.bus, (uint8_t)((pirq + 1) << 3), 0x1234, 0x11,
                                 0, 0xff0000, 0);
            memset(b.pic, 0, sizeof(b.pic));
            vs_pci_set_irq(&fn, 0, 1);
            for (int irq = 0; irq < 16; irq++) {
                assert_int_equal(b.pic[irq], irq == reg);
            }
            vs_pci_set_irq(&fn, 0, 0);
            if (reg < 16) {
                assert_int_equal(b.pic[reg], 0);
            }
        }
        print_message("# %s: PIIX3 v%u, %zu bytes, routing %02x %02x %02x %02x\n", path,
                      sec.version, sec.len, sec.body[4 + 0x60], sec.body[4 + 0x61],
                      sec.body[4 + 0x62], sec.body[4 + 0x63]);
    }
    assert_true(found >= 1);
}

static void test_corpus_pcibus(void **state)
{
    TALLOC_CTX *ctx = *state;
    g_autofree char *dir = vs_test_corpus_dir();
    g_autoptr(GPtrArray) streams = NULL;
    int found = 0;

    SKIP_WITHOUT_CORPUS(dir);
    streams = vs_test_corpus_streams(dir);
    for (guint i = 0; i < streams->len; i++) {
        g_autofree char *path = g_strdup_printf("%s.bin", (char *)g_ptr_array_index(streams, i));
        g_autofree uint8_t *file = NULL;
        VsTestSection sec = { 0 };
        VsPciBus bus;
        uint8_t *again;
        size_t len;
        int nirq;

        if (!vs_test_find_section(ctx, path, "PCIBUS", &file, &sec)) {
            continue;
        }
        found++;
        /* i440FX's bus has 4 PIRQs, Q35's 8: the section says which. */
        nirq = (int)((sec.len - 4) / 4);
        assert_true(nirq == 4 || nirq == 8);
        vs_pci_bus_init(&bus, nirq, NULL, NULL, NULL);
        vs_test_load_ok(ctx, VS_TEST_LEGACY, walk_bus, &bus, sec.body, sec.len, sec.version,
                        false, ctx);
        again = vs_test_save(ctx, VS_TEST_LEGACY, walk_bus, &bus, false, &len);
        assert_bytes(again, len, sec.body, sec.len);
        talloc_free(again);
        for (int pirq = 0; pirq < nirq; pirq++) {
            const uint8_t *p = sec.body + 4 + 4 * pirq;
            int count = p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];

            assert_int_equal(vs_pci_bus_irq_level(&bus, pirq), count != 0);
        }
    }
    assert_true(found >= 1);
}

/*
 * The other direction: PIIX3 loaded from QEMU's stream, rerouted (PIRQA to
 * IRQ 9) and given a reset type (the rcr subsection appears), goes back
 * into QEMU inside that stream.  QEMU must accept it, migrate the same
 * bytes out, and read the routing registers (config cycles through
 * 0xcf8/0xcfc) and the reset control port as the model does.
 */
static char *feed_dir;

/* Removes the feed-back test's directory even when the test failed midway. */
static int feed_teardown(void **state)
{
    g_autoptr(GDir) d = feed_dir ? g_dir_open(feed_dir, 0, NULL) : NULL;
    const char *name;

    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(feed_dir, name, NULL);
        g_remove(p);
    }
    if (feed_dir) {
        g_rmdir(feed_dir);
        g_clear_pointer(&feed_dir, g_free);
    }
    return vs_test_ctx_teardown(state);
}

static void test_qemu_feed_back(void **state)
{
    TALLOC_CTX *ctx = *state;
    g_autofree char *dir = vs_test_corpus_dir();
    g_autofree char *path = NULL, *script = NULL, *edited = NULL;
    g_autofree char *back = NULL, *answers_path = NULL, *answers = NULL, *err_out = NULL;
    g_autofree uint8_t *file = NULL, *whole = NULL, *back_file = NULL;
    g_autoptr(GByteArray) out = g_byte_array_new();
    VsTestSection sec = { 0 }, back_sec = { 0 };
    uint8_t *ours;
    size_t ours_len, whole_len, head;
    int status = 0;
    Board b;

    g_autofree char *qemu = g_find_program_in_path("qemu-system-x86_64");

    SKIP_WITHOUT_CORPUS(dir);
    if (!qemu) {
        print_message("# SKIP qemu-system-x86_64 is not installed (Debian: qemu-system-x86)\n");
        skip();
    }
    path = g_build_filename(dir, "streams", "a-pc-bare", "paused.bin", NULL);
    assert_true(vs_test_find_section(ctx, path, "PIIX3", &file, &sec));
    whole = vs_test_read_file(path, &whole_len);
    board_init(&b, 4);
    restore_bus(ctx, path, &b);
    vs_test_load_ok(ctx, VS_TEST_LEGACY, walk_piix3, &b.piix3, sec.body, sec.len, sec.version,
                    true, ctx);
    route(&b, 0, 9);
    vs_piix3_rcr_write(&b.piix3, VS_PIIX3_RCR_SYS_RST);
    ours = vs_test_save(ctx, VS_TEST_LEGACY, walk_piix3, &b.piix3, true, &ours_len);
    assert_non_null(memmem(ours, ours_len, "PIIX3/rcr", 9));

    feed_dir = g_dir_make_tmp("vstate-piix3-XXXXXX", NULL);
    assert_non_null(feed_dir);
    const char *out_dir = feed_dir;
    edited = g_build_filename(out_dir, "edited.bin", NULL);
    head = (size_t)(sec.body - file);
    g_byte_array_append(out, whole, (guint)head);
    g_byte_array_append(out, ours, (guint)ours_len);
    g_byte_array_append(out, whole + head + sec.len, (guint)(whole_len - head - sec.len));
    assert_true(g_file_set_contents(edited, (const char *)out->data, out->len, NULL));

    script = g_build_filename(g_getenv("VSTATE_SOURCE_ROOT"), "tests", "devices",
                              "qemu_feed.py", NULL);
    const char *argv[] = { "python3", script, edited, out_dir,
                           "o /w 0xcf8 0x80000860", "i /w 0xcfc", "i /b 0xcf9",
                           "--", "-M", "pc-i440fx-7.2", "-nodefaults", "-m", "32M", NULL };
    assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                             &err_out, &status, NULL));
    if (!g_spawn_check_wait_status(status, NULL)) {
        print_error("%s\n", err_out);
        fail();
    }

    back = g_build_filename(out_dir, "feed-back.bin", NULL);
    assert_true(vs_test_find_section(ctx, back, "PIIX3", &back_file, &back_sec));
    assert_bytes(back_sec.body, back_sec.len, ours, ours_len);

    answers_path = g_build_filename(out_dir, "feed.txt", NULL);
    assert_true(g_file_get_contents(answers_path, &answers, NULL, NULL));
    g_auto(GStrv) lines = g_strsplit(answers, "\n", -1);
    g_autofree char *want_route = g_strdup_printf(
        "portl[0x0cfc] = 0x%08x", vs_pci_config_read(&b.piix3.pci, VS_PIIX3_PIRQCA, 4));
    g_autofree char *want_rcr = g_strdup_printf("portb[0x0cf9] = 0x%02x",
                                                vs_piix3_rcr_read(&b.piix3));
    assert_non_null(lines[0]);
    assert_non_null(lines[1]);
    assert_string_equal(lines[1], want_route);
    assert_string_equal(lines[2], want_rcr);
    assert_string_equal(want_route, "portl[0x0cfc] = 0x80808009");
    talloc_free(ours);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_masks),
        cmocka_unit_test(test_bar_sizing_and_decode),
        cmocka_unit_test(test_intx_routing),
        cmocka_unit_test(test_shared_pirq),
        cmocka_unit_test(test_reset_control),
        cmocka_unit_test_setup_teardown(test_round_trip_legacy, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_ber, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_version_2_section, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_sections_refused, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_corpus_piix3, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_corpus_pcibus, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_qemu_feed_back, vs_test_ctx_setup, feed_teardown),
    };

    return cmocka_run_group_tests_name("piix3", tests, NULL, NULL);
}
