/* the multiplier of [n * K] is at least 1 */
type A "a" version 1 {
    u8 n;
    u8 x[n * 0] max 8;
}
