/* cstruct names a C type */
type A "a" version 1 cstruct "A Dev" header "a.h" {}
