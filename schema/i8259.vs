/*
 * i8259.vs: one Intel 8259A programmable interrupt controller, as QEMU 7.2
 * migrates it: section "i8259", one instance per chip (0 = master at 0x20,
 * 1 = slave at 0xa0), sixteen bytes.  The model is devices/i8259.c.
 *
 * History (schema/history/i8259-v1.vs): QEMU 7.2's form has no subsection.
 * Later QEMU versions added "i8259/ltim" for ICW1's LTIM bit (all inputs
 * level-triggered); it is sent only when a guest set LTIM, which a 7.2
 * guest could not do, so streams of 7.2 guests still load in 7.2.
 */
type VsI8259State "i8259" version 1 post_load i8259_post_load {
    u8 last_irr;                  /* input levels at the last edge check */
    u8 irr;                       /* interrupt request register */
    u8 imr;                       /* interrupt mask register */
    u8 isr;                       /* in-service register */
    u8 priority_add;              /* the lowest-priority line + 1 (rotation) */
    u8 irq_base;                  /* vector of line 0 (ICW2) */
    u8 read_reg_select;           /* OCW3 RR/RIS: 0 reads IRR, 1 reads ISR */
    u8 poll;                      /* OCW3 poll command pending */
    u8 special_mask;              /* OCW3 special mask mode */
    u8 init_state;                /* 0 ready, 1..3 expecting ICW2..ICW4 */
    u8 auto_eoi;                  /* ICW4 AEOI */
    u8 rotate_on_auto_eoi;        /* OCW2 rotate in automatic EOI mode */
    u8 special_fully_nested_mode; /* ICW4 SFNM */
    u8 init4;                     /* ICW1 IC4: ICW4 follows */
    u8 single_mode;               /* ICW1 SNGL: no cascade, no ICW3 */
    u8 elcr;                      /* edge/level control (ports 0x4d0/0x4d1) */
    /* Not migrated: a mark of the device model holding this state, set
     * by the model, so hooks tell a device's state from a bare copy. */
    local u64 owner;
    subsection "i8259/ltim" version 1 needed (ltim != 0) {
        u8 ltim;                  /* ICW1 LTIM: every input level-triggered */
    }
}
