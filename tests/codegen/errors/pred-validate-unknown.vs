/* a validation uses the struct's members */
type A "a" version 1 {
    u8 x;
    validate x_ok (y < 4);
}
