/* local arrays have at least one element */
type A "a" version 1 {
    local u8 scratch[0];
}
