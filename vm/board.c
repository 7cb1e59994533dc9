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
 * Besides these, every other device model of devices/ is on the board: the
 * PIIX3 PCI-to-ISA bridge (function 0000:00:01.0, with the "PCIBUS"
 * section of the bus it routes), the lease table of a user-mode network's
 * BOOTP server ("bootp") and the queue device ("ring").  The last two are
 * not QEMU devices either, so like vsdemo they stay off a board that must
 * migrate into QEMU (vs_board_new()'s @with_demo).
 *
 * The board is wired as a PC: the PIT on IRQ 0, COM1 on IRQ 4, the queue
 * device on IRQ 5 (free on a PC), the RTC on IRQ 8, PCI interrupts routed by
 * PIIX3 (PIRQA-D to IRQ 10, 10, 11, 11 as SeaBIOS sets them), the slave PIC
 * cascaded on line 2, the master's INT to a "CPU" that the workload's tick
 * plays: it acknowledges pending interrupts, sends EOIs, reads RTC register
 * C and takes the queue device's completions, as a guest's handlers do.
 * The tick also plays a guest's drivers: requests posted to the queue
 * device, BOOTP clients taking short leases that run out, and now and then
 * a rebalanced PCI interrupt route.
 */
#include "vm/board.h"
#include "devices/bootp.h"
#include "devices/i8254.h"
#include "devices/i8259.h"
#include "devices/mc146818rtc.h"
#include "devices/piix3.h"
#include "devices/ring.h"
#include "devices/serial.h"
#include "examples/example-walkers.h"

#include <string.h>

struct VsBoard {
    VsClock clock;
    VsI8259Pair pic;
    VsI8254 pit;
    VsRtc rtc;
    VsSerial com1;
    VsPciBus pci_bus;
    VsPiix3 piix3;
    VsBootp bootp;
    VsRing *ring;
    VsExDemo demo;
    VsExInner demo_slots[VS_EX_SLOTS];
    uint64_t interrupts;         /* acknowledged by the "CPU" */
};

typedef struct BoardDevice {
    const char *idstr;
    uint32_t instance_id;
    const char *wire_name;       /* registry entry: its type (and walker) */
    size_t offset;               /* of the object walked, in VsBoard */
    VsWalkerFn walker;           /* NULL: the registry's; else the model's own visit */
    bool in_qemu;                /* QEMU 7.2's pc-i440fx has it */
} BoardDevice;

/*
 * The models' own visit functions, where a load must do more than the
 * fields: PIIX3 takes its PIRQ levels from the bus, the queue device keeps
 * the pending lists the load allocates and drives its interrupt line.
 */
static bool board_walk_piix3(VsVisitor *v, const char *name, void *obj, GError **errp)
{
    (void)name;
    return vs_piix3_visit(obj, v, errp);
}

static bool board_walk_ring(VsVisitor *v, const char *name, void *obj, GError **errp)
{
    (void)name;
    return vs_ring_visit(*(VsRing **)obj, v, errp);
}

/*
 * Adding a device: its state in VsBoard, its wiring in board_wire(), a line
 * here.  PCIBUS precedes PIIX3, as in QEMU's streams: PIIX3's load reads the
 * bus's levels.
 */
static const BoardDevice board_devices[] = {
    { "i8259", 0, "i8259", offsetof(VsBoard, pic.chips[0].state), NULL, true },
    { "i8259", 1, "i8259", offsetof(VsBoard, pic.chips[1].state), NULL, true },
    { "i8254", 0, "i8254", offsetof(VsBoard, pit.state), NULL, true },
    { "mc146818rtc", 0, "mc146818rtc", offsetof(VsBoard, rtc.state), NULL, true },
    { "serial", 0, "serial", offsetof(VsBoard, com1.regs), NULL, true },
    { "PCIBUS", 0, "PCIBUS", offsetof(VsBoard, pci_bus.regs), NULL, true },
    { "0000:00:01.0/PIIX3", 0, "PIIX3", offsetof(VsBoard, piix3), board_walk_piix3, true },
    { "bootp", 0, "bootp", offsetof(VsBoard, bootp.state), NULL, false },
    { "ring", 0, "ring", offsetof(VsBoard, ring), board_walk_ring, false },
    { "vsdemo", 0, "vsdemo", offsetof(VsBoard, demo), NULL, false },
};

/* PIT channel 0 at 100 Hz, as a guest kernel programs it. */
#define BOARD_PIT_DIVISOR 11932u
/* Interrupt lines of the devices that are not in a PC's fixed map. */
#define BOARD_RING_IRQ 5
#define BOARD_PIRQ_IRQ_A 10
#define BOARD_PIRQ_IRQ_C 11
/* PIIX3 is PCI device 1, function 0. */
#define BOARD_PIIX3_DEVFN (1 << 3)
/*
 * The user-mode network: 10.0.2.0/24, clients from .15, leases of 1 s: a
 * client comes back every 1.6 s, so leases are seen to run out.
 */
#define BOARD_NET 0x0a000200u
#define BOARD_NET_FIRST 15
#define BOARD_LEASE_S 1
/* The queue device: 2 queues of 16, 10 us per byte (a 4 KiB request takes about 4 ticks). */
#define BOARD_RING_QUEUES 2
#define BOARD_RING_SIZE 16
#define BOARD_RING_NS_PER_BYTE 10000

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
    vs_schema_pci_register();
    vs_schema_piix3_register();
    vs_schema_bootp_register();
    vs_schema_ring_register();
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
        { 0x21, 0xda }, { 0xa1, 0xf2 },                          /* unmask 0, 2, 5, 8, 10, 11 */
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
    /* SeaBIOS's PCI interrupt routing: PIRQA-D to IRQ 10, 10, 11, 11. */
    vs_pci_config_write(&b->piix3.pci, VS_PIIX3_PIRQCA,
                        BOARD_PIRQ_IRQ_A | BOARD_PIRQ_IRQ_A << 8 | BOARD_PIRQ_IRQ_C << 16 |
                            (uint32_t)BOARD_PIRQ_IRQ_C << 24, 4);
    vs_ring_set_irq_mask(b->ring, (1u << BOARD_RING_QUEUES) - 1);
    vs_ring_enable(b->ring, true);
}

