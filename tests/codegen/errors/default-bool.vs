/* a bool defaults to 0 or 1 */
type A "a" version 2 {
    bool on since 2 default 2;
}
