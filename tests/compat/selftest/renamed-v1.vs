/* renamed-v1.vs: the name before the rename. */
type Renamed "renamed" version 1 {
    u32 a;
}
