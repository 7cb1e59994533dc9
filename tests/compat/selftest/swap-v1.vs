/* swap-v1.vs: the order before the swap. */
type Swap "swap" version 1 {
    u16 a;
    u16 b;
}
