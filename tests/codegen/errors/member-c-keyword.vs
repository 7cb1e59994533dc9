/* member names become C names, so C keywords are refused */
type A "a" version 1 {
    u8 int;
}
