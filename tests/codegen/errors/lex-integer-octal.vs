/* integers are decimal or 0x hex; a leading zero (C's octal) is refused */
type A "a" version 010 {}
