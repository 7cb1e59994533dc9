/* tmp names a declared type */
type A "a" version 1 {
    tmp T;
}
