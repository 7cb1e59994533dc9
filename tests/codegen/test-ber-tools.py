#!/usr/bin/env python3
# test-ber-tools.py: generic ASN.1 tools parse vstate's BER form.
#
# SPDX-License-Identifier: MIT
"""Generic ASN.1 tools parse vstate's BER form (docs/ber-format.md).

VECTORS_PROGRAM (asn1c-ber-vectors) writes a filled state of every type of
tests/codegen/features.vs, common.vs and bound.vs with the BER save visitor,
one .ber file each.  For every file:
  - `openssl asn1parse -inform DER` exits 0;
  - `dumpasn1 -z` reports no warning and no error other than its notes on
    negative INTEGERs, and on VisibleStrings it checks as PrintableStrings
    (dumpasn1 20210212 rejects '_', legal in a VisibleString: element type
    names such as "struct Lists_t_node" get that note);
  - pyasn1 decodes the whole buffer without a spec, with /usr/bin/python3
    (Debian's python3-pyasn1 is installed for that interpreter only).
TAP output; each check skips, saying why, when its tool is missing.

usage: test-ber-tools.py VECTORS_PROGRAM
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from typing import Callable, List, Optional, Tuple

SYSTEM_PYTHON = "/usr/bin/python3"

PYASN1_DECODE = """
import sys
from pyasn1.codec.ber import decoder
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        rest = f.read()
    n = 0
    while rest:
        _, rest = decoder.decode(rest)
        n += 1
    if n != 1:
        sys.exit(path + ": %d top-level values, want 1" % n)
"""

NEGATIVE_INTEGER = "Error: Integer is encoded as a negative value."
VISIBLE_AS_PRINTABLE = "Error: PrintableString contains illegal character(s)."
VISIBLE_STRING = re.compile(r"^\s*\d+\s+\d+:\s+VisibleString '([\x20-\x7e]*)'$")
SUMMARY = re.compile(r"^(\d+) warnings?, (\d+) errors?\.$")

Check = Callable[[str], Tuple[bool, str]]


def run(cmd: List[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, errors="replace", timeout=60)


def check_openssl(path: str) -> Tuple[bool, str]:
    r = run(["openssl", "asn1parse", "-inform", "DER", "-in", path])
    return r.returncode == 0, r.stdout[-2000:] + r.stderr


def dumpasn1_note_allowed(line: str, previous: str) -> bool:
    """Whether an Error line is one of dumpasn1's known false alarms."""
    if line == NEGATIVE_INTEGER:
        return True
    return line == VISIBLE_AS_PRINTABLE and VISIBLE_STRING.match(previous) is not None


def check_dumpasn1(path: str) -> Tuple[bool, str]:
    r = run(["dumpasn1", "-z", path])
    lines = r.stdout.splitlines()
    allowed = 0
    for i, raw in enumerate(lines):
        line = raw.split(":", 1)[-1].strip() if ":" in raw else raw.strip()
        if re.match(r"^(Error|Warning)\b", line):
            if not dumpasn1_note_allowed(line, lines[i - 1] if i else ""):
                return False, f"{raw}\n(after: {lines[i - 1] if i else ''})"
            allowed += 1
    summary = [m for m in map(SUMMARY.match, r.stderr.strip().splitlines()) if m]
    if not summary:
        return False, "no summary line:\n" + r.stderr
    warnings, errors = int(summary[-1].group(1)), int(summary[-1].group(2))
    if warnings or errors != allowed:
        return False, f"{warnings} warnings, {errors} errors; {allowed} known notes\n{r.stdout}"
    return True, ""


def check_pyasn1(path: str) -> Tuple[bool, str]:
    r = run([SYSTEM_PYTHON, "-c", PYASN1_DECODE, path])
    return r.returncode == 0, r.stderr[-2000:]


def pyasn1_skip_reason() -> Optional[str]:
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return f"{SYSTEM_PYTHON} is missing"
    r = run([SYSTEM_PYTHON, "-c", "import pyasn1"])
    if r.returncode != 0:
        return f"{SYSTEM_PYTHON} cannot import pyasn1 (Debian package python3-pyasn1)"
    return None


def tool_skip_reason(tool: str, package: str) -> Optional[str]:
    if shutil.which(tool):
        return None
    return f"{tool} is not installed (Debian package {package})"


def write_vectors(program: str, outdir: str) -> List[str]:
    r = run([program, outdir])
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    files = [line.split(" ", 1)[1] for line in r.stdout.splitlines() if " " in line]
    if not files:
        raise RuntimeError("no vectors written")
    return files


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    checks = [
        ("openssl asn1parse parses", check_openssl, tool_skip_reason("openssl", "openssl")),
        ("dumpasn1 finds nothing wrong", check_dumpasn1, tool_skip_reason("dumpasn1", "dumpasn1")),
        ("pyasn1 decodes it all", check_pyasn1, pyasn1_skip_reason()),
    ]
    n = failed = 0
    with tempfile.TemporaryDirectory(prefix="vstate-ber-tools-") as tmp:
        try:
            files = write_vectors(sys.argv[1], tmp)
        except (OSError, RuntimeError) as e:
            print("not ok 1 - asn1c-ber-vectors writes the vectors")
            print("# " + str(e).strip().replace("\n", "\n# "))
            print("1..1")
            return 1
        for what, check, skip in checks:
            for path in files:
                n += 1
                name = os.path.basename(path)
                if skip:
                    print(f"ok {n} - {name}: {what} # SKIP {skip}")
                    continue
                ok, detail = check(path)
                failed += not ok
                print(f"{'ok' if ok else 'not ok'} {n} - {name}: {what}")
                if detail and not ok:
                    print("# " + detail.strip().replace("\n", "\n# "))
    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
