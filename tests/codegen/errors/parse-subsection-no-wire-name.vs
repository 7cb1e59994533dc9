/* a subsection has a wire name */
type A "a" version 1 {
    u8 x;
    subsection version 1 needed (x != 0) {}
}
