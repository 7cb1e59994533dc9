#!/usr/bin/env python3
"""gen-history.py: compile an older schema for the compatibility harness.

usage: gen-history.py VSTATE_GEN PREFIX OUTDIR DEPFILE SCHEMA

Runs `vstate-gen --c-only --prefix PREFIX`, so the older walkers link next
to the current ones, then gives the type descriptors back the names the
schema declares.  The BER form writes each struct's type name and a strict
load compares it, so a prefixed name would make every stream of the older
schema look like another type's; the C symbols keep the prefix.
"""
import os
import re
import subprocess
import sys


def main(argv):
    gen, prefix, outdir, depfile, schema = argv[1:6]
    subprocess.run([sys.executable, gen, "--c-only", "--prefix", prefix, "-o", outdir,
                    "--depfile", depfile, schema], check=True)
    path = os.path.join(outdir, os.path.basename(schema)[:-3] + ".vs.c")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    fixed = re.sub(r'(\n    \.name = ")' + re.escape(prefix), r"\1", text)
    if fixed != text:
        with open(path, "w", encoding="utf-8") as f:
            f.write(fixed)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
