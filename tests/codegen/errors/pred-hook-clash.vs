/* a predicate function takes (const T *, uint32_t), unlike a hook */
type A "a" version 1 pre_save a_check {
    u8 x;
    u8 y if a_check;
}
