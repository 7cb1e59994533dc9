/*
 * test-i8259.c: the 8259A PIC pair: programming and delivery as a guest
 * sees them through ports and INTA, save -> load round trips in the legacy
 * form and in BER, and QEMU 7.2's own "i8259" sections from the corpus.
 *
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "devices/i8259.h"
#include "tests/devices/pc-core-helpers.h"
#include "tests/unit/test-helpers.h"

PC_WALKER(walk_pic, VsI8259State)

/* The CPU side: the INT line's level and how often it rose. */
typedef struct Cpu {
    int level;
    unsigned rises;
} Cpu;

static void cpu_int(void *opaque, int line, int level)
{
    Cpu *cpu = opaque;

    (void)line;
    if (level && !cpu->level) {
        cpu->rises++;
    }
    cpu->level = level;
}

/* What a PC BIOS programs: vectors 0x08 and 0x70, cascade on line 2. */
static void bios_init(VsI8259Pair *p)
{
    vs_i8259_write(p, 0x20, 0x11);
    vs_i8259_write(p, 0x21, 0x08);
    vs_i8259_write(p, 0x21, 0x04);
    vs_i8259_write(p, 0x21, 0x01);
    vs_i8259_write(p, 0xa0, 0x11);
    vs_i8259_write(p, 0xa1, 0x70);
    vs_i8259_write(p, 0xa1, 0x02);
    vs_i8259_write(p, 0xa1, 0x01);
    vs_i8259_write(p, 0x21, 0x00);
    vs_i8259_write(p, 0xa1, 0x00);
}

static uint8_t read_isr(VsI8259Pair *p, uint16_t port)
{
    vs_i8259_write(p, port, 0x0b);
    return vs_i8259_read(p, port);
}

static uint8_t read_irr(VsI8259Pair *p, uint16_t port)
{
    vs_i8259_write(p, port, 0x0a);
    return vs_i8259_read(p, port);
}

static void test_i8259_init_and_deliver(void **state)
{
    Cpu cpu = { 0 };
    VsI8259Pair p;

    (void)state;
    vs_i8259_init(&p, vs_irq_make(cpu_int, &cpu, 0));
    bios_init(&p);
    assert_int_equal(vs_i8259_state(&p, 0)->irq_base, 0x08);
    assert_int_equal(vs_i8259_state(&p, 1)->irq_base, 0x70);
    assert_int_equal(vs_i8259_state(&p, 0)->init_state, 0);
    assert_int_equal(cpu.level, 0);

    vs_i8259_set_irq(&p, 0, 1);
    assert_int_equal(cpu.level, 1);
    assert_int_equal(vs_i8259_pending(&p), 0);
    assert_int_equal(vs_i8259_acknowledge(&p), 0x08);
    assert_int_equal(cpu.level, 0);
    assert_int_equal(read_isr(&p, 0x20), 0x01);
    assert_int_equal(read_irr(&p, 0x20), 0x00);    /* edge: taken at INTA */
    vs_i8259_write(&p, 0x20, 0x20);                 /* non-specific EOI */
    assert_int_equal(read_isr(&p, 0x20), 0x00);
    vs_i8259_set_irq(&p, 0, 0);
}

static void test_i8259_mask(void **state)
{
    Cpu cpu = { 0 };
    VsI8259Pair p;

    (void)state;
    vs_i8259_init(&p, vs_irq_make(cpu_int, &cpu, 0));
    bios_init(&p);
    vs_i8259_write(&p, 0x21, 0x02);
    assert_int_equal(vs_i8259_read(&p, 0x21), 0x02);
    vs_i8259_set_irq(&p, 1, 1);
    assert_int_equal(cpu.level, 0);
    assert_int_equal(read_irr(&p, 0x20), 0x02);     /* requested, masked */
    vs_i8259_write(&p, 0x21, 0x00);
    assert_int_equal(cpu.level, 1);
    assert_int_equal(vs_i8259_acknowledge(&p), 0x09);
}

