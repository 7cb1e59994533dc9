/* an i32 count reaches 2147483647 at most */
type A "a" version 1 {
    i32 n;
    buffer data[n] max 0x80000000;
}
