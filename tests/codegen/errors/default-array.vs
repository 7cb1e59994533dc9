/* 'default' applies to single members, not arrays */
type A "a" version 2 {
    u8 x[4] since 2 default 0;
}