static void test_i8259_fully_nested_priorities(void **state)
{
    Cpu cpu = { 0 };
    VsI8259Pair p;

    (void)state;
    vs_i8259_init(&p, vs_irq_make(cpu_int, &cpu, 0));
    bios_init(&p);
    vs_i8259_set_irq(&p, 3, 1);
    vs_i8259_set_irq(&p, 1, 1);
    assert_int_equal(vs_i8259_acknowledge(&p), 0x09);    /* 1 before 3 */
    assert_int_equal(cpu.level, 0);                       /* 3 waits for 1 */
    vs_i8259_set_irq(&p, 0, 1);
    assert_int_equal(cpu.level, 1);                       /* 0 preempts 1 */
    assert_int_equal(vs_i8259_acknowledge(&p), 0x08);
    assert_int_equal(read_isr(&p, 0x20), 0x03);
    vs_i8259_write(&p, 0x20, 0x20);                       /* ends 0 */
    assert_int_equal(cpu.level, 0);
    vs_i8259_write(&p, 0x20, 0x20);                       /* ends 1 */
    assert_int_equal(cpu.level, 1);
    assert_int_equal(vs_i8259_acknowledge(&p), 0x0b);
}

static void test_i8259_cascade(void **state)
{
    Cpu cpu = { 0 };
    VsI8259Pair p;

    (void)state;
    vs_i8259_init(&p, vs_irq_make(cpu_int, &cpu, 0));
    bios_init(&p);
    vs_i8259_set_irq(&p, 12, 1);
    assert_int_equal(cpu.level, 1);
    assert_int_equal(vs_i8259_pending(&p), 12);
    assert_int_equal(vs_i8259_acknowledge(&p), 0x74);
    assert_int_equal(read_isr(&p, 0x20), 0x04);
    assert_int_equal(read_isr(&p, 0xa0), 0x10);
    /* Masking line 2 of the master silences the whole slave. */
    vs_i8259_write(&p, 0xa0, 0x20);
    vs_i8259_write(&p, 0x20, 0x20);
    vs_i8259_write(&p, 0x21, 0x04);
    vs_i8259_set_irq(&p, 9, 1);
    assert_int_equal(cpu.level, 0);
    vs_i8259_write(&p, 0x21, 0x00);
    assert_int_equal(vs_i8259_acknowledge(&p), 0x71);
}

static void test_i8259_edge_and_level(void **state)
{
    Cpu cpu = { 0 };
    VsI8259Pair p;

    (void)state;
    vs_i8259_init(&p, vs_irq_make(cpu_int, &cpu, 0));
    bios_init(&p);
    /* Edge: a pulse is remembered; a line held high does not re-request. */
    vs_i8259_set_irq(&p, 4, 1);
    vs_i8259_set_irq(&p, 4, 0);
    assert_int_equal(cpu.level, 1);
    assert_int_equal(vs_i8259_acknowledge(&p), 0x0c);
    vs_i8259_write(&p, 0x20, 0x20);
    vs_i8259_set_irq(&p, 4, 1);
    assert_int_equal(vs_i8259_acknowledge(&p), 0x0c);
    vs_i8259_write(&p, 0x20, 0x20);
    vs_i8259_set_irq(&p, 4, 1);                 /* still high: no new edge */
    assert_int_equal(cpu.level, 0);

    /*
     * Level (ELCR): the slave's request follows the line.  Dropped before
     * INTA, the master (whose cascade input is edge-triggered) still asks,
     * and the slave answers with its spurious vector, line 7.
     */
    vs_i8259_write(&p, 0x4d1, 0xff);
    assert_int_equal(vs_i8259_read(&p, 0x4d1), 0xde);   /* 8 and 13 cannot be level */
    vs_i8259_set_irq(&p, 10, 1);
    assert_int_equal(cpu.level, 1);
    vs_i8259_set_irq(&p, 10, 0);
    assert_int_equal(read_irr(&p, 0xa0), 0x00);
    assert_int_equal(vs_i8259_pending(&p), -1);
    assert_int_equal(vs_i8259_acknowledge(&p), 0x77);   /* slave spurious */
    vs_i8259_write(&p, 0x20, 0x20);
    assert_int_equal(cpu.level, 0);
    /* On the master, a level line dropped before INTA gives the master's 7. */
    vs_i8259_write(&p, 0x4d0, 0x08);
    vs_i8259_set_irq(&p, 3, 1);
    vs_i8259_set_irq(&p, 3, 0);
    assert_int_equal(cpu.level, 0);
    assert_int_equal(vs_i8259_acknowledge(&p), 0x0f);
    vs_i8259_set_irq(&p, 10, 1);
    assert_int_equal(vs_i8259_acknowledge(&p), 0x72);
    vs_i8259_write(&p, 0xa0, 0x20);
    vs_i8259_write(&p, 0x20, 0x20);
    /* Still high after EOI: requested again at once. */
    assert_int_equal(vs_i8259_pending(&p), 10);

    /* LTIM in ICW1 makes every line level-triggered. */
    vs_i8259_write(&p, 0x20, 0x19);
    vs_i8259_write(&p, 0x21, 0x08);
    vs_i8259_write(&p, 0x21, 0x04);
    vs_i8259_write(&p, 0x21, 0x01);
    assert_int_equal(vs_i8259_state(&p, 0)->ltim, 1);
    vs_i8259_set_irq(&p, 5, 1);
    vs_i8259_set_irq(&p, 5, 0);
    assert_int_equal(read_irr(&p, 0x20) & 0x20, 0);
}

