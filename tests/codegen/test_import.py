#!/usr/bin/env python3
"""Tests of codegen/vstate_import.py: QEMU -dump-vmstate JSON -> .vs schemas.

Environment:
  VSTATE_SOURCE_ROOT  the repository (default: two levels above this file)
  VSTATE_CORPUS_DIR   the QEMU 7.2 corpus (default: $VSTATE_SOURCE_ROOT/../shared/corpus/qemu-7.2)
  CC                  the C compiler for the syntax check (default: cc)

Tests that need the corpus, the generator or a C toolchain skip with a printed
reason when it is absent.
"""

import filecmp
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional, Sequence, Tuple

SOURCE_ROOT = os.environ.get("VSTATE_SOURCE_ROOT") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.environ.get("VSTATE_CORPUS_DIR") or os.path.join(
    SOURCE_ROOT, "..", "shared", "corpus", "qemu-7.2")
IMPORTER = os.path.join(SOURCE_ROOT, "codegen", "vstate_import.py")
GENERATOR = os.path.join(SOURCE_ROOT, "codegen", "vstate-gen")
DUMPS = {
    "pc": os.path.join(CORPUS, "vmstate", "vmstate-pc-i440fx-7.2.json"),
    "q35": os.path.join(CORPUS, "vmstate", "vmstate-pc-q35-7.2.json"),
}


sys.path.insert(0, os.path.join(SOURCE_ROOT, "codegen"))
import vstate_import  # noqa: E402


def note(msg: str) -> None:
    print(f"test_import: {msg}", file=sys.stderr)


def descs() -> List[str]:
    return sorted(glob.glob(os.path.join(CORPUS, "streams", "*", "*.desc.json")))


def run_importer(dump: str, outdir: str, with_desc: bool) -> subprocess.CompletedProcess:
    args = [sys.executable, IMPORTER, dump, "-o", outdir, "-q"]
    if with_desc:
        for d in descs():
            args += ["--desc", d]
    return subprocess.run(args, capture_output=True, text=True, check=False)


def read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def type_body(text: str, cname: str) -> str:
    """The text between `type CNAME ... {` and its closing brace."""
    m = re.search(r"^type %s \"[^\"]*\"[^{]*\{" % re.escape(cname), text, re.M)
    if not m:
        raise AssertionError(f"type {cname} not found")
    depth, i = 1, m.end()
    while depth:
        c = text[i]
        if text.startswith("/*", i):
            i = text.index("*/", i) + 2
            continue
        depth += {"{": 1, "}": -1}.get(c, 0)
        i += 1
    return text[m.end():i - 1]


def decls(body: str) -> List[str]:
    """Member declarations of a body, comments removed, one per line."""
    out = []
    for line in re.sub(r"/\*.*?\*/", "", body, flags=re.S).splitlines():
        line = line.strip()
        if line:
            out.append(line)
    return out


class Workspace:
    """Converted corpus dumps, made once for all tests."""

    tmp: Optional[str] = None
    out: Dict[Tuple[str, bool], str] = {}
    results: Dict[Tuple[str, bool], subprocess.CompletedProcess] = {}

    @classmethod
    def get(cls, machine: str, with_desc: bool) -> str:
        key = (machine, with_desc)
        if key not in cls.out:
            if cls.tmp is None:
                cls.tmp = tempfile.mkdtemp(prefix="vstate-import-")
            d = os.path.join(cls.tmp, f"{machine}-{'desc' if with_desc else 'dump'}")
            cls.results[key] = run_importer(DUMPS[machine], d, with_desc)
            cls.out[key] = d
        return cls.out[key]

    @classmethod
    def cleanup(cls) -> None:
        if cls.tmp:
            shutil.rmtree(cls.tmp, ignore_errors=True)


def tearDownModule() -> None:
    Workspace.cleanup()


