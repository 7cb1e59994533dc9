/* cstruct is followed by the header that declares the struct */
type A "a" version 1 cstruct "ADev" {}
