/*
 * good.vs: a section whose versions are compatible (good-v1.vs is its
 * first release): version 2 adds `c` with a default and a subsection.
 */
type Good "good" version 2 minimum 1 {
    u8  a;
    u16 b;
    u8  n;
    u8  arr[n] max 8;
    u32 c since 2 default 7;
    validate small (n <= 8 && a != 0x55);
    subsection "good/x" version 1 needed (x != 0) {
        u32 x;
    }
}
