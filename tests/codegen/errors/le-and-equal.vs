/* 'le' and 'equal' are two different load checks */
type A "a" version 1 {
    i32 n equal le;
}
