/* a tmp_for type's C struct starts with 'parent', so no member may take that name */
type P "p" version 1 {
    tmp T;
}
type T "t" version 1 tmp_for P {
    u8 parent;
}
