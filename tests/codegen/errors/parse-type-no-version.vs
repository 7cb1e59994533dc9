/* every type has a version */
type A "a" minimum 1 {}
