/*
 * bound.vs: a type bound to a hand-written C struct (bound.h) with
 * `cstruct`; `cname` maps members whose C path differs from their name.
 */
include "common.vs";

type Bound "bound" version 1 cstruct "BoundDev" header "bound.h" {
    u32   id cname "regs.id";
    u8    n;
    u16   vals[n] max 4 cname "regs.vals";
    Point *where cname "loc";
    bool  enabled;
}
