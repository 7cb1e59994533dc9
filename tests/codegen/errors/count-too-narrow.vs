/* a u8 count cannot reach a maximum of 300 */
type A "a" version 1 {
    u8 n;
    u8 fifo[n] max 300;
}
