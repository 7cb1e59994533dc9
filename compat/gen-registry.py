#!/usr/bin/env python3
"""gen-registry.py: write the compatibility harness's table of devices.

usage: gen-registry.py OUT.c CODEGEN_DIR --current SCHEMA... --history SCHEMA...

For every top-level (non-`nested`) type of each current schema the table
holds one device: its current walker and the walkers of every older schema
of schema/history/ that declares a top-level type with the same wire name.
A history schema is named <device>-v<N>.vs and compiled with the prefix
H<device>_v<N>_ (prefix_of() below; compat/meson.build passes the same).
"""
import os
import re
import sys

HISTORY_NAME = re.compile(r"(.+)-v([0-9]+)\.vs\Z")


def prefix_of(path):
    base = os.path.basename(path)[:-3]
    return "H" + "".join(c if c.isalnum() else "_" for c in base) + "_"


def roots(load_model, path):
    model = load_model(path)
    return [t for t in model.own_types if not t.nested]


def wrappers(i, type_name):
    return [
        f"static bool compat_walk_{i}(VsVisitor *v, const char *name, void *obj, GError **errp)",
        "{",
        f"    return vs_visit_{type_name}(v, name, ({type_name} *)obj, errp);",
        "}",
        "",
        f"static void compat_init_{i}(TALLOC_CTX *mem_ctx, void *obj)",
        "{",
        f"    vs_init_{type_name}(mem_ctx, ({type_name} *)obj);",
        "}",
        "",
    ]


def main(argv):
    out_path, codegen_dir = argv[1], argv[2]
    sys.dont_write_bytecode = True  # nothing written into the source tree
    sys.path.insert(0, codegen_dir)
    from vsgen.model import load_model  # pylint: disable=import-outside-toplevel

    current, history, mode = [], [], None
    for a in argv[3:]:
        if a in ("--current", "--history"):
            mode = a
        elif mode == "--current":
            current.append(a)
        elif mode == "--history":
            history.append(a)
        else:
            sys.exit(f"{argv[0]}: unexpected argument {a}")

    headers, code, devices = [], [], []
    n = 0
    old_by_wire = {}
    for path in sorted(history):
        m = HISTORY_NAME.match(os.path.basename(path))
        if not m:
            sys.exit(f"{path}: history schemas are named <device>-v<N>.vs")
        release = int(m.group(2))
        headers.append(os.path.basename(path)[:-3] + ".vs.h")
        found = False
        for t in roots(load_model, path):
            if t.version != release:
                sys.exit(f"{path}: type {t.name} has version {t.version}, the file name says {release}")
            code += wrappers(n, prefix_of(path) + t.name)
            old_by_wire.setdefault((m.group(1), t.wire), []).append(
                (release, os.path.basename(path), prefix_of(path) + t.name, n))
            n += 1
            found = True
        if not found:
            sys.exit(f"{path}: no top-level type")
    used = set()
    for path in current:
        device = os.path.basename(path)[:-3]
        headers.append(device + ".vs.h")
        for t in roots(load_model, path):
            code += wrappers(n, t.name)
            olds = sorted(old_by_wire.get((device, t.wire), []))
            if olds:
                used.add((device, t.wire))
            hist_name = "NULL"
            if olds:
                hist_name = f"compat_history_{n}"
                code.append(f"static const VsCompatSchema {hist_name}[] = {{")
                for release, file, tname, i in olds:
                    code.append(f'    {{ "{file}", {release}, &vs_type_{tname}, compat_walk_{i}, '
                                f'compat_init_{i} }},')
                code += ["};", ""]
            devices.append(f'    {{ "{device}", "{t.wire}", {{ "{device}.vs", {t.version}, '
                           f'&vs_type_{t.name}, compat_walk_{n}, compat_init_{n} }}, '
                           f'{hist_name}, {len(olds)} }},')
            n += 1
    for key in old_by_wire:
        if key not in used:
            sys.exit(f"history of {key[0]} (section {key[1]}): no current schema declares it")

    text = ["/* generated from the device schemas by compat/gen-registry.py "
            "-- do not edit */",
            "/* The compatibility harness's devices: current and older walkers side by side. */",
            '#include "compat/compat.h"']
    text += [f'#include "{h}"' for h in headers]
    text += [""] + code
    text.append("const VsCompatDevice vs_compat_devices[] = {")
    text += devices
    text += ["};", "", "const size_t vs_compat_n_devices = G_N_ELEMENTS(vs_compat_devices);", ""]
    data = "\n".join(text)
    old = None
    if os.path.exists(out_path):
        with open(out_path, encoding="utf-8") as f:
            old = f.read()
    if old != data:
        with open(out_path, "w", encoding="utf-8") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
