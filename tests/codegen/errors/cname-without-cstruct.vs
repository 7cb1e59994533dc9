/* 'cname' maps a member into a C struct bound with 'cstruct' */
type A "a" version 1 {
    u8 x cname "regs.x";
}
