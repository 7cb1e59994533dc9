/* the member list must be closed before the end of the file */
type A "a" version 1 {
    u8 x;
