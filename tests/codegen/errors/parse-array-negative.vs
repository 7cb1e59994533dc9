/* an array length cannot be negative */
type A "a" version 1 {
    u8 x[-1];
}
