/* a bitmap takes its size in bits from a member in brackets */
type A "a" version 1 {
    bitmap bits;
}
