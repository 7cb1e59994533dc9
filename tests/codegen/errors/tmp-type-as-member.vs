/* a tmp_for type is built on the stack; it cannot be an ordinary member */
type A "a" version 1 {
    T t;
}
type T "t" version 1 tmp_for A {}
