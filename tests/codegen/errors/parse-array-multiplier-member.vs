/* a multiplier is an integer, not a member */
type A "a" version 1 {
    u8 n;
    u8 m;
    u8 x[n * m] max 64;
}
