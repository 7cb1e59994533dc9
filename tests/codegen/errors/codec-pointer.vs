/* a codec member cannot be a pointer */
codec cfg "config" ctype "uint8_t[4]";
type A "a" version 1 {
    cfg *c;
}
