#!/usr/bin/env python3
"""`vstate diff`, `vstate convert` and `vstate trace` as users run them (TAP).

Usage: test-stream-tools.py VSTATE CORPUS_DIR SOURCE_ROOT

Checks, with the reasons they could fail:
- help: every command's --help has a synopsis, options, exit status, examples;
- convert: legacy -> BER -> legacy gives each corpus stream's bytes back,
  BER -> BER is stable, standard input/output work;
- diff: the corpus's diffs/*.txt (made by QEMU's analyzer from its own
  decodes) are found field for field, nothing else is reported for device
  state, pages are located where the corpus's memory map says they differ,
  --ignore removes what it matches, equal streams exit 0 in either form;
- trace: a load's trace equals the trace of the save (the demo) and is the
  same for a stream and its BER conversion;
- errors: unreadable, empty, foreign and truncated input exit 2 with one
  line naming the problem, after the output decoded before it;
- docs/debugging.md: every transcript in it is what the commands print for
  the streams tests/tool/make-debug-streams.py makes.
Corpus-dependent checks skip with a reason when the corpus is absent.
"""
import glob
import gzip
import importlib.util
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

VSTATE, CORPUS, SOURCE_ROOT = sys.argv[1], sys.argv[2], sys.argv[3]
STREAMS = os.path.join(CORPUS, "streams")
HAVE_CORPUS = os.path.isdir(STREAMS)
n = 0
failures = 0


def check(ok, what, detail=""):
    global n, failures
    n += 1
    if ok:
        print("ok %d - %s" % (n, what))
    else:
        failures += 1
        print("not ok %d - %s" % (n, what))
        for line in str(detail).splitlines()[:40]:
            print("#   " + line)


def skip(what, why):
    global n
    n += 1
    print("ok %d - %s # SKIP %s" % (n, what, why))


def run(*args, stdin=None, env=None):
    return subprocess.run([VSTATE] + list(args), input=stdin, capture_output=True,
                          env=env, timeout=300)


def text(p):
    return p.stdout.decode("utf-8", "replace")


def err(p):
    return p.stderr.decode("utf-8", "replace")


def one_line_error(p, what, must=()):
    e = err(p)
    ok = p.returncode == 2 and e.count("\n") == 1 and e.startswith("vstate ")
    ok = ok and all(m in e for m in must)
    check(ok, what + ": exit 2 with one line on stderr naming it",
          "exit %d, stderr: %r" % (p.returncode, e))


# ---- help and usage -----------------------------------------------------------

def test_help():
    for cmd, options in (("diff", ["--ignore", "--color", "--quiet", "--no-schemas"]),
                         ("convert", ["--to"]),
                         ("trace", ["--section", "--no-headers", "--no-schemas"])):
        p = run(cmd, "--help")
        out = text(p)
        wanted = ["Usage:", "vstate %s [OPTION" % cmd, "Exit status:", "Examples:"] + options
        missing = [w for w in wanted if w not in out]
        check(p.returncode == 0 and not missing, "%s --help is a full page" % cmd,
              "missing %s in:\n%s" % (missing, out))
        p2 = run("help", cmd)
        check(p2.stdout == p.stdout, "vstate help %s equals %s --help" % (cmd, cmd))
    p = run("--help")
    check(all(c in text(p) for c in ("diff", "convert", "trace")),
          "vstate --help lists diff, convert and trace")
    one_line_error(run("diff", "only-one.bin"), "diff with one operand")
    one_line_error(run("diff", "-", "-"), "diff with standard input twice")
    one_line_error(run("diff", "--color=sometimes", "a", "b"), "diff --color=sometimes",
                   ["sometimes"])
    one_line_error(run("convert", "--to=xml", "a", "b"), "convert --to=xml", ["xml"])
    one_line_error(run("trace"), "trace without a file")
    one_line_error(run("trace", "--frobnicate", "x"), "trace with an unknown option")


# ---- convert ------------------------------------------------------------------

def corpus_streams():
    return sorted(glob.glob(os.path.join(STREAMS, "*", "*.bin")))