static void test_i8259_rotation_and_specific_eoi(void **state)
{
    Cpu cpu = { 0 };
    VsI8259Pair p;

    (void)state;
    vs_i8259_init(&p, vs_irq_make(cpu_int, &cpu, 0));
    bios_init(&p);
    /* Set priority: line 4 lowest, so 5 is highest, then 6, 7, 0, ... */
    vs_i8259_write(&p, 0x20, 0xc4);
    vs_i8259_set_irq(&p, 0, 1);
    vs_i8259_set_irq(&p, 6, 1);
    assert_int_equal(vs_i8259_acknowledge(&p), 0x0e);
    /* Rotate on specific EOI of 6: 7 becomes highest, 0 next. */
    vs_i8259_write(&p, 0x20, 0xe6);
    assert_int_equal(vs_i8259_state(&p, 0)->priority_add, 7);
    assert_int_equal(vs_i8259_acknowledge(&p), 0x08);
    /* Specific EOI names the line, whatever the priorities. */
    vs_i8259_set_irq(&p, 1, 1);
    vs_i8259_write(&p, 0x20, 0xc0);                 /* line 0 lowest */
    assert_int_equal(read_isr(&p, 0x20), 0x01);
    assert_int_equal(cpu.level, 1);                 /* 1 now outranks 0 in service */
    assert_int_equal(vs_i8259_acknowledge(&p), 0x09);
    vs_i8259_write(&p, 0x20, 0x60);                 /* specific EOI 0 */
    assert_int_equal(read_isr(&p, 0x20), 0x02);
    /* Rotate on non-specific EOI: 1 ends and becomes lowest. */
    vs_i8259_write(&p, 0x20, 0xa0);
    assert_int_equal(read_isr(&p, 0x20), 0x00);
    assert_int_equal(vs_i8259_state(&p, 0)->priority_add, 2);
}

static void test_i8259_auto_eoi(void **state)
{
    Cpu cpu = { 0 };
    VsI8259Pair p;

    (void)state;
    vs_i8259_init(&p, vs_irq_make(cpu_int, &cpu, 0));
    vs_i8259_write(&p, 0x20, 0x13);                 /* single, ICW4 */
    vs_i8259_write(&p, 0x21, 0x20);
    vs_i8259_write(&p, 0x21, 0x03);                 /* AEOI */
    assert_int_equal(vs_i8259_state(&p, 0)->auto_eoi, 1);
    vs_i8259_set_irq(&p, 3, 1);
    assert_int_equal(vs_i8259_acknowledge(&p), 0x23);
    assert_int_equal(read_isr(&p, 0x20), 0x00);
    /* Rotate in auto-EOI mode: the line served becomes the lowest. */
    vs_i8259_write(&p, 0x20, 0x80);
    vs_i8259_set_irq(&p, 5, 1);
    assert_int_equal(vs_i8259_acknowledge(&p), 0x25);
    assert_int_equal(vs_i8259_state(&p, 0)->priority_add, 6);
    /* single mode: line 2 is an ordinary line */
    vs_i8259_set_irq(&p, 2, 1);
    assert_int_equal(vs_i8259_acknowledge(&p), 0x22);
}

static void test_i8259_poll_and_special_mask(void **state)
{
    Cpu cpu = { 0 };
    VsI8259Pair p;

    (void)state;
    vs_i8259_init(&p, vs_irq_make(cpu_int, &cpu, 0));
    bios_init(&p);
    vs_i8259_write(&p, 0x20, 0x0c);                 /* poll */
    assert_int_equal(vs_i8259_read(&p, 0x20), 0x00);
    vs_i8259_set_irq(&p, 5, 1);
    vs_i8259_write(&p, 0x20, 0x0c);
    assert_int_equal(vs_i8259_read(&p, 0x20), 0x85);
    assert_int_equal(read_isr(&p, 0x20), 0x20);
    /* Special mask: masking the line in service lets lower ones through. */
    vs_i8259_set_irq(&p, 6, 1);
    assert_int_equal(cpu.level, 0);
    vs_i8259_write(&p, 0x21, 0x20);
    vs_i8259_write(&p, 0x20, 0x68);                 /* set special mask */
    assert_int_equal(cpu.level, 1);
    assert_int_equal(vs_i8259_acknowledge(&p), 0x0e);
    vs_i8259_write(&p, 0x20, 0x48);                 /* reset special mask */
    assert_int_equal(vs_i8259_state(&p, 0)->special_mask, 0);
}

