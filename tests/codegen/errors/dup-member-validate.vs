/* a validation's name shares the struct's names */
type A "a" version 1 {
    u8 x;
    validate x (x < 4);
}
