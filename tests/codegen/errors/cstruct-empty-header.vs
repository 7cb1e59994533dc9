/* the header declaring the struct cannot be empty */
type A "a" version 1 cstruct "ADev" header "" {}
