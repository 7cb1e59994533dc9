/* an array length is closed with ']' */
type A "a" version 1 {
    u8 x[4;
}
