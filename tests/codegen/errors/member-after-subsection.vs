/* QEMU writes subsections after all members, so no wire member may follow one */
type A "a" version 1 {
    u8 x;
    subsection "a/s" version 1 needed (x != 0) {
        u8 y;
    }
    u8 z;
}
