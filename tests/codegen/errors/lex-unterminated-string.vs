/* a string literal must end before the file does */
type A "a" version 1 {}
type B "b