/* 'size' is no clause of a type */
type A "a" version 1 size 4 {}