class CorpusTest(unittest.TestCase):
    def setUp(self) -> None:
        missing = [p for p in DUMPS.values() if not os.path.exists(p)]
        if missing:
            reason = f"QEMU corpus not found ({missing[0]}); set VSTATE_CORPUS_DIR"
            note("skip: " + reason)
            self.skipTest(reason)

    def converted(self, machine: str = "pc", with_desc: bool = False) -> str:
        d = Workspace.get(machine, with_desc)
        r = Workspace.results[(machine, with_desc)]
        self.assertEqual(r.returncode, 0, r.stderr)
        return d


class TestConvert(CorpusTest):
    def test_both_dumps_convert(self) -> None:
        for machine in DUMPS:
            for with_desc in (False, True):
                with self.subTest(machine=machine, desc=with_desc):
                    d = self.converted(machine, with_desc)
                    schemas = glob.glob(os.path.join(d, "*.vs"))
                    self.assertGreater(len(schemas), 100)
                    self.assertTrue(os.path.exists(os.path.join(d, "IMPORTED.md")))
                    for s in schemas:
                        self.assertIn("type ", read(s), s)

    def test_machines_agree(self) -> None:
        """pc and q35 know the same device classes: same schemas but for the header."""
        pc, q35 = self.converted("pc"), self.converted("q35")
        self.assertEqual(sorted(os.listdir(pc)), sorted(os.listdir(q35)))
        for name in os.listdir(pc):
            if name.endswith(".vs"):
                strip = lambda t: re.sub(r"^/\*.*?\*/", "", t, count=1, flags=re.S)  # noqa: E731
                self.assertEqual(strip(read(os.path.join(pc, name))),
                                 strip(read(os.path.join(q35, name))), name)

    def test_deduplicated_by_vmsd_name(self) -> None:
        d = self.converted()
        owners = [p for p in glob.glob(os.path.join(d, "*.vs"))
                  if re.search(r'^type \w+ "i8259"', read(p), re.M)]
        self.assertEqual([os.path.basename(p) for p in owners], ["i8259.vs"])
        self.assertEqual(len(re.findall(r'^type \w+ "i8259"', read(owners[0]), re.M)), 1)
        index = read(os.path.join(d, "IMPORTED.md"))
        row = next(line for line in index.splitlines() if line.startswith("| `i8259.vs`"))
        for cls in ("isa-i8259", "kvm-i8259", "pic-common"):
            self.assertIn(f"`{cls}`", row)
        self.assertIn("QOM classes: isa-i8259, kvm-i8259, pic-common.", read(owners[0]))

    def test_shared_nested_type_in_own_file(self) -> None:
        d = self.converted()
        pci = [p for p in glob.glob(os.path.join(d, "*.vs"))
               if re.search(r'^type \w+ "PCIDevice"', read(p), re.M)]
        self.assertEqual([os.path.basename(p) for p in pci], ["PCIDevice.vs"])

    def test_i8259(self) -> None:
        body = type_body(read(os.path.join(self.converted(), "i8259.vs")), "i8259")
        members = decls(body)
        self.assertEqual(len(members), 16)
        for m in members:
            self.assertRegex(m, r"^u8 \w+;$")
        self.assertEqual(members[0], "u8 last_irr;")
        self.assertEqual(members[-1], "u8 elcr;")
        # every member is a guess in dump-only mode
        self.assertEqual(body.count("/* import:"), 16)

    def test_piix3(self) -> None:
        text = read(os.path.join(self.converted(), "PIIX3.vs"))
        self.assertIn('include "PCIDevice.vs";', text)
        self.assertIn('type PIIX3 "PIIX3" version 3 minimum 2 {', text)
        members = decls(type_body(text, "PIIX3"))
        self.assertEqual(members[0], "PCIDevice dev;")
        self.assertEqual(members[1], "u32 pci_irq_levels_vmstate since 3;")
        self.assertEqual(members[2], 'subsection "PIIX3/rcr" version 1 minimum 1 '
                                     "needed import_PIIX3_rcr_needed {")
        self.assertEqual(members[3:], ["u8 rcr;", "}"])

    def test_pcidevice_repeated_field_renamed(self) -> None:
        text = read(os.path.join(self.converted(), "PCIDevice.vs"))
        members = decls(type_body(text, "PCIDevice"))
        self.assertIn("buffer config[256] if import_PCIDevice_config_test;", members)
        self.assertIn("buffer config_1[4096] if import_PCIDevice_config_1_test;", members)
        self.assertRegex(text, r'config_1\[4096\].*/\* import: QEMU field "config" renamed')

    def test_rtc_with_desc(self) -> None:
        if not descs():
            self.skipTest("no stream descriptions in the corpus")
        body = type_body(read(os.path.join(self.converted("pc", True), "mc146818rtc.vs")),
                         "mc146818rtc")
        members = decls(body)
        self.assertEqual(members[:6], [
            "buffer cmos_data[128];", "u8 cmos_index;", "unused 28;", "timer periodic_timer;",
            "i64 next_periodic_time;", "unused 24;"])
        self.assertIn("timer update_timer since 3;", members)
        self.assertIn("i64 offset since 3;", members)

    def test_desc_refines_pcidevice(self) -> None:
        text = read(os.path.join(self.converted("pc", True), "PCIDevice.vs"))
        members = decls(type_body(text, "PCIDevice"))
        self.assertEqual(members[0], "i32 version_id le;")
        self.assertIn('codec pci_config "pci config" ctype "uint8_t[256]" size 256;', text)
        self.assertIn("pci_config config if import_PCIDevice_config_test;", members)

    def test_distinct_descriptions_sharing_a_name(self) -> None:
        text = read(os.path.join(self.converted(), "fdc_isa_fdc.vs"))
        self.assertIn('type fdc "fdc" version 2', text)
        self.assertIn('type fdc_isa_fdc "fdc" version 2', text)
        self.assertEqual(decls(type_body(text, "fdc_isa_fdc")), ["fdc state;"])

    def test_stable_output(self) -> None:
        for with_desc in (False, True):
            with self.subTest(desc=with_desc):
                first = self.converted("pc", with_desc)
                with tempfile.TemporaryDirectory() as second:
                    r = run_importer(DUMPS["pc"], second, with_desc)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    names = sorted(os.listdir(first))
                    self.assertEqual(names, sorted(os.listdir(second)))
                    _, mismatch, errors = filecmp.cmpfiles(first, second, names, shallow=False)
                    self.assertEqual(mismatch + errors, [])

    def test_function_api(self) -> None:
        dump = vstate_import.load_json(DUMPS["pc"])
        a = vstate_import.import_vmstate(dump, source_name="x.json")
        b = vstate_import.import_vmstate(dict(reversed(list(dump.items()))), source_name="x.json")
        self.assertEqual(a.files, b.files, "output depends on the dump's key order")
        schemas = [f for f in a.files if f.endswith(".vs")]
        self.assertIn("IMPORTED.md", a.files)
        self.assertLessEqual(len(schemas), a.types)
        self.assertGreater(a.stats.guesses, 0)


