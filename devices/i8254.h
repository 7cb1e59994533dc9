/*
 * i8254.h - the Intel 8254 programmable interval timer of the PC.
 *
 * Three 16-bit down counters clocked at 1.193182 MHz: channel 0 drives IRQ 0,
 * channel 1 once refreshed DRAM, channel 2 feeds the speaker (its gate is
 * port 0x61 bit 0).  Ports 0x40-0x42 are the counters, 0x43 the control word.
 *
 * The migratable state is the schema's (schema/i8254.vs, QEMU 7.2's "i8254"
 * section): VsI8254 embeds it.  Counters are not stepped: a counter's value
 * is computed from when it was loaded (count_load_time) and the virtual
 * clock's now, as QEMU does, so time is "advanced" by moving the clock and
 * calling vs_i8254_run(), which drives channel 0's output transitions that
 * fell due onto the interrupt line.
 *
 * What is modelled: modes 0-5 (6 and 7 are aliases of 2 and 3), LSB/MSB/word
 * access, the counter latch command, the read-back command (count and
 * status latches), output levels, the gate's retrigger in modes 1, 2, 3
 * and 5.  Not modelled, as in QEMU: a low gate pausing modes 0, 2, 3 and 4,
 * BCD counting (the bit is kept), the null-count status bit; in modes 1 and
 * 5 writing the count also starts it, as if the gate had risen.
 */
#ifndef VSTATE_DEVICES_I8254_H
#define VSTATE_DEVICES_I8254_H

#include <stdint.h>

#include "devices/clock.h"
#include "devices/irq.h"
#include "i8254.vs.h"

#define VS_I8254_FREQ 1193182   /* Hz */
#define VS_I8254_PORT 0x40

/* read_state/write_state/count_latched values, as QEMU keeps them. */
enum {
    VS_I8254_RW_LSB = 1,
    VS_I8254_RW_MSB = 2,
    VS_I8254_RW_WORD0 = 3,
    VS_I8254_RW_WORD1 = 4,
};

typedef struct VsI8254 {
    VsI8254State state;      /* the migratable state, exactly the schema's */
    VsClock *clock;
    VsIrq irq;               /* channel 0's output (IRQ 0) */
    int irq_level;           /* the level last driven on irq */
} VsI8254;

/* Wires the timer and resets it: every channel in mode 3 with count 0x10000. */
void vs_i8254_init(VsI8254 *pit, VsClock *clock, VsIrq irq);

/* Port I/O at 0x40-0x43 (the low two bits select the register). */
uint8_t vs_i8254_read(VsI8254 *pit, uint16_t port);
void vs_i8254_write(VsI8254 *pit, uint16_t port, uint8_t val);

/* Gate input of @channel (0-2); a rising edge retriggers modes 1, 2, 3, 5. */
void vs_i8254_set_gate(VsI8254 *pit, int channel, int level);

/* Output level of @channel now. */
int vs_i8254_out(VsI8254 *pit, int channel);

/* The value a read of @channel's counter would give now (no latch involved). */
uint16_t vs_i8254_count(VsI8254 *pit, int channel);

/*
 * Drives channel 0's output transitions that are due by the clock's now
 * onto the interrupt line, in order.  Returns the number of rising edges.
 * After a very long pause the ticks beyond 65536 are dropped, as a guest
 * that did not run could not have taken them.
 */
unsigned vs_i8254_run(VsI8254 *pit);

/* When channel 0's output changes next (virtual ns), or -1 never. */
int64_t vs_i8254_next_event(const VsI8254 *pit);

#endif
