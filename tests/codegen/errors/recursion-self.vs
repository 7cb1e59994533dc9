/* a struct cannot contain itself by value (a pointer would do) */
type A "a" version 1 {
    u8 x;
    A inner;
}