def test_convert(tmp):
    if not HAVE_CORPUS:
        skip("convert round trips", "corpus not found at '%s'" % CORPUS)
        return
    for path in corpus_streams():
        name = os.path.relpath(path, STREAMS)
        ber, back, again = (os.path.join(tmp, x) for x in ("c.ber", "c.bin", "c2.ber"))
        p1 = run("convert", "--to=ber", path, ber)
        p2 = run("convert", "--to=legacy", ber, back)
        p3 = run("convert", "--to=ber", ber, again)
        orig = open(path, "rb").read()
        ok = p1.returncode == p2.returncode == p3.returncode == 0
        check(ok and open(ber, "rb").read()[:2] == b"\x30\x80" and
              open(back, "rb").read() == orig,
              "%s: legacy -> BER -> legacy is byte-identical" % name, err(p1) + err(p2))
        check(ok and open(again, "rb").read() == open(ber, "rb").read(),
              "%s: BER -> BER gives the same bytes" % name, err(p3))
    path = os.path.join(STREAMS, "a-pc-bare", "paused.bin")
    orig = open(path, "rb").read()
    p = run("convert", "-", "-", stdin=orig)
    check(p.returncode == 0 and p.stdout[:2] == b"\x30\x80",
          "convert - -: legacy on stdin becomes BER on stdout (the other form by default)")
    p2 = run("convert", "-", "-", stdin=p.stdout)
    check(p2.returncode == 0 and p2.stdout == orig, "convert - -: and BER back to legacy")
    trunc = os.path.join(tmp, "trunc.ber")
    with open(trunc, "wb") as f:
        f.write(p.stdout[:len(p.stdout) // 2])
    out = os.path.join(tmp, "never.bin")
    pt = run("convert", trunc, out)
    one_line_error(pt, "convert of a truncated BER stream", ["nothing written"])
    check(not os.path.exists(out), "a failed convert leaves no OUT file")


# ---- diff against the corpus's own diffs -------------------------------------------

def section_ids(bin_path):
    """section id -> (idstr, instance) from the corpus's scan of the stream."""
    scan = json.load(open(bin_path[:-4] + ".sections.json"))
    return {r["section_id"]: (r["idstr"], r["instance_id"])
            for r in scan["records"] if r.get("type") in ("FULL", "START")}


def norm(path):
    # QEMU's analyzer joins with '/', vstate with '.'; both keep '/' in idstrs
    # and subsection names, so compare with one separator.
    return path.replace("/", ".")


def parse_corpus_diff(path):
    """(A .bin, B .bin, {(idstr, instance): {(kind, field path)}})."""
    a = b = None
    want = {}
    for line in open(path):
        m = re.match(r"# ([AB]) = (\S+)\.state\.json$", line)
        if m:
            bin_path = os.path.join(CORPUS, m.group(2) + ".bin")
            if m.group(1) == "A":
                a = bin_path
            else:
                b = bin_path
            continue
        m = re.match(r"(CHANGED|ONLY-A|ONLY-B) +(.+?) \((\d+)\)/(.+?): ", line)
        if m:
            want.setdefault(int(m.group(3)), set()).add((m.group(1), norm(m.group(4))))
    ids = section_ids(a)
    return a, b, {ids[k]: v for k, v in want.items()}


def parse_vstate_diff(out):
    """{(idstr, instance): [(kind, field path without the root)]} and other lines."""
    got, other, cur = {}, [], None
    for line in out.splitlines():
        m = re.match(r"section (.+) instance (\d+)$", line)
        if m:
            cur = (m.group(1), int(m.group(2)))
            got.setdefault(cur, [])
            continue
        if not line.startswith("  "):
            cur = None
            other.append(line)
            continue
        m = re.match(r"  ([^:\s]+(?:\[[^\]]*\])*): (.*)$", line)
        if cur is None or not m:
            other.append(line)
            continue
        path, rest = m.group(1), m.group(2)
        kind = "ONLY-A" if rest.startswith("only in A") else \
            "ONLY-B" if rest.startswith("only in B") else "CHANGED"
        root = re.match(r"[^.\[]+", path).group(0)
        got[cur].append((kind, norm(path[len(root) + 1:])))
    return got, other


def covers(got_path, want_path, kind):
    """A vstate line covers a listed field: the same path, a byte range of a
    buffer the analyzer shows whole, or a subsection/field present on one
    side only that holds the listed leaf."""
    if got_path == want_path or got_path.startswith(want_path + "["):
        return True
    return kind != "CHANGED" and want_path.startswith(got_path + ".")


def test_corpus_diffs():
    if not HAVE_CORPUS:
        skip("corpus diffs found by vstate diff", "corpus not found at '%s'" % CORPUS)
        return
    for path in sorted(glob.glob(os.path.join(CORPUS, "diffs", "*.txt"))):
        name = os.path.basename(path)
        a, b, want = parse_corpus_diff(path)
        p = run("diff", a, b)
        got, other = parse_vstate_diff(text(p))
        check(p.returncode == 1, "%s: exit 1 (different)" % name, err(p))
        missing, extra = [], []
        for sec, fields in want.items():
            for kind, field in fields:
                if not any(k == kind and covers(g, field, k) for k, g in got.get(sec, [])):
                    missing.append("%s %s %s" % (sec, kind, field))
        for sec, lines in got.items():
            for kind, g in lines:
                if not any(k == kind and covers(g, w, k) for k, w in want.get(sec, ())):
                    extra.append("%s %s %s" % (sec, kind, g))
        check(not missing, "%s: every listed field is reported (%d sections)"
              % (name, len(want)), "\n".join(missing))
        check(not extra, "%s: no device field beyond the listed ones is reported" % name,
              "\n".join(extra))
        unexpected = [l for l in other if not re.match(
            r"(RAM|  pc\.ram |  /rom@|  pc\.bios |  pc\.rom )", l)]
        check(not unexpected, "%s: besides device fields, only RAM pages differ" % name,
              "\n".join(unexpected))


def test_diff_equal_and_forms(tmp):
    if not HAVE_CORPUS:
        skip("diff of equal streams", "corpus not found at '%s'" % CORPUS)
        return
    a = os.path.join(STREAMS, "a-pc-bare", "ran2s.bin")
    b = os.path.join(STREAMS, "a-pc-bare", "paused.bin")
    p = run("diff", a, a)
    check(p.returncode == 0 and p.stdout == b"", "a stream equals itself: exit 0, no output",
          text(p) + err(p))
    ber = os.path.join(tmp, "ran2s.ber")
    run("convert", "--to=ber", a, ber)
    p = run("diff", a, ber)
    check(p.returncode == 0 and p.stdout == b"", "a legacy stream equals its BER form",
          text(p) + err(p))
    p1 = run("diff", b, a)
    bber = os.path.join(tmp, "paused.ber")
    run("convert", "--to=ber", b, bber)
    p2 = run("diff", bber, "-", stdin=open(ber, "rb").read())
    check(p2.returncode == 1 and p2.stdout == p1.stdout,
          "BER against BER from standard input reports what legacy against legacy does",
          text(p2)[:500])
    p = run("diff", "--quiet", b, a)
    check(p.returncode == 1 and p.stdout == b"", "--quiet prints nothing, exit 1")
    check(b"\033[" not in p1.stdout, "no colour when standard output is not a terminal")
    p = run("diff", "--color=always", b, a)
    check(b"\033[31m" in p.stdout and b"\033[32m" in p.stdout,
          "--color=always colours A's and B's values")
    if shutil.which("script"):
        # script(1) gives the command a terminal, as a person has.
        cmd = "%s diff %s %s" % (VSTATE, b, a)
        tty = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True,
                             timeout=120, env=dict(os.environ, TERM="xterm"))
        check(b"\033[31m" in tty.stdout, "colour by default on a terminal")
        env = dict(os.environ, TERM="xterm", NO_COLOR="1")
        tty = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True,
                             timeout=120, env=env)
        check(b"\033[31m" not in tty.stdout and b"section i8259" in tty.stdout,
              "no colour on a terminal under NO_COLOR")
    else:
        skip("colour on a terminal", "script(1) is not installed")
    return p1


