/* a list holds at least one element */
type P "p" version 1 {}
type A "a" version 1 {
    qtailq P items max 0;
}
