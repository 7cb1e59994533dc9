/* a version is an integer */
type A "a" version one {}
