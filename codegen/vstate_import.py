#!/usr/bin/env python3
"""Import QEMU's ``-dump-vmstate`` JSON as vstate schema (``.vs``) files.

QEMU can print every device class's VMStateDescription (``qemu-system-x86_64
-dump-vmstate FILE``).  That dump names each field, its version, whether a
test function guards it and its per-element size, but not its type,
signedness, element count or the logic of tests and ``needed`` predicates.
This importer turns what the dump does say into schemas a person can finish,
and marks everything it had to guess with an ``/* import: ... */`` comment.

Stream descriptions (the JSON trailer of a migration stream, "vmdesc") give
each sent field's VMStateInfo name and element count; with ``--desc`` they
refine the types of the descriptions they cover (signedness, ``equal``/``le``,
timers, buffers, unused bytes, array lengths, device-specific codecs).

Output, into ``-o DIR``:

* one ``.vs`` file per top-level description (a device section), holding the
  device's type and the nested types only it uses, nested types first;
* one ``.vs`` file per nested type used by several files (``PCIDevice``),
  which the users ``include``;
* ``IMPORTED.md``: each file, the QOM classes that map to it, and counts of
  the guesses left in it.

Usage::

    python3 codegen/vstate_import.py DUMP.json -o DIR [--desc VMDESC.json ...]

The same inputs always give the same bytes.  The function API is
:func:`import_vmstate` (JSON in, file texts out) and :func:`write_output`.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union

Json = Dict[str, Any]
# Where a field sits inside a type: (field index,) for the type's own fields,
# ("s", j, ..., field index) for a field of subsection j (possibly nested).
FieldPath = Tuple[Union[int, str], ...]

PROG = "vstate_import"

C_KEYWORDS = frozenset("""
    auto break case char const continue default do double else enum extern
    float for goto if inline int long register restrict return short signed
    sizeof static struct switch typedef union unsigned void volatile while
    _Alignas _Alignof _Atomic _Bool _Complex _Generic _Imaginary _Noreturn
    _Static_assert _Thread_local bool true false
""".split())

# Words of the schema language (docs/schema.md): scalar type names, member
# keywords, attributes and declaration keywords; types and codecs may not
# take these names.
SCHEMA_WORDS = frozenset("""
    u8 u16 u32 u64 i8 i16 i32 i64 bool f64 timer
    buffer unused bitmap qtailq qlist gtree tmp validate local subsection
    include codec type version minimum cstruct header tmp_for
    pre_save post_save pre_load post_load
    since if default equal le cname needed max ctype size
""".split())

RESERVED = C_KEYWORDS | SCHEMA_WORDS

# vmdesc VMStateInfo names that map onto plain schema scalars.
SCALAR_INFOS = {
    "uint8": "u8", "uint16": "u16", "uint32": "u32", "uint64": "u64",
    "int8": "i8", "int16": "i16", "int32": "i32", "int64": "i64",
    "bool": "bool", "timer": "timer", "float64": "f64",
}
# "... equal" infos: the stream value must equal the current one.  QEMU's
# VMSTATE_UINT64_EQUAL is named "int64 equal" (sic), hence u64.
EQUAL_INFOS = {
    "uint8 equal": "u8", "uint16 equal": "u16", "int32 equal": "i32",
    "uint32 equal": "u32", "int64 equal": "u64",
}
LE_INFOS = {"int32 le": "i32"}
STRUCT_INFOS = ("struct", "vstruct")
SIZE_SCALARS = {1: "u8", 2: "u16", 4: "u32", 8: "u64"}

DEFAULT_LIST_MAX = 32
CODECS_FILE = "vs_import_codecs"


# ---- names --------------------------------------------------------------------

def mangle(text: str, fallback: str = "x", reserved: Iterable[str] = RESERVED) -> str:
    """A C identifier from @text: other characters become '_', runs collapse.

    A name in @reserved gets a trailing '_'.  Type and codec names avoid the
    schema's words too; member names only C keywords (schema words are
    contextual there).
    """
    s = re.sub(r"[^A-Za-z0-9_]+", "_", text)
    s = re.sub(r"_+", "_", s).strip("_")
    if not s:
        s = fallback
    if s[0].isdigit():
        s = "Q" + s
    if s in reserved:
        s += "_"
    return s


def comment_text(text: str) -> str:
    """@text made safe inside a /* */ comment on one line."""
    return text.replace("*/", "* /").replace("/*", "/ *").replace("\n", " ")


def canonical(desc: Json) -> str:
    """A description's identity: its JSON with sorted keys."""
    return json.dumps(desc, sort_keys=True, separators=(",", ":"))


