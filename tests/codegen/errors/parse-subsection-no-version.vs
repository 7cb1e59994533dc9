/* every subsection has a version */
type A "a" version 1 {
    u8 x;
    subsection "a/s" needed (x != 0) {
        u8 y;
    }
}
