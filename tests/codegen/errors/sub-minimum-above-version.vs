/* a subsection's minimum cannot be above its version */
type A "a" version 1 {
    u8 x;
    subsection "a/s" version 1 minimum 2 needed (x != 0) {}
}
