/* nested subsection 'a/b/c' and 'a/b_c' both become the C name A__b_c */
type A "a" version 1 {
    u8 x;
    subsection "a/b" version 1 needed (x != 0) {
        subsection "a/b/c" version 1 needed (x != 2) {}
    }
    subsection "a/b_c" version 1 needed (x != 1) {}
}
