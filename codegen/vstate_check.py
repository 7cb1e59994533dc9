#!/usr/bin/env python3
"""vstate check OLD NEW: find schema changes that break migration.

OLD and NEW are each a ``.vs`` schema, a directory of them, or a QEMU
``-dump-vmstate`` JSON file.  Both are read into one model (sections, their
fields with versions, sizes, array lengths and conditions, subsections with
their ``needed`` predicates, nested structs) and compared in both
directions of migration:

* ``old->new``: a source built from OLD writes, a destination built from
  NEW loads;
* ``new->old``: the reverse.

Each finding is one line::

    ERROR i8259/irr: field retyped (u8 irr -> u16 irr), breaks old->new and new->old

with ``--format=json`` for tools.  Exit status: 0 compatible (warnings at
most), 1 incompatible (an error in a direction checked), 2 bad input.
docs/compat.md lists the checks, their severities and directions.

Predicates written as expressions are evaluated: a condition or ``needed``
predicate is tested against the values an old writer can produce (members
the old schema lacks hold their declared defaults), so a subsection that an
old destination may receive is told from one it never will.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import sys
from dataclasses import dataclass, field, replace
from typing import Dict, Iterable, List, Optional, Set, Tuple

HERE = os.path.dirname(os.path.realpath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from vsgen import ast  # noqa: E402
from vsgen.backend_c import expr_text  # noqa: E402
from vsgen.backend_desc import DescBackend  # noqa: E402
from vsgen.errors import SchemaError  # noqa: E402
from vsgen.model import INT_RANGES, load_model  # noqa: E402

PROG = "vstate check"
OLD_NEW = "old->new"
NEW_OLD = "new->old"
DIRECTIONS = (OLD_NEW, NEW_OLD)
ERROR = "ERROR"
WARNING = "WARNING"


class InputError(Exception):
    """Input the checker cannot read: reported with exit status 2."""


# ---- the common model --------------------------------------------------------

@dataclass(frozen=True)
class Cond:
    """A field's condition or a subsection's `needed`: none, an expression,
    a C function, or unknown (QEMU's dumps say only that a test exists)."""
    kind: str                       # "none", "expr", "func", "unknown"
    expr: Optional[ast.Expr] = None
    text: str = ""


NO_COND = Cond("none")


@dataclass
class Var:
    """A member predicates can name: its scalar type and its default."""
    ctype: str
    default: int


@dataclass(eq=False)
class Field:
    key: str                 # alignment key: the name, with #N for a repeated name
    name: str
    kind: str                # scalar codec struct buffer bitmap list gtree unused blob
    elem: str = ""           # scalar type, codec or struct type name
    size: int = 0            # what -dump-vmstate calls the size (per element)
    since: int = 0
    cond: Cond = NO_COND
    array: Optional[Tuple] = None      # ("fixed", n) or ("var", count, multiply, max)
    pointer: bool = False
    max: Optional[int] = None          # lists and trees
    nested: Optional["Desc"] = None    # struct, list element, tree value
    key_nested: Optional["Desc"] = None
    equal: bool = False
    le: bool = False
    decl: str = ""
    absorbed: bool = False             # matched with unused bytes of the same size
    # Inlined from a struct that ends its description: (the struct field's
    # name, the struct's own version).  The legacy form walks a nested struct
    # at its own version whatever the stream's, so `since` and `version` in
    # conditions are read at that version.
    walked: Optional[Tuple[str, int]] = None


@dataclass(eq=False)
class Desc:
    """A section, a nested struct or a subsection."""
    name: str
    version: int
    minimum: int
    fields: List[Field] = field(default_factory=list)
    subs: List["Desc"] = field(default_factory=list)
    needed: Cond = NO_COND              # subsections only
    validates: Dict[str, Cond] = field(default_factory=dict)
    scope: Dict[str, Var] = field(default_factory=dict)
    origin: str = "vs"


@dataclass
class SchemaSet:
    """OLD or NEW: its sections by key, and where they came from."""
    origin: str                          # "vs" or "json"
    sections: Dict[str, Desc]
    by_wire: Dict[str, Desc]
    # A dump describes some vmsds under several QOM types, not always alike
    # (isa-serial and serial-mm both send "serial"): every one, by wire name.
    all_by_wire: Dict[str, List[Desc]] = field(default_factory=dict)
    machine: Optional[str] = None
    what: str = ""


# ---- reading .vs schemas -----------------------------------------------------

def assign_keys(fields: List[Field]) -> None:
    """Alignment keys: a field's name (name#2 for its second use); unused
    bytes by the field they follow, since they have no name of their own."""
    seen: Dict[str, int] = {}
    last = "^"
    for f in fields:
        base = f"unused@{last}" if f.kind == "unused" else f.name
        n = seen.get(base, 0) + 1
        seen[base] = n
        f.key = base if n == 1 else f"{base}#{n}"
        if f.kind != "unused":
            last = f.key


def scalar_decl(m: ast.Member) -> str:
    """A member as the schema writes it, for messages."""
    parts = []
    if m.kind == "typed":
        head = f"{m.type_name} {'*' if m.pointer else ''}{m.name}"
    elif m.kind in ("buffer", "bitmap"):
        head = f"{m.kind} {m.name}"
    elif m.kind in ("qtailq", "qlist"):
        head = f"{m.kind} {m.type_name} {m.name}"
    elif m.kind == "gtree":
        head = f"gtree {m.key_type} {m.type_name} {m.name}"
    elif m.kind == "unused":
        return f"unused {m.size}"
    else:
        head = f"{m.kind} {m.name}"
    if m.array:
        a = m.array
        inner = str(a.fixed) if a.fixed is not None else (
            a.count + (f" * {a.multiply}" if a.multiply != 1 else ""))
        head += f"[{inner}]"
        if a.max is not None:
            head += f" max {a.max}"
    if m.max is not None:
        head += f" max {m.max}"
    parts.append(head)
    if m.attrs.since:
        parts.append(f"since {m.attrs.since}")
    if m.attrs.test:
        parts.append(f"if {cond_of(m.attrs.test).text}")
    if m.attrs.default is not None:
        parts.append(f"default {m.attrs.default}")
    if m.attrs.equal:
        parts.append("equal")
    if m.attrs.le:
        parts.append("le")
    return " ".join(parts)


def cond_of(pred: Optional[ast.Pred]) -> Cond:
    if pred is None:
        return NO_COND
    if pred.func:
        return Cond("func", text=f"{pred.func}()")
    assert pred.expr is not None
    text = expr_text(pred.expr)
    if not text.startswith("("):
        text = f"({text})"
    return Cond("expr", pred.expr, text)


class VsReader:
    """Turns checked schema models into Descs (one per type, shared)."""

    def __init__(self) -> None:
        self.descs: Dict[Tuple[str, str], Desc] = {}

    def type_desc(self, model, t: ast.TypeDecl) -> Desc:
        key = (os.path.realpath(t.path), t.name)
        if key in self.descs:
            return self.descs[key]
        d = Desc(t.wire, t.version, t.minimum)
        self.descs[key] = d           # before the members: a type may hold itself by pointer
        backend = DescBackend(model)
        self.fill(model, backend, d, t, t.members, d.scope)
        return d

    def fill(self, model, backend, d: Desc, t: ast.TypeDecl, members: List[ast.Member],
             scope: Dict[str, Var]) -> None:
        for m in members:
            if m.kind == "subsection" and m.sub:
                s = m.sub
                sd = Desc(s.wire, s.version, s.minimum, needed=cond_of(s.needed), scope=scope)
                self.fill(model, backend, sd, t, s.members, scope)
                d.subs.append(sd)
                continue
            if m.kind in ("local", "typed") and m.type_name in ast.SCALARS and not m.array:
                scope[m.name] = Var(m.type_name or "u64", m.attrs.default or 0)
            if m.kind == "validate":
                d.validates[m.name] = cond_of(m.pred)
                continue
            if m.kind == "local":
                continue
            if m.kind == "tmp":
                # A struct field named "tmp", as QEMU's dumps and the BER form show it.
                inner = model.types[m.type_name or ""]
                d.fields.append(Field(key="tmp", name="tmp", kind="struct", elem=inner.name,
                                      size=backend.field_size(m), decl=f"tmp {inner.name}",
                                      nested=self.type_desc(model, inner)))
                continue
            f = self.member(model, backend, m)
            d.fields.append(f)
        assign_keys(d.fields)

    def member(self, model, backend, m: ast.Member) -> Field:
        f = Field(key=m.name, name=m.name, kind=m.kind, since=m.attrs.since,
                  cond=cond_of(m.attrs.test), pointer=m.pointer, max=m.max,
                  equal=m.attrs.equal, le=m.attrs.le, decl=scalar_decl(m),
                  size=backend.field_size(m))
        if m.array:
            a = m.array
            f.array = ("fixed", a.fixed) if a.fixed is not None else \
                ("var", a.count, a.multiply, a.max)
        tn = m.type_name or ""
        if m.kind == "typed":
            if tn in ast.SCALARS:
                f.kind, f.elem = "scalar", tn
            elif tn in model.codecs:
                f.kind, f.elem = "codec", tn
            else:
                f.kind, f.elem = "struct", tn
                f.nested = self.type_desc(model, model.types[tn])
        elif m.kind == "buffer":
            f.elem = "u8"
        elif m.kind in ("qtailq", "qlist", "gtree"):
            f.kind = "list" if m.kind != "gtree" else "gtree"
            f.elem = tn
            f.nested = self.type_desc(model, model.types[tn])
            if m.kind == "gtree" and m.key_type != "u64":
                f.key_nested = self.type_desc(model, model.types[m.key_type or ""])
            elif m.kind == "gtree":
                f.elem = f"u64 {tn}"
        elif m.kind == "unused":
            f.key = f.name = "unused"
            f.size = m.size
        return f


def schema_files(path: str) -> List[str]:
    if os.path.isdir(path):
        # Not recursive: schema/ holds the current schemas, schema/history/ older ones.
        out = [os.path.join(path, n) for n in sorted(os.listdir(path))
               if n.endswith(".vs") and os.path.isfile(os.path.join(path, n))]
        if not out:
            raise InputError(f"{path}: no .vs schemas in this directory")
        return out
    return [path]


def read_vs(paths: List[str], include_dirs: List[str], what: str) -> SchemaSet:
    reader = VsReader()
    sections: Dict[str, Desc] = {}
    for p in paths:
        dirs = [os.path.dirname(p) or "."] + include_dirs
        try:
            model = load_model(p, dirs)
        except SchemaError as e:
            raise InputError(str(e)) from None
        for t in model.own_types:
            if t.nested or t.tmp_for:
                continue
            d = reader.type_desc(model, t)
            if t.wire in sections and sections[t.wire] is not d:
                raise InputError(f"{p}: section '{t.wire}' is declared by two schemas of "
                                 f"{what}")
            sections[t.wire] = d
    return SchemaSet("vs", sections, dict(sections), what=what)


# ---- reading QEMU's -dump-vmstate JSON ---------------------------------------

def json_int(obj: dict, key: str, where: str, default: Optional[int] = None) -> int:
    v = obj.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int):
        raise InputError(f"{where}: '{key}' is not an integer")
    return v


