/* a member starts with a type or a member word */
type A "a" version 1 {
    5 x;
}
