/* a subsection's members join the parent's C struct, so their names must differ */
type A "a" version 1 {
    u8 x;
    subsection "a/s" version 1 needed (x != 0) {
        u16 x;
    }
}
