#!/usr/bin/env python3
"""Dependencies point one way (docs/development.md): every quoted #include of
the library's layers is checked against what the layer may use.  TAP output.

usage: check-layering.py SOURCE_ROOT
"""

import os
import re
import sys

CORE = ("visitor/visitor.h", "visitor/visitor-impl.h", "visitor/visit-path.h",
        "visitor/registry.h")
# layer directory -> include prefixes it may use (besides its own directory)
RULES = {
    "visitor": CORE,
    "visitor/qemufile": CORE,
    "visitor/pretty": CORE,
    # The schema-less BER decoder builds the shared state tree.
    "visitor/ber": CORE + ("visitor/pretty/state-tree.h",),
    "migration": CORE + ("visitor/qemufile/", "visitor/pretty/", "visitor/ber/", "vs-version.h"),
    # Walkers, hand-written or generated, see only the core.
    "examples": CORE,
    # Device models: the core and the headers generated from their schemas
    # (schema/<name>.vs -> "<name>.vs.h"); never a format.
    "devices": CORE,
    # The demo VM board: the migration core, devices and their walkers.
    "vm": CORE + ("migration/", "visitor/qemufile/", "examples/", "devices/"),
    # The compatibility harness drives generated walkers through every format.
    "compat": CORE + ("visitor/qemufile/", "visitor/pretty/", "visitor/ber/"),
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def generated_walkers(root: str, inc: str) -> bool:
    """A header vstate-gen writes from one of the tree's schemas."""
    return "/" not in inc and inc.endswith(".vs.h") and \
        os.path.isfile(os.path.join(root, "schema", inc[:-2]))


def main() -> int:
    root = sys.argv[1]
    n = bad = 0
    for layer, allowed in sorted(RULES.items()):
        d = os.path.join(root, layer)
        for name in sorted(os.listdir(d)):
            if not name.endswith((".c", ".h")):
                continue
            text = open(os.path.join(d, name), encoding="utf-8").read()
            for inc in INCLUDE.findall(text):
                n += 1
                ok = inc.startswith(layer + "/") and "/" not in inc[len(layer) + 1:] \
                    or inc.startswith(allowed) or "/" not in inc and inc in os.listdir(d) \
                    or generated_walkers(root, inc)
                bad += not ok
                print(f"{'ok' if ok else 'not ok'} {n} - {layer}/{name} includes {inc}")
    print(f"1..{n}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
