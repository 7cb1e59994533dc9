/* local members cannot be pointers */
type A "a" version 1 {
    local u8 *x;
}