def expected_vmdesc_names(fields: Sequence[Json]) -> List[str]:
    """The names a stream description gives the fields of one vmsd.

    A name that occurs several times in a vmsd's field list is written as
    ``name[k]`` with k its occurrence index.
    """
    totals = Counter(f["field"] for f in fields)
    seen: Counter = Counter()
    out = []
    for f in fields:
        n = f["field"]
        if totals[n] > 1:
            out.append(f"{n}[{seen[n]}]")
            seen[n] += 1
        else:
            out.append(n)
    return out


def check_wire_name(name: str) -> str:
    if '"' in name or "\\" in name or "\n" in name:
        raise ValueError(f"vmsd name {name!r} cannot be written as a schema string literal")
    return name


def _wrap(lead: str, items: Sequence[str], width: int = 96) -> List[str]:
    """Comment lines listing @items after @lead, wrapped at @width."""
    lines, cur = [], lead
    for i, item in enumerate(items):
        word = comment_text(item) + ("," if i + 1 < len(items) else ".")
        if cur != lead and len(cur) + 1 + len(word) > width:
            lines.append(cur)
            cur = " *   " + word
        else:
            cur += ("" if cur == lead else " ") + word
    lines.append(cur)
    return lines


# ---- model --------------------------------------------------------------------

@dataclass
class Variant:
    """One distinct Description (by content); becomes one schema type."""

    key: str
    name: str
    desc: Json
    classes: Set[str] = field(default_factory=set)   # QOM classes using it as their vmsd
    nested_uses: int = 0                             # times nested in another description
    children: List[str] = field(default_factory=list)  # keys of nested descriptions, in order
    parents: Set[str] = field(default_factory=set)
    cname: str = ""
    owner: str = ""                                  # key of the variant whose file holds it
    tmp_parent: Optional[str] = None                 # set when used through a `tmp` member


@dataclass
class FieldInfo:
    """What stream descriptions said about one field of one variant."""

    types: Counter = field(default_factory=Counter)
    counts: Set[int] = field(default_factory=set)
    sizes: Set[int] = field(default_factory=set)
    null_entries: bool = False

    def info(self) -> str:
        return sorted(self.types.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]

    def count(self) -> int:
        return max(self.counts) if self.counts else 1

    def size(self) -> int:
        return max(self.sizes) if self.sizes else 0


@dataclass
class Codec:
    cname: str
    info: str
    size: int
    users: Set[str] = field(default_factory=set)     # file names


@dataclass
class Stats:
    guesses: int = 0
    renames: int = 0
    omitted: int = 0
    members: int = 0

    def add(self, other: "Stats") -> None:
        self.guesses += other.guesses
        self.renames += other.renames
        self.omitted += other.omitted
        self.members += other.members


@dataclass
class OutFile:
    name: str                       # "PIIX3.vs"
    head: str                       # key of the variant the file is named after
    types: List[str]                # keys, nested types first
    includes: List[str] = field(default_factory=list)
    codecs: List[str] = field(default_factory=list)
    stats: Stats = field(default_factory=Stats)
    text: str = ""


@dataclass
class ImportResult:
    """The importer's output: file name -> text, plus what the index reports."""

    files: Dict[str, str]
    types: int
    stats: Stats
    machine: str
    unmatched_vmdesc: List[str]


class _Members:
    """The member names of one C struct (a type and all its subsections)."""

    def __init__(self) -> None:
        self.used: Set[str] = set()

    def take(self, wanted: str) -> str:
        """@wanted, or @wanted with a suffix _1, _2, ... when it is taken."""
        name, n = wanted, 0
        while name in self.used:
            n += 1
            name = f"{wanted.rstrip('_')}_{n}"
        self.used.add(name)
        return name


class _Line:
    """One member line with its notes."""

    def __init__(self, decl: str, omitted: bool = False) -> None:
        self.decl = decl
        self.omitted = omitted
        self.notes: List[Tuple[str, str]] = []   # (kind, text): kind guess/rename/info

    def note(self, kind: str, text: str) -> None:
        self.notes.append((kind, text))


# ---- the importer -------------------------------------------------------------

