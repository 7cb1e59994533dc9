/* good-v1.vs: the first release of good.vs. */
type Good "good" version 1 {
    u8  a;
    u16 b;
    u8  n;
    u8  arr[n] max 8;
    validate not_55 (a != 0x55);
}
