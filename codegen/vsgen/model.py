"""Loading and checking: syntax trees -> a checked model ready for backends.

Checking resolves every name (types, codecs, counts, predicate members),
enforces the language's rules and reports the first problem as
file:line:col: message.  Backends then rely on the model being sound.
"""

import os
import re
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
    "_Complex", "_Imaginary", "_Alignas", "_Alignof", "_Atomic", "_Generic", "_Noreturn",
    "_Static_assert", "_Thread_local", "bool", "true", "false",
}
WALKER_PARAMS = {"v", "s", "version", "errp", "name", "ok"}
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
    type_prefix: str = ""                       # --prefix: on C symbols only


def module_name(path: str) -> str:
    base = os.path.basename(path)
    if base.endswith(".vs"):
        base = base[:-3]
    out = "".join(c if c.isalnum() else "_" for c in base)
    return out if out and not out[0].isdigit() else "m_" + out


INT_RANGES = {
    "u8": (0, 0xFF), "u16": (0, 0xFFFF), "u32": (0, 0xFFFFFFFF), "u64": (0, 0xFFFFFFFFFFFFFFFF),
    "i8": (-0x80, 0x7F), "i16": (-0x8000, 0x7FFF), "i32": (-0x80000000, 0x7FFFFFFF),
    "i64": (-0x8000000000000000, 0x7FFFFFFFFFFFFFFF), "bool": (0, 1),
}
U32_MAX = 0xFFFFFFFF
INT64_MAX = 0x7FFFFFFFFFFFFFFF
# C names the generated code relies on; schema names must not take them.
RESERVED_C_NAMES = {
    "uint8_t", "uint16_t", "uint32_t", "uint64_t", "int8_t", "int16_t", "int32_t",
    "int64_t", "size_t", "GError", "TALLOC_CTX",
}
MAX_TYPE_NESTING = 64       # structs inside structs by value
MAX_INCLUDE_DEPTH = 32
C_TYPE = re.compile(r"(?:(?:struct|union|enum|const|unsigned|signed) +)*[A-Za-z_][A-Za-z0-9_]*\Z")
CODEC_CTYPE = re.compile(r"((?:(?:struct|union|enum|unsigned|signed) +)*[A-Za-z_][A-Za-z0-9_]*"
                         r"(?: *\*)*)((?:\[[1-9][0-9]*\])*)\Z")
C_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\[[0-9]+\])*\Z")


def mangle(text: str) -> str:
    """As the C backend turns a subsection's wire name into part of a C name."""
    out = "".join(c if c.isalnum() else "_" for c in text)
    return out if out and not out[0].isdigit() else "_" + out


def basename_of(path: str) -> str:
    base = os.path.basename(path)
    return base[:-3] if base.endswith(".vs") else base


