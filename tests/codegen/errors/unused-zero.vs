/* 'unused 0' skips nothing */
type A "a" version 1 {
    unused 0;
}
