#!/usr/bin/env python3
"""Compile a trace-events file (QEMU's syntax) into C.

usage: tracetool.py GROUP TRACE-EVENTS OUT.h OUT.c

Each non-blank, non-comment line of TRACE-EVENTS declares one event:

    name(type arg, type arg) "format"          # or name(void) "format"

where the format is a C string literal, possibly split around PRIx64-style
macros as in C ("offset 0x%" PRIx64 " len %u").  The header gets, per
event, an inline trace_<name>() that fires a USDT probe (provider "vstate")
where <sys/sdt.h> exists, and prints through vs_trace_emit() when the event
was enabled by name (migration/trace.h); the .c file gets the table of
names and enable flags that migration/trace.c searches.
"""

import os
import re
import sys

LINE = re.compile(r'^([a-z_][a-z0-9_]*)\((.*)\)\s*(".*)$')
ARG = re.compile(r'^(.*?)([A-Za-z_][A-Za-z0-9_]*)$')
SDT_MAX_ARGS = 12


class TraceError(Exception):
    pass


def parse(path):
    events = []
    seen = set()
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            m = LINE.match(line)
            if not m:
                raise TraceError(f"{path}:{lineno}: expected name(args) \"format\"")
            name, args_text, fmt = m.groups()
            if name in seen:
                raise TraceError(f"{path}:{lineno}: event '{name}' declared twice")
            seen.add(name)
            args = []
            if args_text.strip() != "void":
                for a in args_text.split(","):
                    am = ARG.match(a.strip())
                    if not am or not am.group(1).strip():
                        raise TraceError(f"{path}:{lineno}: argument '{a.strip()}' needs a type")
                    args.append((am.group(1).strip(), am.group(2)))
            if len(args) > SDT_MAX_ARGS:
                raise TraceError(f"{path}:{lineno}: more than {SDT_MAX_ARGS} arguments")
            events.append((name, args, fmt))
    return events


def banner(src):
    """The first line of each output file, in the form vstate-gen uses."""
    return (f"/* generated from {os.path.basename(src)} by scripts/tracetool.py "
            "-- do not edit */")


def header(group, src, events):
    g = group.upper()
    out = [
        banner(src),
        f"#ifndef VSTATE_TRACE_{g}_H",
        f"#define VSTATE_TRACE_{g}_H",
        "",
        "#include <inttypes.h>",
        "#include <stdbool.h>",
        "#include <stdint.h>",
        '#include "migration/trace.h"',
        "",
        "#if defined(__has_include)",
        "#if __has_include(<sys/sdt.h>)",
        "#include <sys/sdt.h>",
        "#define VS_TRACE_HAVE_SDT 1",
        "#endif",
        "#endif",
        "",
        "enum {",
    ]
    for i, (name, _, _) in enumerate(events):
        out.append(f"    VS_TRACE_{name.upper()} = {i},")
    out += [
        f"    VS_TRACE_{g}__COUNT = {len(events)},",
        "};",
        "",
        f"extern bool vs_trace_{group}_enabled[VS_TRACE_{g}__COUNT];",
        f"extern const char *const vs_trace_{group}_names[VS_TRACE_{g}__COUNT];",
        "",
    ]
    for name, args, fmt in events:
        if fmt.strip() == '""':
            # gcc refuses an empty printf format.
            fmt = '"%s", ""'
        params = ", ".join(f"{t} {n}" for t, n in args) or "void"
        names = "".join(f", {n}" for _, n in args)
        out += [
            f"static inline void trace_{name}({params})",
            "{",
            "#ifdef VS_TRACE_HAVE_SDT",
            f"    DTRACE_PROBE{len(args) or ''}(vstate, {name}{names});",
            "#endif",
            f"    if (__atomic_load_n(&vs_trace_{group}_enabled[VS_TRACE_{name.upper()}], "
            "__ATOMIC_RELAXED)) {",
            f"        vs_trace_emit(\"{name}\", {fmt}{names});",
            "    }",
            "}",
            "",
        ]
    out.append(f"#endif /* VSTATE_TRACE_{g}_H */")
    return "\n".join(out) + "\n"


def source(group, src, events):
    g = group.upper()
    out = [
        banner(src),
        f'#include "migration/trace-{group}.h"',
        "",
        f"bool vs_trace_{group}_enabled[VS_TRACE_{g}__COUNT];",
        f"const char *const vs_trace_{group}_names[VS_TRACE_{g}__COUNT] = {{",
    ]
    out += [f'    "{name}",' for name, _, _ in events]
    out.append("};")
    return "\n".join(out) + "\n"


def write_if_changed(path, text):
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    except OSError:
        pass
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main():
    if len(sys.argv) != 5:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    group, src, out_h, out_c = sys.argv[1:]
    try:
        events = parse(src)
    except TraceError as e:
        print(f"tracetool: {e}", file=sys.stderr)
        return 1
    write_if_changed(out_h, header(group, src, events))
    write_if_changed(out_c, source(group, src, events))
    return 0


if __name__ == "__main__":
    sys.exit(main())
