/* versions are 32-bit */
type A "a" version 4294967296 {}
