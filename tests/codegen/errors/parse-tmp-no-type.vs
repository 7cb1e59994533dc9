/* tmp names its temporary type */
type A "a" version 1 {
    tmp;
}
