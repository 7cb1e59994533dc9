/* an attribute may be given once */
type A "a" version 3 {
    u8 x since 2 since 3;
}
