/* a subsection's wire name starts with its parent's (QEMU's prefix rule) */
type A "a" version 1 {
    u8 x;
    subsection "b/s" version 1 needed (x != 0) {}
}
