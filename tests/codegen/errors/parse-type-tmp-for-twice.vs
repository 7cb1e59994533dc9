/* a clause of a type may be given once */
type P "p" version 1 {
    tmp T;
}
type T "t" version 1 tmp_for P tmp_for P {}
