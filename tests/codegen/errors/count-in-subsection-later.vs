/* a count in a later subsection is not an earlier wire member */
type A "a" version 1 {
    u8 x;
    subsection "a/s" version 1 needed (x != 0) {
        u8 fifo[n] max 16;
    }
    subsection "a/t" version 1 needed (x != 1) {
        u8 n;
    }
}