def test_diff_ignore(full):
    if not HAVE_CORPUS:
        skip("diff --ignore", "corpus not found at '%s'" % CORPUS)
        return
    a = os.path.join(STREAMS, "a-pc-bare", "paused.bin")
    b = os.path.join(STREAMS, "a-pc-bare", "ran2s.bin")
    lines = text(full).splitlines()
    p = run("diff", "--ignore", "mc146818rtc.*", a, b)
    got = text(p).splitlines()
    dropped = [l for l in lines if l not in got]
    check(p.returncode == 1 and dropped and
          all("mc146818rtc." in l for l in dropped if l.startswith("  ")),
          "--ignore 'mc146818rtc.*' drops the RTC's fields and nothing else",
          "\n".join(dropped))
    p = run("diff", "-i", "globalstate", a, b)
    check("globalstate" not in text(p) and "section i8259 instance 0" in text(p),
          "--ignore 'globalstate' drops that section")
    sections = sorted({l.split()[1] for l in lines if l.startswith("section ")})
    blocks = sorted({l.split()[0] for l in lines if l.startswith("  ") and "0x" in l.split()[1]
                     and "differs" in l})
    args = ["diff"]
    for pat in sections + blocks:
        args += ["--ignore", pat]
    p = run(*(args + [a, b]))
    check(p.returncode == 0 and p.stdout == b"",
          "ignoring every differing section and RAM block leaves equal streams (exit 0)",
          text(p))


