/* a subsection's wire name has something after the parent's '/' */
type A "a" version 1 {
    u8 x;
    subsection "a/" version 1 needed (x != 0) {}
}
