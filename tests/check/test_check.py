#!/usr/bin/env python3
"""Tests of `vstate check` (codegen/vstate_check.py): the static compatibility checker.

* .vs pairs, one per kind of change, each with the findings it must give
  (severity, path, direction) and no other;
* QEMU 7.2's -dump-vmstate files from the corpus against themselves (no
  findings) and against copies this test edits, one edit per kind of change;
* the project's schema history (schema/history/) against the current schemas;
* the command line: `vstate check` (when given the binary) and the script.

Environment: VSTATE_SOURCE_ROOT (the repository), VSTATE_CORPUS_DIR (the
QEMU 7.2 corpus; tests needing it skip with a printed reason), VSTATE_EXE
(the built `vstate`; the command-line tests through it skip without it).
"""

import copy
import glob
import json
import os
import subprocess
import sys
import tempfile
import unittest
from typing import Dict, List, Optional, Set, Tuple

SOURCE_ROOT = os.environ.get("VSTATE_SOURCE_ROOT") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.environ.get("VSTATE_CORPUS_DIR") or os.path.join(
    SOURCE_ROOT, "..", "shared", "corpus", "qemu-7.2")
CHECKER = os.path.join(SOURCE_ROOT, "codegen", "vstate_check.py")
DUMPS = sorted(glob.glob(os.path.join(CORPUS, "vmstate", "*.json")))

sys.path.insert(0, os.path.join(SOURCE_ROOT, "codegen"))
import vstate_check  # noqa: E402
from vstate_check import ERROR, NEW_OLD, OLD_NEW, WARNING  # noqa: E402

BOTH = {OLD_NEW, NEW_OLD}
Expect = Tuple[str, str, Set[str], str]        # severity, path, directions, words in the text


def note(msg: str) -> None:
    print(f"test_check: {msg}", file=sys.stderr)


def check_files(old: str, new: str) -> List[vstate_check.Finding]:
    return vstate_check.check(old, new, []).findings(vstate_check.DIRECTIONS)


def assert_findings(tc: unittest.TestCase, found: List[vstate_check.Finding],
                    expected: List[Expect], label: str) -> None:
    """Each expected finding is there with exactly its directions, and
    nothing else was found."""
    text = "\n".join(f.line() for f in found) or "(none)"
    left = list(found)
    for sev, path, dirs, words in expected:
        match = [f for f in left if f.severity == sev and f.path == path
                 and words.lower() in f.line().lower()]
        tc.assertTrue(match, f"{label}: expected {sev} {path} ({words}); found:\n{text}")
        tc.assertEqual(set(match[0].directions), dirs,
                       f"{label}: directions of {match[0].line()}")
        left.remove(match[0])
    tc.assertEqual(left, [], f"{label}: unexpected findings:\n{text}")


# ---- .vs pairs ---------------------------------------------------------------

BASE = """
type Inner "inner" version 1 nested {
    u16 x;
    u16 y;
}
type Dev "dev" version 2 minimum 1 {
    u8  a;
    u16 b;
    u32 c since 2 default 0;
    u8  n;
    u8  arr[4];
    u16 var[n] max 8;
    Inner in;
    qtailq Inner q max 16;
    subsection "dev/extra" version 1 needed (a != 0) {
        u32 extra;
    }
}
"""


def edit(*pairs: str) -> str:
    """BASE with each (old text, new text) replaced exactly once."""
    text = BASE
    for old, new in zip(pairs[::2], pairs[1::2]):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


