/* identifiers are ASCII: they become C names */
type A "a" version 1 {
    u8 déjà;
}
