/* a variable array holds at least one element */
type A "a" version 1 {
    u8 n;
    u8 x[n] max 0;
}
