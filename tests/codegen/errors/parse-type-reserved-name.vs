/* schema words cannot name types: 'since' starts no type */
type since "a" version 1 {}
