/* predicate functions are C functions, so C keywords are refused */
type A "a" version 1 {
    u8 y if int;
}
