/* 'since' is no clause of a subsection */
type A "a" version 2 {
    u8 x;
    subsection "a/s" version 1 since 2 needed (x != 0) {}
}
