/* one C function cannot be a hook of two types: its parameter types differ */
type A "a" version 1 pre_save dev_pre_save {}
type B "b" version 1 pre_save dev_pre_save {}
