/* a tree's values are declared types */
type A "a" version 1 {
    gtree u64 Entry nodes max 4;
}
