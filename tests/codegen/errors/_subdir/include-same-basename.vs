/* Has the base name of ../include-same-basename.vs. */
type Other "other" version 1 {}
