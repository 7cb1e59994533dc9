/* One side of include-diamond.vs. */
include "_diamond-base.vs";
type Left "left" version 1 {
    Base b;
}
