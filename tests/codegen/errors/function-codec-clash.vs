/* a predicate function cannot take the name of a codec */
codec cfg "config" ctype "uint8_t[4]";
type A "a" version 1 {
    u8 x if cfg;
}
