/* a type needs its wire name right after its name */
type A version 1 {}
