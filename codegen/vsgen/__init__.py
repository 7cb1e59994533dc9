"""vsgen: the vstate schema compiler (parse -> check -> model -> backends)."""

VERSION = "0.1.0"
# Must match VS_VISITOR_ABI_VERSION in visitor/visitor.h.
VISITOR_ABI = 4
