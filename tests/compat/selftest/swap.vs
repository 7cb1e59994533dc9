/* swap.vs: two fields swapped without a version change (swap-v1.vs): a break. */
type Swap "swap" version 1 {
    u16 b;
    u16 a;
}
