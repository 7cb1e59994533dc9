/* a variable array's count must be a member */
type A "a" version 1 {
    u8 fifo[n] max 16;
}
