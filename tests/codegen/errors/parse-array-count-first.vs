/* the multiplier follows the count: [n * 4], not [4 * n] */
type A "a" version 1 {
    u8 n;
    u8 x[4 * n] max 64;
}
