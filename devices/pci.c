/*
 * pci.c - the PCI device base (config space, masks, INTx) and the PCI bus
 * (PIRQ counts), with the codecs schema/pci.vs names.
 */
#include "devices/pci.h"

#include <string.h>

/* ---- the bus -------------------------------------------------------- */

void vs_pci_bus_init(VsPciBus *bus, int nirq, VsPciMapIrq map_irq, VsPciSetIrq set_irq,
                     void *irq_opaque)
{
    memset(bus, 0, sizeof(*bus));
    if (nirq < 0) {
        nirq = 0;
    } else if (nirq > (int)G_N_ELEMENTS(bus->regs.irq_count)) {
        nirq = (int)G_N_ELEMENTS(bus->regs.irq_count);
    }
    bus->regs.nirq = nirq;
    bus->map_irq = map_irq;
    bus->set_irq = set_irq;
    bus->irq_opaque = irq_opaque;
}

static bool pirq_valid(const VsPciBus *bus, int pirq)
{
    return pirq >= 0 && pirq < bus->regs.nirq;
}

int vs_pci_bus_irq_level(const VsPciBus *bus, int pirq)
{
    return pirq_valid(bus, pirq) && bus->regs.irq_count[pirq] != 0;
}

static void bus_change_irq_level(VsPciBus *bus, int pirq, int change)
{
    int64_t count;

    if (!pirq_valid(bus, pirq)) {
        return;
    }
    /* A loaded count can be anything: saturate rather than overflow. */
    count = (int64_t)bus->regs.irq_count[pirq] + change;
    bus->regs.irq_count[pirq] = (int32_t)MAX(MIN(count, INT32_MAX), INT32_MIN);
    if (bus->set_irq) {
        bus->set_irq(bus->irq_opaque, pirq, bus->regs.irq_count[pirq] != 0);
    }
}

bool vs_pci_bus_visit(VsPciBus *bus, VsVisitor *v, GError **errp)
{
    return vs_visit_PCIBus(v, "PCIBUS", &bus->regs, errp);
}

/* ---- config space --------------------------------------------------- */

