/*
 * pci.h - the conventional PCI device base and a PCI bus.
 *
 * A PCI function keeps its migratable state in the schema's PCIDevice
 * (schema/pci.vs: 256 bytes of config space, the INTx levels, the PCI state
 * version), which a device embeds in its own state struct; VsPciFunction
 * is the wiring around it (bus, slot, the device's config-write notifier).
 * Config space is read and written with QEMU's rules: per-byte write masks,
 * write-1-to-clear status bits, BAR sizing through the masks, and the
 * INTx disable bit gating interrupts.
 *
 * The bus counts, per PIRQ line, how many device pins assert it (the
 * "PCIBUS" section) and tells the interrupt router (PIIX3) when a line's
 * level changes.
 */
#ifndef VSTATE_DEVICES_PCI_H
#define VSTATE_DEVICES_PCI_H

#include <stdint.h>

#include "pci.vs.h"

/* Config space offsets and bits. */
enum {
    VS_PCI_VENDOR_ID = 0x00, VS_PCI_DEVICE_ID = 0x02, VS_PCI_COMMAND = 0x04,
    VS_PCI_STATUS = 0x06, VS_PCI_REVISION_ID = 0x08, VS_PCI_CLASS_PROG = 0x09,
    VS_PCI_CLASS_DEVICE = 0x0a, VS_PCI_CACHE_LINE_SIZE = 0x0c, VS_PCI_HEADER_TYPE = 0x0e,
    VS_PCI_BASE_ADDRESS_0 = 0x10, VS_PCI_SUBSYSTEM_VENDOR_ID = 0x2c,
    VS_PCI_SUBSYSTEM_ID = 0x2e, VS_PCI_CAPABILITY_LIST = 0x34,
    VS_PCI_INTERRUPT_LINE = 0x3c, VS_PCI_INTERRUPT_PIN = 0x3d,
    VS_PCI_CONFIG_HEADER_SIZE = 0x40, VS_PCI_CONFIG_SPACE_SIZE = 0x100,
};
enum {
    VS_PCI_COMMAND_IO = 0x1, VS_PCI_COMMAND_MEMORY = 0x2, VS_PCI_COMMAND_MASTER = 0x4,
    VS_PCI_COMMAND_SERR = 0x100, VS_PCI_COMMAND_INTX_DISABLE = 0x400,
    VS_PCI_STATUS_INTERRUPT = 0x08, VS_PCI_STATUS_CAP_LIST = 0x10,
    VS_PCI_STATUS_ERRORS = 0xf900, /* parity, aborts, SERR: write 1 to clear */
    VS_PCI_BAR_IO = 0x1, VS_PCI_BAR_MEM64 = 0x4, VS_PCI_BAR_PREFETCH = 0x8,
    VS_PCI_HEADER_MULTI_FUNCTION = 0x80,
};
#define VS_PCI_NUM_PINS 4
#define VS_PCI_NUM_BARS 6
#define VS_PCI_BAR_UNMAPPED UINT64_MAX
/* Red Hat / Qumranet, as QEMU fills in functions that do not set their own. */
#define VS_PCI_DEFAULT_SUBSYSTEM_VENDOR 0x1af4
#define VS_PCI_DEFAULT_SUBSYSTEM 0x1100

typedef struct VsPciBus VsPciBus;
typedef struct VsPciFunction VsPciFunction;

/* Which PIRQ line a function's INTx pin (0 = INTA) drives. */
typedef int (*VsPciMapIrq)(const VsPciFunction *f, int pin);
/* A PIRQ line's level changed. */
typedef void (*VsPciSetIrq)(void *opaque, int pirq, int level);
/* Called after a config write has been applied (a device's own side effects). */
typedef void (*VsPciConfigWritten)(VsPciFunction *f, uint32_t addr, uint32_t val, int len);

struct VsPciBus {
    PCIBus regs;            /* the migratable state ("PCIBUS") */
    VsPciMapIrq map_irq;
    VsPciSetIrq set_irq;
    void *irq_opaque;
};

struct VsPciFunction {
    PCIDevice *state;       /* inside the device's own schema state */
    VsPciBus *bus;
    uint8_t devfn;          /* slot << 3 | function */
    uint64_t bar_size[VS_PCI_NUM_BARS];
    VsPciConfigWritten config_written;
    void *opaque;           /* the device owning the function */
};

void vs_pci_bus_init(VsPciBus *bus, int nirq, VsPciMapIrq map_irq, VsPciSetIrq set_irq,
                     void *irq_opaque);
/* Whether any pin asserts @pirq. */
int vs_pci_bus_irq_level(const VsPciBus *bus, int pirq);
/* Saves or loads the "PCIBUS" section. */
bool vs_pci_bus_visit(VsPciBus *bus, VsVisitor *v, GError **errp);

/*
 * Initialises a function's config space and masks as a freshly created
 * device has them.  @class_code is base << 16 | sub << 8 | prog-if.
 */
void vs_pci_function_init(VsPciFunction *f, PCIDevice *state, VsPciBus *bus, uint8_t devfn,
                          uint16_t vendor, uint16_t device, uint8_t revision,
                          uint32_t class_code, uint8_t header_type);
/* Declares BAR @bar of @size bytes (a power of two); @type: VS_PCI_BAR_* bits. */
void vs_pci_register_bar(VsPciFunction *f, int bar, uint64_t size, uint8_t type);
/* Makes @len bytes at @addr read-only for the guest (device-specific registers). */
void vs_pci_set_read_only(VsPciFunction *f, uint32_t addr, uint32_t len);

uint32_t vs_pci_config_read(const VsPciFunction *f, uint32_t addr, int len);
void vs_pci_config_write(VsPciFunction *f, uint32_t addr, uint32_t val, int len);

/* Drives INTx pin @pin (0..3) to @level (0/1). */
void vs_pci_set_irq(VsPciFunction *f, int pin, int level);
int vs_pci_irq_state(const VsPciFunction *f, int pin);
/* The function may master the bus (DMA). */
bool vs_pci_bus_master(const VsPciFunction *f);
/* Where BAR @bar decodes now, or VS_PCI_BAR_UNMAPPED (decode off, unassigned). */
uint64_t vs_pci_bar_address(const VsPciFunction *f, int bar);

/* Little-endian config-space accessors. */
static inline uint16_t vs_pci_get_word(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline void vs_pci_set_word(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

#endif