# (name, old schema, new schema, expected findings)
VS_CASES: List[Tuple[str, str, str, List[Expect]]] = [
    ("identical", BASE, BASE, []),
    ("section removed", BASE, edit('"dev" version', '"dev2" version',
                                   '"dev/extra"', '"dev2/extra"'),
     [(ERROR, "dev", {OLD_NEW}, "section removed"),
      (ERROR, "dev2", {NEW_OLD}, "section added")]),
    ("version lowered", edit("version 2 minimum 1", "version 3 minimum 1"), BASE,
     [(ERROR, "dev", {OLD_NEW}, "version lowered")]),
    ("version raised", BASE, edit("version 2 minimum 1", "version 3 minimum 1"),
     [(ERROR, "dev", {NEW_OLD}, "version raised")]),
    ("minimum raised above the old version", BASE,
     edit("version 2 minimum 1", "version 3 minimum 3"),
     [(ERROR, "dev", {OLD_NEW}, "minimum version raised above"),
      (ERROR, "dev", {NEW_OLD}, "version raised")]),
    ("minimum raised within the old versions", BASE,
     edit("version 2 minimum 1", "version 2 minimum 2"),
     [(WARNING, "dev", {OLD_NEW}, "minimum version raised: streams of versions 1..1")]),
    ("field removed", BASE, edit("    u16 b;\n", ""),
     [(ERROR, "dev/b", BOTH, "field removed")]),
    ("field renamed", BASE, edit("u16 b;", "u16 bee;"),
     [(ERROR, "dev/bee", BOTH, "renamed 'b' -> 'bee'")]),
    ("field retyped to another size", BASE, edit("u16 b;", "u32 b;"),
     [(ERROR, "dev/b", BOTH, "size changes (2 -> 4 bytes)")]),
    ("field reinterpreted, same size", BASE, edit("u16 b;", "i16 b;"),
     [(WARNING, "dev/b", BOTH, "reinterpreted (u16 -> i16")]),
    ("fields reordered", BASE, edit("u8  a;\n    u16 b;", "u16 b;\n    u8  a;"),
     [(ERROR, "dev/a", BOTH, "moved")]),
    ("array length changed", BASE, edit("arr[4]", "arr[5]"),
     [(ERROR, "dev/arr", BOTH, "array length changed (4 -> 5)")]),
    ("array maximum lowered", BASE, edit("max 8", "max 4"),
     [(ERROR, "dev/var", {OLD_NEW}, "maximum lowered")]),
    ("array maximum raised", BASE, edit("max 8", "max 12"),
     [(ERROR, "dev/var", {NEW_OLD}, "maximum raised")]),
    ("list maximum lowered", BASE, edit("q max 16", "q max 2"),
     [(ERROR, "dev/q", {OLD_NEW}, "maximum lowered")]),
    ("array count changed", BASE, edit("var[n]", "var[a]"),
     [(ERROR, "dev/var", BOTH, "count changed ('n' -> 'a')")]),
    ("field added without since", BASE, edit("u8  n;", "u8  n;\n    u8  d;"),
     [(ERROR, "dev/d", {OLD_NEW}, "added without 'since'"),
      (ERROR, "dev/d", {NEW_OLD}, "field added: new sources send it")]),
    ("field added with since above the old version", BASE,
     edit("version 2 minimum 1", "version 3 minimum 1", "u8  n;", "u8  n;\n    u8  d since 3;"),
     [(ERROR, "dev", {NEW_OLD}, "version raised")]),
    ("field added with since not above the old version", BASE,
     edit("version 2 minimum 1", "version 3 minimum 1", "u8  n;", "u8  n;\n    u8  d since 2;"),
     [(ERROR, "dev/d", {OLD_NEW}, "'since 2', not above the old version 2"),
      (ERROR, "dev", {NEW_OLD}, "version raised")]),
    ("since lowered: older streams lack the field", BASE, edit("c since 2", "c since 1"),
     [(ERROR, "dev/c", {OLD_NEW}, "'since' changed (2 -> 1) without the versions to match: "
       "a version 1 stream lacks it")]),
    ("field nested in a struct retyped", BASE, edit("u16 y;", "u32 y;"),
     [(ERROR, "dev/in/y", BOTH, "size changes"), (ERROR, "dev/q/y", BOTH, "size changes")]),
    ("nested struct version raised with a field", BASE,
     edit('"inner" version 1', '"inner" version 2 minimum 1',
          "u16 y;", "u16 y;\n    u8 z since 2;"),
     # The legacy wire loads nested structs at the reader's own version.
     [(ERROR, "dev/in", {NEW_OLD}, "struct version raised"),
      (ERROR, "dev/in/z", {OLD_NEW}, "'since 2', not above the old version 1"),
      (ERROR, "dev/q", {NEW_OLD}, "struct version raised"),
      (ERROR, "dev/q/z", {OLD_NEW}, "'since 2', not above the old version 1")]),
    ("condition changed", edit("u16 b;", "u16 b if (a > 1);"),
     edit("u16 b;", "u16 b if (a > 2);"),
     [(ERROR, "dev/b", BOTH, "condition changed (they differ at a=2)")]),
    ("condition rewritten, same meaning", edit("u16 b;", "u16 b if (a > 1);"),
     edit("u16 b;", "u16 b if (!(a < 2) && version >= 1);"), []),
    ("field added with a condition on a new member at its default", BASE,
     edit("version 2 minimum 1", "version 3 minimum 1",
          "u8  n;", "u8  n;\n    u8  mode since 3 default 0;\n    u8  d if (mode != 0);"),
     [(ERROR, "dev", {NEW_OLD}, "version raised")]),
    ("field added with a condition that old values can meet", BASE,
     edit("u8  n;", "u8  n;\n    u8  d if (a == 7);"),
     [(ERROR, "dev/d", {OLD_NEW}, "condition that can hold for old streams"),
      (ERROR, "dev/d", {NEW_OLD}, "field added: new sources send it")]),
    ("subsection removed", BASE, edit('    subsection "dev/extra" version 1 needed (a != 0) {\n'
                                      '        u32 extra;\n    }\n', ""),
     [(ERROR, "dev/extra", {OLD_NEW}, "subsection removed: old sources send it when (a != 0)")]),
    ("subsection removed that was never sent", edit("needed (a != 0)", "needed (a > 300)"),
     edit('    subsection "dev/extra" version 1 needed (a != 0) {\n'
          '        u32 extra;\n    }\n', ""), []),
    ("subsection added, needed for old values", edit(
        '    subsection "dev/extra" version 1 needed (a != 0) {\n        u32 extra;\n    }\n', ""),
     BASE, [(ERROR, "dev/extra", {NEW_OLD}, "subsection added")]),
    ("subsection added, needed only for new state", BASE,
     edit("        u32 extra;\n    }\n", "        u32 extra;\n    }\n"
          '    subsection "dev/more" version 1 needed (more != 0) {\n        u8 more;\n    }\n'),
     [(WARNING, "dev/more", {NEW_OLD}, "sent only once the state uses what the old lacks")]),
    ("subsection added, always sent", BASE,
     edit("        u32 extra;\n    }\n", "        u32 extra;\n    }\n"
          '    subsection "dev/more" version 1 {\n        u8 more;\n    }\n'),
     [(ERROR, "dev/more", {NEW_OLD}, "always: it has no 'needed'")]),
    ("subsection made unconditional", BASE, edit(" needed (a != 0)", ""),
     [(WARNING, "dev/extra", {NEW_OLD}, "made unconditional")]),
    ("subsection version raised", BASE,
     edit('"dev/extra" version 1', '"dev/extra" version 2 minimum 1'),
     [(ERROR, "dev/extra", {NEW_OLD}, "subsection version raised")]),
    ("subsection field added without since", BASE,
     edit("u32 extra;", "u32 extra;\n        u8 extra2;"),
     [(ERROR, "dev/extra/extra2", {OLD_NEW}, "added without 'since'"),
      (ERROR, "dev/extra/extra2", {NEW_OLD}, "field added")]),
    ("field replaced by unused bytes", BASE, edit("u16 b;", "unused 2;"),
     [(WARNING, "dev/b", {NEW_OLD}, "replaced by unused bytes")]),
    ("unused bytes replaced by a field", edit("u16 b;", "unused 2;"), BASE,
     [(WARNING, "dev/b", {OLD_NEW}, "unused bytes replaced by a field")]),
    ("field replaced by unused bytes of another size", BASE, edit("u16 b;", "unused 3;"),
     [(ERROR, "dev/b", BOTH, "field removed"),
      (ERROR, "dev/unused", {OLD_NEW}, "added without 'since'"),
      (ERROR, "dev/unused", {NEW_OLD}, "field added")]),
    ("fields moved into a struct", 'type Dev "dev" version 1 { u8 a; u16 b; }',
     'type Core "core" version 1 nested { u8 a; u16 b; }\n'
     'type Dev "dev" version 1 { Core core; }',
     [(ERROR, "dev/core", BOTH, "fields moved into struct 'core'")]),
    ("fields moved into a struct that changes them", 'type Dev "dev" version 1 { u8 a; u16 b; }',
     'type Core "core" version 1 nested { u8 a; u32 b; }\n'
     'type Dev "dev" version 1 { Core core; }',
     [(ERROR, "dev/core", BOTH, "fields moved into struct 'core'"),
      (ERROR, "dev/b", BOTH, "size changes (2 -> 4 bytes)")]),
    ("equal added", BASE, edit("u8  n;", "u8  n equal;"),
     [(WARNING, "dev/n", {OLD_NEW}, "'equal' added")]),
    ("validation added that old values fail", BASE,
     edit("u8  n;", "u8  n;\n    validate small (n <= 4);"),
     [(WARNING, "dev/small", {OLD_NEW}, "refuses values old sources can send, e.g. n=5")]),
    ("validation added that old values always pass", BASE,
     edit("u8  n;", "u8  n;\n    validate fits (n <= 255 && version >= 1);"), []),
]