def json_desc(obj, where: str, depth: int = 0,
              enclosing: Optional[Dict[str, Desc]] = None) -> Desc:
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
        raise InputError(f"{where}: a description needs a string 'name'")
    if depth > 64:
        raise InputError(f"{where}: descriptions nested more than 64 deep")
    name = obj["name"]
    here = f"{where}/{name}" if depth else where
    enclosing = dict(enclosing or {})
    if "Fields" not in obj and "Subsections" not in obj and name in enclosing:
        # vstate-gen names a struct that holds itself (through a pointer)
        # instead of describing it again.
        return enclosing[name]
    d = Desc(name, json_int(obj, "version_id", here, 0),
             json_int(obj, "minimum_version_id", here, 0), origin="json")
    enclosing[name] = d
    fields = obj.get("Fields", [])
    if not isinstance(fields, list):
        raise InputError(f"{here}: 'Fields' is not a list")
    for i, fo in enumerate(fields):
        if not isinstance(fo, dict) or not isinstance(fo.get("field"), str):
            raise InputError(f"{here}: field {i} needs a string 'field'")
        fname = fo["field"]
        fw = f"{here}.{fname}"
        f = Field(key=fname, name=fname, kind="blob", size=json_int(fo, "size", fw, 0),
                  since=json_int(fo, "version_id", fw, 0),
                  cond=Cond("unknown", text="(a test function)") if fo.get("field_exists")
                  else NO_COND)
        if fname == "unused":
            f.kind = "unused"
        if "Description" in fo:
            f.nested = json_desc(fo["Description"], fw, depth + 1, enclosing)
            f.elem = f.nested.name
        f.decl = fname + f" (size {f.size}" + (f", version {f.since}" if f.since else "") + \
            (", tested" if f.cond.kind != "none" else "") + \
            (f", struct {f.elem}" if f.nested else "") + ")"
        d.fields.append(f)
    assign_keys(d.fields)
    subs = obj.get("Subsections", [])
    if not isinstance(subs, list):
        raise InputError(f"{here}: 'Subsections' is not a list")
    for so in subs:
        sd = json_desc(so, here, depth + 1, enclosing)
        sd.needed = Cond("unknown", text="(a needed function)")
        d.subs.append(sd)
    return d


def read_json(path: str, data, what: str) -> SchemaSet:
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a -dump-vmstate dump (expected a JSON object)")
    sections: Dict[str, Desc] = {}
    by_wire: Dict[str, Desc] = {}
    all_by_wire: Dict[str, List[Desc]] = {}
    machine = None
    for key, sec in data.items():
        if key == "vmschkmachine":
            machine = sec.get("Name") if isinstance(sec, dict) else None
            continue
        if not isinstance(sec, dict):
            raise InputError(f"{path}: section '{key}' is not an object")
        if "Description" in sec:
            d = json_desc(sec["Description"], f"{path}: {key}")
        else:
            d = Desc(str(sec.get("Name", key)), 0, 0, origin="json")
        d.version = json_int(sec, "version_id", f"{path}: {key}", d.version)
        d.minimum = json_int(sec, "minimum_version_id", f"{path}: {key}", d.minimum)
        sections[key] = d
        by_wire.setdefault(d.name, d)
        all_by_wire.setdefault(d.name, []).append(d)
    return SchemaSet("json", sections, by_wire, all_by_wire=all_by_wire, machine=machine,
                     what=what)


def read_set(path: str, include_dirs: List[str], what: str) -> SchemaSet:
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file or directory")
    if os.path.isfile(path) and not path.endswith(".vs"):
        try:
            with open(path, "rb") as f:
                text = f.read().decode("utf-8")
            data = json.loads(text)
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"{path}: cannot read: {e}") from None
        except json.JSONDecodeError as e:
            raise InputError(f"{path}:{e.lineno}:{e.colno}: neither a .vs schema nor "
                             f"-dump-vmstate JSON: {e.msg}") from None
        return read_json(path, data, what)
    return read_vs(schema_files(path), include_dirs, what)


