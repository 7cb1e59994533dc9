/* two types with one name */
type A "a" version 1 {}
type A "b" version 1 {}
