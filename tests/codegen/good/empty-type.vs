/* a type without members (C gets a placeholder member) */
type Empty "empty" version 0 {}
type WithEmpty "with-empty" version 1 {
    Empty e;
    Empty *p;
}
