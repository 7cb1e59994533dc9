/* two types with one wire name */
type A "dev" version 1 {}
type B "dev" version 1 {}
