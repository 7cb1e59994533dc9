/* validate needs a predicate */
type A "a" version 1 {
    u8 x;
    validate x_ok;
}
