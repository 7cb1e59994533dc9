/* buffers hold at least one byte */
type A "a" version 1 {
    buffer b[0];
}