class TestImporterUnits(unittest.TestCase):
    """Corner cases on small hand-written dumps (no corpus needed)."""

    @staticmethod
    def dump(desc: dict, cls: str = "dev") -> dict:
        return {"vmschkmachine": {"Name": "test"},
                cls: {"Name": cls, "version_id": desc["version_id"],
                      "minimum_version_id": desc["minimum_version_id"], "Description": desc}}

    @staticmethod
    def fld(name: str, size: int, version: int = 0, exists: bool = False,
            desc: Optional[dict] = None) -> dict:
        f = {"field": name, "version_id": version, "field_exists": exists, "size": size}
        if desc:
            f["Description"] = desc
        return f

    def test_names_and_sizes(self) -> None:
        d = {"name": "0weird/name", "version_id": 2, "minimum_version_id": 1, "Fields": [
            self.fld("timer", 8), self.fld("a.b[2]", 4), self.fld("a_b_2", 2),
            self.fld("unused", 6), self.fld("blob", 0), self.fld("big", 24),
            self.fld("x", 1, version=2, exists=True), self.fld("int", 1)],
            "Subsections": [{"name": "0weird/name/s", "version_id": 1, "minimum_version_id": 1,
                             "Fields": [self.fld("timer", 4)]}]}
        r = vstate_import.import_vmstate(self.dump(d))
        text = r.files["Q0weird_name.vs"]
        members = decls(type_body(text, "Q0weird_name"))
        self.assertEqual(members, [
            "u64 timer;", "u32 a_b_2;", "u16 a_b_2_1;", "unused 6;", "buffer big[24];",
            "u8 x if import_Q0weird_name_x_test;", "u8 int_;",
            'subsection "0weird/name/s" version 1 minimum 1 needed import_Q0weird_name_s_needed {',
            "u32 timer_1;", "}"])
        self.assertIn('u8 int_;  /* import: QEMU field "int" renamed: a C keyword', text)
        self.assertIn("/* import: omitted: blob (size 0)", text)
        self.assertIn("QEMU field version 2 not used", text)

    def test_vmdesc_kinds(self) -> None:
        """tmp, qtailq, '... equal', bitmap and array lengths from a stream description."""
        tmpd = {"name": "par_tmp", "version_id": 0, "minimum_version_id": 0,
                "Fields": [self.fld("a", 4)]}
        elem = {"name": "elem", "version_id": 1, "minimum_version_id": 1,
                "Fields": [self.fld("v", 2)]}
        par = {"name": "par", "version_id": 1, "minimum_version_id": 1, "Fields": [
            self.fld("tmp", 16, desc=tmpd), self.fld("q", 32, version=1, desc=elem),
            self.fld("cnt", 4), self.fld("bits", 0), self.fld("d", 8), self.fld("arr", 2),
            self.fld("els", 32, desc=elem)]}
        vmdesc = {"devices": [{"name": "par", "instance_id": 0, "vmsd_name": "par", "version": 1,
                               "fields": [
            {"name": "tmp", "type": "tmp", "vmsd_name": "par_tmp", "version": 0,
             "fields": [{"name": "a", "type": "int32", "size": 4}], "size": 4},
            {"name": "q", "type": "qtailq", "vmsd_name": "elem", "version": 1,
             "fields": [{"name": "v", "type": "uint16", "size": 2}], "size": 3},
            {"name": "cnt", "type": "int32 equal", "size": 4},
            {"name": "bits", "type": "bitmap", "size": 8},
            {"name": "d", "type": "int64 equal", "size": 8},
            {"name": "arr", "array_len": 5, "type": "int16", "size": 2},
            {"name": "els", "index": 0, "type": "struct", "size": 2, "struct": {
                "vmsd_name": "elem", "version": 1, "fields": [
                    {"name": "v", "type": "uint16", "size": 2}]}},
            {"name": "els", "index": 1, "type": "struct", "size": 1, "struct": {}}]}]}
        r = vstate_import.import_vmstate(self.dump(par), [("x", vmdesc)])
        text = r.files["par.vs"]
        self.assertLess(text.index("type par_tmp"), text.index("type par "))
        self.assertIn('type par_tmp "par_tmp" version 0 minimum 0 tmp_for par {', text)
        self.assertEqual(decls(type_body(text, "par")), [
            "tmp par_tmp;", "qtailq elem q max 32 since 1;", "i32 cnt equal;", "u64 d equal;",
            "i16 arr[5];", "elem *els[2];"])
        self.assertIn("/* import: omitted: bitmap bits[?]", text)

    def test_empty_description(self) -> None:
        d = {"name": "void", "version_id": 0, "minimum_version_id": 0}
        text = vstate_import.import_vmstate(self.dump(d)).files["void_.vs"]
        self.assertIn('type void_ "void" version 0 minimum 0 {', text)


