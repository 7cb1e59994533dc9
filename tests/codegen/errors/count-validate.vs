/* a validation is not a count */
type A "a" version 1 {
    u8 x;
    validate ok (x < 4);
    u8 fifo[ok] max 4;
}
