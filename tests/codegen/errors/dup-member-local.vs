/* a local member shares the struct's names */
type A "a" version 1 {
    local u32 n;
    u8 n;
}
