#!/usr/bin/env python3
"""asn1c cross-check of the BER form: asn1c's own decoder, generated from the
ASN.1 modules vstate-gen writes, decodes BER test vectors and checks their
constraints (docs/ber-format.md, "ASN.1 module").

Steps: vstate-gen writes the module of every shipped schema; asn1c turns
them into C in a temporary directory; that C, the runtime files asn1c
copies there and asn1c-decode-driver.c are compiled into a decoder; the
decoder then takes
  - hand-written vectors for examples/consumer/counter.vs, built below
    from docs/ber-format.md, with some that must be refused;
  - when the build has the BER save visitor, the vectors that
    VECTORS_PROGRAM writes (a filled state of every type of
    tests/codegen/features.vs, saved with it).
TAP output; skips, saying why, when asn1c or a C compiler is missing.

usage: test-asn1c-decode.py VSTATE_GEN SOURCE_ROOT [VECTORS_PROGRAM]
"""

import concurrent.futures
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from typing import List, Tuple

# ---- BER, as docs/ber-format.md writes it ------------------------------------


def tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    if tag & 0x1F == 0x1F:
        raise ValueError("high tag numbers are not needed here")
    return bytes([tag]) + length + content


def ctx(n: int, content: bytes) -> bytes:
    """[n], constructed, holding one TLV."""
    assert n < 31
    return tlv(0xA0 + n, content)


def integer(v: int) -> bytes:
    """A minimal two's-complement INTEGER."""
    size = 1
    while not -(1 << (8 * size - 1)) <= v < (1 << (8 * size - 1)):
        size += 1
    return tlv(0x02, v.to_bytes(size, "big", signed=True))


def utf8(s: str) -> bytes:
    return tlv(0x0C, s.encode())


def visible(s: str) -> bytes:
    return tlv(0x1A, s.encode())


def seq(*parts: bytes) -> bytes:
    return tlv(0x30, b"".join(parts))


UINT_TAGS = {1: 1, 2: 2, 4: 3, 8: 4}


def uint(width: int, v: int) -> bytes:
    return ctx(UINT_TAGS[width], integer(v))


def sint(width: int, v: int) -> bytes:
    return ctx(UINT_TAGS[width] + 4, integer(v))


def field(i: int, name: str, value: bytes) -> bytes:
    return ctx(i, seq(utf8(name), value))


def struct(type_name: str, wire_name: str, version: int, *members: bytes) -> bytes:
    return ctx(12, seq(utf8(type_name), utf8(wire_name), integer(version), *members))


def array(element_type: str, elem_size: int, values: List[bytes], count=None) -> bytes:
    return ctx(13, seq(visible(element_type), integer(len(values) if count is None else count),
                       integer(elem_size), *values))


def subsection(slot: int, type_name: str, wire: str, version: int, *members: bytes) -> bytes:
    """A subsection in its member slot, like a field whose value is the [15]."""
    return field(slot, wire, ctx(15, seq(utf8(type_name), utf8(wire), integer(version),
                                         *members)))


def counter(ticks=7, delta=-3, log=(1, 2), flags=None, alarm=None, version=2,
            log_tag=1, log_count=None, nlog=None) -> bytes:
    """examples/consumer/counter.vs's Counter, as the BER save visitor writes it."""
    members = [field(0, "ticks", uint(4, ticks)),
               field(1, "delta", sint(2, delta)),
               field(2, "nlog", uint(1, len(log) if nlog is None else nlog)),
               field(3, "log", array("uint8", 1, [ctx(log_tag, integer(x)) for x in log],
                                     log_count))]
    if flags is not None:
        members.append(field(4, "flags", uint(4, flags)))
    if alarm is not None:
        members.append(subsection(5, "Counter__alarm", "counter/alarm", 1,
                                  field(0, "alarm", uint(8, alarm))))
    return struct("Counter", "counter", version, *members)