/* A pair in a busy state: rotated, masked, requests pending and in service. */
static void busy_pair(VsI8259Pair *p, Cpu *cpu)
{
    vs_i8259_init(p, vs_irq_make(cpu_int, cpu, 0));
    bios_init(p);
    vs_i8259_write(p, 0x4d1, 0x0c);
    vs_i8259_write(p, 0x20, 0xc2);
    vs_i8259_write(p, 0xa1, 0x40);
    vs_i8259_set_irq(p, 11, 1);
    vs_i8259_set_irq(p, 4, 1);
    vs_i8259_set_irq(p, 14, 1);
    vs_i8259_set_irq(p, 1, 1);
    (void)vs_i8259_acknowledge(p);
    vs_i8259_write(p, 0xa0, 0x0b);
}

/* The same operations on two pairs give the same answers and states. */
static void assert_same_behaviour(VsI8259Pair *a, Cpu *ca, VsI8259Pair *b, Cpu *cb)
{
    static const uint16_t ports[] = { 0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1 };

    assert_int_equal(ca->level, cb->level);
    for (int round = 0; round < 6; round++) {
        assert_int_equal(vs_i8259_pending(a), vs_i8259_pending(b));
        for (size_t i = 0; i < G_N_ELEMENTS(ports); i++) {
            assert_int_equal(vs_i8259_read(a, ports[i]), vs_i8259_read(b, ports[i]));
        }
        assert_int_equal(vs_i8259_acknowledge(a), vs_i8259_acknowledge(b));
        vs_i8259_write(a, 0x20, 0x20);
        vs_i8259_write(b, 0x20, 0x20);
        vs_i8259_write(a, 0xa0, 0x20);
        vs_i8259_write(b, 0xa0, 0x20);
        vs_i8259_set_irq(a, round, 1);
        vs_i8259_set_irq(b, round, 1);
        assert_int_equal(ca->level, cb->level);
    }
    assert_same_state(VsI8259State, vs_i8259_state(a, 0), vs_i8259_state(b, 0));
    assert_same_state(VsI8259State, vs_i8259_state(a, 1), vs_i8259_state(b, 1));
}

static void round_trip(void **state, PcForm form)
{
    Cpu ca = { 0 }, cb = { 0 };
    VsI8259Pair a, b;
    size_t len[2];
    uint8_t *bytes[2];

    busy_pair(&a, &ca);
    vs_i8259_init(&b, vs_irq_make(cpu_int, &cb, 0));
    for (int i = 0; i < 2; i++) {
        bytes[i] = pc_save(*state, form, walk_pic, "i8259", vs_i8259_state(&a, i), true, &len[i]);
        if (form == PC_LEGACY) {
            assert_int_equal(len[i], 16);   /* no LTIM: QEMU 7.2's 16 bytes */
        }
    }
    for (int i = 0; i < 2; i++) {
        pc_load(*state, form, bytes[i], len[i], walk_pic, "i8259", vs_i8259_state(&b, i), 1,
                true);
    }
    assert_same_state(VsI8259State, vs_i8259_state(&a, 0), vs_i8259_state(&b, 0));
    assert_same_state(VsI8259State, vs_i8259_state(&a, 1), vs_i8259_state(&b, 1));
    /* post_load drove INT from the loaded state. */
    assert_int_equal(cb.level, ca.level);
    assert_same_behaviour(&a, &ca, &b, &cb);
    talloc_free(bytes[0]);
    talloc_free(bytes[1]);
}

static void test_i8259_round_trip_legacy(void **state)
{
    round_trip(state, PC_LEGACY);
}

static void test_i8259_round_trip_ber(void **state)
{
    round_trip(state, PC_BER);
}

