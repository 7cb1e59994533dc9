/* a subsection's 'needed' predicate uses the struct's members */
type A "a" version 1 {
    u8 x;
    subsection "a/s" version 1 needed (alarm != 0) {
        u64 alarm2;
    }
}
