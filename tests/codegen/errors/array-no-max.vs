/* a variable array declares its capacity with 'max N' */
type A "a" version 1 {
    u8 n;
    u8 x[n];
}
