/* a list 'x' has the C member x_count for its length */
type P "p" version 1 {}
type A "a" version 1 {
    qtailq P x max 4;
    u32 x_count;
}
