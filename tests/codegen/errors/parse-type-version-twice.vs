/* a clause of a type may be given once */
type A "a" version 1 version 2 {}
