/* a clause of a type may be given once */
type A "a" version 2 minimum 1 minimum 2 {}
