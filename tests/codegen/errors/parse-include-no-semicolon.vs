/* include ends with ';' */
include "_point.vs"
type A "a" version 1 {}
