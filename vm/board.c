/*
 * board.c: the demo VM's devices and their registration (see board.h).
 *
 * SPDX-License-Identifier: MIT
 *
 * One table lists the devices: their idstr and instance as QEMU 7.2 names
 * the sections of a pc-i440fx machine (ISA devices have no bus path, so
 * the idstr is the bare vmsd name), the registry entry whose walker moves
 * their state, and where that state lives in the board.  The PC core
 * devices come from devices/ (the 8259 PIC pair, the 8254 PIT, the
 * MC146818 RTC, a 16550A UART as COM1); "vsdemo" is the hand-written example device that uses
 * every kind of field, kept so that every walker feature crosses a live
 * migration (it is not a QEMU device: a QEMU destination would refuse it).
 *
 * The board is wired as a PC: the PIT on IRQ 0, COM1 on IRQ 4, the RTC on IRQ 8, the
 * slave PIC cascaded on line 2, the master's INT to a "CPU" that the
 * workload's tick plays: it acknowledges pending interrupts, sends EOIs
 * and reads RTC register C, as a guest's handlers do.
 */
#include "vm/board.h"
#include "devices/i8254.h"
#include "devices/i8259.h"
#include "devices/mc146818rtc.h"
#include "devices/serial.h"
#include "examples/example-walkers.h"

#include <string.h>

struct VsBoard {
    VsClock clock;
    VsI8259Pair pic;
    VsI8254 pit;
    VsRtc rtc;
    VsSerial com1;
    VsExDemo demo;
    VsExInner demo_slots[VS_EX_SLOTS];
    uint64_t interrupts;         /* acknowledged by the "CPU" */
};

typedef struct BoardDevice {
    const char *idstr;
    uint32_t instance_id;
    const char *wire_name;       /* registry entry */
    size_t offset;               /* of the state in VsBoard */
} BoardDevice;

/* Adding a device: its state in VsBoard, its wiring in board_wire(), a line here. */
static const BoardDevice board_devices[] = {
    { "i8259", 0, "i8259", offsetof(VsBoard, pic.chips[0].state) },
    { "i8259", 1, "i8259", offsetof(VsBoard, pic.chips[1].state) },
    { "i8254", 0, "i8254", offsetof(VsBoard, pit.state) },
    { "mc146818rtc", 0, "mc146818rtc", offsetof(VsBoard, rtc.state) },
    { "serial", 0, "serial", offsetof(VsBoard, com1.regs) },
    { "vsdemo", 0, "vsdemo", offsetof(VsBoard, demo) },
};

/* PIT channel 0 at 100 Hz, as a guest kernel programs it. */
#define BOARD_PIT_DIVISOR 11932u

static void board_intr(void *opaque, int line, int level)
{
    /* The INT line is sampled by the tick ("CPU"); nothing to do here. */
}

static void board_register_types(void)
{
    vs_schema_i8259_register();
    vs_schema_i8254_register();
    vs_schema_mc146818rtc_register();
    vs_schema_serial_register();
    /* Adds "vsdemo"; its "i8259" loses to the device model's, registered first. */
    vs_ex_register();
}

