/* hooks are C functions, so C keywords are refused */
type A "a" version 1 post_load return {}
