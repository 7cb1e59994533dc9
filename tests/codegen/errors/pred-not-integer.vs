/* predicates compute on integers and bools */
type A "a" version 1 {
    f64 ratio;
    u8 y if (ratio != 0);
}
