/* 'a/x-y' and 'a/x_y' both become the C name A__x_y */
type A "a" version 1 {
    u8 x;
    subsection "a/x-y" version 1 needed (x != 0) {}
    subsection "a/x_y" version 1 needed (x != 1) {}
}
