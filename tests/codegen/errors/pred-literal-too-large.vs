/* predicates compute in int64_t */
type A "a" version 1 {
    u64 x;
    u8 y if (x == 18446744073709551615);
}
