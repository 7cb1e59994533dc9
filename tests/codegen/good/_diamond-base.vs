/* Included twice by include-diamond.vs (through left and right). */
type Base "base" version 1 {
    u8 x;
}
