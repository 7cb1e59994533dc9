/* members end with ';' */
type A "a" version 1 {
    u8 x
    u8 y;
}
