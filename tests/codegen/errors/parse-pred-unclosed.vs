/* a parenthesis in a predicate must be closed */
type A "a" version 1 {
    u8 x;
    u8 y if (x == 1;
}
