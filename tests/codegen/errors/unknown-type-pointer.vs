/* a pointer member's type must be declared */
type A "a" version 1 {
    Regs *regs;
}
