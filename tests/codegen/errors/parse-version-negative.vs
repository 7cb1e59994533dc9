/* versions are not negative */
type A "a" version -1 {}
