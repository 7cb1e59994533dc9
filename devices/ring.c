/*
 * ring.c - the queue device: descriptor and used rings, in-flight
 * requests completed against the clock, an interrupt per queue.
 */
#include "devices/ring.h"

#include <string.h>

static RingQueue *queue(const VsRing *r, unsigned q)
{
    return q < VS_RING_MAX_QUEUES ? r->state.queues[q] : NULL;
}

static void update_irq(VsRing *r)
{
    vs_irq_set(&r->irq, (r->state.isr & r->state.irq_mask) != 0);
}

static void clear_queue(RingQueue *rq)
{
    uint16_t size = rq->size;

    TALLOC_FREE(rq->pending);
    memset(rq, 0, sizeof(*rq));
    rq->size = size;
}

VsRing *vs_ring_new(TALLOC_CTX *mem_ctx, VsClock *clock, VsIrq irq, unsigned nqueues,
                    uint16_t size, uint32_t ns_per_byte)
{
    VsRing *r;

    if (nqueues < 1 || nqueues > VS_RING_MAX_QUEUES || size == 0 ||
        size > VS_RING_MAX_SIZE || (size & (size - 1))) {
        return NULL;
    }
    r = talloc_zero(mem_ctx, VsRing);
    r->mem = r;
    r->clock = clock;
    r->irq = irq;
    for (unsigned q = 0; q < nqueues; q++) {
        r->state.queues[q] = talloc_zero(r, RingQueue);
        r->state.queues[q]->size = size;
    }
    r->state.ns_per_byte = ns_per_byte;
    vs_ring_reset(r);
    return r;
}

void vs_ring_reset(VsRing *r)
{
    uint32_t ns_per_byte = r->state.ns_per_byte;

    for (unsigned q = 0; q < VS_RING_MAX_QUEUES; q++) {
        if (queue(r, q)) {
            clear_queue(queue(r, q));
        }
    }
    r->state.status = 0;
    r->state.isr = 0;
    r->state.irq_mask = 0;
    r->state.completed = 0;
    r->state.ns_per_byte = ns_per_byte;
    update_irq(r);
}

void vs_ring_enable(VsRing *r, bool on)
{
    if (on) {
        r->state.status |= VS_RING_ENABLED;
    } else {
        r->state.status &= ~(uint32_t)VS_RING_ENABLED;
    }
}

void vs_ring_set_irq_mask(VsRing *r, uint32_t mask)
{
    r->state.irq_mask = mask;
    update_irq(r);
}

/* Free-running 16-bit indices: the distance between two of them. */
static uint16_t distance(uint16_t from, uint16_t to)
{
    return (uint16_t)(to - from);
}

bool vs_ring_post(VsRing *r, unsigned q, uint64_t addr, uint32_t len, uint16_t id)
{
    RingQueue *rq = queue(r, q);
    RingDesc *d;

    if (!rq || distance(rq->last_avail, rq->avail_idx) >= rq->size) {
        return false;
    }
    d = &rq->desc[rq->avail_idx & (rq->size - 1)];
    *d = (RingDesc){ .addr = addr, .len = len, .id = id };
    rq->avail_idx++;
    return true;
}

void vs_ring_notify(VsRing *r, unsigned q)
{
    RingQueue *rq = queue(r, q);
    int64_t start;

    if (!rq || !(r->state.status & VS_RING_ENABLED)) {
        return;
    }
    start = vs_clock_now(r->clock);
    while (rq->last_avail != rq->avail_idx && rq->pending_count < rq->size) {
        const RingDesc *d = &rq->desc[rq->last_avail & (rq->size - 1)];
        RingRequest *req;
        int64_t begin = start;

        /* Requests of one queue complete in order: each starts when the last ends. */
        if (rq->pending_count) {
            begin = rq->pending[rq->pending_count - 1].done_at;
        }
        rq->pending = talloc_realloc(r->mem, rq->pending, RingRequest, rq->pending_count + 1);
        req = &rq->pending[rq->pending_count++];
        *req = (RingRequest){ .id = d->id, .len = d->len,
                              .done_at = begin + (int64_t)d->len * r->state.ns_per_byte };
        rq->last_avail++;
    }
}

/* Moves the first pending request of @rq to the used ring. */
static void complete_first(VsRing *r, unsigned q, RingQueue *rq)
{
    RingUsed *u = &rq->used[rq->used_idx & (rq->size - 1)];

    u->id = rq->pending[0].id;
    u->len = rq->pending[0].len;
    rq->used_idx++;
    rq->pending_count--;
    memmove(rq->pending, rq->pending + 1, rq->pending_count * sizeof(*rq->pending));
    r->state.completed++;
    r->state.isr |= 1u << q;
}

void vs_ring_run(VsRing *r)
{
    int64_t t = vs_clock_now(r->clock);

    for (unsigned q = 0; q < VS_RING_MAX_QUEUES; q++) {
        RingQueue *rq = queue(r, q);

        /* A completion waits while the used ring is full. */
        while (rq && rq->pending_count && rq->pending[0].done_at <= t &&
               distance(rq->used_seen, rq->used_idx) < rq->size) {
            complete_first(r, q, rq);
        }
    }
    update_irq(r);
}

int64_t vs_ring_next_deadline(const VsRing *r)
{
    int64_t next = -1;

    for (unsigned q = 0; q < VS_RING_MAX_QUEUES; q++) {
        const RingQueue *rq = queue(r, q);

        if (rq && rq->pending_count && (next < 0 || rq->pending[0].done_at < next)) {
            next = rq->pending[0].done_at;
        }
    }
    return next;
}

unsigned vs_ring_in_flight(const VsRing *r, unsigned q)
{
    const RingQueue *rq = queue(r, q);

    return rq ? rq->pending_count : 0;
}

bool vs_ring_take_used(VsRing *r, unsigned q, uint16_t *id, uint32_t *len)
{
    RingQueue *rq = queue(r, q);
    const RingUsed *u;

    if (!rq || rq->used_seen == rq->used_idx) {
        return false;
    }
    u = &rq->used[rq->used_seen & (rq->size - 1)];
    *id = u->id;
    *len = u->len;
    rq->used_seen++;
    return true;
}

uint32_t vs_ring_ack(VsRing *r)
{
    uint32_t isr = r->state.isr;

    r->state.isr = 0;
    update_irq(r);
    return isr;
}

bool vs_ring_visit(VsRing *r, VsVisitor *v, GError **errp)
{
    bool load = vs_visit_is_load(v);

    if (load) {
        /* The stream brings new pending lists; the old ones go. */
        for (unsigned q = 0; q < VS_RING_MAX_QUEUES; q++) {
            if (queue(r, q)) {
                TALLOC_FREE(queue(r, q)->pending);
                queue(r, q)->pending_count = 0;
            }
        }
    }
    if (!vs_visit_RingDevice(v, "ring", &r->state, errp)) {
        return false;
    }
    if (load) {
        /* The lists the load allocated belong to the device from now on. */
        for (unsigned q = 0; q < VS_RING_MAX_QUEUES; q++) {
            if (queue(r, q) && queue(r, q)->pending) {
                talloc_steal(r->mem, queue(r, q)->pending);
            }
        }
        update_irq(r);
    }
    return true;
}