class Checker:
    def __init__(self) -> None:
        self.types: Dict[str, ast.TypeDecl] = {}
        self.codecs: Dict[str, ast.CodecDecl] = {}
        self.wires: Dict[str, Loc] = {}
        self.loaded: Dict[str, ast.SchemaFile] = {}
        self.loading: List[str] = []                 # real paths being loaded (includes)
        self.file_of: Dict[str, str] = {}            # type or codec name -> real path
        self.visible: Dict[str, Set[str]] = {}       # real path -> real paths it sees
        self.bases: Dict[str, str] = {}              # generated base name -> schema path
        self.scopes: Dict[str, Scope] = {}
        self.symbols: Dict[str, Loc] = {}
        self.functions: Dict[str, tuple] = {}        # C function -> (signature, what, loc)
        self.owner: Dict[int, object] = {}           # id(member) -> its type or subsection

    # ---- loading ------------------------------------------------------------

    def load(self, path: str, include_dirs: List[str], via: Optional[Loc] = None) -> ast.SchemaFile:
        real = os.path.realpath(path)
        if real in self.loading:
            assert via is not None
            chain = self.loading[self.loading.index(real):] + [real]
            names = " -> ".join(os.path.basename(p) for p in chain)
            raise SchemaError(via, f"include cycle: {names}")
        if real in self.loaded:
            return self.loaded[real]
        if via and len(self.loading) >= MAX_INCLUDE_DEPTH:
            raise SchemaError(via, f"includes nested too deeply (the limit is "
                              f"{MAX_INCLUDE_DEPTH})")
        where = via or Loc(path, 1, 1)
        what = f"cannot read '{path}'" if via else "cannot read"
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise SchemaError(where, f"{what}: {e.strerror}") from None
        try:
            src = data.decode("utf-8")
        except UnicodeDecodeError as e:
            head = data[:e.start]
            line = head.count(b"\n") + 1
            col = len(head[head.rfind(b"\n") + 1:].decode("utf-8", "replace")) + 1
            raise SchemaError(Loc(path, line, col), f"invalid UTF-8 (byte 0x{data[e.start]:02x})"
                              ) from None
        base = basename_of(path)
        if base in self.bases:
            raise SchemaError(where, f"schema '{path}' has the same base name as "
                              f"'{self.bases[base]}', so their generated files would collide")
        self.bases[base] = path
        self.loading.append(real)
        sf = parse(src, path)
        seen = {real}
        for inc in sf.includes:
            inc_sf = self.load(self.find_include(inc, path, include_dirs), include_dirs, inc.loc)
            seen |= self.visible[os.path.realpath(inc_sf.path)]
        self.loading.pop()
        self.loaded[real] = sf
        self.visible[real] = seen
        # In source order, so a clash is reported at the later declaration.
        decls: List[object] = sorted(sf.codecs + sf.types,  # type: ignore[operator]
                                     key=lambda d: (d.loc.line, d.loc.col))
        for d in decls:
            if isinstance(d, ast.CodecDecl):
                self.add_codec(d, real)
            else:
                self.add_type(d, real)  # type: ignore[arg-type]
        return sf

    @staticmethod
    def find_include(inc: ast.Include, from_path: str, include_dirs: List[str]) -> str:
        for d in [os.path.dirname(from_path)] + include_dirs:
            p = os.path.join(d, inc.path)
            if os.path.isfile(p):
                return p
        raise SchemaError(inc.loc, f"included schema '{inc.path}' not found")

    def check_c_name(self, name: str, loc: Loc, what: str) -> None:
        if what in ("predicate function", "codec name") or "hook" in what:
            # Generated walkers call these with parameters of these names.
            if name in WALKER_PARAMS:
                raise SchemaError(loc, f"{what} '{name}' is the name of a parameter of the "
                                  "generated walkers")
        if name in C_KEYWORDS:
            raise SchemaError(loc, f"{what} '{name}' is a C keyword")
        if name in RESERVED_C_NAMES:
            raise SchemaError(loc, f"{what} '{name}' is a C type the generated code uses")
        if name.lower().startswith("vs_"):
            raise SchemaError(loc, f"{what} '{name}' starts with 'vs_', which is reserved for "
                              "vstate's own C names")

    def add_codec(self, c: ast.CodecDecl, real: str) -> None:
        self.check_c_name(c.name, c.loc, "codec name")
        if c.name in self.codecs:
            raise SchemaError(c.loc, f"duplicate codec '{c.name}' (first at "
                              f"{self.codecs[c.name].loc})")
        if c.name in self.types:
            raise SchemaError(c.loc, f"codec '{c.name}' has the name of a type (at "
                              f"{self.types[c.name].loc})")
        cloc = getattr(c, "ctype_loc", c.loc)
        m = CODEC_CTYPE.match(c.ctype.strip())
        if not m:
            raise SchemaError(cloc, f"codec C type '{c.ctype}' is not a C type name with "
                              "optional dimensions, like 'uint8_t[256]'")
        if c.size > U32_MAX:
            raise SchemaError(getattr(c, "size_loc", None) or c.loc, f"codec size {c.size} is "
                              f"above {U32_MAX}")
        self.codecs[c.name] = c
        self.file_of["codec " + c.name] = real

    def add_type(self, t: ast.TypeDecl, real: str) -> None:
        self.check_c_name(t.name, t.loc, "type name")
        if t.name in self.types:
            raise SchemaError(t.loc, f"duplicate type '{t.name}' (first at {self.types[t.name].loc})")
        if t.name in self.codecs:
            raise SchemaError(t.loc, f"type '{t.name}' has the name of a codec (at "
                              f"{self.codecs[t.name].loc})")
        if not t.nested:
            self.claim_wire(t.wire, getattr(t, "wire_loc", t.loc))
        self.types[t.name] = t
        self.file_of["type " + t.name] = real

    def claim_wire(self, wire: str, loc: Loc) -> None:
        if not wire:
            raise SchemaError(loc, "the wire name is empty")
        if len(wire.encode()) > 255:
            raise SchemaError(loc, f"wire name '{wire[:32]}...' is longer than 255 bytes")
        if wire in self.wires:
            raise SchemaError(loc, f"duplicate wire name '{wire}' (first at {self.wires[wire]})")
        self.wires[wire] = loc

    def claim_symbol(self, sym: str, loc: Loc, what: str) -> None:
        if sym in self.symbols:
            raise SchemaError(loc, f"{what} makes the C name '{sym}', which is already "
                              f"used (at {self.symbols[sym]})")
        self.symbols[sym] = loc

    def use_type(self, name: str, loc: Loc, user: ast.TypeDecl, kind: str = "type") -> None:
        """Refuse a type or codec declared in a schema that @user's schema does not include."""
        decl = self.file_of.get(f"{kind} {name}")
        here = os.path.realpath(user.path)
        if decl is None or decl in self.visible.get(here, {decl}):
            return
        raise SchemaError(loc, f"{kind} '{name}' is declared in '{os.path.basename(decl)}', "
                          f"which '{os.path.basename(user.path)}' does not include")

    # ---- checking -------------------------------------------------------------

    def check_all(self) -> None:
        for t in self.types.values():
            self.claim_symbol(t.name, t.loc, f"type '{t.name}'")
        for t in self.types.values():
            self.check_type(t)
        self.check_functions()
        self.check_recursion()

    def check_type(self, t: ast.TypeDecl) -> None:
        locs = getattr(t, "locs", {})
        if t.version > U32_MAX:
            raise SchemaError(locs.get("version", t.loc), f"version {t.version} of type "
                              f"'{t.name}' is above {U32_MAX}")
        if t.minimum > t.version:
            raise SchemaError(locs.get("minimum", t.loc), f"minimum version {t.minimum} of type "
                              f"'{t.name}' is above its version {t.version}")
        if t.cstruct is not None and not C_TYPE.match(t.cstruct):
            raise SchemaError(locs.get("cstruct", t.loc), f"cstruct '{t.cstruct}' is not a C "
                              "type name")
        if t.header is not None and not t.header.strip():
            raise SchemaError(locs.get("header", t.loc), "the header file name is empty")
        if t.tmp_for:
            loc = t.tmp_for_loc or t.loc
            parent = self.types.get(t.tmp_for)
            if parent is None:
                raise SchemaError(loc, f"unknown type '{t.tmp_for}'")
            self.use_type(t.tmp_for, loc, t)
        scope = Scope(t)
        self.scopes[t.name] = scope
        self.declare_members(scope, t, t.members, t.wire)
        self.check_members(scope, t.members, t.version, f"type '{t.name}'", t.wire)

    def declare_members(self, scope: Scope, owner, members: List[ast.Member],
                        parent_wire: str) -> None:
        """First pass: every C member of the scope, so predicates can see all."""
        for m in members:
            self.owner[id(m)] = owner
            if m.kind == "subsection":
                assert m.sub is not None
                sub = m.sub
                # QEMU finds a struct's subsections by this prefix alone; most
                # names add "/part", some (pckbd_outport, vga.endian) do not.
                if not sub.wire.startswith(parent_wire) or len(sub.wire) == len(parent_wire):
                    raise SchemaError(sub.loc, f"subsection name '{sub.wire}' must begin with "
                                      f"its parent's name '{parent_wire}' and be longer "
                                      "(QEMU finds subsections by that prefix)")
                if sub.wire == parent_wire + "/":
                    raise SchemaError(sub.loc, f"subsection name '{sub.wire}' needs a name after "
                                      f"'{parent_wire}/'")
                self.claim_wire(sub.wire, sub.loc)
                t = scope.tdecl
                self.claim_symbol(f"{t.name}__{mangle(sub.wire[len(t.wire) + 1:])}", sub.loc,
                                  f"subsection '{sub.wire}'")
                self.declare_members(scope, sub, sub.members, sub.wire)
                continue
            if m.kind in ("unused", "tmp"):
                continue
            if m.name in C_KEYWORDS:
                raise SchemaError(m.loc, f"member name '{m.name}' is a C keyword")
            if m.name == "parent" and scope.tdecl.tmp_for:
                raise SchemaError(m.loc, f"member name 'parent' is taken in type "
                                  f"'{scope.tdecl.name}': a tmp_for type's C struct starts "
                                  "with its parent pointer")
            if m.name in scope.by_name:
                first = scope.by_name[m.name]
                raise SchemaError(m.loc, f"duplicate member '{m.name}' in type "
                                  f"'{scope.tdecl.name}' (first at line {first.loc.line})")
            scope.by_name[m.name] = m
            if m.kind == "local":
                scope.locals[m.name] = m
        if owner is scope.tdecl:
            for m in all_members(members):
                if m.kind in ("qtailq", "qlist", "gtree"):
                    extra = m.name + "_count"
                    if extra in scope.by_name:
                        raise SchemaError(scope.by_name[extra].loc, f"member '{extra}' collides "
                                          f"with the element count of '{m.name}'")

    def check_members(self, scope: Scope, members: List[ast.Member], version: int, where: str,
                      wire: str) -> None:
        after_sub = None
        for m in members:
            if m.kind == "subsection":
                after_sub = m
            elif after_sub is not None and m.kind not in ("local", "validate"):
                assert after_sub.sub is not None
                raise SchemaError(m.loc, f"member '{m.name}' follows subsection "
                                  f"'{after_sub.sub.wire}': subsections come after all wire "
                                  "members (QEMU writes them last)")
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
            dloc = a.default_loc or m.loc
            if not a.since:
                raise SchemaError(dloc, "'default' applies to members with 'since' (it is the "
                                  "value older streams lack)")
            if not self.is_integer_scalar(m) and not self.is_scalar(m, "bool"):
                raise SchemaError(dloc, "'default' applies to single integer and bool members")
            lo, hi = INT_RANGES[self.scalar(m)]
            if not lo <= a.default <= hi:
                raise SchemaError(getattr(a, "default_value_loc", dloc), f"default {a.default} "
                                  f"of '{m.name}' does not fit in {self.scalar(m)} ({lo} to "
                                  f"{hi})")
        for word in ("equal", "le"):
            if getattr(a, word) and not self.is_integer_scalar(m):
                raise SchemaError(a.attr_locs[word], f"'{word}' applies to single integer "
                                  "members")
        if a.le and a.equal:
            raise SchemaError(a.attr_locs["le"], "'le' and 'equal' exclude each other")
        if a.le and self.scalar(m)[0] != "i":
            raise SchemaError(a.attr_locs["le"], "'le' applies to signed integer members")
        if a.cname is not None:
            if not scope.tdecl.cstruct:
                raise SchemaError(a.attr_locs["cname"], "'cname' applies to types bound with "
                                  "'cstruct'")
            if m.kind in ("unused", "tmp"):
                raise SchemaError(a.attr_locs["cname"], f"'cname' applies to members with a C "
                                  f"member; '{m.kind}' has none")
            if not C_PATH.match(a.cname):
                raise SchemaError(getattr(a, "cname_loc", a.attr_locs["cname"]), f"cname "
                                  f"'{a.cname}' is not a C member path like 'regs.id'")
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
        elif pred.func is not None:
            self.check_c_name(pred.func, pred.loc, "predicate function")

    def check_expr(self, scope: Scope, e: ast.Expr) -> None:
        if isinstance(e, ast.Num):
            if e.value > INT64_MAX:
                raise SchemaError(e.loc, f"integer {e.value} is too large for a predicate (the "
                                  f"most is {INT64_MAX})")
        elif isinstance(e, ast.Ref):
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
                raise SchemaError(m.loc, f"pointer member '{m.name}' to a scalar must be a "
                                  f"fixed array of pointers ({tn} *{m.name}[N])")
        elif tn in self.types:
            self.use_type(tn, tloc, scope.tdecl)
            if self.types[tn].tmp_for:
                raise SchemaError(tloc, f"type '{tn}' is a temporary (tmp_for); use it with "
                                  "'tmp'")
            if m.pointer and m.array and m.array.fixed is None:
                raise SchemaError(m.array.loc, f"array of pointers '{m.name}' must have a "
                                  "fixed length")
        elif tn in self.codecs:
            self.use_type(tn, tloc, scope.tdecl, "codec")
            if m.pointer or m.array:
                raise SchemaError(m.loc, f"codec member '{m.name}' cannot be a pointer or an "
                                  "array")
        else:
            raise SchemaError(tloc, f"unknown type '{tn}'")
        if m.array:
            self.check_array(scope, m, m.array)

    def check_array(self, scope: Scope, m: ast.Member, spec: ast.ArraySpec) -> None:
        if spec.fixed is not None:
            floc = getattr(spec, "fixed_loc", None) or spec.loc
            if spec.fixed <= 0 or spec.fixed > U32_MAX:
                raise SchemaError(floc, f"the length of '{m.name}' must be 1 to {U32_MAX}")
            if spec.max is not None:
                raise SchemaError(getattr(spec, "max_word_loc", spec.loc), f"'{m.name}' has a "
                                  "fixed length; 'max' applies to variable arrays only")
            return
        if spec.max is None:
            raise SchemaError(spec.loc, f"variable array '{m.name}' needs 'max N'")
        if spec.max <= 0 or spec.max > U32_MAX:
            raise SchemaError(getattr(spec, "max_loc", None) or spec.loc, f"the maximum of "
                              f"'{m.name}' must be 1 to {U32_MAX}")
        if spec.multiply <= 0 or spec.multiply > U32_MAX:
            raise SchemaError(getattr(spec, "mult_loc", None) or spec.loc, f"the multiplier of "
                              f"'{m.name}' must be 1 to {U32_MAX}")
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
            mloc = getattr(spec, "max_loc", None) or cloc
            if spec.multiply == 1:
                raise SchemaError(mloc, f"count '{spec.count}' is {ctype} but the maximum "
                                  f"{spec.max} does not fit in it")
            raise SchemaError(mloc, f"count '{spec.count}' is {ctype} but must reach {needed} "
                              f"for [{spec.count} * {spec.multiply}] to reach the maximum "
                              f"{spec.max}")
        if (count.kind != "local" and count.attrs.since > m.attrs.since and
                self.owner.get(id(count)) is self.owner.get(id(m))):
            raise SchemaError(cloc, f"count '{spec.count}' of '{m.name}' is on the wire only "
                              f"since version {count.attrs.since}, but '{m.name}' is there "
                              f"since {m.attrs.since or 'the first'}")

    def check_buffer(self, scope: Scope, m: ast.Member, version: int, wire: str) -> None:
        assert m.array is not None
        self.check_array(scope, m, m.array)

    def check_bitmap(self, scope: Scope, m: ast.Member, version: int, wire: str) -> None:
        assert m.array is not None
        if m.array.fixed is not None:
            raise SchemaError(getattr(m.array, "fixed_loc", None) or m.array.loc,
                              f"bitmap '{m.name}' takes its size in bits from a member: "
                              "bitmap x[nbits] max N")
        self.check_array(scope, m, m.array)

    def check_unused(self, scope: Scope, m: ast.Member, version: int, wire: str) -> None:
        if m.size <= 0 or m.size > U32_MAX:
            raise SchemaError(getattr(m, "size_loc", m.loc), f"'unused' needs 1 to {U32_MAX} "
                              "bytes")

    def check_local(self, scope: Scope, m: ast.Member, version: int, wire: str) -> None:
        if m.type_name not in ast.SCALARS:
            raise SchemaError(getattr(m, "type_loc", m.loc), f"local member '{m.name}' must be "
                              "a scalar")
        if m.array and m.array.fixed is None:
            raise SchemaError(m.array.loc, f"local array '{m.name}' has a fixed length")
        if m.array:
            self.check_array(scope, m, m.array)
        for word, loc in m.attrs.attr_locs.items():
            if word != "cname":
                raise SchemaError(loc, f"local member '{m.name}' takes no '{word}': it is "
                                  "never on the wire")

    def check_validate(self, scope: Scope, m: ast.Member, version: int, wire: str) -> None:
        assert m.pred is not None
        self.check_pred(scope, m.pred)

    def element_type(self, scope: Scope, m: ast.Member, name: Optional[str], loc: Loc,
                     what: str) -> ast.TypeDecl:
        t = self.types.get(name or "")
        if t is None:
            if name in ast.SCALARS or name in self.codecs:
                raise SchemaError(loc, f"{what} of '{m.name}' must be a type, not "
                                  f"{'the scalar' if name in ast.SCALARS else 'the codec'} "
                                  f"'{name}'")
            raise SchemaError(loc, f"unknown type '{name}'")
        self.use_type(t.name, loc, scope.tdecl)
        if t.tmp_for:
            raise SchemaError(loc, f"type '{name}' is a temporary (tmp_for); use it with 'tmp'")
        return t

    def check_qtailq(self, scope: Scope, m: ast.Member, version: int, wire: str) -> None:
        what = "the values" if m.kind == "gtree" else "the elements"
        self.element_type(scope, m, m.type_name, getattr(m, "type_loc", m.loc), what)
        if not m.max or m.max <= 0 or m.max > U32_MAX:
            raise SchemaError(getattr(m, "max_loc", m.loc), f"the maximum of '{m.name}' must be "
                              f"1 to {U32_MAX}")

    check_qlist = check_qtailq

    def check_gtree(self, scope: Scope, m: ast.Member, version: int, wire: str) -> None:
        if m.key_type != "u64":
            self.element_type(scope, m, m.key_type, getattr(m, "key_loc", m.loc),
                              "the key (u64 or a type)")
        self.check_qtailq(scope, m, version, wire)
        self.claim_symbol(f"{scope.tdecl.name}_{m.name}_node", m.loc, f"tree '{m.name}'")

    def check_tmp(self, scope: Scope, m: ast.Member, version: int, wire: str) -> None:
        loc = getattr(m, "type_loc", m.loc)
        t = self.types.get(m.type_name or "")
        if t is None:
            raise SchemaError(loc, f"unknown type '{m.type_name}'")
        self.use_type(t.name, loc, scope.tdecl)
        if t.tmp_for != scope.tdecl.name:
            raise SchemaError(loc, f"type '{t.name}' must be declared 'tmp_for "
                              f"{scope.tdecl.name}' to be its temporary")

    def check_subsection(self, scope: Scope, m: ast.Member, version: int, wire: str) -> None:
        assert m.sub is not None
        sub = m.sub
        locs = getattr(sub, "locs", {})
        if sub.version > U32_MAX:
            raise SchemaError(locs.get("version", sub.loc), f"version {sub.version} of "
                              f"subsection '{sub.wire}' is above {U32_MAX}")
        if sub.minimum > sub.version:
            raise SchemaError(locs.get("minimum", sub.loc), f"minimum version {sub.minimum} of "
                              f"subsection '{sub.wire}' is above its version {sub.version}")
        if sub.needed:
            self.check_pred(scope, sub.needed)
        self.check_members(scope, sub.members, sub.version, f"subsection '{sub.wire}'", sub.wire)

    # ---- functions the device implements ---------------------------------------

    def note_function(self, name: str, signature: str, what: str, loc: Loc,
                      kind: str) -> None:
        self.check_c_name(name, loc, kind)
        old = self.functions.get(name)
        if old is None:
            if name in self.symbols:
                raise SchemaError(loc, f"function '{name}' has the C name of a type (at "
                                  f"{self.symbols[name]})")
            if name in self.codecs:
                raise SchemaError(loc, f"function '{name}' has the name of a codec (at "
                                  f"{self.codecs[name].loc})")
            self.functions[name] = (signature, what, loc)
        elif old[0] != signature:
            raise SchemaError(loc, f"function '{name}' is used as {what} with a different C "
                              f"signature than as {old[1]} (at {old[2]})")

    def check_functions(self) -> None:
        """Hooks and predicate functions: one C signature per name, no clash with types."""
        for t in self.types.values():
            ct = t.cstruct or t.name
            self.note_hooks(t.hooks, ct, t.loc, f"'{t.name}'")
            for m in all_members(t.members):
                if m.kind == "subsection" and m.sub:
                    self.note_hooks(m.sub.hooks, ct, m.sub.loc, f"'{m.sub.wire}'")
                    self.note_pred(m.sub.needed, ct, t.name)
                self.note_pred(m.attrs.test, ct, t.name)
                if m.kind == "validate":
                    self.note_pred(m.pred, ct, t.name)

    def note_hooks(self, hooks: ast.Hooks, ct: str, loc: Loc, what: str) -> None:
        locs = getattr(hooks, "locs", {})
        for h in ("pre_save", "post_save", "pre_load", "post_load"):
            fn = getattr(hooks, h)
            if fn:
                sig = f"bool({ct} *, uint32_t, GError **)" if h == "post_load" else \
                    f"bool({ct} *, GError **)"
                self.note_function(fn, sig, f"the {h} hook of {what}", locs.get(h, loc),
                                   "hook function")

    def note_pred(self, pred: Optional[ast.Pred], ct: str, tname: str) -> None:
        if pred and pred.func:
            self.note_function(pred.func, f"bool(const {ct} *, uint32_t)",
                               f"a predicate of '{tname}'", pred.loc, "predicate function")

    # ---- containment ---------------------------------------------------------------

    def contained(self, t: ast.TypeDecl):
        """(member, type) pairs @t holds by value in its C struct (gtree nodes included)."""
        for m in all_members(t.members):
            names: List[str] = []
            if m.kind in ("typed", "tmp") and not m.pointer:
                names = [m.type_name or ""]
            elif m.kind == "gtree":
                names = [m.key_type or "", m.type_name or ""]
            for n in names:
                inner = self.types.get(n)
                if inner is not None:
                    yield m, inner

    def check_recursion(self) -> None:
        """No type holds itself by value; by-value nesting stays bounded.  Iterative."""
        depth: Dict[str, int] = {}
        for root in self.types.values():
            if root.name in depth:
                continue
            # Each frame: type, iterator over what it holds, member that led here.
            stack = [(root, iter(list(self.contained(root))), None)]
            on_stack = {root.name: 0}
            while stack:
                t, it, _ = stack[-1]
                step = next(it, None)
                if step is None:
                    stack.pop()
                    del on_stack[t.name]
                    inner_depths = [depth[i.name] for _, i in self.contained(t)]
                    depth[t.name] = 1 + max(inner_depths, default=0)
                    if depth[t.name] > MAX_TYPE_NESTING:
                        raise SchemaError(t.loc, f"type '{t.name}' nests structs by value more "
                                          f"than {MAX_TYPE_NESTING} deep")
                    continue
                m, inner = step
                if inner.name in on_stack:
                    cycle = stack[on_stack[inner.name]:]
                    via = [frame[2] for frame in cycle[1:]] + [m]
                    path = " -> ".join(f"{frame[0].name}.{mem.name}"
                                       for frame, mem in zip(cycle, via))
                    first = cycle[0][0]
                    how = (" (a tree's nodes hold their key and value by value)"
                           if any(mem.kind == "gtree" for mem in via) else "")
                    raise SchemaError(first.loc, f"type '{first.name}' contains itself by "
                                      f"value: {path} -> {first.name}{how}")
                if inner.name in depth:
                    continue
                on_stack[inner.name] = len(stack)
                stack.append((inner, iter(list(self.contained(inner))), m))


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


PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def apply_prefix(model: Model, prefix: str) -> None:
    """Rename every type to @prefix + its name, references included.

    The C symbols of a type derive from its name (the struct, vs_type_NAME,
    vs_visit_NAME, vs_init_NAME), so two schemas that declare the same type
    names (a device's current schema and an older one kept for compatibility
    tests) can be linked into one program when one is compiled with a prefix.
    Wire names, member names, hooks and codecs are unchanged, and so are the
    type names in the descriptors (VsTypeInfo.name), which the BER form
    writes and loaders compare.  Included types are renamed too: an included
    schema must be compiled with the same prefix.
    """
    if not PREFIX.match(prefix) or prefix.lower().startswith("vs_"):
        raise SchemaError(Loc(model.main.path, 1, 1),
                          f"prefix '{prefix}' is not a C identifier that may start a type name")
    renamed = {name: prefix + name for name in model.types}
    model.type_prefix = prefix
    for t in model.types.values():
        t.name = renamed[t.name]
        if t.tmp_for in renamed:
            t.tmp_for = renamed[t.tmp_for]
        for m in all_members(t.members):
            if m.type_name in renamed and m.type_name not in model.codecs:
                m.type_name = renamed[m.type_name]
            if m.key_type in renamed:
                m.key_type = renamed[m.key_type]
    model.types = {renamed[k]: v for k, v in model.types.items()}
    model.scopes = {renamed.get(k, k): v for k, v in model.scopes.items()}
