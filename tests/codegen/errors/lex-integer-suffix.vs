/* an integer runs into letters */
type A "a" version 1 {
    u8 x[4u];
}
