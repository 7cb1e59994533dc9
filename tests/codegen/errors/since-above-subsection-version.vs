/* inside a subsection, 'since' counts the subsection's versions */
type A "a" version 5 {
    u8 x;
    subsection "a/s" version 1 needed (x != 0) {
        u8 y since 2;
    }
}
