"""Loading and checking: syntax trees -> a checked model ready for backends.

Checking resolves every name (types, codecs, counts, predicate members),
enforces the language's rules and reports the first problem as
file:line:col: message.  Backends then rely on the model being sound.
"""

import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set

from . import ast
from .errors import Loc, SchemaError
from .parser import parse

C_KEYWORDS = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double",
    "else", "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long",
    "register", "restrict", "return", "short", "signed", "sizeof", "static", "struct",
    "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "_Bool",
    "_Complex", "_Imaginary", "bool", "true", "false",
}
COUNT_TYPES = ("u8", "u16", "u32", "i32")
COUNT_LIMITS = {"u8": 0xFF, "u16": 0xFFFF, "u32": 0xFFFFFFFF, "i32": 0x7FFFFFFF}


@dataclass
class Scope:
    """The members that share one C struct: a type's and its subsections'."""
    tdecl: ast.TypeDecl
    by_name: Dict[str, ast.Member] = field(default_factory=dict)
    locals: Dict[str, ast.Member] = field(default_factory=dict)
    seen_on_wire: Set[str] = field(default_factory=set)


@dataclass
class Model:
    """Everything the backends need, checked."""
    main: ast.SchemaFile
    module: str                                 # C-safe name of the main file
    types: Dict[str, ast.TypeDecl]              # all types, included ones too
    codecs: Dict[str, ast.CodecDecl]
    own_types: List[ast.TypeDecl]               # the main file's, in order
    includes: List[str]                         # included files, as written
    sources: List[str] = field(default_factory=list)  # every schema file read
    scopes: Dict[str, Scope] = field(default_factory=dict)


def module_name(path: str) -> str:
    base = os.path.basename(path)
    if base.endswith(".vs"):
        base = base[:-3]
    out = "".join(c if c.isalnum() else "_" for c in base)
    return out if out and not out[0].isdigit() else "m_" + out


