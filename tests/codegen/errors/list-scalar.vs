/* list elements are types, not scalars */
type A "a" version 1 {
    qlist u8 items max 4;
}