def test_diff_pages():
    """The pages of d-pc-pattern that differ from a never-run guest are the
    non-zero pages of the pattern, by QEMU's own memory map of the stream."""
    if not HAVE_CORPUS:
        skip("RAM page ranges", "corpus not found at '%s'" % CORPUS)
        return
    a = os.path.join(STREAMS, "a-pc-bare", "paused.bin")
    d = os.path.join(STREAMS, "d-pc-pattern", "paused.bin")
    memory = json.load(gzip.open(d[:-4] + ".memory.json.gz"))["ram (2)"]["memory"]
    want = set()
    for key, value in memory.items():
        m = re.match(r"pc\.ram \((0x[0-9a-f]+)\)$", key)
        if m and 0x100000 <= int(m.group(1), 16) < 0x200000 and value != "Filled with 0x00":
            want.add(int(m.group(1), 16))
    p = run("diff", a, d)
    got, other_blocks = set(), []
    for line in text(p).splitlines():
        m = re.match(r"  (\S+) 0x([0-9a-f]+)-0x([0-9a-f]+) \((\d+) pages?\): (.*)$", line)
        if not m:
            continue
        if m.group(1) != "pc.ram" or m.group(5) != "content differs":
            other_blocks.append(line)
            continue
        start, end = int(m.group(2), 16), int(m.group(3), 16) + 1
        check_count = (end - start) // 4096 == int(m.group(4))
        if not check_count:
            other_blocks.append("bad count: " + line)
        got.update(range(start, end, 4096))
    check(len(want) > 100 and got == want,
          "pc.ram pages reported as differing are the pattern's %d non-zero pages" % len(want),
          "only reported: %s\nnot reported: %s" % (sorted(got - want)[:10],
                                                  sorted(want - got)[:10]))
    check(not other_blocks, "no other block or kind of page difference", "\n".join(other_blocks))


def legacy_ram_stream(blocks, pages):
    """A minimal legacy stream: a RAM section whose MEM_SIZE lists @blocks
    [(name, length)] and whose records send @pages [(block, offset, fill or
    bytes)] in order (an int is a ZERO record's fill byte)."""
    def section(kind, sid, idstr=None):
        b = bytes([kind]) + struct.pack(">I", sid)
        if idstr:
            b += bytes([len(idstr)]) + idstr + struct.pack(">II", 0, 4)
        return b
    footer = b"\x7e" + struct.pack(">I", 2)
    total = sum(n for _, n in blocks)
    out = b"QEVM" + struct.pack(">I", 3) + section(1, 2, b"ram")
    out += struct.pack(">Q", total | 0x4)
    for name, n in blocks:
        out += bytes([len(name)]) + name + struct.pack(">Q", n)
    out += struct.pack(">Q", 0x10) + footer + section(2, 2)
    last = None
    for name, offset, content in pages:
        flags = 0x2 if isinstance(content, int) else 0x8
        if name == last:
            out += struct.pack(">Q", offset | flags | 0x20)
        else:
            out += struct.pack(">Q", offset | flags) + bytes([len(name)]) + name
        out += bytes([content]) if isinstance(content, int) else content
        last = name
    out += struct.pack(">Q", 0x10) + footer
    return out + section(3, 2) + struct.pack(">Q", 0x10) + footer + b"\x00"


def test_diff_synthetic_pages(tmp):
    """Page ranges by construction: content, sent on one side, last record wins."""
    page = lambda b: bytes([b]) * 4096
    a = legacy_ram_stream(
        [(b"pc.ram", 0x10000), (b"old.rom", 0x1000)],
        [(b"pc.ram", i * 0x1000, page(i + 1)) for i in range(8)] +
        [(b"pc.ram", 0x3000, 0), (b"old.rom", 0, page(9))])
    b = legacy_ram_stream(
        [(b"pc.ram", 0x10000), (b"new.rom", 0x2000)],
        # page 2 differs; pages 3 (zero page vs all-zero bytes) and 5 (sent
        # twice, the last equal to A's) are equal; 6-7 not sent; 9 only here
        [(b"pc.ram", i * 0x1000, page(i + 1)) for i in range(6) if i != 3] +
        [(b"pc.ram", 0x2000, page(0x77)), (b"pc.ram", 0x3000, bytes(4096)),
         (b"pc.ram", 0x5000, page(0x55)), (b"pc.ram", 0x9000, 0),
         (b"pc.ram", 0x5000, page(6)), (b"new.rom", 0x1000, page(1))])
    pa, pb = os.path.join(tmp, "ram-a.bin"), os.path.join(tmp, "ram-b.bin")
    open(pa, "wb").write(a)
    open(pb, "wb").write(b)
    p = run("diff", pa, pb)
    want = ["RAM",
            "  RAM block old.rom (0x1000 bytes): only in A",
            "  RAM block new.rom (0x2000 bytes): only in B",
            "  pc.ram 0x00002000-0x00002fff (1 page): content differs",
            "  pc.ram 0x00006000-0x00007fff (2 pages): sent only in A",
            "  pc.ram 0x00009000-0x00009fff (1 page): sent only in B"]
    check(p.returncode == 1 and text(p).splitlines() == want,
          "RAM differences of two synthetic streams are the ones built into them",
          text(p) + err(p))
    p = run("diff", "--ignore", "pc.ram", "--ignore", "*.rom", pa, pb)
    check(p.returncode == 0 and p.stdout == b"", "--ignore on RAM block names", text(p))