# Fields moved into a struct that ends the description (or out of one),
# checked in QEMU's byte stream only (--form=legacy): the legacy form walks
# the struct at its own version, so its version-conditioned members decide
# whether the bytes of each stream version are the same.
FLAT = 'type Dev "dev" version 2 minimum 1 { u8 a; u16 b since 2; }'
WRAPPED = ('type Core "core" version 2 nested { u8 a; u16 b since 2; }\n'
           'type Dev "dev" version 2 minimum 1 { Core core; }')
SAME_BYTES = "the legacy bytes are the same"
MOVE_CASES: List[Tuple[str, str, str, List[Expect]]] = [
    # A version 1 stream lacks b; the struct, walked at version 2, reads it.
    ("moved into a wrapper with a since member", FLAT, WRAPPED,
     [(ERROR, "dev/core", {OLD_NEW}, "the legacy bytes differ (at version 1: b)"),
      (WARNING, "dev/core", {NEW_OLD}, SAME_BYTES),
      (ERROR, "dev/b", {OLD_NEW}, "own version 2, not the stream's: a version 1 stream "
       "lacks it but the destination reads it")]),
    # An old writer of version 1 streams still writes the struct at version 2.
    ("moved out of a wrapper with a since member", WRAPPED, FLAT,
     [(ERROR, "dev/core", {OLD_NEW}, "moved out of struct 'core', which the legacy form "
       "walks at its own version 2, not the stream's: the legacy bytes differ "
       "(at version 1: b)"),
      (WARNING, "dev/core", {NEW_OLD}, SAME_BYTES),
      (ERROR, "dev/b", {OLD_NEW}, "a version 1 stream carries it but the destination "
       "does not read it")]),
    ("moved into a wrapper, nothing version-conditioned",
     'type Dev "dev" version 2 minimum 1 { u8 a; u16 b; }',
     'type Core "core" version 2 nested { u8 a; u16 b; }\n'
     'type Dev "dev" version 2 minimum 1 { Core core; }',
     [(WARNING, "dev/core", BOTH, SAME_BYTES)]),
    ("moved into a wrapper at another version, nothing version-conditioned",
     'type Dev "dev" version 2 minimum 1 { u8 a; u16 b; }',
     'type Core "core" version 5 minimum 3 nested { u8 a; u16 b; }\n'
     'type Dev "dev" version 2 minimum 1 { Core core; }',
     [(WARNING, "dev/core", BOTH, SAME_BYTES)]),
    # The QEMU serial case: a member the old layout never had, `since` the
    # struct's version but above the old section's.
    ("moved into a wrapper that adds a since member above the old version",
     'type Dev "dev" version 2 minimum 1 { u8 a; u16 b; }',
     'type Core "core" version 3 minimum 2 nested { u8 a; u16 b; u8 c since 3; }\n'
     'type Dev "dev" version 3 minimum 2 { Core core; }',
     [(ERROR, "dev/core", {OLD_NEW}, "the legacy bytes differ (at version 2: c)"),
      (WARNING, "dev/core", {NEW_OLD}, SAME_BYTES),
      (ERROR, "dev", {NEW_OLD}, "version raised"),
      (WARNING, "dev", {OLD_NEW}, "minimum version raised"),
      (ERROR, "dev/c", {OLD_NEW}, "field added in struct 'core', which the legacy form "
       "walks at its own version 3, not the stream's: a new destination reads it from "
       "version 2 streams")]),
    # The struct's own version (3) is above the section's (2): it reads c
    # from every stream, and b from version 1 streams too.
    ("moved into a wrapper whose own version is above the section's",
     'type Dev "dev" version 2 minimum 1 { u8 a; u8 b since 2; }',
     'type Core "core" version 3 nested { u8 a; u8 b since 2; u8 c since 3; }\n'
     'type Dev "dev" version 2 minimum 1 { Core core; }',
     [(ERROR, "dev/core", {OLD_NEW}, "the legacy bytes differ (at version 2: c; "
       "at version 1: b, c)"),
      (ERROR, "dev/core", {NEW_OLD}, "the legacy bytes differ (at version 2: c)"),
      (ERROR, "dev/b", {OLD_NEW}, "a version 1 stream lacks it"),
      (ERROR, "dev/c", {OLD_NEW}, "field added in struct 'core'"),
      (ERROR, "dev/c", {NEW_OLD}, "field added: new sources send it")]),
    # `version` in a condition reads the struct's version too.
    ("moved into a wrapper with a version condition",
     'type Dev "dev" version 2 minimum 1 { u8 a; u8 d if (version >= 2); }',
     'type Core "core" version 2 nested { u8 a; u8 d if (version >= 2); }\n'
     'type Dev "dev" version 2 minimum 1 { Core core; }',
     [(ERROR, "dev/core", {OLD_NEW}, "the legacy bytes differ (at version 1: d)"),
      (WARNING, "dev/core", {NEW_OLD}, SAME_BYTES),
      (ERROR, "dev/d", {OLD_NEW}, "a version 1 stream lacks it but the destination reads it")]),
    # A `since` the versions both load agree on: the same bytes.
    ("moved into a wrapper, since member outside the common versions",
     'type Dev "dev" version 3 minimum 2 { u8 a; u8 b since 2; }',
     'type Core "core" version 3 nested { u8 a; u8 b since 2; }\n'
     'type Dev "dev" version 3 minimum 2 { Core core; }',
     [(WARNING, "dev/core", BOTH, SAME_BYTES)]),
    # Both sides keep the struct; its own version changed with a member.
    ("wrapper's own version raised with a since member",
     'type Core "core" version 1 nested { u8 a; }\n'
     'type Dev "dev" version 1 { Core core; }',
     'type Core "core" version 2 minimum 1 nested { u8 a; u8 b since 2; }\n'
     'type Dev "dev" version 1 { Core core; }',
     [(ERROR, "dev/core", {NEW_OLD}, "struct version raised"),
      (ERROR, "dev/core/b", {OLD_NEW}, "'since 2', not above the old version 1")]),
]


