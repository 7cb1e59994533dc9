/* arrays of pointers have a fixed length */
type P "p" version 1 {}
type A "a" version 1 {
    u8 n;
    P *p[n] max 4;
}
