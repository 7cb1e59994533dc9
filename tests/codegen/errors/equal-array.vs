/* 'equal' compares single integers, not arrays */
type A "a" version 1 {
    u8 x[4] equal;
}
