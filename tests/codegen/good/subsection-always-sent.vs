/* a subsection without 'needed' is always sent, as in QEMU */
type A "a" version 1 {
    subsection "a/s" version 1 {
        u8 y;
    }
}
