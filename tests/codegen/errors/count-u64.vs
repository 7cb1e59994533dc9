/* a count is u8, u16, u32 or i32 */
type A "a" version 1 {
    u64 n;
    u8 fifo[n] max 16;
}
