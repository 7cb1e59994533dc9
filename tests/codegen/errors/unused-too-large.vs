/* 'unused' counts are 32-bit */
type A "a" version 1 {
    unused 0x100000000;
}
