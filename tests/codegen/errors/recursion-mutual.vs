/* A holds B by value and B holds A: neither has a finite size */
type A "a" version 1 {
    B b;
}
type B "b" version 1 {
    u8 x;
    A a[2];
}
