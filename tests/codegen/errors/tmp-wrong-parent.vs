/* a temporary serves the type it is declared tmp_for */
type A "a" version 1 {}
type B "b" version 1 {
    tmp T;
}
type T "t" version 1 tmp_for A {}