class Checker:
    def __init__(self) -> None:
        self.types: Dict[str, ast.TypeDecl] = {}
        self.codecs: Dict[str, ast.CodecDecl] = {}
        self.wires: Dict[str, Loc] = {}
        self.loaded: Dict[str, ast.SchemaFile] = {}
        self.scopes: Dict[str, Scope] = {}
        self.symbols: Dict[str, Loc] = {}

    # ---- loading ------------------------------------------------------------

    def load(self, path: str, include_dirs: List[str], via: Optional[Loc] = None) -> ast.SchemaFile:
        real = os.path.realpath(path)
        if real in self.loaded:
            return self.loaded[real]
        try:
            with open(path, encoding="utf-8") as f:
                src = f.read()
        except OSError as e:
            if via:
                raise SchemaError(via, f"cannot read '{path}': {e.strerror}") from None
            raise SchemaError(Loc(path, 1, 1), f"cannot read: {e.strerror}") from None
        sf = parse(src, path)
        self.loaded[real] = sf
        for inc in sf.includes:
            self.load(self.find_include(inc, path, include_dirs), include_dirs, inc.loc)
        for c in sf.codecs:
            self.add_codec(c)
        for t in sf.types:
            self.add_type(t)
        return sf

    @staticmethod
    def find_include(inc: ast.Include, from_path: str, include_dirs: List[str]) -> str:
        for d in [os.path.dirname(from_path)] + include_dirs:
            p = os.path.join(d, inc.path)
            if os.path.exists(p):
                return p
        raise SchemaError(inc.loc, f"included schema '{inc.path}' not found")

    def add_codec(self, c: ast.CodecDecl) -> None:
        if c.name in self.codecs or c.name in self.types or c.name in ast.SCALARS:
            raise SchemaError(c.loc, f"'{c.name}' is already declared")
        self.codecs[c.name] = c

    def add_type(self, t: ast.TypeDecl) -> None:
        if t.name in C_KEYWORDS:
            raise SchemaError(t.loc, f"type name '{t.name}' is a C keyword")
        if t.name in self.types:
            raise SchemaError(t.loc, f"duplicate type '{t.name}' (first at {self.types[t.name].loc})")
        if t.name in self.codecs:
            raise SchemaError(t.loc, f"type '{t.name}' has the name of a codec")
        self.claim_wire(t.wire, t.loc)
        self.types[t.name] = t

    def claim_wire(self, wire: str, loc: Loc) -> None:
        if not wire:
            raise SchemaError(loc, "the wire name is empty")
        if len(wire.encode()) > 255:
            raise SchemaError(loc, f"wire name '{wire}' is longer than 255 bytes")
        if wire in self.wires:
            raise SchemaError(loc, f"duplicate wire name '{wire}' (first at {self.wires[wire]})")
        self.wires[wire] = loc

    def claim_symbol(self, sym: str, loc: Loc, what: str) -> None:
        if sym in self.symbols:
            raise SchemaError(loc, f"{what} makes the C name '{sym}', which is already "
                              f"used (at {self.symbols[sym]})")
        self.symbols[sym] = loc

    # ---- checking -------------------------------------------------------------

    def check_all(self) -> None:
        for t in self.types.values():
            self.check_type(t)
        for t in self.types.values():
            self.check_recursion(t, [])

    def check_type(self, t: ast.TypeDecl) -> None:
        if t.minimum > t.version:
            raise SchemaError(t.loc, f"minimum version {t.minimum} of type '{t.name}' is above "
                              f"its version {t.version}")
        if t.tmp_for and t.tmp_for not in self.types:
            raise SchemaError(t.tmp_for_loc or t.loc, f"unknown type '{t.tmp_for}'")
        scope = Scope(t)
        self.scopes[t.name] = scope
        self.claim_symbol(t.name, t.loc, f"type '{t.name}'")
        self.declare_members(scope, t.members, t.wire)
        self.check_members(scope, t.members, t.version, f"type '{t.name}'", t.wire)

    def declare_members(self, scope: Scope, members: List[ast.Member], parent_wire: str) -> None:
        """First pass: every C member of the scope, so predicates can see all."""
        for m in members:
            if m.kind == "subsection":
                assert m.sub is not None
                sub = m.sub
                if not sub.wire.startswith(parent_wire + "/") or sub.wire == parent_wire + "/":
                    raise SchemaError(sub.loc, f"subsection name '{sub.wire}' must start with "
                                      f"'{parent_wire}/'")
                self.claim_wire(sub.wire, sub.loc)
                self.declare_members(scope, sub.members, sub.wire)
                continue
            if m.kind in ("unused", "tmp"):
                continue
            if m.name in C_KEYWORDS:
                raise SchemaError(m.loc, f"member name '{m.name}' is reserved in generated C")
            if m.name in scope.by_name:
                first = scope.by_name[m.name]
                raise SchemaError(m.loc, f"duplicate member '{m.name}' in type "
                                  f"'{scope.tdecl.name}' (first at line {first.loc.line})")
            scope.by_name[m.name] = m
            if m.kind == "local":
                scope.locals[m.name] = m
        for m in members:
            if m.kind in ("qtailq", "qlist", "gtree"):
                extra = m.name + "_count"
                if extra in scope.by_name:
                    raise SchemaError(scope.by_name[extra].loc, f"member '{extra}' collides with "
                                      f"the element count of '{m.name}'")

    def check_members(self, scope: Scope, members: List[ast.Member], version: int, where: str,
                      wire: str) -> None:
        for m in members:
            self.check_attrs(scope, m, version, where)
            getattr(self, "check_" + m.kind)(scope, m, version, wire)
            if m.kind not in ("subsection", "local", "validate"):
                scope.seen_on_wire.add(m.name)

    def check_attrs(self, scope: Scope, m: ast.Member, version: int, where: str) -> None:
        a = m.attrs
        if a.since > version:
            raise SchemaError(a.since_loc or m.loc, f"'since {a.since}' is above the version of "
                              f"{where} ({version})")
        if a.default is not None:
            if not a.since:
                raise SchemaError(a.default_loc or m.loc, "'default' applies to members with "
                                  "'since' (it is the value older streams lack)")
            if not self.is_integer_scalar(m) and not self.is_scalar(m, "bool"):
                raise SchemaError(a.default_loc or m.loc, "'default' applies to integer and "
                                  "bool members")
        for word in ("equal", "le"):
            if getattr(a, word) and not self.is_integer_scalar(m):
                raise SchemaError(a.attr_locs[word], f"'{word}' applies to single integer "
                                  "members")
        if a.le and self.scalar(m)[0] != "i":
            raise SchemaError(a.attr_locs["le"], "'le' applies to signed integer members")
        if a.cname and not scope.tdecl.cstruct:
            raise SchemaError(a.attr_locs["cname"], "'cname' applies to types bound with "
                              "'cstruct'")
        if a.test:
            self.check_pred(scope, a.test)

    def scalar(self, m: ast.Member) -> str:
        return m.type_name if m.kind == "typed" and m.type_name in ast.SCALARS else ""

    def is_scalar(self, m: ast.Member, name: str) -> bool:
        return self.scalar(m) == name and not m.array and not m.pointer

    def is_integer_scalar(self, m: ast.Member) -> bool:
        return self.scalar(m) in ast.INTEGERS and not m.array and not m.pointer

    def check_pred(self, scope: Scope, pred: ast.Pred) -> None:
        if pred.expr is not None:
            self.check_expr(scope, pred.expr)

    def check_expr(self, scope: Scope, e: ast.Expr) -> None:
        if isinstance(e, ast.Ref):
            if e.name == "version":
                return
            m = scope.by_name.get(e.name)
            if m is None:
                raise SchemaError(e.loc, f"unknown member '{e.name}' in a predicate of type "
                                  f"'{scope.tdecl.name}'")
            t = m.type_name if m.kind in ("typed", "local") else None
            if t not in ast.INTEGERS and t != "bool" or m.array or m.pointer:
                raise SchemaError(e.loc, f"predicates can use integer and bool members; "
                                  f"'{e.name}' is not one")
        elif isinstance(e, ast.Unary):
            self.check_expr(scope, e.operand)
        elif isinstance(e, ast.Binary):
            self.check_expr(scope, e.left)
            self.check_expr(scope, e.right)

    # ---- one check per member kind ------------------------------------------

    def check_typed(self, scope: Scope, m: ast.Member, version: int, wire: str) -> None:
        tn = m.type_name or ""
        tloc = getattr(m, "type_loc", m.loc)
        if tn in ast.SCALARS:
            if m.pointer and (not m.array or m.array.fixed is None):
                raise SchemaError(m.loc, f"'{m.name}': a pointer to a scalar must be a fixed "
                                  "array of pointers")
        elif tn in self.types:
            if self.types[tn].tmp_for:
                raise SchemaError(tloc, f"type '{tn}' is a temporary (tmp_for); use it with "
                                  "'tmp'")
            if m.pointer and m.array and m.array.fixed is None:
                raise SchemaError(m.array.loc, f"'{m.name}': arrays of pointers have a fixed "
                                  "length")
        elif tn in self.codecs:
            if m.pointer or m.array:
                raise SchemaError(m.loc, f"codec member '{m.name}' cannot be a pointer or an "
                                  "array")
        else:
            raise SchemaError(tloc, f"unknown type '{tn}'")
        if m.array:
            self.check_array(scope, m, m.array)

    def check_array(self, scope: Scope, m: ast.Member, spec: ast.ArraySpec) -> None:
        if spec.fixed is not None:
            if spec.fixed <= 0 or spec.fixed > 0xFFFFFFFF:
                raise SchemaError(spec.loc, f"'{m.name}': the length must be 1 to 4294967295")
            if spec.max is not None:
                raise SchemaError(spec.loc, f"'{m.name}': 'max' applies to variable arrays only")
            return
        if spec.max is None:
            raise SchemaError(spec.loc, f"variable array '{m.name}' needs 'max N'")
        if spec.max <= 0 or spec.max > 0xFFFFFFFF:
            raise SchemaError(spec.loc, f"'{m.name}': the maximum must be 1 to 4294967295")
        if spec.multiply <= 0:
            raise SchemaError(spec.loc, f"'{m.name}': the multiplier must be positive")
        assert spec.count is not None
        cloc = spec.count_loc or spec.loc
        count = scope.by_name.get(spec.count)
        if count is None or (spec.count not in scope.locals and
                             spec.count not in scope.seen_on_wire):
            raise SchemaError(cloc, f"count '{spec.count}' of '{m.name}' must be an earlier wire "
                              "member or a local member")
        ctype = count.type_name if count.kind in ("typed", "local") else None
        if ctype not in COUNT_TYPES or count.array or count.pointer:
            raise SchemaError(cloc, f"count '{spec.count}' of '{m.name}' must be u8, u16, u32 or "
                              f"i32")
        needed = -(-spec.max // spec.multiply)
        if needed > COUNT_LIMITS[ctype]:
            raise SchemaError(cloc, f"count '{spec.count}' is {ctype} but the maximum "
                              f"{spec.max} does not fit in it")

    def check_buffer(self, scope: Scope, m: ast.Member, version: int, wire: str) -> None:
        assert m.array is not None
        self.check_array(scope, m, m.array)

    def check_bitmap(self, scope: Scope, m: ast.Member, version: int, wire: str) -> None:
        assert m.array is not None
        if m.array.fixed is not None:
            raise SchemaError(m.array.loc, f"bitmap '{m.name}' takes its size in bits from a "
                              "member: bitmap x[nbits] max N")
        self.check_array(scope, m, m.array)

    def check_unused(self, scope: Scope, m: ast.Member, version: int, wire: str) -> None:
        if m.size <= 0:
            raise SchemaError(m.loc, "'unused' needs a positive number of bytes")

    def check_local(self, scope: Scope, m: ast.Member, version: int, wire: str) -> None:
        if m.type_name not in ast.SCALARS:
            raise SchemaError(getattr(m, "type_loc", m.loc), f"local member '{m.name}' must be "
                              "a scalar")
        if m.array and m.array.fixed is None:
            raise SchemaError(m.array.loc, f"local array '{m.name}' has a fixed length")
        if m.attrs.attr_locs:
            loc = next(iter(m.attrs.attr_locs.values()))
            raise SchemaError(loc, f"local member '{m.name}' takes no attributes")

    def check_validate(self, scope: Scope, m: ast.Member, version: int, wire: str) -> None:
        assert m.pred is not None
        self.check_pred(scope, m.pred)

    def element_type(self, m: ast.Member, name: Optional[str], loc: Loc) -> ast.TypeDecl:
        t = self.types.get(name or "")
        if t is None:
            raise SchemaError(loc, f"unknown type '{name}'")
        if t.tmp_for:
            raise SchemaError(loc, f"type '{name}' is a temporary (tmp_for)")
        return t

    def check_qtailq(self, scope: Scope, m: ast.Member, version: int, wire: str) -> None:
        self.element_type(m, m.type_name, getattr(m, "type_loc", m.loc))
        if not m.max or m.max <= 0 or m.max > 0xFFFFFFFF:
            raise SchemaError(m.loc, f"'{m.name}': the maximum must be 1 to 4294967295")

    check_qlist = check_qtailq

    def check_gtree(self, scope: Scope, m: ast.Member, version: int, wire: str) -> None:
        self.check_qtailq(scope, m, version, wire)
        if m.key_type != "u64":
            self.element_type(m, m.key_type, getattr(m, "key_loc", m.loc))
        self.claim_symbol(f"{scope.tdecl.name}_{m.name}_node", m.loc, f"tree '{m.name}'")

    def check_tmp(self, scope: Scope, m: ast.Member, version: int, wire: str) -> None:
        loc = getattr(m, "type_loc", m.loc)
        t = self.types.get(m.type_name or "")
        if t is None:
            raise SchemaError(loc, f"unknown type '{m.type_name}'")
        if t.tmp_for != scope.tdecl.name:
            raise SchemaError(loc, f"type '{t.name}' must be declared 'tmp_for "
                              f"{scope.tdecl.name}' to be its temporary")

    def check_subsection(self, scope: Scope, m: ast.Member, version: int, wire: str) -> None:
        assert m.sub is not None
        sub = m.sub
        if sub.minimum > sub.version:
            raise SchemaError(sub.loc, f"minimum version {sub.minimum} of subsection "
                              f"'{sub.wire}' is above its version {sub.version}")
        if sub.needed:
            self.check_pred(scope, sub.needed)
        self.check_members(scope, sub.members, sub.version, f"subsection '{sub.wire}'", sub.wire)

    def check_recursion(self, t: ast.TypeDecl, stack: List[str]) -> None:
        if t.name in stack:
            raise SchemaError(t.loc, f"type '{t.name}' contains itself by value")
        for m in all_members(t.members):
            inner = None
            if m.kind == "typed" and not m.pointer:
                inner = self.types.get(m.type_name or "")
            elif m.kind == "tmp":
                inner = self.types.get(m.type_name or "")
            if inner:
                self.check_recursion(inner, stack + [t.name])


def all_members(members: List[ast.Member]) -> List[ast.Member]:
    """Members of a type with those of its (nested) subsections, in order."""
    out: List[ast.Member] = []
    for m in members:
        out.append(m)
        if m.kind == "subsection" and m.sub:
            out.extend(all_members(m.sub.members))
    return out


def load_model(path: str, include_dirs: Optional[List[str]] = None) -> Model:
    """Parse @path and what it includes, check everything, return the model."""
    c = Checker()
    main = c.load(path, include_dirs or [])
    c.check_all()
    return Model(main=main, module=module_name(path), types=c.types, codecs=c.codecs,
                 own_types=list(main.types), includes=[i.path for i in main.includes],
                 scopes=c.scopes, sources=[f.path for f in c.loaded.values()])
