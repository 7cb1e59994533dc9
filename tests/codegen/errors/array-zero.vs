/* arrays have at least one element */
type A "a" version 1 {
    u8 x[0];
}
