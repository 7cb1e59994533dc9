/*
 * i8259-v1.vs: the "i8259" section as QEMU 7.2 declares it (version 1, no
 * subsection).  Kept so the compatibility tests can build this walker next
 * to the current one (vstate-gen --prefix V1_) and check both directions:
 * a 7.2 stream loads into the current schema with ltim = 0, and a current
 * stream loads into this one as long as no guest set LTIM.
 */
type VsI8259State "i8259" version 1 {
    u8 last_irr;
    u8 irr;
    u8 imr;
    u8 isr;
    u8 priority_add;
    u8 irq_base;
    u8 read_reg_select;
    u8 poll;
    u8 special_mask;
    u8 init_state;
    u8 auto_eoi;
    u8 rotate_on_auto_eoi;
    u8 special_fully_nested_mode;
    u8 init4;
    u8 single_mode;
    u8 elcr;
}
