/* 'unused' has no C member to map */
type A "a" version 1 cstruct "ADev" header "a.h" {
    unused 4 cname "pad";
}
