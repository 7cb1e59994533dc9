/*
 * i8259.h - the PC's pair of Intel 8259A interrupt controllers.
 *
 * The master (ports 0x20/0x21, ELCR 0x4d0) takes lines 0-7 and the slave
 * (0xa0/0xa1, ELCR 0x4d1) lines 8-15; the slave's output is the master's
 * line 2.  The master's output is the INT line to the CPU, which answers
 * with vs_i8259_acknowledge() (INTA) to fetch the vector.
 *
 * Each chip's migratable state is the schema's (schema/i8259.vs, QEMU 7.2's
 * "i8259" section, instance 0 the master, 1 the slave): VsI8259Chip embeds
 * it and adds only its place in the pair.  Load a section into
 * vs_i8259_state(pair, n) of an initialised pair (the post_load hook finds
 * the pair from it) and the INT line follows the loaded state; a bare copy
 * of the state loads too, with no device to drive.
 *
 * What is modelled: ICW1-4 initialisation (cascade or single, ICW4 or not),
 * edge and level triggering (ELCR per line, ICW1 LTIM for all), fixed and
 * rotating priorities, non-specific/specific EOI with or without rotation,
 * automatic EOI (with rotation), special mask and special fully nested
 * modes, IMR/IRR/ISR reads selected by OCW3 and the poll command.  Not
 * modelled: buffered mode and the 8080 call sequence (x86 has neither).
 */
#ifndef VSTATE_DEVICES_I8259_H
#define VSTATE_DEVICES_I8259_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/irq.h"
#include "i8259.vs.h"

typedef struct VsI8259Pair VsI8259Pair;

typedef struct VsI8259Chip {
    VsI8259State state;      /* the migratable state, exactly the schema's */
    VsI8259Pair *pair;
    bool master;
    uint8_t elcr_mask;       /* ELCR bits the chip implements */
} VsI8259Chip;

struct VsI8259Pair {
    VsI8259Chip chips[2];    /* [0] master, [1] slave */
    VsIrq intr;              /* INT to the CPU */
    int intr_level;          /* the level last driven on intr */
};

/* Ports. */
enum {
    VS_I8259_MASTER_PORT = 0x20,
    VS_I8259_SLAVE_PORT = 0xa0,
    VS_I8259_MASTER_ELCR = 0x4d0,
    VS_I8259_SLAVE_ELCR = 0x4d1,
};

/* Wires the pair to the CPU's INT line and resets both chips (power on). */
void vs_i8259_init(VsI8259Pair *pair, VsIrq intr);

/* Sets input line @irq (0-15) to @level (0 or 1). */
void vs_i8259_set_irq(VsI8259Pair *pair, int irq, int level);

/* A VsIrq that drives line @irq of @pair (to wire other devices to it). */
VsIrq vs_i8259_input(VsI8259Pair *pair, int irq);

/*
 * INTA: the CPU takes the highest-priority pending interrupt.  Returns its
 * vector; with nothing pending, the spurious vector of line 7 of the chip
 * concerned (as the hardware does).
 */
uint8_t vs_i8259_acknowledge(VsI8259Pair *pair);

/* The line (0-15) INTA would deliver now, or -1 when the INT line is low. */
int vs_i8259_pending(const VsI8259Pair *pair);

/* Port I/O: 0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1; other ports read 0xff. */
uint8_t vs_i8259_read(VsI8259Pair *pair, uint16_t port);
void vs_i8259_write(VsI8259Pair *pair, uint16_t port, uint8_t val);

/* Chip @n's migratable state (0 master, 1 slave). */
static inline VsI8259State *vs_i8259_state(VsI8259Pair *pair, int n)
{
    return &pair->chips[n].state;
}

#endif
