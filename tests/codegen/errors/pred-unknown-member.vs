/* predicates use the struct's own members */
type A "a" version 1 {
    u8 x;
    u8 y if (mode == 2);
}
