/* the oldest version loaded cannot be newer than the current one */
type A "a" version 2 minimum 3 {}
