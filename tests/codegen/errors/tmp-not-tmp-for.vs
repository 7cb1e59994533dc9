/* a type used with tmp must be declared tmp_for the user */
type P "p" version 1 {}
type A "a" version 1 {
    tmp P;
}
