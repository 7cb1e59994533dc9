/* a u8 count cannot reach 4096 bytes */
type A "a" version 1 {
    u8 n;
    buffer b[n] max 4096;
}
