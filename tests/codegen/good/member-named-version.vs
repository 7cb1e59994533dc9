/* schema words are contextual: members may be called version, since, max, size...; in predicates 'version' is the stream's version */
type A "a" version 2 {
    u32 version;
    u8  since;
    u8  max;
    u8  size;
    u8  needed;
    u8  tmp_for;
    u8  count[max] max 8;
    u8  later if (version >= 2 && since != 0) since 2 default 1;
    validate le (max <= 8);
}