def test_diff_types():
    """A field whose described type changed shows both types."""
    if not HAVE_CORPUS:
        skip("diff shows types that differ", "corpus not found at '%s'" % CORPUS)
        return
    spec = importlib.util.spec_from_file_location(
        "mds", os.path.join(SOURCE_ROOT, "tests", "tool", "make-debug-streams.py"))
    mds = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mds)
    src = os.path.join(STREAMS, "a-pc-bare", "ran2s.bin")
    head, desc = mds.split_trailer(open(src, "rb").read())
    kbd = mds.find_device(desc, "pckbd", 0)["fields"][0]["struct"]["fields"]
    assert kbd[0]["name"] == "write_cmd"
    kbd[0]["type"] = "bool"
    changed = os.path.join(TMP, "bool.bin")
    open(changed, "wb").write(mds.join_trailer(head, desc))
    p = run("diff", "--no-schemas", src, changed)
    check(p.returncode == 1 and text(p).splitlines() ==
          ["section pckbd instance 0",
           "  pckbd.kbd.write_cmd: (uint8) 0x0 -> (bool) false"],
          "a field described as another type shows both types", text(p) + err(p))


# ---- trace --------------------------------------------------------------------

def test_trace(tmp):
    demo = os.path.join(tmp, "demo.bin")
    p = subprocess.run([VSTATE, "demo", "--format", "trace", "--out", demo],
                       capture_output=True, timeout=120)
    saved = [l for l in text(p).splitlines() if re.match(r"[a-z0-9_]+[.(]", l) and " = (" in l]
    with open(os.path.join(tmp, "demo-trace.txt"), "w") as f:
        f.write("\n".join(saved) + "\n")
    t = run("trace", "--no-headers", demo)
    check(t.returncode == 0 and len(saved) > 40 and text(t).splitlines() == saved,
          "the trace of loading the demo stream equals the trace of its save (%d lines)"
          % len(saved), "\n".join(set(saved) ^ set(text(t).splitlines())))
    t2 = run("trace", demo)
    heads = [l for l in text(t2).splitlines() if l.startswith("#")]
    check(heads[:1] == ["# section i8259 instance 0 id 3 version 1 (decoded by schema)"]
          and len(heads) == 3, "trace starts each section with its header line",
          "\n".join(heads))
    t3 = run("trace", "--section", "vsdemo", "--no-headers", demo)
    check(t3.returncode == 0 and text(t3) and
          all(l.startswith("vsdemo.") for l in text(t3).splitlines()),
          "--section keeps only the matching sections")
    if not HAVE_CORPUS:
        skip("trace of a corpus stream and its BER form", "corpus not found")
        return demo
    a = os.path.join(STREAMS, "c-q35-bare", "ran2s.bin")
    ber = os.path.join(tmp, "q35.ber")
    run("convert", "--to=ber", a, ber)
    t1, t2 = run("trace", "--no-headers", a), run("trace", "--no-headers", "-",
                                                  stdin=open(ber, "rb").read())
    check(t1.returncode == t2.returncode == 0 and t1.stdout == t2.stdout and
          len(t1.stdout) > 10000,
          "a corpus stream and its BER form (from standard input) trace alike")
    return demo


# ---- errors -------------------------------------------------------------------

def test_errors(tmp, demo):
    missing = os.path.join(tmp, "nosuch.bin")
    for cmd in (["trace", missing], ["diff", missing, demo], ["convert", missing, "-"]):
        one_line_error(run(*cmd), "%s of a missing file" % cmd[0], ["nosuch.bin"])
    empty = os.path.join(tmp, "empty.bin")
    open(empty, "wb").close()
    one_line_error(run("trace", empty), "trace of an empty file", ["empty"])
    foreign = os.path.join(tmp, "foreign.bin")
    with open(foreign, "wb") as f:
        f.write(b"PK\x03\x04 not a stream")
    one_line_error(run("diff", demo, foreign), "diff against a zip file",
                   ["not a migration stream"])
    if os.geteuid() != 0:
        locked = os.path.join(tmp, "locked.bin")
        shutil.copy(demo, locked)
        os.chmod(locked, 0)
        one_line_error(run("trace", locked), "trace of an unreadable file", ["locked.bin"])
    else:
        skip("trace of an unreadable file", "running as root, who reads any file")
    unreadable = tmp  # a directory cannot be read as a stream
    one_line_error(run("trace", unreadable), "trace of a directory")

    # Cut the demo stream inside vsdemo's body: both PICs come out, then the error.
    data = open(demo, "rb").read()
    body = data.index(b"\x06vsdemo") + 7 + 8
    cut = os.path.join(tmp, "cut.bin")
    with open(cut, "wb") as f:
        f.write(data[:body + 20])
    p = run("trace", cut)
    out = text(p)
    check(out.count("# section i8259") == 2, "a truncated stream's trace prints the sections "
          "before the cut", out[-300:])
    saved = [l for l in open(os.path.join(tmp, "demo-trace.txt")).read().splitlines()
             if l.startswith("vsdemo.")]
    partial = out.split("(decoded by schema; the load failed in this section)\n")
    got = partial[1].splitlines() if len(partial) == 2 else []
    check(len(partial) == 2 and 0 < len(got) < len(saved) and got == saved[:len(got)] and
          saved[len(got)].startswith("vsdemo.gain "),
          "then the failing section's fields up to the one cut (vsdemo.gain)",
          "\n".join(got))
    one_line_error(p, "trace of a truncated stream", ["device 'vsdemo'", "vsdemo."])
    m = re.search(r"stream ends after (\d+) of (\d+) bytes \(offset 0x([0-9a-f]+)\)", err(p))
    check(m is not None and int(m.group(1)) < int(m.group(2)) and
          int(m.group(3), 16) + int(m.group(1)) == body + 20,
          "the error says what was read, what was expected and where the field starts",
          err(p))
    p = run("diff", demo, cut)
    check(p.returncode == 2 and "only in" not in text(p) and "B (" in err(p),
          "diff against a truncated stream: exit 2, no sections reported missing",
          text(p) + err(p))


