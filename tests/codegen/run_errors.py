#!/usr/bin/env python3
"""Golden tests of vstate-gen's schema errors, in the style of QEMU's tests/qapi-schema.

Usage: run_errors.py VSTATE_GEN ERRORS_DIR GOOD_DIR

Every ERRORS_DIR/NAME.vs must be refused: `vstate-gen --check NAME.vs`, run in
ERRORS_DIR, must exit with status 1 and print exactly ERRORS_DIR/NAME.err on
stderr (one `file:line:col: message` line).  Every GOOD_DIR/NAME.vs must pass
--check silently.  Files whose name starts with '_' are helpers (included by
other cases) and are not cases of their own.

Prints TAP.  With REGENERATE=1 in the environment, rewrites the .err files
from the generator's output instead of comparing.
"""

import difflib
import os
import subprocess
import sys


def cases(directory):
    return sorted(f[:-3] for f in os.listdir(directory)
                  if f.endswith(".vs") and not f.startswith("_"))


def run(gen, directory, name):
    proc = subprocess.run([sys.executable, gen, "--check", name + ".vs"], cwd=directory,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=60)
    return proc.returncode, proc.stdout, proc.stderr


def comment(text, limit=40):
    lines = text.splitlines()
    if len(lines) > limit:
        lines = [f"... ({len(lines) - limit} lines left out)"] + lines[-limit:]
    for line in lines:
        print("# " + line)


def main(argv):
    if len(argv) != 4:
        print(f"usage: {argv[0]} VSTATE_GEN ERRORS_DIR GOOD_DIR", file=sys.stderr)
        return 2
    gen = os.path.abspath(argv[1])
    errors_dir, good_dir = argv[2], argv[3]
    regenerate = os.environ.get("REGENERATE") == "1"
    n = failed = 0

    for name in cases(errors_dir):
        n += 1
        try:
            status, out, err = run(gen, errors_dir, name)
        except subprocess.TimeoutExpired:
            print(f"not ok {n} - errors/{name}")
            comment("vstate-gen did not finish within 60 s")
            failed += 1
            continue
        err_path = os.path.join(errors_dir, name + ".err")
        if regenerate:
            with open(err_path, "w", encoding="utf-8") as f:
                f.write(err)
        try:
            with open(err_path, encoding="utf-8") as f:
                expected = f.read()
        except OSError as e:
            expected = ""
            comment(f"cannot read {err_path}: {e.strerror}")
        problems = []
        if status != 1:
            problems.append(f"exit status {status}, expected 1")
        if out:
            problems.append("unexpected output on stdout:\n" + out)
        if "Traceback" in err:
            problems.append("the generator crashed")
        if err.count("\n") != 1:
            problems.append("stderr is not exactly one line")
        if err != expected:
            problems.append("".join(difflib.unified_diff(
                expected.splitlines(True), err.splitlines(True),
                f"{name}.err (expected)", f"{name}.err (actual)")))
        if problems:
            failed += 1
            print(f"not ok {n} - errors/{name}")
            for p in problems:
                comment(p)
        else:
            print(f"ok {n} - errors/{name}")

    for name in cases(good_dir):
        n += 1
        try:
            status, out, err = run(gen, good_dir, name)
        except subprocess.TimeoutExpired:
            status, out, err = -1, "", "vstate-gen did not finish within 60 s\n"
        if status == 0 and not out and not err:
            print(f"ok {n} - good/{name}")
        else:
            failed += 1
            print(f"not ok {n} - good/{name}")
            comment(f"exit status {status}, expected 0 and no output")
            comment(out + err)

    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
