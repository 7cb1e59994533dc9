"""The syntax tree of a schema file, as the parser builds it."""

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Union

from .errors import Loc

SCALARS = {
    # name: (C type, width in bytes, signed)
    "u8": ("uint8_t", 1, False),
    "u16": ("uint16_t", 2, False),
    "u32": ("uint32_t", 4, False),
    "u64": ("uint64_t", 8, False),
    "i8": ("int8_t", 1, True),
    "i16": ("int16_t", 2, True),
    "i32": ("int32_t", 4, True),
    "i64": ("int64_t", 8, True),
    "bool": ("bool", 1, False),
    "f64": ("double", 8, False),
    "timer": ("int64_t", 8, True),
}
INTEGERS = {"u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64"}


# ---- predicates -------------------------------------------------------------

@dataclass
class Num:
    loc: Loc
    value: int


@dataclass
class Ref:
    """A member of the struct, or the word `version`."""
    loc: Loc
    name: str


@dataclass
class Unary:
    loc: Loc
    op: str
    operand: "Expr"


@dataclass
class Binary:
    loc: Loc
    op: str
    left: "Expr"
    right: "Expr"


Expr = Union[Num, Ref, Unary, Binary]


@dataclass
class Pred:
    """A predicate: an expression over members, or a C function."""
    loc: Loc
    expr: Optional[Expr] = None
    func: Optional[str] = None


# ---- members ----------------------------------------------------------------

@dataclass
class ArraySpec:
    loc: Loc
    fixed: Optional[int] = None          # [N]
    count: Optional[str] = None          # [count] / [count * K]
    count_loc: Optional[Loc] = None
    multiply: int = 1
    max: Optional[int] = None


@dataclass
class Attrs:
    since: int = 0
    since_loc: Optional[Loc] = None
    test: Optional[Pred] = None
    default: Optional[int] = None
    default_loc: Optional[Loc] = None
    equal: bool = False
    le: bool = False
    cname: Optional[str] = None
    attr_locs: Dict[str, Loc] = field(default_factory=dict)


@dataclass
class Member:
    """One member of a type or subsection.

    kind: scalar, struct, buffer, unused, bitmap, qtailq, qlist, gtree, tmp,
    validate, local, codec, subsection.
    """
    loc: Loc
    kind: str
    name: str
    type_name: Optional[str] = None      # scalar name, struct type, codec, list element
    key_type: Optional[str] = None       # gtree key: "u64" or a type
    pointer: bool = False                # Type *x;  / ptr arrays
    array: Optional[ArraySpec] = None
    size: int = 0                        # unused N
    max: Optional[int] = None            # lists and trees
    attrs: Attrs = field(default_factory=Attrs)
    pred: Optional[Pred] = None          # validate
    sub: Optional["Subsection"] = None


@dataclass
class Hooks:
    pre_save: Optional[str] = None
    post_save: Optional[str] = None
    pre_load: Optional[str] = None
    post_load: Optional[str] = None


@dataclass
class Subsection:
    loc: Loc
    wire: str
    version: int
    minimum: int
    needed: Optional[Pred]
    hooks: Hooks
    members: List[Member]


@dataclass
class TypeDecl:
    loc: Loc
    name: str
    wire: str
    version: int
    minimum: int
    cstruct: Optional[str]
    header: Optional[str]
    tmp_for: Optional[str]
    tmp_for_loc: Optional[Loc]
    hooks: Hooks
    members: List[Member]
    path: str = ""
    nested: bool = False       # only ever inside other types: no section, no registry entry


@dataclass
class CodecDecl:
    loc: Loc
    name: str
    info: str
    ctype: str
    size: int


@dataclass
class Include:
    loc: Loc
    path: str


@dataclass
class SchemaFile:
    path: str
    includes: List[Include]
    codecs: List[CodecDecl]
    types: List[TypeDecl]
