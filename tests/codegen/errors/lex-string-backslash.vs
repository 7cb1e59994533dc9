/* string literals have no escapes */
type A "a\"b" version 1 {}
