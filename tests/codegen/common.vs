/*
 * common.vs: small types the other test schemas share through `include`.
 * Their code is generated from this file (common.vs.c), not by includers.
 */
type Point "point" version 1 {
    i16 x;
    i16 y;
}

/* A struct used as a GTree key. */
type Key "key" version 1 {
    u32 id;
    u8  kind;
}