class TestGenerator(CorpusTest):
    """Every schema passes vstate-gen --check; generated C compiles."""

    def setUp(self) -> None:
        super().setUp()
        if not os.path.exists(GENERATOR):
            reason = f"{GENERATOR} not found: schema checks skipped"
            note("skip: " + reason)
            self.skipTest(reason)

    def gen(self, args: Sequence[str]) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, GENERATOR] + list(args),
                              capture_output=True, text=True, check=False)

    checked: Dict[str, Dict[str, str]] = {}

    def check_dir(self, d: str) -> Dict[str, str]:
        """--check every schema of @d: file name -> error text of failures."""
        if d not in self.checked:
            schemas = sorted(glob.glob(os.path.join(d, "*.vs")))
            with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
                results = list(ex.map(lambda s: self.gen(["--check", s]), schemas))
            TestGenerator.checked[d] = {os.path.basename(s): (r.stderr or r.stdout).strip()
                                        for s, r in zip(schemas, results) if r.returncode != 0}
        return self.checked[d]

    def test_check_every_schema(self) -> None:
        # Both machines' dumps give the same schemas (TestConvert compares them).
        for machine in ("pc",):
            for with_desc in (False, True):
                with self.subTest(machine=machine, desc=with_desc):
                    d = self.converted(machine, with_desc)
                    failures = self.check_dir(d)
                    total = len(glob.glob(os.path.join(d, "*.vs")))
                    note(f"{machine}{' +desc' if with_desc else ''}: "
                         f"{total - len(failures)}/{total} schemas pass --check")
                    self.assertEqual(failures, {})

    def test_generated_c_compiles(self) -> None:
        cc = shlex.split(os.environ.get("CC", "cc"))
        if not shutil.which(cc[0]) or not shutil.which("pkg-config"):
            reason = "no C compiler or pkg-config: compile check skipped"
            note("skip: " + reason)
            self.skipTest(reason)
        pc = subprocess.run(["pkg-config", "--cflags", "glib-2.0", "talloc"],
                            capture_output=True, text=True, check=False)
        if pc.returncode != 0:
            reason = "glib-2.0 or talloc not known to pkg-config: compile check skipped"
            note("skip: " + reason)
            self.skipTest(reason)
        cflags = shlex.split(pc.stdout)
        d = self.converted("pc", True)
        failures = self.check_dir(d)
        with tempfile.TemporaryDirectory() as gen:
            schemas = [s for s in sorted(glob.glob(os.path.join(d, "*.vs")))
                       if os.path.basename(s) not in failures]
            with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
                made = list(ex.map(lambda s: self.gen(["--c-only", "-o", gen, s]), schemas))
            for s, r in zip(schemas, made):
                self.assertEqual(r.returncode, 0, f"{s}: {r.stderr}")

            def compile_one(c: str) -> subprocess.CompletedProcess:
                return subprocess.run(cc + ["-std=c11", "-fsyntax-only", "-I" + SOURCE_ROOT,
                                            "-I" + gen] + cflags + [c],
                                      capture_output=True, text=True, check=False)
            sources = sorted(glob.glob(os.path.join(gen, "*.vs.c")))
            with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
                compiled = list(ex.map(compile_one, sources))
            bad = {os.path.basename(c): r.stderr[:2000] for c, r in zip(sources, compiled)
                   if r.returncode != 0}
            self.assertEqual(bad, {})
            # devices: schemas named after a QOM class's vmsd, not shared nested types
            index = read(os.path.join(d, "IMPORTED.md"))
            devices = {m.group(1) for m in re.finditer(r"^\| `(\w+)\.vs` \|[^|]*\| `", index, re.M)}
            ok = {os.path.basename(c)[:-len(".vs.c")] for c in sources} - set(bad)
            note(f"{len(ok & devices)} device schemas and {len(ok - devices)} shared types"
                 " compile")
            self.assertGreaterEqual(len(ok & devices), 20)


if __name__ == "__main__":
    unittest.main()
