/* a local member is a scalar */
type P "p" version 1 {}
type A "a" version 1 {
    local P p;
}
