/*
 * irq.h - interrupt lines between device models.
 *
 * A device raises and lowers its outputs through a VsIrq: a callback plus
 * an opaque pointer and a line number, so a board can wire a UART to a PIC
 * input, a PIC to a CPU stub or a test recorder without the devices knowing
 * each other.  An unconnected line (handler NULL) is valid and does nothing.
 */
#ifndef VSTATE_DEVICES_IRQ_H
#define VSTATE_DEVICES_IRQ_H

#include <stdbool.h>

typedef void (*VsIrqHandler)(void *opaque, int line, int level);

typedef struct VsIrq {
    VsIrqHandler handler;
    void *opaque;
    int line;
} VsIrq;

static inline VsIrq vs_irq_make(VsIrqHandler handler, void *opaque, int line)
{
    return (VsIrq){ .handler = handler, .opaque = opaque, .line = line };
}

static inline void vs_irq_set(const VsIrq *irq, int level)
{
    if (irq->handler) {
        irq->handler(irq->opaque, irq->line, level);
    }
}

static inline void vs_irq_raise(const VsIrq *irq) { vs_irq_set(irq, 1); }
static inline void vs_irq_lower(const VsIrq *irq) { vs_irq_set(irq, 0); }

/* One pulse: raise then lower, for edge-triggered inputs. */
static inline void vs_irq_pulse(const VsIrq *irq)
{
    vs_irq_set(irq, 1);
    vs_irq_set(irq, 0);
}

#endif
