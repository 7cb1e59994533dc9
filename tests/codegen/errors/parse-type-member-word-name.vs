/* a type cannot take a word that starts a member */
type buffer "a" version 1 {}
