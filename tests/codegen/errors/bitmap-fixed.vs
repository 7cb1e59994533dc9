/* a bitmap takes its size in bits from a member */
type A "a" version 1 {
    bitmap bits[64];
}
