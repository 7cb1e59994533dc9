/* errors in an included schema name that schema's file */
include "_bad.vs";
type A "a" version 1 {}
