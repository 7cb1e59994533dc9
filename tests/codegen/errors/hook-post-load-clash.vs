/* post_load takes a version, pre_load does not, so one function cannot be both */
type A "a" version 1 pre_load a_hook post_load a_hook {}
