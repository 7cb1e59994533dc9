/* subsection 'a/x' of A becomes the C name A__x, which a type already has */
type A__x "ax" version 1 {}
type A "a" version 1 {
    u8 x;
    subsection "a/x" version 1 needed (x != 0) {}
}
