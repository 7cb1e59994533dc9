/*
 * serial-v3.vs: the "serial" section at version 3, before any subsection:
 * the FIFO control register joined (`since 3`) and the minimum was raised
 * to 2, dropping the one-byte divisor of version 1.  Subsections came
 * later without a version bump, each sent only when `needed`, so this
 * walker still reads a current stream whose subsections are all unneeded.
 */
type SerialState "serial" version 3 minimum 2 {
    u16 divider since 2;
    u8  rbr;
    u8  ier;
    u8  iir;
    u8  lcr;
    u8  mcr;
    u8  lsr;
    u8  msr;
    u8  scr;
    u8  fcr_vmstate since 3 default 0;
}
