/* Included by include-not-visible.vs: Main is not declared in what this includes. */
type Helper "helper" version 1 {
    Main m;
}
