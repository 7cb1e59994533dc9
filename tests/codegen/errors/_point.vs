/* A helper other cases include. */
type Point "point" version 1 {
    i16 x;
    i16 y;
}
