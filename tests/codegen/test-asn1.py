#!/usr/bin/env python3
"""The ASN.1 modules vstate-gen writes are valid ASN.1: asn1c parses and
checks them (with the modules they import).  TAP output; skips, saying
why, when asn1c is not installed.

usage: test-asn1.py VSTATE_GEN SCHEMA_DIR...
"""

import glob
import os
import shutil
import subprocess
import sys
import tempfile


def main() -> int:
    gen, dirs = sys.argv[1], sys.argv[2:]
    asn1c = shutil.which("asn1c")
    if not asn1c:
        print("1..0 # SKIP asn1c is not installed (Debian package asn1c)")
        return 0
    schemas = sorted(p for d in dirs for p in glob.glob(os.path.join(d, "*.vs")))
    n = failed = 0
    with tempfile.TemporaryDirectory(prefix="vstate-asn1-") as out:
        for schema in schemas:
            r = subprocess.run([gen, "-I", os.path.dirname(schema), "-o", out, schema],
                               capture_output=True, text=True)
            n += 1
            failed += r.returncode != 0
            print(f"{'not ok' if r.returncode else 'ok'} {n} - vstate-gen compiles "
                  f"{os.path.basename(schema)}")
            if r.returncode:
                print("# " + r.stderr.strip().replace("\n", "\n# "))
        # Check every module together, so IMPORTS resolve.
        modules = sorted(glob.glob(os.path.join(out, "*.asn1")))
        for module in modules:
            n += 1
            others = [m for m in modules if m != module]
            r = subprocess.run([asn1c, "-EF", module] + others, capture_output=True, text=True,
                               cwd=out)
            ok = r.returncode == 0
            failed += not ok
            print(f"{'ok' if ok else 'not ok'} {n} - asn1c accepts {os.path.basename(module)}")
            if not ok:
                print("# " + r.stderr.strip().replace("\n", "\n# "))
    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
