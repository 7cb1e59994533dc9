/* a count is a single integer, not an array */
type A "a" version 1 {
    u8 n[2];
    u8 fifo[n] max 16;
}
