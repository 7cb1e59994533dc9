/* C names starting with vs_ belong to vstate */
type A "a" version 1 {
    u8 x if vs_visit_is_load;
}
