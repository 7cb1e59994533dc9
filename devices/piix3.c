/*
 * piix3.c - PIIX3 PIRQ routing, reset control and the hook schema/piix3.vs
 * names.
 */
#include "devices/piix3.h"

#include <string.h>

static int route_of(const PIIX3State *s, int pirq)
{
    return s->dev.config[VS_PIIX3_PIRQCA + pirq];
}

int vs_piix3_route(const VsPiix3 *d, int pirq)
{
    int irq;

    if (pirq < 0 || pirq >= VS_PIIX3_NUM_PIRQS) {
        return -1;
    }
    irq = route_of(&d->regs, pirq);
    return irq < VS_PIIX3_NUM_PIC_IRQS ? irq : -1;
}

/* Records in pic_levels whether @pirq asserts the PIC input it is routed to. */
static void set_level_internal(PIIX3State *s, int pirq, int level)
{
    int pic_irq = route_of(s, pirq);
    uint64_t mask;

    if (pic_irq >= VS_PIIX3_NUM_PIC_IRQS) {
        return;
    }
    mask = 1ULL << (pic_irq * VS_PIIX3_NUM_PIRQS + pirq);
    s->pic_levels &= ~mask;
    if (level) {
        s->pic_levels |= mask;
    }
}

bool vs_piix3_pic_level(const VsPiix3 *d, int pic_irq)
{
    uint64_t lines = (1ULL << VS_PIIX3_NUM_PIRQS) - 1;

    if (pic_irq < 0 || pic_irq >= VS_PIIX3_NUM_PIC_IRQS) {
        return false;
    }
    return (d->regs.pic_levels >> (pic_irq * VS_PIIX3_NUM_PIRQS)) & lines;
}

static void drive_pic(VsPiix3 *d, int pic_irq)
{
    vs_irq_set(&d->pic[pic_irq], vs_piix3_pic_level(d, pic_irq));
}

/* Rebuilds pic_levels from the PIRQ levels and the current routing. */
static void rebuild_levels(PIIX3State *s)
{
    s->pic_levels = 0;
    for (int pirq = 0; pirq < VS_PIIX3_NUM_PIRQS; pirq++) {
        set_level_internal(s, pirq, s->pci_irq_levels_vmstate[pirq] != 0);
    }
}

/* The PCI bus: PIRQ @pirq changed level. */
static void piix3_set_irq(void *opaque, int pirq, int level)
{
    VsPiix3 *d = opaque;
    int pic_irq;

    if (pirq < 0 || pirq >= VS_PIIX3_NUM_PIRQS) {
        return;
    }
    d->regs.pci_irq_levels_vmstate[pirq] = level != 0;
    pic_irq = route_of(&d->regs, pirq);
    if (pic_irq >= VS_PIIX3_NUM_PIC_IRQS) {
        return;
    }
    set_level_internal(&d->regs, pirq, level);
    drive_pic(d, pic_irq);
}

int vs_piix3_map_irq(const VsPciFunction *f, int pin)
{
    int slot = f->devfn >> 3;

    return (pin + slot - 1) & 3;
}

/* A routing register changed: every PIC input may have changed. */
static void piix3_config_written(VsPciFunction *f, uint32_t addr, uint32_t val, int len)
{
    VsPiix3 *d = f->opaque;

    (void)val;
    if (addr < VS_PIIX3_PIRQCA + VS_PIIX3_NUM_PIRQS && addr + (uint32_t)len > VS_PIIX3_PIRQCA) {
        rebuild_levels(&d->regs);
        for (int pic_irq = 0; pic_irq < VS_PIIX3_NUM_PIC_IRQS; pic_irq++) {
            drive_pic(d, pic_irq);
        }
    }
}

/* Generic PCI reset: decoding, bus mastering and INTx off, errors cleared. */
static void pci_function_reset(VsPciFunction *f)
{
    PCIDevice *s = f->state;
    uint16_t cmd = vs_pci_get_word(s->config + VS_PCI_COMMAND);
    uint16_t status = vs_pci_get_word(s->config + VS_PCI_STATUS);

    for (int pin = 0; pin < VS_PCI_NUM_PINS; pin++) {
        vs_pci_set_irq(f, pin, 0);
    }
    cmd &= (uint16_t)~vs_pci_get_word(s->wmask + VS_PCI_COMMAND);
    status &= (uint16_t)~vs_pci_get_word(s->w1cmask + VS_PCI_STATUS);
    vs_pci_set_word(s->config + VS_PCI_COMMAND, cmd);
    vs_pci_set_word(s->config + VS_PCI_STATUS, status);
    s->config[VS_PCI_CACHE_LINE_SIZE] = 0;
    s->config[VS_PCI_INTERRUPT_LINE] = 0;
}