# (name, bytes, whether asn1c must accept them)
HAND_VECTORS: List[Tuple[str, bytes, bool]] = [
    ("counter-v2-full", counter(flags=0x80000000, alarm=0xFFFFFFFFFFFFFFFF), True),
    ("counter-v2-no-alarm", counter(flags=5), True),
    ("counter-v1", counter(version=1, log=(), ticks=0, delta=-32768), True),
    ("counter-v2-alarm-no-flags", counter(alarm=0x500), True),
    ("counter-log-16", counter(log=tuple(range(250, 256)) * 2 + (0, 1, 2, 3), flags=1), True),
    # Refused: a uint16 where the schema has uint8 elements.
    ("bad-counter-log-width", counter(log_tag=2), False),
    # Refused: the count disagrees with the values.
    ("bad-counter-log-count", counter(log_count=3), False),
    # Refused: 17 elements, above `max 16`.
    ("bad-counter-log-17", counter(log=tuple(range(17))), False),
    # Refused: 256 is no uint8.
    ("bad-counter-nlog-range", counter(nlog=256), False),
    # Refused: version 3 is newer than the schema's.
    ("bad-counter-version", counter(version=3), False),
    # Refused: trailing byte.
    ("bad-counter-trailing", counter() + b"\x00", False),
]

# While the BER save visitor and docs/ber-format.md disagree, its vectors are
# TAP TODO (expected to fail, shown in the log).  Empty this once they agree:
# meson then reports any TODO that passes as an unexpected pass.
ENCODER_TODO = ""

# ---- running -----------------------------------------------------------------


def run(cmd: List[str], cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)


def compile_decoder(tmp: str, modules: List[str], driver_src: str) -> Tuple[str, List[str]]:
    """asn1c the modules and build the decoder; returns (program, top-level types)."""
    gen = os.path.join(tmp, "asn1c")
    os.makedirs(gen)
    # -fwide-types: INTEGER_t for every INTEGER, as uint64 values reach 2^64 - 1.
    r = run(["asn1c", "-fwide-types", "-fcompound-names", "-fno-include-deps"] + modules,
            cwd=gen)
    if r.returncode:
        raise RuntimeError("asn1c failed:\n" + r.stderr)
    # Every struct, subsection and tree node type is a possible top type.
    types = []
    for m in modules:
        with open(m, encoding="utf-8") as f:
            types += re.findall(r"^([A-Z][A-Za-z0-9-]*) ::= \[1[25]\]", f.read(), re.M)
    with open(os.path.join(gen, "asn1c_pdus.c"), "w") as f:
        f.write('#include "asn_application.h"\n')
        for t in types:
            f.write(f"extern asn_TYPE_descriptor_t asn_DEF_{t.replace('-', '_')};\n")
        f.write("const struct asn1c_pdu { const char *name; asn_TYPE_descriptor_t *td; }"
                " asn1c_pdus[] = {\n")
        for t in types:
            f.write(f'    {{ "{t}", &asn_DEF_{t.replace("-", "_")} }},\n')
        f.write("    { 0, 0 },\n};\n")
    shutil.copy(driver_src, gen)
    sources = sorted(s for s in glob.glob(os.path.join(gen, "*.c"))
                     if os.path.basename(s) != "converter-sample.c")
    cc = shlex.split(os.environ.get("CC", "cc"))
    # asn1c's code is not ours: no warnings; ASN_DEBUG as a macro (see
    # docs/ber-format.md), which also keeps it from formatting strings.
    flags = ["-w", "-O0", "-I", gen, "-DASN_DEBUG(...)=((void)0)"]

    def build(src: str) -> str:
        obj = src[:-2] + ".o"
        r = run(cc + flags + ["-c", src, "-o", obj])
        if r.returncode:
            raise RuntimeError(f"cannot compile {os.path.basename(src)}:\n{r.stderr}")
        return obj

    with concurrent.futures.ThreadPoolExecutor(max_workers=(os.cpu_count() or 1) * 2) as pool:
        objs = list(pool.map(build, sources))
    prog = os.path.join(tmp, "asn1c-decode")
    r = run(cc + objs + ["-o", prog, "-lm"])
    if r.returncode:
        raise RuntimeError("cannot link the decoder:\n" + r.stderr)
    return prog, types


