/* types may be used before they are declared; the C structs come out in dependency order */
type Outer "outer" version 1 {
    Inner in;
    Inner *ptr;
    qtailq Inner list max 2;
    gtree Inner Inner tree max 2;
}
type Inner "inner" version 1 {
    u8 x;
}
