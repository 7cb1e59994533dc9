#!/usr/bin/env python3
"""Output stability of vstate-gen, as a TAP test.

usage: test-codegen-stability.py VSTATE_GEN SCHEMA_DIR

For every SCHEMA_DIR/*.vs: copies the schemas into two scratch trees at
different paths, generates each there, and requires the four outputs
(.vs.c, .vs.h, .asn1, .vmstate.json) to be byte-identical.  A second run
over the same outputs must rewrite nothing (their mtimes stay as they were).
"""

import filecmp
import glob
import os
import shutil
import subprocess
import sys
import tempfile

SUFFIXES = (".vs.c", ".vs.h", ".asn1", ".vmstate.json")


def generate(gen, schema, outdir):
    """Runs vstate-gen; returns its error text, or None on success."""
    r = subprocess.run([sys.executable, gen, "-o", outdir, schema], capture_output=True,
                       text=True, check=False)
    return None if r.returncode == 0 else (r.stderr or f"exit status {r.returncode}")


def outputs(outdir, base):
    return [os.path.join(outdir, base + s) for s in SUFFIXES]


def check(gen, schemas, schema):
    """Returns a list of problems with @schema (empty when stable)."""
    base = os.path.basename(schema)[:-3]
    with tempfile.TemporaryDirectory() as scratch:
        runs = []
        for where in ("a/src", "bb/elsewhere/src"):
            src = os.path.join(scratch, where)
            out = os.path.join(scratch, where + "-out")
            os.makedirs(src)
            for s in schemas:
                shutil.copy(s, src)
            err = generate(gen, os.path.join(src, base + ".vs"), out)
            if err:
                return [f"generation in {where} failed: {err.strip()}"]
            runs.append((src, out))
        problems = []
        for a, b in zip(outputs(runs[0][1], base), outputs(runs[1][1], base)):
            if not os.path.exists(a) or not os.path.exists(b):
                problems.append(f"{os.path.basename(a)} was not written")
            elif not filecmp.cmp(a, b, shallow=False):
                problems.append(f"{os.path.basename(a)} differs between the two trees")
        # Age the outputs so that any rewrite shows in the mtime.
        src, out = runs[0]
        files = outputs(out, base)
        for f in files:
            if os.path.exists(f):
                os.utime(f, ns=(1_000_000_000, 1_000_000_000))
        err = generate(gen, os.path.join(src, base + ".vs"), out)
        if err:
            return problems + [f"second generation failed: {err.strip()}"]
        for f in files:
            if os.path.exists(f) and os.stat(f).st_mtime_ns != 1_000_000_000:
                problems.append(f"{os.path.basename(f)} was rewritten by an identical run")
        leftovers = [n for n in os.listdir(out) if n.endswith(".tmp")]
        if leftovers:
            problems.append(f"temporary files left behind: {', '.join(sorted(leftovers))}")
        return problems


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    gen, schema_dir = sys.argv[1], sys.argv[2]
    schemas = sorted(glob.glob(os.path.join(schema_dir, "*.vs")))
    print(f"1..{len(schemas)}")
    failed = 0
    for i, schema in enumerate(schemas, 1):
        problems = check(gen, schemas, schema)
        name = os.path.basename(schema)
        print(f"{'not ok' if problems else 'ok'} {i} - stable output of {name}")
        for p in problems:
            print(f"# {p}")
        failed += bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
