/* a buffer has a size in brackets */
type A "a" version 1 {
    buffer data;
}
