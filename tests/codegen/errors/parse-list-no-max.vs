/* a list declares the most elements it may hold */
type P "p" version 1 {}
type A "a" version 1 {
    qtailq P items;
}
