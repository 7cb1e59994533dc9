/* a clause of a subsection may be given once */
type A "a" version 1 {
    u8 x;
    subsection "a/s" version 1 needed (x != 0) needed (x > 1) {}
}
