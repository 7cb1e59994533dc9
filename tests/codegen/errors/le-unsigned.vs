/* 'le' checks 0 <= stream value <= current value, for signed members */
type A "a" version 1 {
    u32 n le;
}