class Importer:
    """Collects descriptions, applies stream descriptions, writes schemas."""

    def __init__(self, dump: Json, source_name: str = "dump") -> None:
        self.dump = dump
        self.source_name = source_name
        self.machine = str(dump.get("vmschkmachine", {}).get("Name", "unknown"))
        self.variants: Dict[str, Variant] = {}
        self.class_variant: Dict[str, str] = {}      # QOM class -> variant key
        self.refine: Dict[Tuple[str, FieldPath], FieldInfo] = {}
        self.unmatched_vmdesc: Set[str] = set()
        self.vmdesc_sources: List[str] = []
        self.codecs: Dict[Tuple[str, int], Codec] = {}
        self.predicates: Set[str] = set()
        for cls in sorted(dump):
            if cls == "vmschkmachine":
                continue
            entry = dump[cls]
            desc = entry.get("Description") if isinstance(entry, dict) else None
            if not isinstance(desc, dict) or "name" not in desc:
                continue
            v = self._collect(desc, None)
            v.classes.add(cls)
            self.class_variant[cls] = v.key
        self._name_variants()

    # -- collecting -------------------------------------------------------------

    def _collect(self, desc: Json, parent: Optional[Variant]) -> Variant:
        key = canonical(desc)
        v = self.variants.get(key)
        if v is None:
            v = Variant(key, check_wire_name(desc["name"]), desc)
            self.variants[key] = v
            for f in self._all_fields(desc):
                if isinstance(f.get("Description"), dict):
                    child = self._collect(f["Description"], v)
                    if child.key not in v.children:
                        v.children.append(child.key)
        if parent is not None:
            v.nested_uses += 1
            v.parents.add(parent.key)
        return v

    @staticmethod
    def _all_fields(desc: Json) -> Iterable[Json]:
        yield from desc.get("Fields", [])
        for s in desc.get("Subsections", []):
            yield from Importer._all_fields(s)

    def _name_variants(self) -> None:
        groups: Dict[str, List[Variant]] = {}
        for v in self.variants.values():
            groups.setdefault(v.name, []).append(v)
        wanted: List[Tuple[int, str, str, str]] = []   # (rank, base, want, key)
        for name, vs in groups.items():
            base = mangle(name, "vmsd")
            vs.sort(key=lambda v: (v.nested_uses == 0, -(v.nested_uses + len(v.classes)), v.key))
            alt = 0
            for i, v in enumerate(vs):
                if i == 0:
                    want = base
                elif v.classes:
                    want = f"{base}_{mangle(min(v.classes))}"
                else:
                    alt += 1
                    want = f"{base}_alt{alt}"
                wanted.append((0 if i == 0 else 1, name, want, v.key))
        taken: Set[str] = set()
        for _rank, _name, want, key in sorted(wanted):
            cname, n = want, 1
            while cname.lower() in taken or cname.lower() == CODECS_FILE:
                n += 1
                cname = f"{want}_{n}"
            taken.add(cname.lower())
            self.variants[key].cname = cname

    # -- stream descriptions ----------------------------------------------------

    def apply_vmdesc(self, vmdesc: Json, label: str = "vmdesc") -> None:
        """Refine field types from one stream description (vmdesc JSON)."""
        self.vmdesc_sources.append(label)
        for dev in vmdesc.get("devices", []):
            name = dev.get("vmsd_name")
            if name is None:
                continue                       # legacy save_state section
            cands = [v for v in self.variants.values() if v.name == name]
            top = [v for v in cands if v.classes]
            cands = top or cands
            if not cands:
                self.unmatched_vmdesc.add(name)
                continue
            best = max(cands, key=lambda v: (self._score(v.desc, dev), v.cname))
            self._match(best, (), best.desc, dev)

    def _score(self, desc: Json, node: Json) -> int:
        want = set(expected_vmdesc_names(desc.get("Fields", [])))
        got = {e.get("name") for e in node.get("fields", [])}
        return len(want & got) - len(got - want)

    def _match(self, v: Variant, prefix: FieldPath, desc: Json, node: Json) -> None:
        fields = desc.get("Fields", [])
        groups: Dict[str, List[Json]] = {}
        for e in node.get("fields", []):
            groups.setdefault(str(e.get("name")), []).append(e)
        for i, (f, en) in enumerate(zip(fields, expected_vmdesc_names(fields))):
            entries = groups.get(en)
            if not entries:
                continue
            info = self.refine.setdefault((v.key, prefix + (i,)), FieldInfo())
            first = entries[0]
            info.types[str(first.get("type"))] += 1
            if "index" in first:
                info.counts.add(len(entries))
            else:
                info.counts.add(int(first.get("array_len", 1)))
            info.sizes.add(int(first.get("size", 0)))
            nested = f.get("Description")
            if not isinstance(nested, dict):
                continue
            child = self.variants[canonical(nested)]
            for e in entries:
                sub = e.get("struct") if e.get("type") == "struct" else e
                if not sub:
                    info.null_entries = True
                    continue
                if isinstance(sub, dict) and sub.get("vmsd_name") == nested["name"]:
                    self._match(child, (), child.desc, sub)
        subs = desc.get("Subsections", [])
        for sn in node.get("subsections", []):
            for j, s in enumerate(subs):
                if s["name"] == sn.get("vmsd_name"):
                    self._match(v, prefix + ("s", j), s, sn)
                    break

    # -- layout -----------------------------------------------------------------

    def _layout(self) -> List[OutFile]:
        """Assign every type to a file; files in name order."""
        indeg = {k: len(v.parents) for k, v in self.variants.items()}
        heap = [(self.variants[k].cname, k) for k, d in indeg.items() if d == 0]
        heapq.heapify(heap)
        order: List[str] = []
        while heap:
            _, k = heapq.heappop(heap)
            order.append(k)
            for c in self.variants[k].children:
                indeg[c] -= 1
                if indeg[c] == 0:
                    heapq.heappush(heap, (self.variants[c].cname, c))
        if len(order) != len(self.variants):
            raise ValueError("descriptions nest recursively; cannot order them")
        for k in order:
            v = self.variants[k]
            owners = {self.variants[p].owner for p in v.parents}
            v.owner = k if v.classes or len(owners) != 1 else owners.pop()
        files: List[OutFile] = []
        for k in order:
            v = self.variants[k]
            if v.owner != k:
                continue
            types: List[str] = []
            self._postorder(k, k, types, set())
            files.append(OutFile(v.cname + ".vs", k, types))
        files.sort(key=lambda f: f.name)
        return files

    def _postorder(self, k: str, owner: str, out: List[str], seen: Set[str]) -> None:
        if k in seen:
            return
        seen.add(k)
        for c in self.variants[k].children:
            if self.variants[c].owner == owner:
                self._postorder(c, owner, out, seen)
        out.append(k)

    # -- writing ----------------------------------------------------------------

    def run(self) -> ImportResult:
        """Produce every file's text."""
        files = self._layout()
        self._find_tmp_parents()
        bodies: Dict[str, List[str]] = {}
        for f in files:
            lines: List[str] = []
            inc: Set[str] = set()
            for k in f.types:
                lines.extend(self._type(k, f, inc))
            f.includes = sorted(inc)
            bodies[f.name] = lines
        codec_files = self._place_codecs(files)
        out: Dict[str, str] = {}
        total = Stats()
        for f in files:
            f.text = self._file_text(f, bodies[f.name])
            out[f.name] = f.text
            total.add(f.stats)
        if codec_files:
            out[CODECS_FILE + ".vs"] = codec_files
        out["IMPORTED.md"] = self._index(files, total)
        return ImportResult(out, len(self.variants), total, self.machine,
                            sorted(self.unmatched_vmdesc))

    def _find_tmp_parents(self) -> None:
        for v in self.variants.values():
            for path, f in self._fields_with_paths(v.desc, ()):
                nested = f.get("Description")
                if isinstance(nested, dict) and self._kind_of(v, path, f) == "tmp":
                    self.variants[canonical(nested)].tmp_parent = v.key

    def _fields_with_paths(self, desc: Json, prefix: FieldPath) -> Iterable[Tuple[FieldPath, Json]]:
        for i, f in enumerate(desc.get("Fields", [])):
            yield prefix + (i,), f
        for j, s in enumerate(desc.get("Subsections", [])):
            yield from self._fields_with_paths(s, prefix + ("s", j))

    def _kind_of(self, v: Variant, path: FieldPath, f: Json) -> str:
        info = self.refine.get((v.key, path))
        if info is not None:
            return info.info()
        return "tmp" if f["field"] == "tmp" and "Description" in f else ""

    def _place_codecs(self, files: List[OutFile]) -> str:
        """Declare each codec in the one file using it, or in a shared file."""
        shared = [c for c in self.codecs.values() if len(c.users) > 1]
        by_name = {f.name: f for f in files}
        for c in self.codecs.values():
            if len(c.users) == 1:
                by_name[next(iter(c.users))].codecs.append(c.cname)
        if not shared:
            return ""
        for c in shared:
            for u in c.users:
                f = by_name[u]
                if CODECS_FILE + ".vs" not in f.includes:
                    f.includes.append(CODECS_FILE + ".vs")
                    f.includes.sort()
        lines = [f"/* {CODECS_FILE}.vs: device-specific encodings (VMStateInfo) that several",
                 " * imported schemas use.  Imported by codegen/vstate_import.py. */", ""]
        for c in sorted(shared, key=lambda c: c.cname):
            lines.append(self._codec_decl(c))
        return "\n".join(lines) + "\n"

    def _codec_decl(self, c: Codec) -> str:
        return (f'codec {c.cname} "{c.info}" ctype "uint8_t[{c.size}]" size {c.size};'
                f"  /* import: C type guessed as {c.size} raw bytes; the device writes"
                f" the codec function */")

    def _file_text(self, f: OutFile, body: List[str]) -> str:
        head = self.variants[f.head]
        classes = sorted(head.classes)
        hdr = [f"/* {f.name}: imported from QEMU's -dump-vmstate ({self.source_name},"
               f" machine {comment_text(self.machine)})",
               " * by codegen/vstate_import.py."]
        if self.vmdesc_sources:
            hdr += _wrap(" * Types refined from stream descriptions: ", self.vmdesc_sources)
        if classes:
            hdr += _wrap(" * QOM classes: ", classes)
        else:
            hdr.append(" * A nested type shared by several imported schemas.")
        hdr.append(" * Every 'import:' comment marks a guess or a change to review:"
                   f" {f.stats.guesses} guesses, {f.stats.omitted} omitted fields,"
                   f" {f.stats.renames} renames.")
        hdr.append(" */")
        lines = hdr + [""]
        for i in f.includes:
            lines.append(f'include "{i}";')
        if f.includes:
            lines.append("")
        for cn in sorted(f.codecs):
            c = next(c for c in self.codecs.values() if c.cname == cn)
            lines.append(self._codec_decl(c))
        if f.codecs:
            lines.append("")
        lines.extend(body)
        while lines and lines[-1] == "":
            lines.pop()
        return "\n".join(lines) + "\n"

    def _type(self, key: str, f: OutFile, inc: Set[str]) -> List[str]:
        v = self.variants[key]
        d = v.desc
        out: List[str] = []
        same = sorted(o.cname for o in self.variants.values() if o.name == v.name and o.key != key)
        if v.classes:
            out.append(f"/* vmsd \"{comment_text(v.name)}\" of QOM classes "
                       + comment_text(", ".join(sorted(v.classes))) + " */")
        if same:
            out.append(f"/* import: other descriptions share the name \"{comment_text(v.name)}\""
                       f" but differ: {', '.join(same)}; this type is distinct in C */")
        head = (f'type {v.cname} "{v.name}" version {d["version_id"]}'
                f' minimum {d["minimum_version_id"]}')
        if v.tmp_parent is not None:
            head += f" tmp_for {self.variants[v.tmp_parent].cname}"
        elif not v.classes:
            # Only ever inside other state: no section of its own, and QEMU
            # sometimes reuses a device's name for it (fdc, serial, vga).
            head += " nested"
        elif v.nested_uses and same:
            # A device's vmsd that another device of the same name wraps
            # (isa-vga's "vga" inside VGA's "vga"): one wire name, one entry.
            out.append(f"/* import: also nested in a device named \"{comment_text(v.name)}\"; "
                       "marked nested so the wrapping device owns the wire name */")
            f.stats.guesses += 1
            head += " nested"
        if "Fields" not in d and "Subsections" not in d:
            out.append(head + " {")
            out.append("    /* import: the dump lists no fields: the device has no VMState fields"
                       " or is unmigratable (QEMU's .unmigratable is not in the dump) */")
            f.stats.guesses += 1
            out.append("}")
            out.append("")
            return out
        out.append(head + " {")
        names = _Members()
        self._members(v, (), d, "    ", names, f, inc, out)
        out.append("}")
        out.append("")
        return out

    def _members(self, v: Variant, prefix: FieldPath, desc: Json, ind: str, names: _Members,
                 f: OutFile, inc: Set[str], out: List[str]) -> None:
        fields = desc.get("Fields", [])
        dup = Counter(x["field"] for x in fields)
        for i, fld in enumerate(fields):
            line = self._field(v, prefix + (i,), fld, int(desc.get("version_id", 0)),
                               names, f, inc, dup[fld["field"]] > 1)
            out.append(self._render(ind, line, f.stats))
        for j, s in enumerate(desc.get("Subsections", [])):
            wire = check_wire_name(s["name"])
            pred = self._predicate(f"import_{mangle(wire)}_needed")
            out.append(f'{ind}subsection "{wire}" version {s["version_id"]}'
                       f' minimum {s["minimum_version_id"]} needed {pred} {{'
                       f"  /* import: predicate unknown: QEMU's needed() is not in the dump */")
            f.stats.guesses += 1
            self._members(v, prefix + ("s", j), s, ind + "    ", names, f, inc, out)
            out.append(ind + "}")

    def _predicate(self, want: str) -> str:
        name, n = want, 1
        while name in self.predicates:
            n += 1
            name = f"{want}_{n}"
        self.predicates.add(name)
        return name

    def _render(self, ind: str, line: _Line, st: Stats) -> str:
        for kind, _ in line.notes:
            if kind == "guess":
                st.guesses += 1
            elif kind == "rename":
                st.renames += 1
        if line.omitted:
            st.omitted += 1
            notes = "; ".join(t for _, t in line.notes)
            return f"{ind}/* import: omitted: {comment_text(line.decl)} -- {comment_text(notes)} */"
        st.members += 1
        if not line.notes:
            return ind + line.decl
        notes = comment_text("; ".join(t for _, t in line.notes))
        return f"{ind}{line.decl}  /* import: {notes} */"

    # -- one field --------------------------------------------------------------

    def _field(self, v: Variant, path: FieldPath, fld: Json, container_version: int,
               names: _Members, f: OutFile, inc: Set[str], repeated: bool) -> _Line:
        raw = str(fld["field"])
        size = int(fld.get("size", 0))
        info = self.refine.get((v.key, path))
        kind = info.info() if info else ""
        nested = fld.get("Description") if isinstance(fld.get("Description"), dict) else None
        ver = int(fld.get("version_id", 0))
        tested = bool(fld.get("field_exists"))

        attrs: List[str] = []
        test_notes: List[Tuple[str, str]] = []
        if tested:
            if ver > 0:
                test_notes.append(("info", f"QEMU field version {ver} not used: the test"
                                           " alone decides whether the field exists"))
        elif ver > container_version:
            return self._omit(f"{raw} since {ver}", [(
                "guess", f"field version {ver} is above the version of its vmsd"
                         f" ({container_version}): never on the wire")])
        elif ver > 0:
            attrs.append(f"since {ver}")

        if raw == "unused" or kind == "unused_buffer":
            n = info.size() if info and kind == "unused_buffer" else size
            if n <= 0:
                return self._omit("unused ?", [(
                    "guess", "a variable number of unused bytes (QEMU's"
                             " VMSTATE_UNUSED_VARRAY); the dump gives no count")])
            if tested:
                attrs.append("if " + self._predicate(f"import_{v.cname}_unused_{path[-1]}_test"))
                test_notes.append(("guess", "test logic unknown: QEMU's field_exists()"
                                            " is not in the dump"))
            line = _Line(" ".join([f"unused {n}"] + attrs) + ";")
            line.notes = test_notes
            return line

        member = mangle(raw, "field", C_KEYWORDS)
        name = names.take(member)
        notes: List[Tuple[str, str]] = []
        if name != member:
            why = "the name repeats in this vmsd" if repeated else \
                "the name clashes with another member of this struct"
            notes.append(("rename", f"QEMU field \"{raw}\" renamed: {why}"))
        elif raw in C_KEYWORDS:
            notes.append(("rename", f"QEMU field \"{raw}\" renamed: a C keyword"))
        elif member != raw:
            notes.append(("rename", f"QEMU field \"{raw}\""))
        if tested:
            attrs.append("if " + self._predicate(f"import_{v.cname}_{name}_test"))
            test_notes.append(("guess", "test logic unknown: QEMU's field_exists()"
                                        " is not in the dump"))

        decl, more, omitted = self._decl(name, raw, size, info, kind, nested, f, inc)
        notes += more + test_notes
        if omitted:
            names.used.discard(name)
            return self._omit(decl + "".join(" " + a for a in attrs), notes)
        line = _Line(decl + "".join(" " + a for a in attrs) + ";")
        line.notes = notes
        return line

    @staticmethod
    def _omit(decl: str, notes: List[Tuple[str, str]]) -> _Line:
        line = _Line(decl, omitted=True)
        for k, t in notes:
            line.note(k, t)
        return line

    def _decl(self, name: str, raw: str, size: int, info: Optional[FieldInfo],
              kind: str, nested: Optional[Json], f: OutFile, inc: Set[str]
              ) -> Tuple[str, List[Tuple[str, str]], bool]:
        """The member declaration (without attributes/';'), notes, omitted?"""
        notes: List[Tuple[str, str]] = []
        if info and len(info.types) > 1:
            notes.append(("guess", "streams disagree on the type ("
                          + ", ".join(sorted(info.types)) + f"); \"{kind}\" used"))
        count = info.count() if info else 1
        if info and len(info.counts) > 1:
            notes.append(("guess", "element counts differ between streams ("
                          + ", ".join(str(c) for c in sorted(info.counts))
                          + "): a variable array whose count member the dump does not name;"
                            " the largest is used"))
        arr = f"[{count}]" if count > 1 else ""
        if count > 1 and len(info.counts if info else ()) == 1:
            notes.append(("guess", f"{count} elements seen in a stream description;"
                                   " fixed or variable array unknown"))

        if nested is not None:
            child = self.variants[canonical(nested)]
            self._use(child, f, inc)
            if kind == "tmp" or (not kind and raw == "tmp"):
                if not kind:
                    notes.append(("guess", "a 'tmp' field with a description: assumed"
                                           " VMSTATE_WITH_TMP"))
                return f"tmp {child.cname}", notes, False
            if kind in ("qtailq", "qlist"):
                notes.append(("guess", f"maximum {DEFAULT_LIST_MAX} elements is a placeholder"))
                return f"{kind} {child.cname} {name} max {DEFAULT_LIST_MAX}", notes, False
            if kind == "gtree":
                notes.append(("guess", "a gtree: key and value types and the maximum are unknown"))
                return f"gtree ? {child.cname} {name}", notes, True
            if kind and kind not in STRUCT_INFOS:
                notes.append(("guess", f"stream says type \"{kind}\" for a field with a"
                                       " description; imported as a nested struct"))
            if info is None:
                notes.append(("guess", "nested struct: element count and pointer-ness unknown"
                                       " (could be an array, a pointer, qtailq, qlist or gtree)"))
            if info is not None and info.null_entries:
                notes.append(("guess", "NULL elements seen: an array of pointers"))
                return f"{child.cname} *{name}{arr}", notes, False
            return f"{child.cname} {name}{arr}", notes, False

        if kind:
            if kind in SCALAR_INFOS or kind in EQUAL_INFOS or kind in LE_INFOS:
                scalar = SCALAR_INFOS.get(kind) or EQUAL_INFOS.get(kind) or LE_INFOS[kind]
                suffix = " equal" if kind in EQUAL_INFOS else " le" if kind in LE_INFOS else ""
                if kind == "int64 equal":
                    notes.append(("info", "\"int64 equal\" is QEMU's VMSTATE_UINT64_EQUAL"))
                if size == 0:
                    notes.append(("guess", "a variable array (size 0 in the dump);"
                                           " count member unknown"))
                    return f"{scalar} {name}[?]", notes, True
                # the ' equal'/' le' attributes are written after the array.
                return f"{scalar} {name}{arr}{suffix}", notes, False
            if kind == "CPU_Double_U":
                notes.append(("guess", "CPU_Double_U: two be32 halves, the same bytes as u64"))
                return f"u64 {name}{arr}", notes, False
            if kind == "buffer":
                n = info.size() if info else size
                if size == 0 or (info and len(info.sizes) > 1):
                    notes.append(("guess", f"a variable-size buffer (VMSTATE_VBUFFER; {n} bytes"
                                           " seen in a stream); its count member is unknown"))
                    return f"buffer {name}[?]", notes, True
                return f"buffer {name}[{n * count}]", notes, False
            if kind == "bitmap":
                notes.append(("guess", "a bitmap whose bit count member the dump does not name"))
                return f"bitmap {name}[?]", notes, True
            if kind in STRUCT_INFOS + ("tmp", "qtailq", "qlist", "gtree"):
                notes.append(("guess", f"stream says \"{kind}\" but the dump has no description"))
                return f"{kind} {name}", notes, True
            if kind in ("unknown", "capability"):
                pass
            else:
                n = info.size() if info else size
                if n <= 0 or (info and len(info.sizes) > 1) or size == 0:
                    notes.append(("guess", f"device-specific encoding \"{kind}\" of variable size"
                                           " (size 0 in the dump); write a codec by hand"))
                    return f"{mangle(kind)} {name}", notes, True
                codec = self._codec(kind, n, f)
                notes.append(("guess", f"device-specific encoding \"{kind}\": codec {codec.cname}"))
                return f"{codec.cname} {name}{arr}", notes, False

        if size == 0:
            notes.append(("guess", "size 0 in the dump: variable-size data (a VBUFFER, a"
                                   " variable array or a device-specific VMStateInfo) whose length"
                                   " the dump does not give"))
            return f"{name} (size 0)", notes, True
        if size in SIZE_SCALARS:
            notes.append(("guess", f"size {size}: {SIZE_SCALARS[size]} assumed;"
                                   " signedness and element count unknown"))
            return f"{SIZE_SCALARS[size]} {name}", notes, False
        notes.append(("guess", f"size {size}: raw bytes assumed; could be an array of"
                               " smaller elements or a device-specific encoding"))
        return f"buffer {name}[{size}]", notes, False

    def _use(self, child: Variant, f: OutFile, inc: Set[str]) -> None:
        owner = self.variants[child.owner]
        if owner.key != f.head:
            inc.add(owner.cname + ".vs")

    def _codec(self, info: str, size: int, f: OutFile) -> Codec:
        c = self.codecs.get((info, size))
        if c is None:
            base = mangle(info, "codec")
            same_info = [x for x in self.codecs.values() if x.info == info]
            cname = base if not same_info else f"{base}_{size}"
            taken = ({x.cname for x in self.codecs.values()}
                     | {v.cname for v in self.variants.values()})
            n = 1
            want = cname
            while cname in taken:
                n += 1
                cname = f"{want}_{n}"
            c = Codec(cname, check_wire_name(info), size)
            self.codecs[(info, size)] = c
        c.users.add(f.name)
        return c

    # -- index ------------------------------------------------------------------

    def _index(self, files: List[OutFile], total: Stats) -> str:
        users: Dict[str, Set[str]] = {}
        for f in files:
            for i in f.includes:
                users.setdefault(i, set()).add(f.name)
        lines = [
            "# Schemas imported from QEMU's -dump-vmstate",
            "",
            f"Source: `{self.source_name}` (machine `{self.machine}`), converted by"
            " `codegen/vstate_import.py`.",
        ]
        if self.vmdesc_sources:
            lines.append("Types refined from stream descriptions: "
                         + ", ".join(f"`{s}`" for s in self.vmdesc_sources) + ".")
        lines += [
            "",
            "The dump gives field names, versions, per-element sizes and whether a test",
            "guards a field; it does not give types, signedness, element counts, the logic",
            "of tests and `needed` predicates, or hooks. Every `/* import: ... */` comment",
            "in the schemas marks such a guess (or a rename) for a person to finish;",
            "`omitted` counts fields left as comments because their size is variable.",
            "",
            f"Totals: {len(files)} schema files, {len(self.variants)} types,"
            f" {len(self.class_variant)} QOM classes, {total.members} members,"
            f" {total.guesses} guesses, {total.omitted} omitted fields, {total.renames} renames.",
            "",
            "| file | wire names | QOM classes / used by | types | guesses | omitted | renames |",
            "| --- | --- | --- | ---: | ---: | ---: | ---: |",
        ]
        for f in files:
            head = self.variants[f.head]
            wires = ", ".join(sorted({f"`{self.variants[k].name}`" for k in f.types}))
            if head.classes:
                who = ", ".join(f"`{c}`" for c in sorted(head.classes))
            else:
                who = "included by " + ", ".join(f"`{u}`" for u in sorted(users.get(f.name, ())))
            lines.append(f"| `{f.name}` | {wires} | {who} | {len(f.types)} | {f.stats.guesses}"
                         f" | {f.stats.omitted} | {f.stats.renames} |")
        shared = {}
        for v in self.variants.values():
            shared.setdefault(v.name, []).append(v.cname)
        clashes = {n: sorted(c) for n, c in shared.items() if len(c) > 1}
        if clashes:
            lines += ["", "## Different descriptions with the same name", "",
                      "QEMU uses one vmsd name for descriptions that differ (typically a device",
                      "section wrapping a nested struct of the same name); each got its own",
                      "C type:",
                      ""]
            for n in sorted(clashes):
                lines.append(f"- `{n}`: " + ", ".join(f"`{c}`" for c in clashes[n]))
        if self.codecs:
            lines += ["", "## Codecs", "",
                      "Device-specific encodings seen in stream descriptions; each needs a",
                      "hand-written codec function:", ""]
            for c in sorted(self.codecs.values(), key=lambda c: c.cname):
                lines.append(f"- `{c.cname}`: \"{c.info}\", {c.size} bytes, used by "
                             + ", ".join(f"`{u}`" for u in sorted(c.users)))
        if self.unmatched_vmdesc:
            lines += ["", "## Described by streams but not in the dump", "",
                      "Not imported (registered with vmstate_register() rather than as a device",
                      "class vmsd): "
                      + ", ".join(f"`{n}`" for n in sorted(self.unmatched_vmdesc)) + "."]
        return "\n".join(lines) + "\n"


