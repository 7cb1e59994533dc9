/* a struct may hold itself through pointers and lists (a linked structure) */
type Node "node" version 1 {
    u32 v;
    Node *next;
    qtailq Node kids max 4;
}
