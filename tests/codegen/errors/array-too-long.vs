/* array lengths are 32-bit */
type A "a" version 1 {
    u8 x[4294967296];
}
