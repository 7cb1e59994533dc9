/*
 * piix3.vs: the PIIX3 PCI-to-ISA bridge (devices/piix3.c), with the wire
 * layout of QEMU 7.2's "PIIX3" section.
 */
include "pci.vs";

type PIIX3State "PIIX3" version 3 minimum 2 post_load piix3_post_load {
    PCIDevice dev;
    /*
     * The level of each PIRQ line as the PCI bus last reported it (QEMU
     * copies the bus's levels here in its pre_save; this model keeps the
     * copy current instead).
     */
    i32 pci_irq_levels_vmstate[4] since 3;

    /* Asserted (PIC input, PIRQ) pairs: bit pic_irq * 4 + pirq.  Rebuilt on load. */
    local u64 pic_levels;

    /* The reset control register (port 0xcf9): the reset type bit. */
    subsection "PIIX3/rcr" version 1 needed (rcr != 0) {
        u8 rcr;
    }
}
