/* the x_count of list 'x' in a subsection clashes with a member of the parent */
type P "p" version 1 {}
type A "a" version 1 {
    u32 x_count;
    subsection "a/s" version 1 needed (x_count != 0) {
        qlist P x max 4;
    }
}
