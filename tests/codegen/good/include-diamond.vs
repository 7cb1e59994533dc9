/* one schema included twice through different paths is read once */
include "_diamond-left.vs";
include "_diamond-right.vs";
type Top "top" version 1 {
    Left l;
    Right r;
    Base b;
}
