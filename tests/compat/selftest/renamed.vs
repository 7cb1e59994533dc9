/* renamed.vs: the only field renamed (renamed-v1.vs): nothing in common to compare. */
type Renamed "renamed" version 1 {
    u32 z;
}
