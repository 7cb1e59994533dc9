/* 'maximum' is no attribute */
type A "a" version 1 {
    u8 x maximum 4;
}
