/* subsections nest; their members share the parent's C struct and may count arrays after them */
type A "a" version 3 minimum 1 {
    u8 flags;
    subsection "a/one" version 2 minimum 1 needed ((flags & 1) != 0) post_load a_one_post_load {
        u8 n;
        u8 vals[n] max 8;
        u8 late since 2 default 7;
        subsection "a/one/two" version 1 needed (n > 2 && vals_ok) {
            local u8 cap;
            u8 more[cap] max 4;
            bool vals_ok;
        }
    }
    subsection "a/three" version 1 needed a_three_needed {
        u16 m;
    }
    validate flags_ok (flags < 0x80);
}
