/* a default is an integer */
type A "a" version 2 {
    u8 x since 2 default y;
}
