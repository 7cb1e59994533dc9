/* the count must come before the array on the wire, so the loader knows it in time */
type A "a" version 1 {
    u8 fifo[n] max 16;
    u8 n;
}
