/*
 * board.c: the demo VM's devices and their registration (see board.h).
 *
 * SPDX-License-Identifier: MIT
 *
 * One table lists the devices: their idstr and instance as QEMU names the
 * sections of a PC (ISA devices have no bus path, so the idstr is the bare
 * vmsd name), the registry entry whose walker moves their state, and where
 * that state lives.  The devices are, for now, the hand-written example
 * walkers (an 8259 PIC pair with QEMU 7.2's "i8259" layout, and a demo
 * device using every kind of field); device models from devices/ take a
 * line each here as they come.
 */
#include "vm/board.h"
#include "examples/example-walkers.h"

#include <string.h>

struct VsBoard {
    VsExPic pic[2];
    VsExDemo demo;
    VsExInner demo_slots[VS_EX_SLOTS];
};

typedef struct BoardDevice {
    const char *idstr;
    uint32_t instance_id;
    const char *wire_name;       /* registry entry */
    size_t offset;               /* of the state in VsBoard */
} BoardDevice;

static const BoardDevice board_devices[] = {
    { "i8259", 0, "i8259", offsetof(VsBoard, pic[0]) },
    { "i8259", 1, "i8259", offsetof(VsBoard, pic[1]) },
    { "vsdemo", 0, "vsdemo", offsetof(VsBoard, demo) },
};

/* The PIC pair as SeaBIOS leaves it (ICW2 vector bases, cascade on line 2). */
static void board_reset_pics(VsBoard *b)
{
    memset(b->pic, 0, sizeof(b->pic));
    b->pic[0].irq_base = 0x08;
    b->pic[0].imr = 0xb8;
    b->pic[0].init4 = 1;
    b->pic[1].irq_base = 0x70;
    b->pic[1].imr = 0x8e;
    b->pic[1].init4 = 1;
    b->pic[1].elcr = 0x0c;
}

VsBoard *vs_board_new(TALLOC_CTX *mem_ctx, VsSaveState *devices, GError **errp)
{
    VsBoard *b = talloc_zero(mem_ctx, VsBoard);

    g_assert(b != NULL);
    vs_ex_register();
    board_reset_pics(b);
    /* Seed 1: both demo slots point at board storage, on every VM alike. */
    vs_ex_demo_fill(&b->demo, b->demo_slots, 1);
    for (size_t i = 0; i < G_N_ELEMENTS(board_devices); i++) {
        const BoardDevice *d = &board_devices[i];
        const VsRegistryEntry *e = vs_registry_lookup(d->wire_name);

        g_assert(e != NULL);
        if (!vs_savevm_add_device(devices, d->idstr, d->instance_id, e, (char *)b + d->offset, 0,
                                  errp)) {
            talloc_free(b);
            return NULL;
        }
    }
    return b;
}

/* A timer on line 0 of the master: raised, serviced, acknowledged. */
void vs_board_tick(VsBoard *b, uint64_t n)
{
    VsExPic *master = &b->pic[0];

    master->irr = (uint8_t)(n & 1);
    master->isr = (uint8_t)((n >> 1) & 1);
    master->last_irr = master->irr;
    master->priority_add = (uint8_t)(n % 8);
    b->pic[1].irr = (uint8_t)((n >> 3) & 0x01);
    b->demo.counter++;
    b->demo.temperature = (int32_t)(n % 97) - 20;
    b->demo.inner.mask = (uint32_t)n;
}