def main() -> int:
    gen, root = sys.argv[1], sys.argv[2]
    vectors_prog = sys.argv[3] if len(sys.argv) > 3 else None
    if not shutil.which("asn1c"):
        print("1..0 # SKIP asn1c is not installed (Debian package asn1c)")
        return 0
    if not shutil.which(shlex.split(os.environ.get("CC", "cc"))[0]):
        print("1..0 # SKIP no C compiler (cc) to build asn1c's decoder")
        return 0
    here = os.path.dirname(os.path.abspath(__file__))
    schemas = sorted(glob.glob(os.path.join(root, "tests", "codegen", "*.vs")))
    schemas.append(os.path.join(root, "examples", "consumer", "counter.vs"))
    n = failed = 0

    def report(ok: bool, what: str, detail: str = "", todo: str = "") -> None:
        nonlocal n, failed
        n += 1
        failed += not ok and not todo
        print(f"{'ok' if ok else 'not ok'} {n} - {what}" + (f" # TODO {todo}" if todo else ""))
        if detail and not ok:
            print("# " + detail.strip().replace("\n", "\n# "))

    with tempfile.TemporaryDirectory(prefix="vstate-asn1c-") as tmp:
        out = os.path.join(tmp, "modules")
        for schema in schemas:
            r = run([gen, "-I", os.path.dirname(schema), "-o", out, schema])
            report(r.returncode == 0, f"vstate-gen compiles {os.path.basename(schema)}",
                   r.stderr)
        modules = sorted(glob.glob(os.path.join(out, "*.asn1")))
        try:
            prog, types = compile_decoder(tmp, modules,
                                          os.path.join(here, "asn1c-decode-driver.c"))
            report(True, f"asn1c's decoder for {len(modules)} modules builds")
        except RuntimeError as e:
            report(False, "asn1c's decoder builds", str(e)[-3000:])
            print(f"1..{n}")
            return 1

        # (type, file, must be accepted, description, TODO reason)
        cases = []
        vdir = os.path.join(tmp, "vectors")
        os.makedirs(vdir)
        for name, data, good in HAND_VECTORS:
            path = os.path.join(vdir, name + ".ber")
            with open(path, "wb") as f:
                f.write(data)
            cases.append(("Counter", path, good, f"hand-written {name}", ""))
        if vectors_prog:
            r = run([vectors_prog, vdir])
            report(r.returncode == 0, "the BER save visitor writes the features.vs vectors",
                   r.stdout + r.stderr)
            for line in r.stdout.splitlines():
                parts = line.split()
                if len(parts) == 2:
                    cases.append((parts[0], parts[1], True,
                                  f"BER save visitor's {os.path.basename(parts[1])}", ENCODER_TODO))
        else:
            print("# no BER save visitor in this build: hand-written vectors only")
        args = [x for t, p, _, _, _ in cases for x in (t, p)]
        r = run([prog] + args)
        lines = {}
        for line in r.stdout.splitlines():
            verdict, _, rest = line.partition(" ")
            t, _, rest = rest.partition(" ")
            path, _, why = rest.partition(": ")
            lines[(t, path)] = (verdict == "ok", why)
        for t, path, good, what, todo in cases:
            accepted, why = lines.get((t, path), (None, "no verdict: " + r.stderr))
            if good:
                report(accepted is True, f"asn1c decodes {what} as {t}", why, todo)
            else:
                report(accepted is False, f"asn1c refuses {what} ({why or 'no reason'})",
                       why or "it was accepted")
    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
