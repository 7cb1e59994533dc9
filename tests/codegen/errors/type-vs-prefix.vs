/* C names starting with vs_ belong to vstate */
type vs_type "a" version 1 {}
