/* a tree's key is u64 or a declared type */
type P "p" version 1 {}
type A "a" version 1 {
    gtree Key P nodes max 4;
}
