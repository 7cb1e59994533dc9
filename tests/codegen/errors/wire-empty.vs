/* wire names cannot be empty */
type A "" version 1 {}