# ---- predicates --------------------------------------------------------------

MASK64 = (1 << 64) - 1
INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1


def wrap(x: int) -> int:
    x &= MASK64
    return x - (1 << 64) if x >> 63 else x


def c_div(a: int, b: int) -> int:
    if b == 0 or (a == INT64_MIN and b == -1):
        return 0
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def c_mod(a: int, b: int) -> int:
    if b == 0 or (a == INT64_MIN and b == -1):
        return 0
    return a - b * c_div(a, b)


def evaluate(e: ast.Expr, env: Dict[str, int]) -> int:
    """@e with the generated code's semantics: 64-bit signed, total."""
    if isinstance(e, ast.Num):
        return wrap(e.value)
    if isinstance(e, ast.Ref):
        return env[e.name]
    if isinstance(e, ast.Unary):
        x = evaluate(e.operand, env)
        return {"!": int(x == 0), "~": wrap(~x), "-": wrap(-x)}[e.op]
    assert isinstance(e, ast.Binary)
    op = e.op
    if op == "&&":
        return int(evaluate(e.left, env) != 0 and evaluate(e.right, env) != 0)
    if op == "||":
        return int(evaluate(e.left, env) != 0 or evaluate(e.right, env) != 0)
    a, b = evaluate(e.left, env), evaluate(e.right, env)
    if op == "+":
        return wrap(a + b)
    if op == "-":
        return wrap(a - b)
    if op == "*":
        return wrap(a * b)
    if op == "/":
        return c_div(a, b)
    if op == "%":
        return c_mod(a, b)
    if op == "<<":
        return 0 if b < 0 or b > 63 else wrap(a << b)
    if op == ">>":
        return (-1 if a < 0 else 0) if b < 0 or b > 63 else a >> b
    if op == "&":
        return wrap(a & b)
    if op == "|":
        return wrap(a | b)
    if op == "^":
        return wrap(a ^ b)
    return int({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b,
                "==": a == b, "!=": a != b}[op])


def refs(e: ast.Expr, out: Set[str]) -> Set[str]:
    if isinstance(e, ast.Ref):
        out.add(e.name)
    elif isinstance(e, ast.Unary):
        refs(e.operand, out)
    elif isinstance(e, ast.Binary):
        refs(e.left, out)
        refs(e.right, out)
    return out


def at_version(e: ast.Expr, version: int) -> ast.Expr:
    """@e with the word `version` replaced by @version."""
    if isinstance(e, ast.Ref) and e.name == "version":
        return ast.Num(e.loc, version)
    if isinstance(e, ast.Unary):
        return ast.Unary(e.loc, e.op, at_version(e.operand, version))
    if isinstance(e, ast.Binary):
        return ast.Binary(e.loc, e.op, at_version(e.left, version),
                          at_version(e.right, version))
    return e


def cond_at(cond: Cond, version: int) -> Cond:
    """@cond as it reads at @version (unchanged if it does not name it)."""
    if cond.kind != "expr" or cond.expr is None or "version" not in refs(cond.expr, set()):
        return cond
    e = at_version(cond.expr, version)
    text = expr_text(e)
    return Cond("expr", e, text if text.startswith("(") else f"({text})")


def literals(e: ast.Expr, out: Set[int]) -> Set[int]:
    if isinstance(e, ast.Num):
        out.add(wrap(e.value))
    elif isinstance(e, ast.Unary):
        literals(e.operand, out)
    elif isinstance(e, ast.Binary):
        literals(e.left, out)
        literals(e.right, out)
    return out


def type_range(ctype: str) -> Tuple[int, int]:
    if ctype in INT_RANGES:
        lo, hi = INT_RANGES[ctype]
        return (INT64_MIN, INT64_MAX) if hi > INT64_MAX else (lo, hi)
    return INT64_MIN, INT64_MAX          # f64, timer, unknown: anything


# Interval evaluation: (lo, hi) bounds of an expression, to prove a
# predicate can never hold where sampling found no case that it does.
FULL = (INT64_MIN, INT64_MAX)


def fits(lo: int, hi: int) -> Tuple[int, int]:
    return (lo, hi) if INT64_MIN <= lo and hi <= INT64_MAX else FULL