# ---- describe: the BER header ---------------------------------------------------------

def test_describe_ber_header(tmp, demo):
    ber = os.path.join(tmp, "demo.ber")
    p = run("convert", "--to=ber", "--must-understand", "i8259", demo, ber)
    check(p.returncode == 0, "convert --must-understand writes a BER stream", err(p))
    version = text(run("--version")).split()
    p = run("describe", "--format=json", ber)
    d = json.loads(text(p)) if p.returncode == 0 else {}
    schemas = d.get("schemas", [])
    check(d.get("writer") == " ".join(version[:2]),
          "describe: the writer identity is this build's `vstate --version`",
          "%r vs %r" % (d.get("writer"), version))
    ids = sorted((e["idstr"], e["instance"]) for e in schemas)
    sections = sorted((e["idstr"], e["instance"]) for e in d.get("sections", [])
                      if "idstr" in e and e.get("decoded_by") != "ram")
    check(ids and set(ids) <= set(sections) and ("i8259", 0) in ids and ("i8259", 1) in ids,
          "describe --format=json: the header lists the device sections", "%r\n%r" % (ids, sections))
    pic = [e for e in schemas if e["idstr"] == "i8259"]
    check(pic and all(re.fullmatch(r"[0-9a-f]{64}", e["digest"] or "") and
                      e["schema_match"] == "same" and e["must_understand"] for e in pic) and
          not any(e["must_understand"] for e in schemas if e["idstr"] != "i8259"),
          "each PIC has this build's schema digest and the must-understand mark; "
          "no other section is marked", json.dumps(schemas)[:1500])
    check(d.get("schema_notes") == [], "no notes when every schema is this build's",
          d.get("schema_notes"))
    t = text(run("describe", "--color=never", ber))
    check(pic and ("i8259 instance 0 (i8259): sha256:%s, same as this build's, must-understand"
                   % pic[0]["digest"]) in t and "note:" not in t,
          "describe (text): the digest, how it compares and the mark", t[:1500])
    legacy = json.loads(text(run("describe", "--format=json", demo)))
    check("schemas" not in legacy, "a legacy stream has no schema list")

    # The writer's schema is another one: one byte of the digest changed.
    data = bytearray(open(ber, "rb").read())
    digest = bytes.fromhex(pic[0]["digest"]) if pic else b"\0" * 32
    at = data.find(digest)
    check(at > 0, "the digest is in the BER header")
    data[at] ^= 0x01
    other = os.path.join(tmp, "other-schema.ber")
    with open(other, "wb") as f:
        f.write(data)
    p = run("describe", "--format=json", other)
    d = json.loads(text(p)) if p.returncode == 0 else {}
    changed = [e for e in d.get("schemas", []) if e["schema_match"] == "differs"]
    check(p.returncode == 0 and len(changed) == 1 and changed[0]["idstr"] == "i8259" and
          len(d.get("schema_notes", [])) == 1 and "differs" in d["schema_notes"][0],
          "a digest other than this build's: marked differs, with a note; the load goes on",
          text(p)[:800] + err(p))
    t = text(run("describe", "--color=never", other))
    check(re.search(r"^  i8259 instance \d \(i8259\): sha256:[0-9a-f]{64}, DIFFERS from this "
                    r"build's, must-understand$", t, re.M) is not None and
          re.search(r"^note: section 'i8259' instance \d: the writer's schema differs", t, re.M)
          is not None, "describe (text): the differing digest and its note", t[:1500])

    if not HAVE_CORPUS:
        skip("describe: a must-understand section with no schema here",
             "corpus not found at '%s'" % CORPUS)
        return
    src = os.path.join(STREAMS, "a-pc-bare", "paused.bin")
    marked = os.path.join(tmp, "marked.ber")
    run("convert", "--to=ber", "--must-understand", "timer", src, marked)
    d = json.loads(text(run("describe", "--format=json", marked)))
    timer = [e for e in d.get("schemas", []) if e["idstr"] == "timer"]
    check(timer and timer[0]["schema_match"] == "unknown" and timer[0]["must_understand"] and
          any("refuses the stream" in x and "timer" in x for x in d.get("schema_notes", [])),
          "a must-understand section with no schema here: the note says a load refuses it",
          json.dumps(d.get("schema_notes")))


