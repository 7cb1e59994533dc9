/* a hook names its C function */
type A "a" version 1 pre_load {}
