/*
 * pci.vs: the conventional PCI device base and the PCI bus (devices/pci.c),
 * with the wire layouts of QEMU 7.2's "PCIDevice" (nested in every PCI
 * device's section) and "PCIBUS" sections.
 *
 * QEMU also describes a 4096-byte PCI Express config space in PCIDevice,
 * sent instead of the 256 bytes for express devices; this base models
 * conventional PCI only, so the 256-byte form is the one on the wire.
 */

/*
 * 256 bytes of config space.  On load, bits the guest cannot change
 * (read-only for it and checked by the device) must match what the device
 * already holds, as in QEMU: a stream for another device model fails.
 */
codec pci_config "pci config" ctype "uint8_t[256]" size 256;
/* The level of each INTx pin, 4 x be32, each 0 or 1. */
codec pci_irq_state "pci irq state" ctype "int32_t[4]" size 16;

type PCIDevice "PCIDevice" version 2 minimum 1 nested {
    /* The PCI state version the device saves (2); a load takes 0..2. */
    i32 version_id le;
    pci_config config;
    pci_irq_state irq_state since 2;

    /*
     * Per config byte: bits the guest may write, bits a write of 1 clears,
     * and bits a load must find unchanged.  Properties of the device
     * model, set when it is created, never migrated.
     */
    local u8 wmask[256];
    local u8 w1cmask[256];
    local u8 cmask[256];
}

/*
 * The bus: how many interrupt lines (PIRQs) it has and how many device pins
 * assert each.  The count of irq_count is nirq, which must equal the
 * loading bus's own.
 */
type PCIBus "PCIBUS" version 1 {
    i32 nirq equal;
    i32 irq_count[nirq] max 32;
}