# ---- BER streams cut short or corrupted ------------------------------------------------

def cut_stream():
    """A small legacy stream: two devices described by its trailer around a
    RAM section of zero pages (BER conversion: about 1 KiB)."""
    def section(kind, sid, idstr=None, version=1):
        b = bytes([kind]) + struct.pack(">I", sid)
        if idstr:
            b += bytes([len(idstr)]) + idstr + struct.pack(">II", 0, version)
        return b

    def footer(sid):
        return b"\x7e" + struct.pack(">I", sid)
    dev1 = struct.pack(">BH4IB", 0x11, 0x2233, 1, 2, 3, 4, 0x55)
    dev2 = struct.pack(">B3IB", 0x66, 7, 8, 9, 0x77)
    ram = struct.pack(">Q", 0x4000 | 0x4) + b"\x06pc.ram" + struct.pack(">QQ", 0x4000, 0x10)
    pages = struct.pack(">Q", 0x2) + b"\x06pc.ram\x00"
    for i in range(1, 4):
        pages += struct.pack(">Q", i * 4096 | 0x22) + b"\x00"
    out = b"QEVM" + struct.pack(">I", 3)
    out += section(4, 1, b"cutdev") + dev1 + footer(1)
    out += section(1, 2, b"ram", 4) + ram + footer(2)
    out += section(2, 2) + pages + struct.pack(">Q", 0x10) + footer(2)
    out += section(3, 2) + struct.pack(">Q", 0x10) + footer(2)
    out += section(4, 3, b"cutdev2") + dev2 + footer(3)

    def u(name, size, **more):
        return dict(name=name, type="uint%d" % (8 * size), size=size, **more)
    desc = {"page_size": 4096, "devices": [
        {"name": "cutdev", "instance_id": 0, "vmsd_name": "cutdev", "version": 1,
         "fields": [u("a", 1), u("b", 2), u("arr", 4, array_len=4), u("c", 1)]},
        {"name": "cutdev2", "instance_id": 0, "vmsd_name": "cutdev2", "version": 1,
         "fields": [u("x", 1), u("y", 4, array_len=3), u("z", 1)]}]}
    j = json.dumps(desc).encode()
    return out + b"\x00\x06" + struct.pack(">I", len(j)) + j


def crashed(p):
    e = err(p)
    return p.returncode < 0 or p.returncode > 2 or "Sanitizer" in e or "runtime error" in e


def field_lines(out):
    return [l for l in out.splitlines() if l.startswith("cutdev")]


