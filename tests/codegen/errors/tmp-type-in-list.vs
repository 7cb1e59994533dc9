/* a tmp_for type cannot be a list element */
type A "a" version 1 {
    qtailq T items max 4;
}
type T "t" version 1 tmp_for A {}
