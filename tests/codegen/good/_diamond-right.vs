/* The other side of include-diamond.vs. */
include "_diamond-base.vs";
type Right "right" version 1 {
    Base b;
}
