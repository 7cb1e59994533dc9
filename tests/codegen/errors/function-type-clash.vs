/* a hook cannot take the C name of a type */
type B "b" version 1 {}
type A "a" version 1 pre_save B {}
