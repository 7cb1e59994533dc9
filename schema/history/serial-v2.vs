/*
 * serial-v2.vs: the "serial" section at version 2, when the divisor latch
 * grew from one byte to two.  Version 1 streams, with the one-byte
 * divisor, still loaded (minimum 1).  Kept so the compatibility tests can
 * build this walker next to the current one (vstate-gen --prefix V2_).
 */
type SerialState "serial" version 2 minimum 1 {
    u8  divider_byte if (version < 2);
    u16 divider since 2;    /* a version 1 stream has divider_byte instead */
    u8  rbr;
    u8  ier;
    u8  iir;
    u8  lcr;
    u8  mcr;
    u8  lsr;
    u8  msr;
    u8  scr;
}
