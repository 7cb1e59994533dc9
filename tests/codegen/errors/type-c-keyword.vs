/* type names become C names, so C keywords are refused */
type double "a" version 1 {}
