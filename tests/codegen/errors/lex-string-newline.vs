/* a string literal ends on its line */
type A "a
" version 1 {}
