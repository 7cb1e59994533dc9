/* Included by include-error-in-included.vs: the error is here. */
type B "b" version 1 {
    u8 x[0];
}
