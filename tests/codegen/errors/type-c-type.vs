/* a type cannot take the name of a C type the generated code uses */
type uint32_t "a" version 1 {}
