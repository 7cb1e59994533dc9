/* a block comment must end before the file does */
type A "a" version 1 {
    u8 x; /* the end is missing
}
