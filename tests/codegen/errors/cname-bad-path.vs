/* a cname is a C member path like 'regs.id' */
type A "a" version 1 cstruct "ADev" header "a.h" {
    u8 x cname "regs->x";
}
