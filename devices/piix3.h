/*
 * piix3.h - the PIIX3 PCI-to-ISA bridge: PIRQ routing and reset control.
 *
 * The PCI bus reports its four PIRQ lines here; PIIX3 routes each to the
 * ISA interrupt its config register 0x60 + n names (bit 7 set: disabled)
 * and drives that PIC input while any line routed to it is asserted.
 * Port 0xcf9 (reset control) requests a system reset.  The migratable
 * state is PIIX3State (schema/piix3.vs, QEMU 7.2's "PIIX3" section).
 */
#ifndef VSTATE_DEVICES_PIIX3_H
#define VSTATE_DEVICES_PIIX3_H

#include "devices/irq.h"
#include "devices/pci.h"
#include "piix3.vs.h"

#define VS_PIIX3_NUM_PIRQS 4
#define VS_PIIX3_NUM_PIC_IRQS 16
#define VS_PIIX3_PIRQCA 0x60        /* routing registers PIRQA..PIRQD */
#define VS_PIIX3_PIRQ_DISABLE 0x80
#define VS_PIIX3_RCR_IOPORT 0xcf9
#define VS_PIIX3_RCR_SYS_RST 0x02   /* hard reset (kept) */
#define VS_PIIX3_RCR_RST_CPU 0x04   /* requests the reset (not kept) */
#define VS_PIIX3_VENDOR 0x8086
#define VS_PIIX3_DEVICE 0x7000      /* 82371SB function 0 */
#define VS_PIIX3_CLASS 0x060100     /* ISA bridge */

typedef void (*VsPiix3ResetRequest)(void *opaque, bool hard);

typedef struct VsPiix3 {
    PIIX3State regs;                /* the migratable state */
    VsPciFunction pci;
    VsIrq pic[VS_PIIX3_NUM_PIC_IRQS];
    VsPiix3ResetRequest reset_request;
    void *reset_opaque;
} VsPiix3;

/*
 * Creates PIIX3 as function @devfn of @bus and makes it the bus's interrupt
 * router (the bus's set_irq and map_irq become PIIX3's).  @pic: the 16 ISA
 * interrupt inputs.  Ends with a reset.
 */
void vs_piix3_init(VsPiix3 *d, VsPciBus *bus, uint8_t devfn, const VsIrq pic[16],
                   VsPiix3ResetRequest reset_request, void *reset_opaque);
void vs_piix3_reset(VsPiix3 *d);

/* The i440FX board's swizzle: slot s pin p drives PIRQ (p + s - 1) mod 4. */
int vs_piix3_map_irq(const VsPciFunction *f, int pin);
/* The PIC input PIRQ @pirq is routed to, or -1 when disabled. */
int vs_piix3_route(const VsPiix3 *d, int pirq);
/* Whether PIIX3 currently asserts PIC input @pic_irq. */
bool vs_piix3_pic_level(const VsPiix3 *d, int pic_irq);

uint8_t vs_piix3_rcr_read(const VsPiix3 *d);
void vs_piix3_rcr_write(VsPiix3 *d, uint8_t val);

/*
 * Saves or loads the "PIIX3" section.  After a load the routing state is
 * rebuilt from the PIRQ levels of the bus, which is authoritative (the
 * "PCIBUS" section comes first in a stream); the PIC inputs are left for
 * the PIC's own state to restore.
 */
bool vs_piix3_visit(VsPiix3 *d, VsVisitor *v, GError **errp);

#endif
