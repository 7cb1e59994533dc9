/* a tree's key is u64 or a type; other scalars are not supported */
type P "p" version 1 {}
type A "a" version 1 {
    gtree u32 P nodes max 4;
}
