/*
 * ring.h - a queue device: the driver posts descriptors on a ring, the
 * device takes them, works on each for a time proportional to its length,
 * and writes a completion to the used ring, raising its interrupt.
 *
 * The device is built with 1 to 4 queues (a property, like a virtio
 * device's queue count), each with a power-of-two ring size; queues that
 * do not exist are NULL in the state and on the wire.  In-flight requests
 * are a list that varies in length.  State: RingDevice (schema/ring.vs).
 */
#ifndef VSTATE_DEVICES_RING_H
#define VSTATE_DEVICES_RING_H

#include <talloc.h>

#include "devices/clock.h"
#include "devices/irq.h"
#include "ring.vs.h"

#define VS_RING_MAX_QUEUES 4
#define VS_RING_MAX_SIZE 64
#define VS_RING_ENABLED 0x1

typedef struct VsRing {
    RingDevice state;       /* the migratable state */
    TALLOC_CTX *mem;        /* owns the queues and pending lists */
    VsClock *clock;
    VsIrq irq;
} VsRing;

/*
 * A device with @nqueues queues of @size entries (a power of two up to 64),
 * allocated under @mem_ctx.  Returns NULL for an impossible configuration.
 */
VsRing *vs_ring_new(TALLOC_CTX *mem_ctx, VsClock *clock, VsIrq irq, unsigned nqueues,
                    uint16_t size, uint32_t ns_per_byte);
void vs_ring_reset(VsRing *r);
void vs_ring_enable(VsRing *r, bool on);
void vs_ring_set_irq_mask(VsRing *r, uint32_t mask);

/* Driver side: posts a buffer; false when the ring is full or the queue absent. */
bool vs_ring_post(VsRing *r, unsigned q, uint64_t addr, uint32_t len, uint16_t id);
/* Driver side: rings the doorbell; the device takes what was posted. */
void vs_ring_notify(VsRing *r, unsigned q);
/* Driver side: takes one completion; false when there is none. */
bool vs_ring_take_used(VsRing *r, unsigned q, uint16_t *id, uint32_t *len);
/* Driver side: reads and clears the interrupt status. */
uint32_t vs_ring_ack(VsRing *r);

/* Completes the requests whose time has come. */
void vs_ring_run(VsRing *r);
/* The earliest completion time, or -1. */
int64_t vs_ring_next_deadline(const VsRing *r);
/* Requests in flight on queue @q. */
unsigned vs_ring_in_flight(const VsRing *r, unsigned q);

/*
 * Saves or loads the "ring" section.  A load needs a device built with the
 * same queues (as in QEMU, the configuration is not migrated); pending
 * lists are allocated under the device.
 */
bool vs_ring_visit(VsRing *r, VsVisitor *v, GError **errp);

#endif
