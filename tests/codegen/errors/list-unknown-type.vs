/* list elements are declared types */
type A "a" version 1 {
    qtailq Entry items max 4;
}
