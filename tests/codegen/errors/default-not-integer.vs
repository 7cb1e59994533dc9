/* 'default' applies to integer and bool members */
type A "a" version 2 {
    f64 ratio since 2 default 1;
}
