/* local arrays have a fixed length */
type A "a" version 1 {
    u8 n;
    local u8 scratch[n] max 4;
}
