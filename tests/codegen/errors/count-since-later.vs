/* the count must be on the wire in every version the array is */
type A "a" version 3 {
    u8 n since 2;
    u8 fifo[n] max 16;
}