def test_ber_cuts(tmp):
    """Every cut point of a small BER stream: exit 2, the fields before the
    cut, then one error naming the section and field; never a crash.  Bytes
    corrupted one at a time: exit 0, 1 or 2 and never a crash."""
    from concurrent.futures import ThreadPoolExecutor
    legacy = os.path.join(tmp, "cut.bin")
    with open(legacy, "wb") as f:
        f.write(cut_stream())
    ber = os.path.join(tmp, "cut.ber")
    p = run("convert", "--to=ber", legacy, ber)
    data = open(ber, "rb").read() if p.returncode == 0 else b""
    full = text(run("dump", "--format=trace", ber))
    want = field_lines(full)
    check(len(want) == 12, "the small BER stream dumps both devices", full + err(p))

    def cut_dump(k):
        path = os.path.join(tmp, "cut-%d.ber" % k)
        with open(path, "wb") as f:
            f.write(data[:k])
        r = run("dump", "--format=trace", path)
        extra = [run("trace", path), run("diff", ber, path)] if k % 4 == 0 else []
        os.unlink(path)
        return k, r, extra

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(cut_dump, range(len(data))))
    bad, partial_dev2, last_n = [], [], 0
    for k, r, extra in results:
        got = field_lines(text(r))
        lines = err(r).strip().splitlines()
        if (crashed(r) or r.returncode != 2 or got != want[:len(got)] or len(got) < last_n or
                not lines or not lines[-1].startswith("vstate dump: ")):
            bad.append("cut at %d: exit %d, %d fields, stderr %s" % (k, r.returncode, len(got),
                                                                     err(r)[-300:]))
        for x in extra:
            if crashed(x) or x.returncode != 2:
                bad.append("cut at %d: %s exit %d: %s" % (k, x.args[1], x.returncode,
                                                         err(x)[-300:]))
        # trace prints the same fields as dump, the failing section's included.
        if extra and field_lines(text(extra[0])) != got:
            bad.append("cut at %d: trace prints %s, dump %s" % (k, field_lines(text(extra[0])),
                                                              got))
        last_n = max(last_n, len(got))
        if 8 <= len(got) < 12:
            partial_dev2.append((k, got, err(r)))
    check(data and not bad, "every cut point of the BER stream: exit 2, the fields before the "
          "cut in order, one error line; trace and diff too, never a crash", "\n".join(bad[:20]))
    check(len(partial_dev2) > 0 and all(
        "section 'cutdev2' (instance 0, version 1)" in e and "field cutdev2." in e and
        re.search(r"offset 0x[0-9a-f]+", e) for _, _, e in partial_dev2),
          "a cut inside a device's state: its fields so far, then the error names the "
          "section, the field path and the offset",
          "\n".join(e for _, _, e in partial_dev2[:3]))
    check(any(re.search(r"field cutdev2\.y\[[0-2]\]", e) for _, _, e in partial_dev2),
          "a cut inside an array names the element", "\n".join(e for _, _, e in partial_dev2))

    def corrupt(k):
        path = os.path.join(tmp, "bad-%d.ber" % k)
        with open(path, "wb") as f:
            f.write(data[:k] + bytes([data[k] ^ 0xff]) + data[k + 1:])
        r = run("dump", "--format=trace", path)
        os.unlink(path)
        return k, r

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(corrupt, range(0, len(data), 3)))
    bad = ["byte %d: exit %d: %s" % (k, r.returncode, err(r)[-300:]) for k, r in results
           if crashed(r) or r.returncode not in (0, 2) or
           (r.returncode == 2 and not err(r).strip())]
    failed = sum(r.returncode == 2 for _, r in results)
    check(not bad and failed > 0, "corrupted BER streams (every third byte flipped): exit 0 or "
          "2 with an error, never a crash (%d of %d refused)" % (failed, len(results)),
          "\n".join(bad[:20]))


# ---- docs/debugging.md ------------------------------------------------------------

def doc_transcripts(doc):
    """[(command, expected output)] of every ```console block."""
    blocks = re.findall(r"```console\n(.*?)```", open(doc).read(), re.S)
    out = []
    for block in blocks:
        cmd, lines = None, []
        for line in block.splitlines():
            if line.startswith("$ "):
                if cmd is not None:
                    out.append((cmd, "\n".join(lines)))
                cmd, lines = line[2:], []
            else:
                lines.append(line)
        if cmd is not None:
            out.append((cmd, "\n".join(lines)))
    return out


def test_debugging_doc(tmp):
    doc = os.path.join(SOURCE_ROOT, "docs", "debugging.md")
    if not HAVE_CORPUS:
        skip("docs/debugging.md transcripts", "corpus not found at '%s'" % CORPUS)
        return
    work = os.path.join(tmp, "debug")
    subprocess.run([sys.executable, os.path.join(SOURCE_ROOT, "tests", "tool",
                                                 "make-debug-streams.py"), CORPUS, work],
                   check=True)
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(os.path.abspath(VSTATE)) + os.pathsep + env["PATH"]
    env.pop("NO_COLOR", None)
    transcripts = doc_transcripts(doc)
    check(len(transcripts) >= 6, "docs/debugging.md holds transcripts (%d)" % len(transcripts))
    for cmd, want in transcripts:
        # One pipe for both, so lines keep the order a terminal shows.
        p = subprocess.run(["sh", "-c", "(%s) 2>&1" % cmd], cwd=work, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        got = p.stdout.decode("utf-8", "replace").rstrip("\n")
        check(got == want.rstrip("\n"), "docs/debugging.md: `%s` prints what the doc shows" % cmd,
              "got:\n%s\nthe doc shows:\n%s" % (got, want))


TMP = None


def main():
    global TMP
    tmp = TMP = tempfile.mkdtemp(prefix="vstate-tools-")
    try:
        test_help()
        test_convert(tmp)
        test_corpus_diffs()
        full = test_diff_equal_and_forms(tmp)
        test_diff_ignore(full)
        test_diff_pages()
        test_diff_synthetic_pages(tmp)
        test_diff_types()
        demo = test_trace(tmp)
        test_errors(tmp, demo)
        test_describe_ber_header(tmp, demo)
        test_ber_cuts(tmp)
        test_debugging_doc(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("1..%d" % n)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