# ---- API ----------------------------------------------------------------------

def load_json(path: str) -> Json:
    """Read a JSON file (a dump or a stream description)."""
    with open(path, encoding="utf-8", errors="surrogateescape") as fp:
        data = json.load(fp)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return data


def import_vmstate(dump: Json, vmdescs: Sequence[Tuple[str, Json]] = (),
                   source_name: str = "dump") -> ImportResult:
    """Convert a parsed -dump-vmstate object into schema texts.

    @vmdescs: (label, parsed vmdesc) pairs, applied in order.
    Returns file name -> text (the .vs files and IMPORTED.md) and statistics.
    """
    imp = Importer(dump, source_name)
    for label, vd in vmdescs:
        imp.apply_vmdesc(vd, label)
    return imp.run()


def write_output(result: ImportResult, outdir: str) -> None:
    """Write @result's files into @outdir (created if needed)."""
    os.makedirs(outdir, exist_ok=True)
    for name, text in sorted(result.files.items()):
        path = os.path.join(outdir, name)
        with open(path, "w", encoding="utf-8", newline="\n") as fp:
            fp.write(text)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command-line entry point; returns the exit status."""
    ap = argparse.ArgumentParser(
        prog=PROG, description="Convert QEMU -dump-vmstate JSON into vstate .vs schemas.")
    ap.add_argument("dump", help="the JSON written by qemu -dump-vmstate FILE")
    ap.add_argument("-o", "--output", required=True, metavar="DIR",
                    help="directory for the .vs files and IMPORTED.md")
    ap.add_argument("--desc", action="append", default=[], metavar="VMDESC.json",
                    help="a stream description (vmdesc JSON) to refine types; repeatable")
    ap.add_argument("-q", "--quiet", action="store_true", help="no summary line")
    try:
        args = ap.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as e:          # --help, or a usage error already printed
        return e.code if isinstance(e.code, int) else 2
    try:
        dump = load_json(args.dump)
        descs = [(os.path.basename(os.path.dirname(os.path.abspath(p))) + "/"
                  + os.path.basename(p), load_json(p)) for p in args.desc]
        result = import_vmstate(dump, descs, os.path.basename(args.dump))
        write_output(result, args.output)
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1
    if not args.quiet:
        st = result.stats
        print(f"{PROG}: {len(result.files) - 1} schema files, {result.types} types,"
              f" {st.guesses} guesses, {st.omitted} omitted fields, {st.renames} renames"
              f" -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
