/* a clause of a type may be given once */
type A "a" version 1 cstruct "A" header "a.h" cstruct "B" header "b.h" {}
