/* a pointer to a scalar exists only as a fixed array of pointers */
type A "a" version 1 {
    u32 *p;
}