static void board_wire(VsBoard *b)
{
    VsIrq isa[VS_PIIX3_NUM_PIC_IRQS];

    vs_clock_init_host(&b->clock);
    vs_i8259_init(&b->pic, vs_irq_make(board_intr, b, 0));
    for (int i = 0; i < VS_PIIX3_NUM_PIC_IRQS; i++) {
        isa[i] = vs_i8259_input(&b->pic, i);
    }
    vs_i8254_init(&b->pit, &b->clock, isa[0]);
    vs_rtc_init(&b->rtc, &b->clock, isa[8]);
    /* Output goes nowhere, as with QEMU's -serial null. */
    vs_serial_init(&b->com1, &b->clock, isa[4], NULL, NULL, false);
    vs_pci_bus_init(&b->pci_bus, VS_PIIX3_NUM_PIRQS, NULL, NULL, NULL);
    /* No reset handler: a guest's reset request through 0xcf9 is ignored. */
    vs_piix3_init(&b->piix3, &b->pci_bus, BOARD_PIIX3_DEVFN, isa, NULL, NULL);
    vs_bootp_init(&b->bootp, &b->clock, BOARD_NET, BOARD_NET_FIRST, BOARD_LEASE_S);
    b->ring = vs_ring_new(b, &b->clock, isa[BOARD_RING_IRQ], BOARD_RING_QUEUES, BOARD_RING_SIZE,
                          BOARD_RING_NS_PER_BYTE);
    g_assert(b->ring != NULL);
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
        if (!with_demo && !d->in_qemu) {
            continue;
        }
        if (d->walker) {
            /* The registry's type, the model's walk; lives as long as the board. */
            VsRegistryEntry *own = talloc_zero(b, VsRegistryEntry);

            g_assert(own != NULL);
            *own = (VsRegistryEntry){ .type = e->type, .walker = d->walker };
            e = own;
        }
        if (!vs_savevm_add_device(devices, d->idstr, d->instance_id, e, (char *)b + d->offset, 0,
                                  errp)) {
            talloc_free(b);
            return NULL;
        }
    }
    return b;
}

/* The queue device's interrupt handler: status read (and cleared), completions taken. */
static void board_ring_completions(VsBoard *b)
{
    uint32_t isr = vs_ring_ack(b->ring);

    for (unsigned q = 0; q < BOARD_RING_QUEUES; q++) {
        uint16_t id;
        uint32_t len;

        while ((isr & (1u << q)) && vs_ring_take_used(b->ring, q, &id, &len)) {
        }
    }
}

/* A driver's request every tick, on alternating queues, 512 bytes to 8 KiB. */
static void board_ring_request(VsBoard *b, uint64_t n)
{
    unsigned q = (unsigned)(n % BOARD_RING_QUEUES);
    uint32_t len = 512u << (n % 5);

    if (vs_ring_post(b->ring, q, 0x100000 + (n % 256) * 0x2000, len, (uint16_t)n)) {
        vs_ring_notify(b->ring, q);
    }
}

/*
 * BOOTP clients: every 10 ticks (from the first) one of the sixteen asks
 * for an address and binds it for the short lease; every 70 ticks one gives
 * its address back; leases and offers run out as the clock goes.
 */
static void board_bootp_clients(VsBoard *b, uint64_t n)
{
    uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0 };
    uint32_t addr;

    if (n % 10 == 1) {
        mac[5] = (uint8_t)(n / 10 % VS_BOOTP_CLIENTS);
        if (vs_bootp_discover(&b->bootp, mac, (uint32_t)n, &addr)) {
            (void)vs_bootp_request(&b->bootp, mac, (uint32_t)n, addr, &addr);
        }
    }
    if (n % 70 == 35) {
        mac[5] = (uint8_t)(n / 70 % VS_BOOTP_CLIENTS);
        (void)vs_bootp_release(&b->bootp, mac);
    }
    (void)vs_bootp_expire(&b->bootp);
}

/* Every second a guest rebalancing its PCI interrupts swaps PIRQD between IRQ 11 and 10. */
static void board_pirq_balance(VsBoard *b, uint64_t n)
{
    if (n % 100 == 0) {
        uint8_t irq = (n / 100) % 2 ? BOARD_PIRQ_IRQ_A : BOARD_PIRQ_IRQ_C;

        vs_pci_config_write(&b->piix3.pci, VS_PIIX3_PIRQCA + 3, irq, 1);
    }
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
        if (line == BOARD_RING_IRQ) {
            board_ring_completions(b);
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
    vs_ring_run(b->ring);
    /* A console line now and then: one byte per tick into the UART. */
    vs_serial_write(&b->com1, 0, (uint8_t)('a' + n % 26));
    board_ring_request(b, n);
    board_bootp_clients(b, n);
    board_pirq_balance(b, n);
    board_service_interrupts(b);
    b->demo.counter = b->interrupts;
    b->demo.temperature = (int32_t)(n % 97) - 20;
}
