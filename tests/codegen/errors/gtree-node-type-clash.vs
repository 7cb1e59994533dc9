/* tree 't' of A makes the node type A_t_node, which a type already has */
type P "p" version 1 {}
type A "a" version 1 {
    gtree u64 P t max 4;
}
type A_t_node "node" version 1 {}
