#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Build asn1c's own codec for one schema into a static archive.

usage: build-asn1c.py VSTATE_GEN SCHEMA SHIM_C WORKDIR OUTPUT.a -- CC...

vstate-gen writes SCHEMA's ASN.1 module; asn1c (-fwide-types
-fcompound-names, as tests/codegen/test-asn1c-decode.py uses it) turns it
into C in WORKDIR/asn1c together with the runtime files it copies there;
those files and SHIM_C are compiled at their best: -O2 -DNDEBUG, warnings
off, and ASN_DEBUG defined as an empty macro (asn1c 0.9.28 otherwise
formats a debug string per tag even with debugging off; see docs/bench.md).
asn1c's file list depends on the module, hence a script rather than meson
sources.
"""

import concurrent.futures
import glob
import os
import shutil
import subprocess
import sys


def run(cmd, cwd=None):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if r.returncode:
        sys.stderr.write(f"build-asn1c: {' '.join(cmd)} failed:\n{r.stdout}{r.stderr}")
        sys.exit(1)


def main():
    if len(sys.argv) < 8 or sys.argv[6] != "--":
        sys.stderr.write(__doc__)
        return 2
    gen, schema, shim, work, out = sys.argv[1:6]
    cc = sys.argv[7:]
    work = os.path.abspath(work)
    if os.path.isdir(work):
        shutil.rmtree(work)
    mod_dir = os.path.join(work, "module")
    c_dir = os.path.join(work, "asn1c")
    os.makedirs(mod_dir)
    os.makedirs(c_dir)
    run([gen, "-I", os.path.dirname(os.path.abspath(schema)), "-o", mod_dir, schema])
    modules = sorted(glob.glob(os.path.join(mod_dir, "*.asn1")))
    run(["asn1c", "-fwide-types", "-fcompound-names", "-fno-include-deps"] + modules,
        cwd=c_dir)
    sources = sorted(s for s in glob.glob(os.path.join(c_dir, "*.c"))
                     if os.path.basename(s) != "converter-sample.c")
    sources.append(os.path.abspath(shim))
    flags = ["-w", "-O2", "-DNDEBUG", "-fPIC", "-I", c_dir,
             "-I", os.path.dirname(os.path.abspath(shim)), "-DASN_DEBUG(...)=((void)0)"]

    def build(src):
        obj = os.path.join(c_dir, os.path.basename(src)[:-2] + ".o")
        run(cc + flags + ["-c", src, "-o", obj])
        return obj

    with concurrent.futures.ThreadPoolExecutor(max_workers=(os.cpu_count() or 1) * 2) as pool:
        objs = list(pool.map(build, sources))
    if os.path.exists(out):
        os.remove(out)
    run(["ar", "rcs", out] + objs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
