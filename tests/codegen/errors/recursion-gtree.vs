/* a tree's nodes hold their values by value, so a tree of A inside A has no finite layout */
type A "a" version 1 {
    gtree u64 A children max 4;
}
