/* parentheses and unary operators nest at most 32 deep */
type A "a" version 1 {
    u8 x;
    u8 y if (((((((((((((((((((((((((((((((((x)))))))))))))))))))))))))))))))));
}
