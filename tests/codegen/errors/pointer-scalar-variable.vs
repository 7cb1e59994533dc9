/* a scalar pointer array has a fixed length */
type A "a" version 1 {
    u8 n;
    timer *t[n] max 4;
}
