/* subsection versions are 32-bit */
type A "a" version 1 {
    u8 x;
    subsection "a/s" version 0x100000000 needed (x != 0) {}
}
