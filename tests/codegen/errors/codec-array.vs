/* a codec member is one value; arrays belong in the codec's C type */
codec cfg "config" ctype "uint8_t[4]";
type A "a" version 1 {
    cfg c[2];
}