class VsPairs(unittest.TestCase):
    def test_each_kind_of_change(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            for name, old, new, expected in VS_CASES:
                with self.subTest(name):
                    po, pn = os.path.join(tmp, "old.vs"), os.path.join(tmp, "new.vs")
                    for p, text in ((po, old), (pn, new)):
                        with open(p, "w", encoding="utf-8") as f:
                            f.write(text)
                    assert_findings(self, check_files(po, pn), expected, name)
        note(f"{len(VS_CASES)} .vs pairs")

    def test_directory_sets_and_json_description(self) -> None:
        """A directory of schemas; a schema against its own -dump-vmstate form."""
        gen = os.path.join(SOURCE_ROOT, "codegen", "vstate-gen")
        with tempfile.TemporaryDirectory() as tmp:
            os.mkdir(os.path.join(tmp, "set"))
            path = os.path.join(tmp, "set", "dev.vs")
            with open(path, "w", encoding="utf-8") as f:
                f.write(BASE)
            self.assertEqual(check_files(path, os.path.join(tmp, "set")), [])
            subprocess.run([sys.executable, gen, "-o", tmp, path], check=True)
            desc = os.path.join(tmp, "dev.vmstate.json")
            self.assertEqual([f.line() for f in check_files(path, desc)
                              if f.severity == ERROR], [])
            with open(desc, encoding="utf-8") as f:
                data = json.load(f)
            data["dev"]["Description"]["Fields"][1]["size"] = 4
            with open(desc, "w", encoding="utf-8") as f:
                json.dump(data, f)
            lines = [f.line() for f in check_files(path, desc) if f.severity == ERROR]
            self.assertTrue(any(x.startswith("ERROR dev/b: size changed (2 -> 4)")
                                for x in lines), lines)


class MovedIntoStructs(unittest.TestCase):
    def write(self, tmp: str, name: str, text: str) -> str:
        path = os.path.join(tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_each_move(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            for name, old, new, expected in MOVE_CASES:
                with self.subTest(name):
                    po, pn = self.write(tmp, "old.vs", old), self.write(tmp, "new.vs", new)
                    found = vstate_check.check(po, pn, [], legacy_only=True).findings(
                        vstate_check.DIRECTIONS)
                    assert_findings(self, found, expected, name)
        note(f"{len(MOVE_CASES)} moves into and out of structs")

    def test_dumps_read_alike(self) -> None:
        """A dump names a struct field's nested description with its own
        version: the same pairs through `vstate-gen` dumps give the same
        findings (conditions aside, which a dump cannot show)."""
        gen = os.path.join(SOURCE_ROOT, "codegen", "vstate-gen")

        def shape(found: List[vstate_check.Finding]) -> List[Tuple[str, str, Tuple[str, ...]]]:
            return sorted((f.severity, f.path, tuple(f.directions)) for f in found)
        compared = 0
        with tempfile.TemporaryDirectory() as tmp:
            for name, old, new, _ in MOVE_CASES:
                if " if " in old + new:
                    continue
                with self.subTest(name):
                    sides = []
                    for side, text in (("old", old), ("new", new)):
                        vs = self.write(tmp, f"{side}.vs", text)
                        out = os.path.join(tmp, side)
                        subprocess.run([sys.executable, gen, "-o", out, vs], check=True)
                        sides.append((vs, os.path.join(out, f"{side}.vmstate.json")))
                    (ovs, ojs), (nvs, njs) = sides
                    want = shape(vstate_check.check(ovs, nvs, [], True).findings(
                        vstate_check.DIRECTIONS))
                    self.assertTrue(want, name)
                    for po, pn in ((ovs, njs), (ojs, nvs), (ojs, njs)):
                        got = shape(vstate_check.check(po, pn, [], True).findings(
                            vstate_check.DIRECTIONS))
                        self.assertEqual(got, want, f"{name}: {po} -> {pn}")
                    compared += 1
        self.assertGreater(compared, 3)
        note(f"{compared} moves compared through their dumps")


class OwnDescriptions(unittest.TestCase):
    def test_schemas_against_themselves_and_their_dumps(self) -> None:
        """Every schema of the project against itself and against the
        -dump-vmstate JSON vstate-gen writes for it, both ways: no findings
        (the dump's form and the schema's must be read alike)."""
        gen = os.path.join(SOURCE_ROOT, "codegen", "vstate-gen")
        codegen_tests = os.path.join(SOURCE_ROOT, "tests", "codegen")
        schema_dir = os.path.join(SOURCE_ROOT, "schema")
        paths = sorted(glob.glob(os.path.join(schema_dir, "*.vs")) +
                       glob.glob(os.path.join(schema_dir, "history", "*.vs")) +
                       [os.path.join(codegen_tests, "features.vs")] +
                       glob.glob(os.path.join(codegen_tests, "good", "*.vs")))
        incs = [codegen_tests, schema_dir]
        checked = 0
        with tempfile.TemporaryDirectory() as tmp:
            for path in paths:
                with self.subTest(os.path.relpath(path, SOURCE_ROOT)):
                    out = os.path.join(tmp, str(checked))
                    subprocess.run([sys.executable, gen, "-o", out] +
                                   [a for d in incs for a in ("-I", d)] + [path], check=True)
                    base = os.path.basename(path)[:-3]
                    dump = os.path.join(out, base + ".vmstate.json")
                    for old, new in ((path, path), (path, dump), (dump, path)):
                        found = vstate_check.check(old, new, incs).findings(
                            vstate_check.DIRECTIONS)
                        self.assertEqual([f.line() for f in found], [], f"{old} -> {new}")
                    checked += 1
        note(f"{checked} schemas against themselves and their own dumps: no findings")


# ---- predicates --------------------------------------------------------------

class Predicates(unittest.TestCase):
    def cond(self, text: str) -> vstate_check.Cond:
        from vsgen.parser import parse
        sf = parse(f'type T "t" version 1 {{ u8 a; u16 b; i8 s; u8 x if {text}; }}', "p.vs")
        return vstate_check.cond_of(sf.types[0].members[-1].attrs.test)

    def verdict(self, text: str, fixed: Optional[Dict[str, int]] = None) -> str:
        free = {"a": vstate_check.Var("u8", 0), "b": vstate_check.Var("u16", 0),
                "s": vstate_check.Var("i8", 0)}
        for k in fixed or {}:
            free.pop(k)
        return vstate_check.judge(self.cond(text), 1, free, fixed or {}).result

    def test_verdicts(self) -> None:
        cases = [("(a != 0)", "sometimes"), ("(a > 255)", "never"), ("(a <= 255)", "always"),
                 ("(a + b > 70000)", "never"), ("(s < -128)", "never"),
                 ("(version > 1)", "never"), ("(version == 1)", "always"),
                 ("((a & 0x10) != 0 && b == 3)", "sometimes"),
                 ("((a >> 8) != 0)", "never"), ("(1 / 0 == 0)", "always"),
                 ("((a * 0) != 0)", "never")]
        for text, want in cases:
            with self.subTest(text):
                self.assertEqual(self.verdict(text), want)
        # A member the old schema lacks holds its default.
        self.assertEqual(self.verdict("(a != 0)", {"a": 0}), "never")
        self.assertEqual(self.verdict("(a != 0)", {"a": 1}), "always")

    def test_c_semantics(self) -> None:
        """The evaluator computes what the generated C computes."""
        env = {"a": -7, "b": 2}
        from vsgen.parser import parse
        for text, want in [("(a / b)", -3), ("(a % b)", -1), ("(b << 64)", 0),
                           ("(a >> 70)", -1), ("(-(0 - 9223372036854775807 - 1))",
                                               -9223372036854775808),
                           ("(0xffffffffffffffff == -1)", 1), ("(~0)", -1)]:
            sf = parse(f'type T "t" version 1 {{ i8 a; i8 b; u8 x if {text}; }}', "p.vs")
            e = sf.types[0].members[-1].attrs.test.expr
            self.assertEqual(vstate_check.evaluate(e, env), want, text)


# ---- QEMU's dumps ------------------------------------------------------------

def pick_section(data: dict) -> str:
    """A section whose description has several plain fields with distinct
    names, a nested struct and subsections, so every edit applies."""
    for key in sorted(data):
        d = data[key].get("Description") if isinstance(data[key], dict) else None
        if not d or not d.get("Subsections") or data[key]["version_id"] < 1:
            continue
        fields = d.get("Fields", [])
        plain = [f for f in fields if "Description" not in f and not f["field_exists"]
                 and f["field"] != "unused"]
        names = [f["field"] for f in fields]
        if len(plain) >= 3 and len(set(names)) == len(names) and \
                any("Description" in f for f in fields) and \
                len({f["size"] for f in plain[:2]}) == 2:
            return key
    raise AssertionError("no section fits the edits")


class Dumps(unittest.TestCase):
    def setUp(self) -> None:
        if not DUMPS:
            self.skipTest(f"no -dump-vmstate files under {CORPUS}/vmstate")

    def test_against_themselves(self) -> None:
        for dump in DUMPS:
            with self.subTest(os.path.basename(dump)):
                self.assertEqual([f.line() for f in check_files(dump, dump)], [])
        note(f"{len(DUMPS)} dumps against themselves: no findings")

    def test_edited_copies(self) -> None:
        with open(DUMPS[0], encoding="utf-8") as f:
            orig = json.load(f)
        key = pick_section(orig)
        wire = orig[key]["Description"]["name"]

        def desc(data):
            return data[key]["Description"]

        def plain(data):
            return [f for f in desc(data)["Fields"] if "Description" not in f
                    and not f["field_exists"] and f["field"] != "unused"]

        p0, p1 = plain(orig)[0]["field"], plain(orig)[1]["field"]
        struct_field = next(f["field"] for f in desc(orig)["Fields"] if "Description" in f)
        sub = desc(orig)["Subsections"][0]["name"]
        ver = orig[key]["version_id"]

        def e_remove_section(d):
            del d[key]

        def e_version(delta):
            def e(d):
                d[key]["version_id"] += delta
                desc(d)["version_id"] += delta
            return e

        def e_minimum_above(d):
            for o in (d[key], desc(d)):
                o["version_id"] = o["minimum_version_id"] = ver + 1

        def e_remove_field(d):
            desc(d)["Fields"] = [f for f in desc(d)["Fields"] if f["field"] != p0]

        def e_rename_field(d):
            next(f for f in desc(d)["Fields"] if f["field"] == p0)["field"] = p0 + "_renamed"

        def e_resize_field(d):
            next(f for f in desc(d)["Fields"] if f["field"] == p0)["size"] += 1

        def e_swap(d):
            fs = desc(d)["Fields"]
            i, j = [n for n, f in enumerate(fs) if f["field"] in (p0, p1)]
            fs[i], fs[j] = fs[j], fs[i]

        def e_add_field(version):
            def e(d):
                desc(d)["Fields"].append({"field": "added_field", "version_id": version,
                                          "field_exists": False, "size": 4})
                if version:
                    d[key]["version_id"] = desc(d)["version_id"] = version
            return e

        def e_remove_sub(d):
            desc(d)["Subsections"] = [s for s in desc(d)["Subsections"] if s["name"] != sub]

        def e_add_sub(d):
            desc(d)["Subsections"].append({"name": wire + "/added", "version_id": 1,
                                           "minimum_version_id": 1, "Fields": []})

        def e_drop_description(d):
            del next(f for f in desc(d)["Fields"] if f["field"] == struct_field)["Description"]

        def e_unused(d):
            f = next(f for f in desc(d)["Fields"] if f["field"] == p0)
            f["field"] = "unused"

        def e_rename_struct(d):
            f = next(f for f in desc(d)["Fields"] if f["field"] == struct_field)
            f["Description"]["name"] += "_renamed"

        def e_machine(d):
            d["vmschkmachine"]["Name"] = "another-machine"

        fp0, fp1 = f"{key}/{p0}", f"{key}/{p1}"
        cases = [
            ("section removed", e_remove_section, [(ERROR, key, {OLD_NEW}, "section removed")]),
            ("version lowered", e_version(-1), [(ERROR, key, {OLD_NEW}, "version lowered")]),
            ("version raised", e_version(+1), [(ERROR, key, {NEW_OLD}, "version raised")]),
            ("minimum raised", e_minimum_above,
             [(ERROR, key, {OLD_NEW}, "minimum version raised above"),
              (ERROR, key, {NEW_OLD}, "version raised")]),
            ("field removed", e_remove_field, [(ERROR, fp0, BOTH, "field removed")]),
            ("field renamed", e_rename_field,
             [(ERROR, f"{key}/{p0}_renamed", BOTH, "renamed")]),
            ("field resized", e_resize_field, [(ERROR, fp0, BOTH, "size changed")]),
            ("fields swapped", e_swap, [(ERROR, fp0, BOTH, "moved")]),
            ("field added at version 0", e_add_field(0),
             [(ERROR, f"{key}/added_field", {OLD_NEW}, "added without 'since'"),
              (ERROR, f"{key}/added_field", {NEW_OLD}, "field added")]),
            ("field added with a new version", e_add_field(ver + 1),
             [(ERROR, key, {NEW_OLD}, "version raised")]),
            ("subsection removed", e_remove_sub, [(ERROR, sub, {OLD_NEW}, "subsection removed")]),
            ("subsection added", e_add_sub,
             [(ERROR, wire + "/added", {NEW_OLD}, "subsection added")]),
            ("nested description dropped", e_drop_description,
             [(ERROR, f"{key}/{struct_field}", BOTH, "description missing")]),
            ("field replaced by unused", e_unused, [(WARNING, fp0, {NEW_OLD}, "unused")]),
            ("nested description renamed", e_rename_struct,
             [(ERROR, f"{key}/{struct_field}", BOTH, "description renamed")]),
            ("machine type", e_machine, [(WARNING, "vmschkmachine", set(), "machine types")]),
        ]
        del fp1
        with tempfile.TemporaryDirectory() as tmp:
            for name, fn, expected in cases:
                with self.subTest(name):
                    data = copy.deepcopy(orig)
                    fn(data)
                    path = os.path.join(tmp, "edited.json")
                    with open(path, "w", encoding="utf-8") as f:
                        json.dump(data, f)
                    assert_findings(self, check_files(DUMPS[0], path), expected, name)
                    # The reverse comparison swaps the directions of every error.
                    back = check_files(path, DUMPS[0])
                    swap = {OLD_NEW: NEW_OLD, NEW_OLD: OLD_NEW}
                    got = {d for f in back if f.severity == ERROR for d in f.directions}
                    want = {swap[d] for e in expected if e[0] == ERROR for d in e[2]}
                    self.assertEqual(got, want, f"{name} reversed: " +
                                     "; ".join(f.line() for f in back))
        note(f"{len(cases)} edits of section '{key}' in {os.path.basename(DUMPS[0])}")


class BadInput(unittest.TestCase):
    def test_mutated_dumps_never_crash(self) -> None:
        """Values of the wrong type anywhere in a dump: a clear error, never a
        traceback (bounded: 300 mutations, fixed seed)."""
        if not DUMPS:
            self.skipTest(f"no -dump-vmstate files under {CORPUS}/vmstate")
        import random
        with open(DUMPS[0], encoding="utf-8") as f:
            orig = json.load(f)
        key = pick_section(orig)
        rng = random.Random(8)
        bad_values = [None, "x", -1, [], {}, 1.5, True, [1], {"name": 3}]

        def nodes(obj, out):
            if isinstance(obj, dict):
                out.append(obj)
                for v in obj.values():
                    nodes(v, out)
            elif isinstance(obj, list):
                for v in obj:
                    nodes(v, out)
            return out
        errors = 0
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "mutated.json")
            for _ in range(300):
                data = {key: copy.deepcopy(orig[key])}
                target = rng.choice(nodes(data, []))
                k = rng.choice(sorted(target))
                target[k] = rng.choice(bad_values)
                with open(path, "w", encoding="utf-8") as f:
                    json.dump(data, f)
                try:
                    vstate_check.check(path, DUMPS[0], [])
                except vstate_check.InputError as e:
                    self.assertIn("mutated.json", str(e))
                    errors += 1
        self.assertGreater(errors, 0)
        note(f"300 mutated dumps: {errors} refused with a message, none crashed")


class EverySection(unittest.TestCase):
    """The field-level edits on every section of every dump: exactly the
    one error expected, at the right path, in the right directions."""

    def setUp(self) -> None:
        if not DUMPS:
            self.skipTest(f"no -dump-vmstate files under {CORPUS}/vmstate")

    @staticmethod
    def run_pair(old: dict, new: dict) -> List[vstate_check.Finding]:
        o = vstate_check.read_json("old.json", old, "OLD")
        n = vstate_check.read_json("new.json", new, "NEW")
        return vstate_check.Comparer(o, n).run().findings(vstate_check.DIRECTIONS)

    def test_edits_of_every_section(self) -> None:
        checked = 0
        for dump in DUMPS:
            with open(dump, encoding="utf-8") as f:
                data = json.load(f)
            for key, sec in sorted(data.items()):
                if key == "vmschkmachine" or "Description" not in sec:
                    continue
                for label, edited, expected in self.edits(key, sec):
                    got = [(f.severity, f.path, tuple(f.directions))
                           for f in self.run_pair({key: sec}, edited) if f.severity == ERROR]
                    self.assertEqual(sorted(got), sorted(expected),
                                     f"{os.path.basename(dump)}: {key}: {label}")
                    checked += 1
        self.assertGreater(checked, 500)
        note(f"{checked} edits over every section of {len(DUMPS)} dumps: each found exactly")

    @staticmethod
    def edits(key: str, sec: dict):
        both = (OLD_NEW, NEW_OLD)
        fields = sec["Description"].get("Fields", [])
        names = [f["field"] for f in fields]
        unique = [i for i, f in enumerate(fields)
                  if f["field"] != "unused" and names.count(f["field"]) == 1]

        def copy_with(fn):
            d = {key: copy.deepcopy(sec)}
            fn(d[key]["Description"])
            return d
        if unique:
            i = unique[0]
            name = names[i]
            yield ("remove", copy_with(lambda d: d["Fields"].pop(i)),
                   [(ERROR, f"{key}/{name}", both)])
            yield ("rename", copy_with(lambda d: d["Fields"][i].update(field=name + "_x")),
                   [(ERROR, f"{key}/{name}_x", both)])
            if "Description" not in fields[i]:
                yield ("resize",
                       copy_with(lambda d: d["Fields"][i].update(size=d["Fields"][i]["size"] + 1)),
                       [(ERROR, f"{key}/{name}", both)])
        yield ("append", copy_with(lambda d: d.setdefault("Fields", []).append(
            {"field": "zz_added", "version_id": 0, "field_exists": False, "size": 4})),
            [(ERROR, f"{key}/zz_added", (OLD_NEW,)), (ERROR, f"{key}/zz_added", (NEW_OLD,))])
        pairs = [(a, b) for a, b in zip(unique, unique[1:]) if b == a + 1]
        if pairs:
            a, b = pairs[0]

            def swap(d):
                d["Fields"][a], d["Fields"][b] = d["Fields"][b], d["Fields"][a]
            yield ("swap", copy_with(swap), [(ERROR, f"{key}/{names[a]}", both)])
        for sub in sec["Description"].get("Subsections", [])[:1]:
            yield ("drop subsection", copy_with(lambda d: d["Subsections"].pop(0)),
                   [(ERROR, sub["name"], (OLD_NEW,))])


# ---- the project's schema history --------------------------------------------

def history_pairs() -> List[Tuple[str, str]]:
    """(history schema, current schema) pairs, matched by section wire name."""
    hist_dir = os.path.join(SOURCE_ROOT, "schema", "history")
    current: Dict[str, str] = {}
    for path in sorted(glob.glob(os.path.join(SOURCE_ROOT, "schema", "*.vs"))):
        for wire in vstate_check.read_set(path, [], "current").by_wire:
            current[wire] = path
    pairs = []
    for path in sorted(glob.glob(os.path.join(hist_dir, "**", "*.vs"), recursive=True)):
        wires = vstate_check.read_set(path, [os.path.join(SOURCE_ROOT, "schema")],
                                      "history").by_wire
        for cur in sorted({current[w] for w in wires if w in current}):
            pairs.append((path, cur))
    return pairs


KNOWN_BREAKS = os.path.join(SOURCE_ROOT, "tests", "compat", "known-breaks")


def declared_breaks(direction: str, form: str) -> Set[Tuple[str, str]]:
    """(device, history schema) of tests/compat/known-breaks's lines for
    @direction and @form: the cases `vstate compat` proves are refused."""
    out = set()
    with open(KNOWN_BREAKS, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            assert len(words) == 5, f"{KNOWN_BREAKS}:{n}: expected 5 words: {line!r}"
            device, schema, d, fmt, _error = words
            if d == direction and fmt == form:
                out.add((device, schema))
    return out


def own_version_only(path: str, incs: List[str]) -> vstate_check.SchemaSet:
    """A schema set whose sections accept only their own version: the
    streams that release itself writes."""
    sset = vstate_check.read_set(path, incs, "OLD")
    for d in sset.sections.values():
        d.minimum = d.version
    return sset


class History(unittest.TestCase):
    def test_history_against_current(self) -> None:
        hist_dir = os.path.join(SOURCE_ROOT, "schema", "history")
        files = glob.glob(os.path.join(hist_dir, "**", "*.vs"), recursive=True)
        if not files:
            self.skipTest("schema/history/ holds no schemas yet")
        pairs = history_pairs()
        self.assertTrue(pairs, "schema/history/ has schemas but none matches a current one")
        declared = declared_breaks(OLD_NEW, "legacy")
        breaking = set()
        incs = [os.path.join(SOURCE_ROOT, "schema")]
        for old, new in pairs:
            case = (os.path.basename(new)[:-3], os.path.basename(old))
            with self.subTest(case[1]):
                # The history is QEMU's released layouts, whose streams are
                # QEMU's bytes (the legacy form).  A release writes its own
                # version: where the current schema cannot load that, the
                # break must be one tests/compat/known-breaks declares (and
                # `vstate compat` shows refused), and no other.
                own = vstate_check.Comparer(own_version_only(old, incs),
                                            vstate_check.read_set(new, incs, "NEW"),
                                            legacy_only=True).run()
                forward = [f.line() for f in own.findings([OLD_NEW]) if f.severity == ERROR]
                if forward:
                    breaking.add(case)
                self.assertEqual(bool(forward), case in declared,
                                 f"{old} -> {new}: old->new errors in the legacy form "
                                 f"{'not ' if forward else ''}matching {KNOWN_BREAKS}:\n" +
                                 "\n".join(forward or ["(none)"]))
                # Every version both load: also the streams of older releases
                # the old one still loaded, so a declared break is found here too.
                legacy = vstate_check.check(old, new, incs, legacy_only=True)
                every = [f.line() for f in legacy.findings([OLD_NEW]) if f.severity == ERROR]
                if case in declared:
                    self.assertTrue(every, f"{old} -> {new}")
                for line in every:
                    if line not in forward:
                        note(f"{case[1]} (older versions' streams): {line}")
                # The rest is reported, not failed: new->old, and what only
                # the BER form would notice.
                for f in vstate_check.check(old, new, incs).findings(vstate_check.DIRECTIONS):
                    if f.severity == ERROR:
                        note(f"{case[1]}: {f.line()}")
        self.assertEqual(breaking, declared & {(os.path.basename(n)[:-3], os.path.basename(o))
                                               for o, n in pairs})
        unmatched = declared - {(os.path.basename(n)[:-3], os.path.basename(o)) for o, n in pairs}
        self.assertEqual(unmatched, set(), f"{KNOWN_BREAKS} declares pairs with no history")
        note(f"{len(pairs)} history pairs; old->new legacy breaks, as declared in "
             f"known-breaks: {sorted(breaking) or 'none'}")


# ---- the command line --------------------------------------------------------

class CommandLine(unittest.TestCase):
    def commands(self) -> List[List[str]]:
        out = [[sys.executable, CHECKER]]
        exe = os.environ.get("VSTATE_EXE")
        if exe:
            out.append([exe, "check"])
        else:
            note("VSTATE_EXE not set: `vstate check` itself not run")
        return out

    def run_cmd(self, cmd: List[str], *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(cmd + list(args), capture_output=True, text=True, check=False,
                              timeout=120)

    def test_exit_status_and_formats(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            old, new, bad = (os.path.join(tmp, n) for n in ("old.vs", "new.vs", "bad.vs"))
            with open(old, "w") as f:
                f.write(BASE)
            with open(new, "w") as f:
                f.write(edit("u16 b;", "u32 b;"))
            with open(bad, "w") as f:
                f.write('type T "t" version 1 { u8 a; u8 a; }')
            badjson = os.path.join(tmp, "bad.json")
            with open(badjson, "w") as f:
                f.write('{"x": [1, 2')
            for cmd in self.commands():
                with self.subTest(cmd[-1]):
                    r = self.run_cmd(cmd, old, old)
                    self.assertEqual((r.returncode, r.stdout), (0, ""), r.stderr)
                    r = self.run_cmd(cmd, old, new)
                    self.assertEqual(r.returncode, 1, r.stderr)
                    self.assertEqual(r.stdout.splitlines(), [
                        "ERROR dev/b: field retyped, its size changes (2 -> 4 bytes) "
                        "(u16 b -> u32 b), breaks old->new and new->old"])
                    r = self.run_cmd(cmd, "--format=json", old, new)
                    self.assertEqual(r.returncode, 1)
                    doc = json.loads(r.stdout)
                    self.assertFalse(doc["compatible"])
                    self.assertEqual([(f["severity"], f["path"], f["directions"])
                                      for f in doc["findings"]],
                                     [("ERROR", "dev/b", [OLD_NEW, NEW_OLD])])
                    # A change that only breaks new->old passes when only old->new counts.
                    raised = os.path.join(tmp, "raised.vs")
                    with open(raised, "w") as f:
                        f.write(edit("version 2 minimum 1", "version 3 minimum 1"))
                    self.assertEqual(self.run_cmd(cmd, old, raised).returncode, 1)
                    r = self.run_cmd(cmd, "--direction=old->new", old, raised)
                    self.assertEqual((r.returncode, r.stdout), (0, ""))
                    # A rename keeps QEMU's bytes: only an error where BER counts.
                    renamed = os.path.join(tmp, "renamed.vs")
                    with open(renamed, "w") as f:
                        f.write(edit("u16 b;", "u16 bee;"))
                    self.assertEqual(self.run_cmd(cmd, old, renamed).returncode, 1)
                    r = self.run_cmd(cmd, "--form=legacy", old, renamed)
                    self.assertEqual(r.returncode, 0)
                    self.assertTrue(r.stdout.startswith("WARNING dev/bee: field renamed"),
                                    r.stdout)
                    for args, words in [((old, os.path.join(tmp, "missing.vs")), "missing.vs"),
                                        ((bad, old), "duplicate member 'a'"),
                                        ((old, badjson), "bad.json:1:"),
                                        (("--format=xml", old, old), "--format")]:
                        r = self.run_cmd(cmd, *args)
                        self.assertEqual(r.returncode, 2, (args, r.stderr))
                        self.assertIn(words, r.stderr)
                        self.assertNotIn("Traceback", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
