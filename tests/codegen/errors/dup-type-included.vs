/* a type clashes with one of an included schema */
include "_point.vs";
type Point "my-point" version 1 {}
