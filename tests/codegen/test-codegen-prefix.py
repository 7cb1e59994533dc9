#!/usr/bin/env python3
"""vstate-gen --prefix, as a TAP test.

usage: test-codegen-prefix.py VSTATE_GEN SCHEMA_DIR

--prefix renames every type so that an older schema's walkers can be linked
next to the current ones.  Checks, on SCHEMA_DIR/features.vs (which includes
common.vs and uses tmp_for, nested types, lists and trees):
  1. every type's C symbols carry the prefix, references to types too;
  2. no unprefixed type symbol is left (so nothing clashes);
  3. wire names, member names, hooks and the registry function are unchanged;
  4. a prefix that is not a C identifier, or that starts with vs_, is refused.
(The device compatibility test, tests/devices/, links prefixed and current
walkers into one binary.)
"""

import os
import re
import subprocess
import sys
import tempfile

TYPES = ("Scalars", "Fifo", "Arrays", "Nested", "Lists", "Versioned", "Hooked", "HookedTmp",
         "PciLike")


def run(gen, args):
    return subprocess.run([sys.executable, gen] + args, capture_output=True, text=True,
                          check=False)


def main():
    gen, schema_dir = sys.argv[1], sys.argv[2]
    schema = os.path.join(schema_dir, "features.vs")
    results = []
    with tempfile.TemporaryDirectory() as out:
        r = run(gen, ["--c-only", "--prefix", "Old_", "-I", schema_dir, "-o", out, schema])
        if r.returncode != 0:
            print("1..1\nnot ok 1 - generation with --prefix failed: " + r.stderr.strip())
            return 1
        with open(os.path.join(out, "features.vs.h"), encoding="utf-8") as f:
            header = f.read()
        with open(os.path.join(out, "features.vs.c"), encoding="utf-8") as f:
            source = f.read()
        both = header + source

        missing = [t for t in TYPES
                   if f"struct Old_{t} " not in header or f"vs_visit_Old_{t}(" not in header
                   or f"vs_type_Old_{t}" not in header]
        results.append(("every type and its symbols carry the prefix", not missing,
                        f"missing: {missing}"))
        # Included types are renamed too, and members refer to the new names.
        results.append(("types used by members are renamed", "Old_Point at;" in header,
                        "Nested.at is not an Old_Point"))
        left = [t for t in TYPES + ("Point",)
                if re.search(rf"\b(struct {t}\b|vs_visit_{t}\(|vs_type_{t}\b)", both)]
        results.append(("no unprefixed type symbol is left", not left, f"left: {left}"))
        same = ('"hooked"' in source and '"hooked/b/inner"' in source and
                "bool hooked_pre_save(Old_Hooked *s" in header and
                "void vs_schema_features_register(void)" in header and
                "uint32_t value;" in header)
        results.append(("wire names, members, hooks and the registry function are kept", same,
                        "a wire name, member, hook or registry name changed"))
        # The BER form writes descriptor names and strict loads compare them.
        renamed = re.findall(r'\.name = "Old_', source)
        declared = [t for t in TYPES if f'.name = "{t}"' not in source]
        results.append(("descriptors keep the declared type names",
                        not renamed and not declared,
                        f"prefixed: {len(renamed)}, missing: {declared}"))

        bad = []
        for prefix in ("9x", "a-b", "vs_old", "VS_Old"):
            r = run(gen, ["--check", "--prefix", prefix, "-I", schema_dir, schema])
            if r.returncode == 0 or f"prefix '{prefix}'" not in r.stderr:
                bad.append(prefix)
        results.append(("bad prefixes are refused with a message", not bad, f"accepted: {bad}"))

    print(f"1..{len(results)}")
    failed = 0
    for i, (name, ok, why) in enumerate(results, 1):
        print(f"{'ok' if ok else 'not ok'} {i} - {name}")
        if not ok:
            print(f"# {why}")
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
