/* the source is UTF-8; the byte 0xff cannot start a character */
type A "cafÿ" version 1 {}
