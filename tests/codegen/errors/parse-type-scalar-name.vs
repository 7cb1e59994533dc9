/* a type cannot take the name of a scalar */
type u8 "a" version 1 {}
