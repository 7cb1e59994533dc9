/* an unsigned member cannot default to a negative value */
type A "a" version 2 {
    u16 x since 2 default -1;
}
