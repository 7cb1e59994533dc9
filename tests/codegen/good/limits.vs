/* the largest values the language takes */
type A "wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww" version 4294967295 minimum 0 {
    u32 n;
    buffer b[n] max 0xFFFFFFFF;
    i64 big since 4294967295 default -9223372036854775808;
    u64 ubig since 2 default 0xFFFFFFFFFFFFFFFF;
    u8 t if (ubig != 9223372036854775807 && -big != 0x7FFFFFFFFFFFFFFF);
    unused 4294967295;
}
