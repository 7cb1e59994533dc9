/* each hook may be given once */
type A "a" version 1 pre_save a_pre_save pre_save a_other {}
