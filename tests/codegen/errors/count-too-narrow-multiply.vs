/* with [n * 2] max 1000, n must reach 500, beyond u8 */
type A "a" version 1 {
    u8 n;
    u16 fifo[n * 2] max 1000;
}
