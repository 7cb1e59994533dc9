/* '@' is no token of the language */
type A "a" version 1 {
    u8 x @;
}
