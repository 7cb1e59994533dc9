/* a member's type must be a scalar, a type or a codec */
type PIC "pic" version 1 {
    u8 irr;
    Regs regs;
}
