/* Included by include-codec-not-visible.vs: cfg is declared in the includer. */
type Helper "helper" version 1 {
    cfg c;
}
