/* a bitmap declares its capacity in bits */
type A "a" version 1 {
    u16 nbits;
    bitmap bits[nbits];
}
