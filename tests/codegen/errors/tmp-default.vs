/* 'default' applies to integer members, not to tmp */
type A "a" version 2 {
    tmp T since 2 default 0;
}
type T "t" version 1 tmp_for A {}