/* What SeaBIOS and a guest kernel leave: PICs initialised, PIT and RTC ticking. */
static void board_program(VsBoard *b)
{
    static const struct {
        uint16_t port;
        uint8_t val;
    } init[] = {
        { 0x20, 0x11 }, { 0x21, 0x08 }, { 0x21, 0x04 }, { 0x21, 0x01 },   /* master ICW1-4 */
        { 0xa0, 0x11 }, { 0xa1, 0x70 }, { 0xa1, 0x02 }, { 0xa1, 0x01 },   /* slave ICW1-4 */
        { 0x21, 0xfa }, { 0xa1, 0xfe },                                   /* unmask 0, 2, 8 */
    };

    for (size_t i = 0; i < G_N_ELEMENTS(init); i++) {
        vs_i8259_write(&b->pic, init[i].port, init[i].val);
    }
    vs_i8254_write(&b->pit, VS_I8254_PORT + 3, 0x34);   /* channel 0, word, mode 2 */
    vs_i8254_write(&b->pit, VS_I8254_PORT, BOARD_PIT_DIVISOR & 0xff);
    vs_i8254_write(&b->pit, VS_I8254_PORT, BOARD_PIT_DIVISOR >> 8);
    vs_rtc_write(&b->rtc, VS_RTC_PORT, VS_RTC_REG_B);
    vs_rtc_write(&b->rtc, VS_RTC_PORT + 1, VS_RTC_B_PIE | VS_RTC_B_24H);
    vs_serial_write(&b->com1, 3, 0x03);         /* LCR: 8N1 */
    vs_serial_write(&b->com1, 2, 0x07);         /* FCR: FIFOs on and cleared */
}

static void board_wire(VsBoard *b)
{
    vs_clock_init_host(&b->clock);
    vs_i8259_init(&b->pic, vs_irq_make(board_intr, b, 0));
    vs_i8254_init(&b->pit, &b->clock, vs_i8259_input(&b->pic, 0));
    vs_rtc_init(&b->rtc, &b->clock, vs_i8259_input(&b->pic, 8));
    /* Output goes nowhere, as with QEMU's -serial null. */
    vs_serial_init(&b->com1, &b->clock, vs_i8259_input(&b->pic, 4), NULL, NULL, false);
}

VsBoard *vs_board_new(TALLOC_CTX *mem_ctx, VsSaveState *devices, bool with_demo,
                      GError **errp)
{
    VsBoard *b = talloc_zero(mem_ctx, VsBoard);

    g_assert(b != NULL);
    board_register_types();
    board_wire(b);
    board_program(b);
    /* Seed 1: both demo slots point at board storage, on every VM alike. */
    vs_ex_demo_fill(&b->demo, b->demo_slots, 1);
    for (size_t i = 0; i < G_N_ELEMENTS(board_devices); i++) {
        const BoardDevice *d = &board_devices[i];
        const VsRegistryEntry *e = vs_registry_lookup(d->wire_name);

        g_assert(e != NULL);
        if (!with_demo && strcmp(d->idstr, "vsdemo") == 0) {
            continue;
        }
        if (!vs_savevm_add_device(devices, d->idstr, d->instance_id, e, (char *)b + d->offset, 0,
                                  errp)) {
            talloc_free(b);
            return NULL;
        }
    }
    return b;
}

/* The "CPU": take what the PICs deliver, end each interrupt as a handler does. */
static void board_service_interrupts(VsBoard *b)
{
    for (int guard = 0; guard < 32; guard++) {
        int line = vs_i8259_pending(&b->pic);

        if (line < 0) {
            return;
        }
        (void)vs_i8259_acknowledge(&b->pic);
        b->interrupts++;
        if (line == 8) {
            /* Reading register C clears the RTC's interrupt flags. */
            vs_rtc_write(&b->rtc, VS_RTC_PORT, VS_RTC_REG_C);
            (void)vs_rtc_read(&b->rtc, VS_RTC_PORT + 1);
        }
        if (line >= 8) {
            vs_i8259_write(&b->pic, 0xa0, 0x20);   /* EOI to the slave */
        }
        vs_i8259_write(&b->pic, 0x20, 0x20);       /* EOI to the master */
    }
}

void vs_board_tick(VsBoard *b, uint64_t n)
{
    vs_i8254_run(&b->pit);
    vs_rtc_run(&b->rtc);
    vs_serial_run_timers(&b->com1);
    /* A console line now and then: one byte per tick into the UART. */
    vs_serial_write(&b->com1, 0, (uint8_t)('a' + n % 26));
    board_service_interrupts(b);
    b->demo.counter = b->interrupts;
    b->demo.temperature = (int32_t)(n % 97) - 20;
}
