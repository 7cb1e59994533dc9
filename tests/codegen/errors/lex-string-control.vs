/* control characters (here a tab) are refused in strings */
type A "a	b" version 1 {}
