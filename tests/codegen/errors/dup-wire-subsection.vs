/* a subsection's wire name clashes with another subsection's */
type A "a" version 1 {
    u8 x;
    subsection "a/s" version 1 needed (x != 0) {}
    subsection "a/s" version 2 needed (x != 1) {}
}
