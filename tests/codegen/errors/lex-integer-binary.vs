/* 0b binary integers are not part of the language */
type A "a" version 0b11 {}
