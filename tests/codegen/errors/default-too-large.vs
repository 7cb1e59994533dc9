/* the default must fit in the member's type */
type A "a" version 2 {
    u8 x since 2 default 256;
}
