/* hooks and predicates cannot take the name of a walker parameter */
type A "a" version 1 post_load errp {
    u8 x;
}
