/* an operator needs its right operand */
type A "a" version 1 {
    u8 x;
    u8 y if (x == );
}