void vs_piix3_reset(VsPiix3 *d)
{
    static const struct { uint8_t off, val; } defaults[] = {
        { 0x04, 0x07 }, /* I/O, memory, bus master */
        { 0x05, 0x00 }, { 0x06, 0x00 },
        { 0x07, 0x02 }, /* DEVSEL medium */
        { 0x4c, 0x4d }, /* ISA I/O recovery */
        { 0x4e, 0x03 }, { 0x4f, 0x00 },
        { 0x60, 0x80 }, { 0x61, 0x80 }, { 0x62, 0x80 }, { 0x63, 0x80 }, /* PIRQs off */
        { 0x69, 0x02 }, { 0x70, 0x80 }, { 0x76, 0x0c }, { 0x77, 0x0c }, { 0x78, 0x02 },
        { 0x79, 0x00 }, { 0x80, 0x00 }, { 0x82, 0x00 }, { 0xa0, 0x08 }, { 0xa2, 0x00 },
        { 0xa3, 0x00 }, { 0xa4, 0x00 }, { 0xa5, 0x00 }, { 0xa6, 0x00 }, { 0xa7, 0x00 },
        { 0xa8, 0x0f }, { 0xaa, 0x00 }, { 0xab, 0x00 }, { 0xac, 0x00 }, { 0xae, 0x00 },
    };
    uint8_t *conf = d->regs.dev.config;

    pci_function_reset(&d->pci);
    for (size_t i = 0; i < G_N_ELEMENTS(defaults); i++) {
        conf[defaults[i].off] = defaults[i].val;
    }
    d->regs.pic_levels = 0;
    d->regs.rcr = 0;
    memset(d->regs.pci_irq_levels_vmstate, 0, sizeof(d->regs.pci_irq_levels_vmstate));
    for (int pirq = 0; pirq < VS_PIIX3_NUM_PIRQS && d->pci.bus; pirq++) {
        d->regs.pci_irq_levels_vmstate[pirq] = vs_pci_bus_irq_level(d->pci.bus, pirq);
    }
}

void vs_piix3_init(VsPiix3 *d, VsPciBus *bus, uint8_t devfn, const VsIrq pic[16],
                   VsPiix3ResetRequest reset_request, void *reset_opaque)
{
    memset(d, 0, sizeof(*d));
    vs_pci_function_init(&d->pci, &d->regs.dev, bus, devfn, VS_PIIX3_VENDOR, VS_PIIX3_DEVICE,
                         0, VS_PIIX3_CLASS, VS_PCI_HEADER_MULTI_FUNCTION);
    d->pci.opaque = d;
    d->pci.config_written = piix3_config_written;
    if (pic) {
        memcpy(d->pic, pic, sizeof(d->pic));
    }
    d->reset_request = reset_request;
    d->reset_opaque = reset_opaque;
    if (bus) {
        bus->map_irq = vs_piix3_map_irq;
        bus->set_irq = piix3_set_irq;
        bus->irq_opaque = d;
    }
    vs_piix3_reset(d);
}

uint8_t vs_piix3_rcr_read(const VsPiix3 *d)
{
    return d->regs.rcr;
}

void vs_piix3_rcr_write(VsPiix3 *d, uint8_t val)
{
    if (val & VS_PIIX3_RCR_RST_CPU) {
        if (d->reset_request) {
            d->reset_request(d->reset_opaque, (d->regs.rcr & VS_PIIX3_RCR_SYS_RST) != 0);
        }
        return;
    }
    d->regs.rcr = val & VS_PIIX3_RCR_SYS_RST;
}

bool vs_piix3_visit(VsPiix3 *d, VsVisitor *v, GError **errp)
{
    if (!vs_visit_PIIX3State(v, "PIIX3", &d->regs, errp)) {
        return false;
    }
    if (vs_visit_is_load(v) && d->pci.bus) {
        for (int pirq = 0; pirq < VS_PIIX3_NUM_PIRQS; pirq++) {
            d->regs.pci_irq_levels_vmstate[pirq] = vs_pci_bus_irq_level(d->pci.bus, pirq);
        }
        rebuild_levels(&d->regs);
    }
    return true;
}

/*
 * Rebuilds which PIC inputs are asserted without driving them: the PIC is
 * loaded separately and already holds its inputs' state.
 */
bool piix3_post_load(PIIX3State *s, uint32_t version, GError **errp)
{
    (void)errp;
    if (version < 3) {
        /* The levels came later; until the bus says otherwise none is asserted. */
        memset(s->pci_irq_levels_vmstate, 0, sizeof(s->pci_irq_levels_vmstate));
    }
    rebuild_levels(s);
    return true;
}