def interval(e: ast.Expr, ranges: Dict[str, Tuple[int, int]]) -> Tuple[int, int]:
    if isinstance(e, ast.Num):
        v = wrap(e.value)
        return v, v
    if isinstance(e, ast.Ref):
        return ranges.get(e.name, FULL)
    if isinstance(e, ast.Unary):
        lo, hi = interval(e.operand, ranges)
        if e.op == "!":
            return (1, 1) if (lo, hi) == (0, 0) else (0, 0) if lo > 0 or hi < 0 else (0, 1)
        if e.op == "-":
            return fits(-hi, -lo)
        return ~hi, ~lo
    assert isinstance(e, ast.Binary)
    a, b = interval(e.left, ranges), interval(e.right, ranges)
    op = e.op

    def truth(iv):
        return "t" if iv[0] > 0 or iv[1] < 0 else "f" if iv == (0, 0) else "?"
    if op in ("&&", "||"):
        ta, tb = truth(a), truth(b)
        if op == "&&":
            return (0, 0) if "f" in (ta, tb) else (1, 1) if ta == tb == "t" else (0, 1)
        return (1, 1) if "t" in (ta, tb) else (0, 0) if ta == tb == "f" else (0, 1)
    if op in ("<", "<=", ">", ">=", "==", "!="):
        yes = {"<": a[1] < b[0], "<=": a[1] <= b[0], ">": a[0] > b[1], ">=": a[0] >= b[1],
               "==": a[0] == a[1] == b[0] == b[1], "!=": a[1] < b[0] or b[1] < a[0]}[op]
        no = {"<": a[0] >= b[1], "<=": a[0] > b[1], ">": a[1] <= b[0], ">=": a[1] < b[0],
              "==": a[1] < b[0] or b[1] < a[0], "!=": a[0] == a[1] == b[0] == b[1]}[op]
        return (1, 1) if yes else (0, 0) if no else (0, 1)
    if op in ("+", "-", "*"):
        f = {"+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y}[op]
        corners = [f(x, y) for x in a for y in b]
        return fits(min(corners), max(corners))
    if op == "&" and a[0] >= 0 and b[0] >= 0:
        return 0, min(a[1], b[1])
    if op in ("|", "^") and a[0] >= 0 and b[0] >= 0:
        return 0, (1 << max(a[1], b[1]).bit_length()) - 1
    if op == ">>" and a[0] >= 0 and b[0] == b[1] and 0 <= b[0] <= 63:
        return a[0] >> b[0], a[1] >> b[0]
    if op == "<<" and a[0] >= 0 and b[0] == b[1] and 0 <= b[0] <= 63:
        return fits(a[0] << b[0], a[1] << b[0])
    if op in ("/", "%") and a[0] >= 0 and b[0] > 0:
        return (a[0] // b[1], a[1] // b[0]) if op == "/" else (0, min(a[1], b[1] - 1))
    return FULL


SAMPLE_LIMIT = 20000


def candidates(ctype: str, lits: Set[int]) -> List[int]:
    lo, hi = type_range(ctype)
    vals = {lo, hi, 0, 1, 2, lo + 1, hi - 1, -1, 3, 7, 0xFF, 0x100, 0xFFFF, 0x10000}
    for c in lits:
        vals.update((c - 1, c, c + 1, ~c, -c))
    bits = min((hi - lo).bit_length(), 64)
    vals.update(1 << k for k in range(bits))
    return sorted(v for v in vals if lo <= v <= hi)


@dataclass
class Verdict:
    """Whether a predicate can hold: never, always or sometimes, with an
    example assignment where it holds; unknown when it cannot be evaluated."""
    result: str
    example: Dict[str, int] = field(default_factory=dict)

    @property
    def possible(self) -> bool:
        return self.result != "never"

    def example_text(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in sorted(self.example.items()))


def assignments(names: List[str], domains: Dict[str, List[int]]):
    """Every combination when few, else a fixed-seed sample (reproducible)."""
    total = 1
    for n in names:
        total *= len(domains[n])
    if total <= SAMPLE_LIMIT:
        for combo in itertools.product(*(domains[n] for n in names)):
            yield dict(zip(names, combo))
        return
    rng = random.Random(0)
    for _ in range(SAMPLE_LIMIT):
        yield {n: rng.choice(domains[n]) for n in names}


def judge(cond: Cond, version: int, free: Dict[str, Var], fixed: Dict[str, int]) -> Verdict:
    """Can @cond hold at stream @version, members in @free taking any value
    of their type and members in @fixed their given value?"""
    if cond.kind == "none":
        return Verdict("always")
    if cond.kind != "expr" or cond.expr is None:
        return Verdict("unknown")
    e = cond.expr
    names = sorted(refs(e, set()) - {"version"})
    lits = literals(e, set())
    env_fixed = {"version": version}
    domains: Dict[str, List[int]] = {}
    ranges: Dict[str, Tuple[int, int]] = {"version": (version, version)}
    for n in names:
        if n in fixed:
            env_fixed[n] = wrap(fixed[n])
            ranges[n] = (env_fixed[n], env_fixed[n])
        else:
            ctype = free[n].ctype if n in free else "u64"
            domains[n] = candidates(ctype, lits)
            ranges[n] = type_range(ctype)
    free_names = [n for n in names if n not in fixed]
    if not free_names:
        return Verdict("always" if evaluate(e, env_fixed) else "never")
    seen_true: Optional[Dict[str, int]] = None
    seen_false = False
    for a in assignments(free_names, domains):
        env = dict(env_fixed, **a)
        if evaluate(e, env):
            seen_true = seen_true or a
        else:
            seen_false = True
        if seen_true is not None and seen_false:
            return Verdict("sometimes", seen_true)
    if seen_true is not None:
        iv = interval(e, ranges)
        return Verdict("always" if iv[0] > 0 or iv[1] < 0 else "sometimes", seen_true)
    if interval(e, ranges) == (0, 0):
        return Verdict("never")
    return Verdict("unknown")


def same_condition(a: Cond, b: Cond, version: int, free: Dict[str, Var],
                   fixed: Dict[str, int]) -> Tuple[bool, Dict[str, int]]:
    """Whether two conditions agree on every state tried; else an example
    where they differ."""
    if a.kind == b.kind == "none":
        return True, {}
    if a.kind == "func" and b.kind == "func":
        return a.text == b.text, {}
    if "unknown" in (a.kind, b.kind):
        # A dump says only that a test exists: tested on both sides is all
        # that can be compared.
        return (a.kind == "none") == (b.kind == "none"), {}
    if "func" in (a.kind, b.kind):
        return False, {}
    if a.kind == "none" or b.kind == "none":
        other = b if a.kind == "none" else a
        v = judge(other, version, free, fixed)
        return v.result == "always", {}
    assert a.expr is not None and b.expr is not None
    if a.text == b.text:
        return True, {}
    names = sorted((refs(a.expr, set()) | refs(b.expr, set())) - {"version"})
    lits = literals(a.expr, set()) | literals(b.expr, set())
    env_fixed = {"version": version}
    domains = {}
    for n in names:
        if n in fixed:
            env_fixed[n] = wrap(fixed[n])
        else:
            domains[n] = candidates(free[n].ctype if n in free else "u64", lits)
    free_names = [n for n in names if n not in fixed]
    for asg in assignments(free_names, domains):
        env = dict(env_fixed, **asg)
        if bool(evaluate(a.expr, env)) != bool(evaluate(b.expr, env)):
            return False, asg
    return True, {}


# ---- findings ----------------------------------------------------------------

@dataclass
class Finding:
    severity: str
    path: str
    what: str
    old: str
    new: str
    directions: List[str]

    def line(self) -> str:
        change = f" ({self.old} -> {self.new})" if self.old or self.new else ""
        dirs = " and ".join(self.directions)
        tail = f", breaks {dirs}" if self.directions else ""
        return f"{self.severity} {self.path}: {self.what}{change}{tail}"

    def as_json(self) -> dict:
        return {"severity": self.severity, "path": self.path, "what": self.what,
                "old": self.old, "new": self.new, "directions": self.directions}


class Report:
    def __init__(self) -> None:
        self.items: Dict[Tuple[str, str, str, str, str], Finding] = {}

    def add(self, severity: str, path: str, what: str, old: str, new: str,
            direction: Optional[str]) -> None:
        key = (severity, path, what, old, new)
        f = self.items.get(key)
        if f is None:
            f = self.items[key] = Finding(severity, path, what, old, new, [])
        if direction and direction not in f.directions:
            f.directions.append(direction)
            f.directions.sort(key=DIRECTIONS.index)

    def findings(self, wanted: Iterable[str]) -> List[Finding]:
        wanted = set(wanted)
        out = []
        for f in self.items.values():
            dirs = [d for d in f.directions if d in wanted]
            if f.directions and not dirs:
                continue
            out.append(Finding(f.severity, f.path, f.what, f.old, f.new, dirs))
        return out


# ---- comparing ---------------------------------------------------------------

def desc_decl(d: Desc) -> str:
    return f"version {d.version} minimum {d.minimum}"


def sub_decl(d: Desc) -> str:
    needed = "" if d.needed.kind == "none" else f" needed {d.needed.text}"
    return f"subsection \"{d.name}\" version {d.version}{needed}"


def reordered_keys(old_keys: List[str], new_keys: List[str]) -> Set[str]:
    """Keys of common fields outside the longest common subsequence: moved."""
    common = set(old_keys) & set(new_keys)
    a = [k for k in old_keys if k in common]
    b = [k for k in new_keys if k in common]
    n, m = len(a), len(b)
    lcs = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            lcs[i][j] = lcs[i + 1][j + 1] + 1 if a[i] == b[j] else \
                max(lcs[i + 1][j], lcs[i][j + 1])
    kept: Set[str] = set()
    i = j = 0
    while i < n and j < m:
        if a[i] == b[j]:
            kept.add(a[i])
            i += 1
            j += 1
        elif lcs[i + 1][j] >= lcs[i][j + 1]:
            i += 1
        else:
            j += 1
    return common - kept


def wire_shape(f: Field) -> tuple:
    """What a field looks like on the wire, its name aside (for renames)."""
    nested = f.nested.name if f.nested else ""
    return (f.kind, f.elem, f.size, f.array, f.pointer, f.max, nested, f.since)


def same_shape(a: Field, b: Field) -> bool:
    """Whether two fields look alike on the wire.  A dump's field says only
    its size, version and whether it is a struct, so only those count then."""
    if "blob" in (a.kind, b.kind) and "unused" not in (a.kind, b.kind):
        if a.nested is not None and b.nested is not None:
            return a.since == b.since       # a dump gives a struct's C size, not its bytes
        return (a.size, a.since, a.nested is None) == (b.size, b.since, b.nested is None)
    return wire_shape(a) == wire_shape(b)


@dataclass
class Move:
    """Fields moved into (into=True: NEW's) or out of (OLD's) a struct
    ending the description: the struct field, its description, and each
    of its fields as declared and as inlined (walked at the struct's version)."""
    into: bool
    struct: Field
    inner: Desc
    fields: List[Tuple[Field, Field]]


class Comparer:
    def __init__(self, old: SchemaSet, new: SchemaSet, legacy_only: bool = False) -> None:
        self.old, self.new = old, new
        # Only QEMU's byte stream matters (as with QEMU itself): names of
        # fields and nested structs are not on that wire.
        self.legacy_only = legacy_only
        self.report = Report()
        self.visiting: Set[Tuple[int, int]] = set()

    def add(self, sev: str, path: str, what: str, old: str, new: str,
            direction: Optional[str]) -> None:
        self.report.add(sev, path, what, old, new, direction)

    # -- sections --------------------------------------------------------------

    def run(self) -> Report:
        old, new = self.old, self.new
        if old.machine and new.machine and old.machine != new.machine:
            self.add(WARNING, "vmschkmachine", "different machine types", old.machine,
                     new.machine, None)
        if old.origin == new.origin == "json":
            old_secs, new_secs = old.sections, new.sections
        else:
            old_secs, new_secs = old.by_wire, new.by_wire
        for key, od in old_secs.items():
            nd = new_secs.get(key)
            if nd is None:
                self.add(ERROR, key, "section removed: a new destination cannot load it",
                         desc_decl(od), "none", OLD_NEW)
                continue
            od, nd = self.closest(key, od, nd)
            self.compare(od, nd, key, "section", set(DIRECTIONS))
        for key, nd in new_secs.items():
            if key not in old_secs:
                self.add(ERROR, key, "section added: an old destination does not know it",
                         "none", desc_decl(nd), NEW_OLD)
        return self.report

    def closest(self, key: str, od: Desc, nd: Desc) -> Tuple[Desc, Desc]:
        """Of the descriptions a dump gives one wire name, the pair with the
        fewest errors (a schema declares one of them)."""
        olds = self.old.all_by_wire.get(key, [od]) if self.old.origin == "json" else [od]
        news = self.new.all_by_wire.get(key, [nd]) if self.new.origin == "json" else [nd]
        if len(olds) * len(news) == 1:
            return od, nd
        best = None
        for o in olds:
            for n in news:
                trial = Comparer(self.old, self.new, self.legacy_only)
                trial.compare(o, n, key, "section", set(DIRECTIONS))
                errors = sum(f.severity == ERROR for f in trial.report.items.values())
                if best is None or errors < best[0]:
                    best = (errors, o, n)
        assert best is not None
        return best[1], best[2]

    # -- one description -------------------------------------------------------

    def compare(self, od: Desc, nd: Desc, path: str, level: str, dirs: Set[str]) -> None:
        pair = (id(od), id(nd))
        if pair in self.visiting:
            return
        self.visiting.add(pair)
        try:
            self.compare_inner(od, nd, path, level, dirs)
        finally:
            self.visiting.discard(pair)

    def compare_inner(self, od: Desc, nd: Desc, path: str, level: str, dirs: Set[str]) -> None:
        what = {"section": "", "nested": "struct ", "sub": "subsection "}[level]
        if od.name != nd.name:
            # Sections are named by it in every stream; nested structs in BER's.
            sev = WARNING if self.legacy_only and level == "nested" else ERROR
            for d in sorted(dirs):
                self.add(sev, path, f"{what or 'section '}description renamed", od.name,
                         nd.name, d)
        ok = set()
        if OLD_NEW in dirs:
            if od.version > nd.version:
                self.add(ERROR, path, f"{what}version lowered", desc_decl(od), desc_decl(nd),
                         OLD_NEW)
            elif od.version < nd.minimum:
                self.add(ERROR, path, f"{what}minimum version raised above the version old "
                         f"writers send ({od.version})", desc_decl(od), desc_decl(nd), OLD_NEW)
            else:
                ok.add(OLD_NEW)
                if nd.minimum > od.minimum:
                    self.add(WARNING, path, f"{what}minimum version raised: streams of versions "
                             f"{od.minimum}..{nd.minimum - 1}, which the old loads, are refused",
                             desc_decl(od), desc_decl(nd), OLD_NEW)
        if NEW_OLD in dirs:
            if nd.version > od.version:
                self.add(ERROR, path, f"{what}version raised: an old destination refuses "
                         f"version {nd.version}", desc_decl(od), desc_decl(nd), NEW_OLD)
            elif nd.version < od.minimum:
                self.add(ERROR, path, f"{what}version below the old minimum",
                         desc_decl(od), desc_decl(nd), NEW_OLD)
            else:
                ok.add(NEW_OLD)
        od, nd, moves = self.unwrap(od, nd)
        self.report_moves(od, nd, moves, path, level, dirs, ok)
        self.compare_fields(od, nd, path, level, ok)
        self.compare_subs(od, nd, path, dirs, ok)
        if OLD_NEW in ok and od.origin == "vs":   # dumps do not show validations
            self.compare_validates(od, nd, path)

    def unwrap(self, od: Desc, nd: Desc) -> Tuple[Desc, Desc, List[Move]]:
        """Fields moved into a struct, or out of one, at the end of a description.

        On the legacy wire a struct's fields (then its subsections) are its
        parent's bytes, but walked at the struct's own version, not the
        stream's: the inlined fields keep that version with them (`walked`).
        Returns the two descriptions with such a struct inlined, and the moves.
        """
        sides = [od, nd]
        moves: List[Move] = []
        for i in (0, 1):
            this, other = sides[i], sides[1 - i]
            if not this.fields:
                continue
            f = this.fields[-1]
            keys = {x.key for x in this.fields}
            other_keys = {x.key for x in other.fields}
            inner = f.nested
            if (inner is None or f.key in other_keys or f.array or f.since or
                    f.cond.kind != "none" or f.kind not in ("struct", "blob") or
                    not inner.fields or
                    inner.fields[0].key not in other_keys or inner.fields[0].key in keys):
                continue
            walked = [replace(x, walked=(f.name, inner.version)) for x in inner.fields]
            flat = Desc(this.name, this.version, this.minimum,
                        fields=this.fields[:-1] + walked, subs=this.subs + inner.subs,
                        needed=this.needed, validates=dict(inner.validates, **this.validates),
                        scope=dict(inner.scope, **this.scope), origin=this.origin)
            sides[i] = flat
            moves.append(Move(i == 1, f, inner, list(zip(inner.fields, walked))))
        return sides[0], sides[1], moves

    def report_moves(self, od: Desc, nd: Desc, moves: List["Move"], path: str, level: str,
                     dirs: Set[str], ok: Set[str]) -> None:
        """A move is an error where the struct's own version puts a field on
        the wire (or leaves it off) where, walked at the stream's version as
        before, it matched the other side: those stream versions' bytes
        differ.  Elsewhere the legacy bytes are the same and only the BER
        form, which nests the struct, tells the two apart."""
        vers = self.stream_versions(od, nd, level)
        free, fixed = self.domain(od, nd, {})
        for mv in moves:
            into = "into" if mv.into else "out of"
            other = od if mv.into else nd
            counterpart = {x.key: x for x in other.fields}
            decls = ("none", mv.struct.decl) if mv.into else (mv.struct.decl, "none")
            fpath = f"{path}/{mv.struct.name}"
            for d in sorted(dirs):
                differ: Dict[int, List[str]] = {}
                for wv, rv in vers[d] if d in ok else []:
                    ov, nv = (wv, rv) if d == OLD_NEW else (rv, wv)
                    here, there = (nv, ov) if mv.into else (ov, nv)
                    for orig, walked in mv.fields:
                        c = counterpart.get(orig.key)
                        if not self.same_presence(walked, here, c, there, free, fixed) and \
                                self.same_presence(orig, here, c, there, free, fixed):
                            differ.setdefault(here, []).append(orig.name)
                if differ:
                    at = "; ".join(f"at version {v}: {', '.join(names)}"
                                   for v, names in sorted(differ.items(), reverse=True))
                    self.add(ERROR, fpath, f"fields moved {into} struct '{mv.struct.name}', "
                             f"which the legacy form walks at its own version "
                             f"{mv.inner.version}, not the stream's: the legacy bytes differ "
                             f"({at})", decls[0], decls[1], d)
                    continue
                sev = WARNING if self.legacy_only else ERROR
                self.add(sev, fpath, f"fields moved {into} struct '{mv.struct.name}' (the "
                         "legacy bytes are the same; the BER form nests them)", decls[0],
                         decls[1], d)

    def same_presence(self, a: Field, va: int, b: Optional[Field], vb: int, free,
                      fixed) -> bool:
        """Whether @a at version @va and @b (None: absent) at @vb are on the
        wire for the same states."""
        pa = self.presence(a, va, free, fixed)
        pb = self.presence(b, vb, free, fixed) if b is not None else Verdict("never")
        if pa.possible != pb.possible:
            return False
        if not pa.possible or b is None:
            return True
        return same_condition(self.cond_of_field(a, va), self.cond_of_field(b, vb), va,
                              free, fixed)[0]

    @staticmethod
    def cond_of_field(f: Field, version: int) -> Cond:
        """A field's condition with `version` read where its walker reads it."""
        return cond_at(f.cond, f.walked[1] if f.walked else version)

    # -- the domain of a writer's state -----------------------------------------

    def domain(self, od: Desc, nd: Desc, rename: Dict[str, str]):
        """Members an old writer sets freely, and the NEW-only ones at their
        defaults: the states an old writer can produce, in either schema's names."""
        free: Dict[str, Var] = dict(od.scope)
        fixed: Dict[str, int] = {}
        old_names = set(od.scope) | set(rename.values())
        for name, var in nd.scope.items():
            if name in old_names:
                free.setdefault(name, var)
            else:
                fixed[name] = var.default
        return free, fixed

    def presence(self, f: Field, version: int, free, fixed) -> Verdict:
        if f.walked is not None:
            version = f.walked[1]
        if f.since > version:
            return Verdict("never")
        return judge(f.cond, version, free, fixed)

    # -- fields ----------------------------------------------------------------

    def compare_fields(self, od: Desc, nd: Desc, path: str, level: str, ok: Set[str]) -> None:
        okeys = {f.key: f for f in od.fields}
        nkeys = {f.key: f for f in nd.fields}
        moved = reordered_keys([f.key for f in od.fields], [f.key for f in nd.fields])
        pairs: List[Tuple[Field, Field, bool]] = [(okeys[k], nkeys[k], False)
                                                  for k in okeys if k in nkeys]
        removed = [f for f in od.fields if f.key not in nkeys]
        added = [f for f in nd.fields if f.key not in okeys]
        self.pair_renames(od, nd, removed, added, pairs)
        rename = {o.name: n.name for o, n, r in pairs if r}
        free, fixed = self.domain(od, nd, rename)
        # Stream versions per direction: (writer's, reader's); nested structs
        # load at the reader's own version on the legacy wire.
        vers = self.stream_versions(od, nd, level)
        self.padding(od, nd, path, removed, added)
        for f in removed:
            if f.absorbed:
                continue
            for d in sorted(ok):
                for wv, rv in vers[d]:
                    p = self.presence(f, wv if d == OLD_NEW else rv, free, fixed)
                    if not p.possible:
                        continue
                    self.add(ERROR, f"{path}/{f.name}", "field removed" + self.when(f, p),
                             f.decl, "none", d)
                    break
        for f in added:
            if f.absorbed:
                continue
            self.added_field(f, path, ok, vers, free, fixed)
        for o, n, renamed in pairs:
            self.compare_pair(o, n, renamed, o.key in moved, path, ok, vers, free, fixed)

    @staticmethod
    def stream_versions(od: Desc, nd: Desc, level: str) -> Dict[str, List[Tuple[int, int]]]:
        """Per direction, the (writer's, reader's) versions to compare layouts at.

        Sections and subsections carry their version, so both sides use the
        stream's; nested structs load at the reader's own version on the
        legacy wire.  Old->new covers every version both load (old writers
        of older versions too), at the versions where some field appears.
        """
        if level == "nested":
            return {OLD_NEW: [(od.version, nd.version)], NEW_OLD: [(nd.version, od.version)]}
        lo = max(od.minimum, nd.minimum)
        marks = {od.version, lo}
        for f in od.fields + nd.fields:
            marks.update((f.since, f.since - 1))
        olds = sorted((v for v in marks if lo <= v <= od.version), reverse=True)
        return {OLD_NEW: [(v, v) for v in olds], NEW_OLD: [(nd.version, nd.version)]}

    @staticmethod
    def walked_text(o: Field, n: Field) -> str:
        """Why a field moved into or out of a struct reads at another version."""
        f, into = (n, "into") if n.walked else (o, "out of")
        assert f.walked is not None
        return f"moved {into} struct '{f.walked[0]}', which the legacy form walks at its " \
            f"own version {f.walked[1]}, not the stream's"

    def when(self, f: Field, p: Verdict) -> str:
        if f.cond.kind == "none" or p.result == "always":
            return ""
        if p.result == "unknown":
            return f" when {f.cond.text} holds (not evaluable)"
        return f" when {f.cond.text} holds, e.g. {p.example_text()}" if p.example else \
            f" when {f.cond.text} holds"

    def pair_renames(self, od: Desc, nd: Desc, removed: List[Field], added: List[Field],
                     pairs: List[Tuple[Field, Field, bool]]) -> None:
        """An old-only and a new-only field with one wire shape, between the
        same neighbours: a rename."""
        def slot(fields: List[Field], f: Field, others: Set[str]) -> str:
            i = fields.index(f)
            while i > 0 and fields[i - 1].key not in others:
                i -= 1
            return fields[i - 1].key if i > 0 else ""
        common = {f.key for f in od.fields} & {f.key for f in nd.fields}
        for o in list(removed):
            for n in added:
                if (n.kind == "unused") != (o.kind == "unused") or not same_shape(o, n):
                    continue
                # Unused bytes have no name to follow: any of the same size, in order.
                if o.kind != "unused" and \
                        slot(od.fields, o, common) != slot(nd.fields, n, common):
                    continue
                if o.cond.text != n.cond.text:
                    continue
                removed.remove(o)
                added.remove(n)
                pairs.append((o, n, o.kind != "unused"))
                break

    def padding(self, od: Desc, nd: Desc, path: str, removed: List[Field],
                added: List[Field]) -> None:
        """Fields replaced by `unused` bytes of the same size (QEMU's
        VMSTATE_UNUSED), and the reverse: the same bytes on the wire."""
        def run_after(fields: List[Field], start: Field, pool: List[Field]) -> List[Field]:
            i = fields.index(start)
            out = []
            while i < len(fields) and fields[i] in pool:
                out.append(fields[i])
                i += 1
            return out
        for side_old in (True, False):
            pads = [f for f in (added if side_old else removed) if f.kind == "unused"]
            gone = removed if side_old else added
            for pad in pads:
                if pad.absorbed:
                    continue
                fields = od.fields if side_old else nd.fields
                cands = [f for f in gone if f.kind != "unused"
                         and not f.absorbed and f.since == pad.since]
                for start in cands:
                    run = run_after(fields, start, cands)
                    total = 0
                    used = []
                    for f in run:
                        if f.array and f.array[0] != "fixed" or f.nested is not None:
                            break
                        n = f.array[1] if f.array else 1
                        total += f.size * n
                        used.append(f)
                        if total >= pad.size:
                            break
                    if total != pad.size or not used:
                        continue
                    for f in used:
                        f.absorbed = True
                    pad.absorbed = True
                    names = " ".join(f.decl + ";" for f in used)
                    if side_old:
                        self.add(WARNING, f"{path}/{used[0].name}", "field replaced by unused "
                                 "bytes: an old destination loads zeros into it", names,
                                 pad.decl, NEW_OLD)
                    else:
                        self.add(WARNING, f"{path}/{used[0].name}", "unused bytes replaced by "
                                 "a field: a new destination loads the old padding into it",
                                 pad.decl, names, OLD_NEW)
                    break

    def added_field(self, f: Field, path: str, ok: Set[str], vers, free, fixed) -> None:
        fpath = f"{path}/{f.name}"
        for wv, rv in vers[OLD_NEW] if OLD_NEW in ok else []:
            p = self.presence(f, rv, free, fixed)
            if not p.possible:
                continue
            if f.walked is not None:
                what = (f"field added in struct '{f.walked[0]}', which the legacy form walks "
                        f"at its own version {f.walked[1]}, not the stream's: a new "
                        f"destination reads it from version {wv} streams" + self.when(f, p))
            elif f.since == 0 and f.cond.kind == "none":
                what = "field added without 'since': a new destination reads it from old streams"
            elif f.since and (f.cond.kind == "none" or p.result == "always"):
                what = (f"field added with 'since {f.since}', not above the old version {wv}: "
                        "a new destination reads it from old streams")
            else:
                what = "field added with a condition that can hold for old streams" + \
                    self.when(f, p)
            self.add(ERROR, fpath, what, "none", f.decl, OLD_NEW)
            break
        for wv, rv in vers[NEW_OLD] if NEW_OLD in ok else []:
            p = self.presence(f, wv, free, fixed)
            if p.possible:
                self.add(ERROR, fpath, "field added: new sources send it, an old destination "
                         "does not read it" + self.when(f, p), "none", f.decl, NEW_OLD)
            elif f.since <= wv and f.cond.kind == "expr":
                anywhere = self.presence(f, wv, dict(free, **{k: Var("u64", 0) for k in fixed}),
                                         {})
                if anywhere.possible:
                    self.add(WARNING, fpath, "field added with a condition that holds only "
                             f"once the state uses what the old lacks ({f.cond.text}): then an "
                             "old destination cannot load it", "none", f.decl, NEW_OLD)

    def compare_pair(self, o: Field, n: Field, renamed: bool, moved: bool, path: str,
                     ok: Set[str], vers, free, fixed) -> None:
        fpath = f"{path}/{n.name}"
        on_wire = set()
        reported: Set[str] = set()
        for d, (wv, rv) in ((d, v) for d in sorted(ok) for v in vers[d]):
            if d in reported:
                continue
            wf, rf = (o, n) if d == OLD_NEW else (n, o)
            pw = self.presence(wf, wv, free, fixed)
            pr = self.presence(rf, rv, free, fixed)
            if not pw.possible and not pr.possible:
                continue
            kinds = {o.cond.kind, n.cond.kind}
            opaque = "unknown" in kinds and "none" not in kinds
            if pw.possible != pr.possible and not opaque:
                if o.walked != n.walked:
                    what = self.walked_text(o, n) + f": a version {wv} stream " + \
                        ("carries it but the destination does not read it" if pw.possible
                         else "lacks it but the destination reads it")
                elif o.since != n.since:
                    what = f"'since' changed ({o.since} -> {n.since}) without the versions " \
                        f"to match: a version {wv} stream " + \
                        ("carries it but the destination does not read it" if pw.possible
                         else "lacks it but the destination reads it")
                else:
                    what = "condition changed: " + (
                        "the source sends it where the destination does not read it"
                        if pw.possible else "the destination reads it where the source "
                        "does not send it")
                self.add(ERROR, fpath, what, o.decl, n.decl, d)
                reported.add(d)
                continue
            on_wire.add(d)
            ov, nv = (wv, rv) if d == OLD_NEW else (rv, wv)
            oc, nc = self.cond_of_field(o, ov), self.cond_of_field(n, nv)
            if oc.text != nc.text or oc.kind != nc.kind:
                same, example = same_condition(oc, nc, wv, free, fixed)
                if not same:
                    ex = ", ".join(f"{k}={v}" for k, v in sorted(example.items()))
                    self.add(ERROR, fpath, "condition changed" +
                             (f" (they differ at {ex})" if ex else ""), o.decl, n.decl, d)
                    reported.add(d)
        if not on_wire:
            return
        if renamed:
            sev = WARNING if self.legacy_only else ERROR
            for d in sorted(on_wire):
                self.add(sev, fpath, f"field renamed '{o.name}' -> '{n.name}' (the legacy "
                         "bytes are the same; the BER form names fields)", o.decl, n.decl, d)
        if moved:
            for d in sorted(on_wire):
                self.add(ERROR, fpath, "field moved to another position", o.decl, n.decl, d)
        self.compare_shape(o, n, fpath, on_wire)

    def compare_shape(self, o: Field, n: Field, fpath: str, dirs: Set[str]) -> None:
        def err(what: str, only: Optional[str] = None, sev: str = ERROR) -> None:
            for d in sorted(dirs):
                if only is None or only == d:
                    self.add(sev, fpath, what, o.decl, n.decl, d)
        blob = "blob" in (o.kind, n.kind)
        if (o.nested is None) != (n.nested is None):
            err("field retyped between a struct and a plain value" if not blob else
                "field description missing on one side")
            return
        if blob:
            # QEMU's dumps give only sizes (struct sizes are not compared, as QEMU does).
            typed = n if o.kind == "blob" else o
            # QEMU dumps a variable buffer's size as 0 or as its multiplier.
            vbuffer = typed.kind != "blob" and typed.array is not None and \
                typed.array[0] == "var" and {o.size, n.size} <= {0, typed.size}
            if o.nested is None and o.size != n.size and not vbuffer:
                err(f"size changed ({o.size} -> {n.size})")
        elif o.kind != n.kind:
            err(f"field retyped ({o.kind} -> {n.kind})")
            return
        elif o.kind == "scalar" and o.elem != n.elem:
            if o.size != n.size:
                err(f"field retyped, its size changes ({o.size} -> {n.size} bytes)")
            else:
                err(f"field reinterpreted ({o.elem} -> {n.elem}, same bytes): values "
                    "change meaning", sev=WARNING)
        elif o.kind == "codec" and (o.elem != n.elem or o.size != n.size):
            err(f"codec changed ({o.elem} -> {n.elem})")
        elif o.kind == "unused" and o.size != n.size:
            err(f"unused size changed ({o.size} -> {n.size})")
        if not blob:
            self.compare_counts(o, n, err)
            if o.pointer != n.pointer and o.array:
                err("array of pointers changed to values or back (the NULL markers differ)")
            if n.equal and not o.equal:
                err("'equal' added: a new destination refuses values that differ from its own",
                    OLD_NEW, WARNING)
            if n.le and not o.le:
                err("'le' added: a new destination refuses values above its own", OLD_NEW,
                    WARNING)
        if o.nested is not None and n.nested is not None:
            self.compare(o.nested, n.nested, fpath, "nested", dirs)
        if o.key_nested is not None and n.key_nested is not None:
            self.compare(o.key_nested, n.key_nested, fpath + "[key]", "nested", dirs)
        elif (o.key_nested is None) != (n.key_nested is None) and not blob:
            err("tree key changed between u64 and a struct")

    def compare_counts(self, o: Field, n: Field, err) -> None:
        oa, na = o.array, n.array
        if (oa is None) != (na is None):
            err("field changed between one value and an array")
        elif oa is not None and na is not None:
            if oa[0] != na[0]:
                err("array changed between a fixed and a variable length")
            elif oa[0] == "fixed" and oa[1] != na[1]:
                err(f"array length changed ({oa[1]} -> {na[1]})")
            elif oa[0] == "var":
                if oa[1] != na[1]:
                    err(f"array count changed ('{oa[1]}' -> '{na[1]}')")
                if oa[2] != na[2]:
                    err(f"array multiplier changed ({oa[2]} -> {na[2]})")
                if (oa[3] or 0) > (na[3] or 0):
                    err(f"array maximum lowered ({oa[3]} -> {na[3]}): old sources may send "
                        "more", OLD_NEW)
                elif (oa[3] or 0) < (na[3] or 0):
                    err(f"array maximum raised ({oa[3]} -> {na[3]}): an old destination "
                        "refuses longer arrays", NEW_OLD)
        if o.max is not None and n.max is not None:
            if o.max > n.max:
                err(f"maximum lowered ({o.max} -> {n.max}): old sources may send more",
                    OLD_NEW)
            elif o.max < n.max:
                err(f"maximum raised ({o.max} -> {n.max}): an old destination refuses more "
                    f"than {o.max}", NEW_OLD)

    def compare_validates(self, od: Desc, nd: Desc, path: str) -> None:
        """A new or changed `validate` that values an old writer can send fail."""
        free, fixed = self.domain(od, nd, {})
        for name, cond in nd.validates.items():
            before = od.validates.get(name)
            if before is not None and before.text == cond.text:
                continue
            old_text = f"validate {name} {before.text}" if before else "none"
            new_text = f"validate {name} {cond.text}"
            if cond.kind != "expr" or cond.expr is None:
                self.add(WARNING, f"{path}/{name}", "validation added or changed (a C function, "
                         "not evaluable): it may refuse old streams", old_text, new_text,
                         OLD_NEW)
                continue
            negated = Cond("expr", ast.Unary(cond.expr.loc, "!", cond.expr), f"!{cond.text}")
            v = judge(negated, od.version, free, fixed)
            if v.possible:
                example = f", e.g. {v.example_text()}" if v.example else ""
                self.add(WARNING, f"{path}/{name}", "validation added or changed: it refuses "
                         f"values old sources can send{example}", old_text, new_text, OLD_NEW)

    # -- subsections -----------------------------------------------------------

    def compare_subs(self, od: Desc, nd: Desc, path: str, dirs: Set[str], ok: Set[str]) -> None:
        olds = {s.name: s for s in od.subs}
        news = {s.name: s for s in nd.subs}
        free, fixed = self.domain(od, nd, {})
        everything = dict(free, **{k: nd.scope.get(k, Var("u64", 0)) for k in fixed})
        for name, s in olds.items():
            if name in news:
                continue
            p = judge(s.needed, od.version, od.scope, {})
            if OLD_NEW in ok and p.possible:
                self.add(ERROR, name, "subsection removed: old sources send it"
                         + self.sub_when(s, p), sub_decl(s), "none", OLD_NEW)
        for name, s in news.items():
            if name in olds or NEW_OLD not in ok:
                continue
            p = judge(s.needed, nd.version, free, fixed)
            if p.possible:
                self.add(ERROR, name, "subsection added: new sources send it to old "
                         "destinations, which do not know it" + self.sub_when(s, p),
                         "none", sub_decl(s), NEW_OLD)
            elif judge(s.needed, nd.version, everything, {}).possible:
                self.add(WARNING, name, "subsection added: sent only once the state uses "
                         f"what the old lacks ({s.needed.text}); then an old destination "
                         "cannot load it", "none", sub_decl(s), NEW_OLD)
        for name, os_ in olds.items():
            ns = news.get(name)
            if ns is None:
                continue
            sent = set()
            if OLD_NEW in ok and judge(os_.needed, od.version, od.scope, {}).possible:
                sent.add(OLD_NEW)
            if NEW_OLD in ok and judge(ns.needed, nd.version, free, fixed).possible:
                sent.add(NEW_OLD)
            if os_.needed.kind in ("expr", "func") and ns.needed.kind == "none" and \
                    NEW_OLD in ok:
                self.add(WARNING, name, "subsection made unconditional: destinations that "
                         f"predate it, which {os_.needed.text} kept it from, now receive it",
                         sub_decl(os_), sub_decl(ns), NEW_OLD)
            self.compare(os_, ns, name, "sub", sent)

    def sub_when(self, s: Desc, p: Verdict) -> str:
        if s.needed.kind == "none":
            return " (always: it has no 'needed')"
        if p.result == "unknown":
            return f" whenever {s.needed.text} holds (not evaluable)"
        if p.result == "always":
            return f" ({s.needed.text} always holds)"
        return f" when {s.needed.text} holds, e.g. {p.example_text()}"


# ---- command line ------------------------------------------------------------

def parse_direction(text: str) -> List[str]:
    table = {"both": list(DIRECTIONS), OLD_NEW: [OLD_NEW], NEW_OLD: [NEW_OLD],
             "forward": [OLD_NEW], "backward": [NEW_OLD]}
    if text not in table:
        raise argparse.ArgumentTypeError(f"'{text}' is not one of old->new, new->old, both")
    return table[text]


def check(old_path: str, new_path: str, include_dirs: List[str],
          legacy_only: bool = False) -> Report:
    old = read_set(old_path, include_dirs, "OLD")
    new = read_set(new_path, include_dirs, "NEW")
    return Comparer(old, new, legacy_only).run()


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(
        prog=PROG, description="Find changes between two schema sets that break migration "
        "(old->new: a new destination loading an old source; new->old: the reverse).",
        epilog="Exit status: 0 compatible (warnings at most), 1 incompatible, 2 bad input.")
    ap.add_argument("old", metavar="OLD", help=".vs file, directory of them, or "
                    "-dump-vmstate JSON")
    ap.add_argument("new", metavar="NEW", help="the same, for the newer version")
    ap.add_argument("--format", choices=("text", "json"), default="text")
    ap.add_argument("--direction", type=parse_direction, default=list(DIRECTIONS),
                    help="old->new, new->old or both (default)")
    ap.add_argument("--form", choices=("all", "legacy"), default="all",
                    help="the stream forms that must stay compatible: all (default; BER names "
                    "fields and structs) or legacy (QEMU's bytes only: renames are warnings)")
    ap.add_argument("-I", "--include-dir", action="append", default=[],
                    help="also look for included schemas here")
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        return 0 if e.code == 0 else 2
    try:
        report = check(args.old, args.new, args.include_dir, args.form == "legacy")
    except InputError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 2
    except RecursionError:
        print(f"{PROG}: input nested too deeply", file=sys.stderr)
        return 2
    found = report.findings(args.direction)
    found.sort(key=lambda f: (f.severity != ERROR, f.path, f.what))
    incompatible = any(f.severity == ERROR for f in found)
    if args.format == "json":
        json.dump({"old": args.old, "new": args.new, "directions": args.direction,
                   "compatible": not incompatible,
                   "findings": [f.as_json() for f in found]}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for f in found:
            print(f.line())
    return 1 if incompatible else 0


if __name__ == "__main__":
    sys.exit(main())
