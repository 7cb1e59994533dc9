/* 'max' takes an integer */
type A "a" version 1 {
    u8 n;
    u8 x[n] max n;
}