/* LTIM travels in the "i8259/ltim" subsection, only when set. */
static void test_i8259_ltim_subsection(void **state)
{
    static const uint8_t tail[] = { 0x05, 0x0a, 'i', '8', '2', '5', '9', '/', 'l', 't', 'i', 'm',
                                    0x00, 0x00, 0x00, 0x01, 0x01 };
    Cpu cpu = { 0 };
    VsI8259Pair a, b;
    size_t len;
    uint8_t *bytes;

    vs_i8259_init(&a, vs_irq_make(cpu_int, &cpu, 0));
    vs_i8259_write(&a, 0x20, 0x19);
    bytes = pc_save(*state, PC_LEGACY, walk_pic, "i8259", vs_i8259_state(&a, 0), true, &len);
    assert_int_equal(len, 16 + sizeof(tail));
    assert_memory_equal(bytes + 16, tail, sizeof(tail));
    vs_i8259_init(&b, vs_irq_make(cpu_int, &cpu, 0));
    pc_load(*state, PC_LEGACY, bytes, len, walk_pic, "i8259", vs_i8259_state(&b, 0), 1, true);
    assert_int_equal(vs_i8259_state(&b, 0)->ltim, 1);
    talloc_free(bytes);
}

/*
 * QEMU 7.2's sections: loaded and saved again with hooks off they are the
 * same bytes; loaded into a pair, a line raised is delivered as its mask
 * and the chip's priorities say.
 */
static void test_i8259_corpus(void **state)
{
    PcCorpusSection *secs = NULL;
    size_t n = pc_corpus_sections(*state, "i8259", &secs);

    assert_true(n >= 2);
    for (size_t i = 0; i < n; i++) {
        VsI8259State st, bare;
        size_t len;
        uint8_t *again;

        memset(&st, 0, sizeof(st));
        pc_load(*state, PC_LEGACY, secs[i].body, secs[i].len, walk_pic, "i8259", &st,
                secs[i].version, false);
        again = pc_save(*state, PC_LEGACY, walk_pic, "i8259", &st, false, &len);
        assert_bytes(again, len, secs[i].body, secs[i].len);
        talloc_free(again);
        /* With hooks on, a bare state (not in a pair) loads the same values. */
        memset(&bare, 0, sizeof(bare));
        pc_load(*state, PC_LEGACY, secs[i].body, secs[i].len, walk_pic, "i8259", &bare,
                secs[i].version, true);
        assert_same_state(VsI8259State, &bare, &st);
        pc_assert_ber_keeps(*state, walk_pic, "i8259", &st, sizeof(st), secs[i].body,
                            secs[i].len);
    }
    for (size_t i = 0; i + 1 < n; i += 2) {
        /* Instances 0 and 1 of one stream, in stream order. */
        assert_string_equal(secs[i].stream, secs[i + 1].stream);
        assert_int_equal(secs[i].instance, 0);
        assert_int_equal(secs[i + 1].instance, 1);
        for (int line = 0; line < 8; line++) {
            Cpu cpu = { 0 };
            VsI8259Pair p;
            VsI8259State *m;
            bool blocked;

            if (line == 2) {
                continue;
            }
            vs_i8259_init(&p, vs_irq_make(cpu_int, &cpu, 0));
            pc_load(*state, PC_LEGACY, secs[i].body, secs[i].len, walk_pic, "i8259",
                    vs_i8259_state(&p, 0), 1, true);
            pc_load(*state, PC_LEGACY, secs[i + 1].body, secs[i + 1].len, walk_pic, "i8259",
                    vs_i8259_state(&p, 1), 1, true);
            m = vs_i8259_state(&p, 0);
            /* The corpus guests have nothing pending or in service. */
            assert_int_equal(m->isr, 0);
            assert_int_equal(m->irr & ~m->imr, 0);
            assert_int_equal(cpu.level, 0);
            blocked = (m->imr >> line) & 1;
            vs_i8259_set_irq(&p, line, 0);
            vs_i8259_set_irq(&p, line, 1);
            assert_int_equal(cpu.level, !blocked);
            if (!blocked) {
                assert_int_equal(vs_i8259_acknowledge(&p), (uint8_t)(m->irq_base + line));
                assert_int_equal(m->isr, 1u << line);
            }
        }
    }
    talloc_free(secs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, vs_test_ctx_setup, vs_test_ctx_teardown)
        T(test_i8259_init_and_deliver),
        T(test_i8259_mask),
        T(test_i8259_fully_nested_priorities),
        T(test_i8259_cascade),
        T(test_i8259_edge_and_level),
        T(test_i8259_rotation_and_specific_eoi),
        T(test_i8259_auto_eoi),
        T(test_i8259_poll_and_special_mask),
        T(test_i8259_round_trip_legacy),
        T(test_i8259_round_trip_ber),
        T(test_i8259_ltim_subsection),
        T(test_i8259_corpus),
#undef T
    };
    return cmocka_run_group_tests_name("i8259", tests, NULL, NULL);
}