static void set_long(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint32_t get_long(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The masks a conventional PCI function starts with (QEMU's defaults). */
static void init_masks(PCIDevice *s)
{
    memset(s->wmask, 0, sizeof(s->wmask));
    memset(s->w1cmask, 0, sizeof(s->w1cmask));
    memset(s->cmask, 0, sizeof(s->cmask));

    /* Identity bytes a load must find unchanged. */
    vs_pci_set_word(s->cmask + VS_PCI_VENDOR_ID, 0xffff);
    vs_pci_set_word(s->cmask + VS_PCI_DEVICE_ID, 0xffff);
    s->cmask[VS_PCI_STATUS] = VS_PCI_STATUS_CAP_LIST;
    s->cmask[VS_PCI_REVISION_ID] = 0xff;
    s->cmask[VS_PCI_CLASS_PROG] = 0xff;
    vs_pci_set_word(s->cmask + VS_PCI_CLASS_DEVICE, 0xffff);
    s->cmask[VS_PCI_HEADER_TYPE] = 0xff;
    s->cmask[VS_PCI_CAPABILITY_LIST] = 0xff;

    /* What the guest may write in the header; all of the device-specific area. */
    s->wmask[VS_PCI_CACHE_LINE_SIZE] = 0xff;
    s->wmask[VS_PCI_INTERRUPT_LINE] = 0xff;
    vs_pci_set_word(s->wmask + VS_PCI_COMMAND,
                    VS_PCI_COMMAND_IO | VS_PCI_COMMAND_MEMORY | VS_PCI_COMMAND_MASTER |
                    VS_PCI_COMMAND_SERR | VS_PCI_COMMAND_INTX_DISABLE);
    memset(s->wmask + VS_PCI_CONFIG_HEADER_SIZE, 0xff,
           VS_PCI_CONFIG_SPACE_SIZE - VS_PCI_CONFIG_HEADER_SIZE);

    /* Error bits of the status register: writing 1 clears them. */
    vs_pci_set_word(s->w1cmask + VS_PCI_STATUS, VS_PCI_STATUS_ERRORS);
}

void vs_pci_function_init(VsPciFunction *f, PCIDevice *state, VsPciBus *bus, uint8_t devfn,
                          uint16_t vendor, uint16_t device, uint8_t revision,
                          uint32_t class_code, uint8_t header_type)
{
    memset(f, 0, sizeof(*f));
    memset(state, 0, sizeof(*state));
    f->state = state;
    f->bus = bus;
    f->devfn = devfn;

    state->version_id = 2;
    vs_pci_set_word(state->config + VS_PCI_VENDOR_ID, vendor);
    vs_pci_set_word(state->config + VS_PCI_DEVICE_ID, device);
    state->config[VS_PCI_REVISION_ID] = revision;
    state->config[VS_PCI_CLASS_PROG] = (uint8_t)class_code;
    vs_pci_set_word(state->config + VS_PCI_CLASS_DEVICE, (uint16_t)(class_code >> 8));
    state->config[VS_PCI_HEADER_TYPE] = header_type;
    vs_pci_set_word(state->config + VS_PCI_SUBSYSTEM_VENDOR_ID, VS_PCI_DEFAULT_SUBSYSTEM_VENDOR);
    vs_pci_set_word(state->config + VS_PCI_SUBSYSTEM_ID, VS_PCI_DEFAULT_SUBSYSTEM);
    init_masks(state);
}

void vs_pci_register_bar(VsPciFunction *f, int bar, uint64_t size, uint8_t type)
{
    uint32_t off = VS_PCI_BASE_ADDRESS_0 + 4 * (uint32_t)bar;
    bool wide = !(type & VS_PCI_BAR_IO) && (type & VS_PCI_BAR_MEM64);
    uint64_t wmask;

    if (bar < 0 || bar >= VS_PCI_NUM_BARS - wide || size < 16 || (size & (size - 1)) ||
        ((type & VS_PCI_BAR_IO) && size > 256)) {
        return;
    }
    /* Address bits below the size read back as zero: that is how sizing works. */
    wmask = ~(size - 1);
    f->bar_size[bar] = size;
    set_long(f->state->config + off, type);
    set_long(f->state->wmask + off, (uint32_t)wmask);
    set_long(f->state->cmask + off, 0xffffffff);
    if (wide) {
        /* A 64-bit BAR takes the next register for its upper half. */
        set_long(f->state->config + off + 4, 0);
        set_long(f->state->wmask + off + 4, (uint32_t)(wmask >> 32));
        set_long(f->state->cmask + off + 4, 0xffffffff);
    }
}

void vs_pci_set_read_only(VsPciFunction *f, uint32_t addr, uint32_t len)
{
    if (addr >= VS_PCI_CONFIG_SPACE_SIZE || len > VS_PCI_CONFIG_SPACE_SIZE - addr) {
        return;
    }
    memset(f->state->wmask + addr, 0, len);
}

static bool access_ok(uint32_t addr, int len)
{
    return (len == 1 || len == 2 || len == 4) && addr <= VS_PCI_CONFIG_SPACE_SIZE - (uint32_t)len;
}

uint32_t vs_pci_config_read(const VsPciFunction *f, uint32_t addr, int len)
{
    uint32_t val = 0;

    if (!access_ok(addr, len)) {
        return UINT32_MAX >> (32 - 8 * (len > 0 && len <= 4 ? len : 4));
    }
    for (int i = 0; i < len; i++) {
        val |= (uint32_t)f->state->config[addr + i] << (8 * i);
    }
    return val;
}

static bool intx_disabled(const PCIDevice *s)
{
    return vs_pci_get_word(s->config + VS_PCI_COMMAND) & VS_PCI_COMMAND_INTX_DISABLE;
}

static void change_irq_level(VsPciFunction *f, int pin, int change)
{
    if (f->bus && f->bus->map_irq) {
        bus_change_irq_level(f->bus, f->bus->map_irq(f, pin), change);
    }
}

/* Setting INTX_DISABLE withdraws the asserted pins from the bus; clearing it restores them. */
static void update_irq_disabled(VsPciFunction *f, bool was_disabled)
{
    bool disabled = intx_disabled(f->state);

    if (disabled == was_disabled) {
        return;
    }
    for (int pin = 0; pin < VS_PCI_NUM_PINS; pin++) {
        int level = f->state->irq_state[pin];

        change_irq_level(f, pin, disabled ? -level : level);
    }
}

void vs_pci_config_write(VsPciFunction *f, uint32_t addr, uint32_t val, int len)
{
    PCIDevice *s = f->state;
    bool was_disabled = intx_disabled(s);
    uint32_t v = val;

    if (!access_ok(addr, len)) {
        return;
    }
    for (int i = 0; i < len; i++, v >>= 8) {
        uint8_t wmask = s->wmask[addr + i];
        uint8_t w1c = s->w1cmask[addr + i];

        s->config[addr + i] = (uint8_t)((s->config[addr + i] & ~wmask) | (v & wmask));
        s->config[addr + i] &= (uint8_t)~(v & w1c);
    }
    if (addr < VS_PCI_COMMAND + 2 && addr + (uint32_t)len > VS_PCI_COMMAND) {
        update_irq_disabled(f, was_disabled);
    }
    if (f->config_written) {
        f->config_written(f, addr, val, len);
    }
}

/* Status.INTERRUPT mirrors whether any pin is asserted. */
static void update_irq_status(PCIDevice *s)
{
    bool any = false;

    for (int pin = 0; pin < VS_PCI_NUM_PINS; pin++) {
        any = any || s->irq_state[pin];
    }
    if (any) {
        s->config[VS_PCI_STATUS] |= VS_PCI_STATUS_INTERRUPT;
    } else {
        s->config[VS_PCI_STATUS] &= (uint8_t)~VS_PCI_STATUS_INTERRUPT;
    }
}

void vs_pci_set_irq(VsPciFunction *f, int pin, int level)
{
    PCIDevice *s = f->state;
    int change;

    if (pin < 0 || pin >= VS_PCI_NUM_PINS) {
        return;
    }
    level = level != 0;
    change = level - s->irq_state[pin];
    if (!change) {
        return;
    }
    s->irq_state[pin] = level;
    update_irq_status(s);
    if (!intx_disabled(s)) {
        change_irq_level(f, pin, change);
    }
}

int vs_pci_irq_state(const VsPciFunction *f, int pin)
{
    return pin >= 0 && pin < VS_PCI_NUM_PINS ? f->state->irq_state[pin] : 0;
}

bool vs_pci_bus_master(const VsPciFunction *f)
{
    return vs_pci_get_word(f->state->config + VS_PCI_COMMAND) & VS_PCI_COMMAND_MASTER;
}

uint64_t vs_pci_bar_address(const VsPciFunction *f, int bar)
{
    const PCIDevice *s = f->state;
    uint16_t cmd = vs_pci_get_word(s->config + VS_PCI_COMMAND);
    uint32_t raw;
    uint64_t addr, size_mask;

    if (bar < 0 || bar >= VS_PCI_NUM_BARS || !f->bar_size[bar]) {
        return VS_PCI_BAR_UNMAPPED;
    }
    raw = get_long(s->config + VS_PCI_BASE_ADDRESS_0 + 4 * bar);
    size_mask = ~(f->bar_size[bar] - 1);
    if (raw & VS_PCI_BAR_IO) {
        if (!(cmd & VS_PCI_COMMAND_IO)) {
            return VS_PCI_BAR_UNMAPPED;
        }
        addr = raw & ~3u;
        size_mask &= 0xffffffffu;
    } else {
        if (!(cmd & VS_PCI_COMMAND_MEMORY)) {
            return VS_PCI_BAR_UNMAPPED;
        }
        addr = raw & ~15u;
        if (raw & VS_PCI_BAR_MEM64) {
            addr |= (uint64_t)get_long(s->config + VS_PCI_BASE_ADDRESS_0 + 4 * bar + 4) << 32;
        } else {
            size_mask &= 0xffffffffu;
        }
    }
    /* Zero is unassigned; all address bits set is a sizing probe in progress. */
    if (addr == 0 || addr == size_mask) {
        return VS_PCI_BAR_UNMAPPED;
    }
    return addr;
}

/* ---- codecs ----------------------------------------------------------- */

/*
 * Config space: bytes written as they are; on load, checked bits (cmask)
 * the guest cannot change (not in wmask or w1cmask) must match the device.
 */
bool pci_config(VsVisitor *v, const char *name, uint8_t *val, void *parent, GError **errp)
{
    const PCIDevice *s = parent;
    uint8_t incoming[VS_PCI_CONFIG_SPACE_SIZE];

    if (!vs_visit_is_load(v)) {
        return vs_visit_buffer(v, name, val, sizeof(incoming), errp);
    }
    if (!vs_visit_buffer(v, name, incoming, sizeof(incoming), errp)) {
        return false;
    }
    for (size_t i = 0; i < sizeof(incoming); i++) {
        uint8_t fixed = s->cmask[i] & (uint8_t)~s->wmask[i] & (uint8_t)~s->w1cmask[i];

        if ((incoming[i] ^ val[i]) & fixed) {
            return vs_visit_report(v, name, errp, VS_VISIT_ERROR_MISMATCH,
                                   "read-only config byte 0x%zx differs (stream 0x%02x, "
                                   "device 0x%02x, checked bits 0x%02x)",
                                   i, incoming[i], val[i], fixed);
        }
    }
    memcpy(val, incoming, sizeof(incoming));
    return true;
}

/* INTx levels: four be32 values, each 0 or 1. */
bool pci_irq_state(VsVisitor *v, const char *name, int32_t *val, void *parent, GError **errp)
{
    uint32_t n = VS_PCI_NUM_PINS;
    int32_t incoming[VS_PCI_NUM_PINS];
    bool ok = true;

    (void)parent;
    if (!vs_visit_start_array(v, name, &n, VS_PCI_NUM_PINS, 4, errp)) {
        return false;
    }
    for (uint32_t i = 0; ok && i < n; i++) {
        incoming[i] = val[i];
        ok = vs_visit_i32(v, NULL, &incoming[i], errp);
        if (ok && vs_visit_is_load(v) && incoming[i] != 0 && incoming[i] != 1) {
            ok = vs_visit_report(v, NULL, errp, VS_VISIT_ERROR_RANGE,
                                 "INTx level of pin %u is %d, must be 0 or 1", i, incoming[i]);
        }
    }
    vs_visit_end_array(v);
    if (ok && vs_visit_is_load(v)) {
        memcpy(val, incoming, sizeof(incoming));
    }
    return ok;
}
