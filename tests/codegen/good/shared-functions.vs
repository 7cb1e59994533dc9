/* one C function may serve as hook or predicate of several places with the same signature */
type A "a" version 2 pre_save a_hook post_save a_hook pre_load a_hook {
    u8 x if a_pred;
    u8 y if a_pred;
    subsection "a/s" version 1 needed a_pred pre_save a_hook {
        u8 z;
    }
}
