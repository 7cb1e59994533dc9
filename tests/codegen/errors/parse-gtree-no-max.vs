/* a tree declares the most nodes it may hold */
type P "p" version 1 {}
type A "a" version 1 {
    gtree u64 P nodes;
}
