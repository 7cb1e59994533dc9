/* 'max' applies to variable arrays; a fixed one has its length */
type A "a" version 1 {
    u8 x[4] max 8;
}
