/* an array is not an integer a predicate can use */
type A "a" version 1 {
    u8 regs[4];
    u8 y if (regs != 0);
}
