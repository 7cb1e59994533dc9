"""Command line of vstate-gen."""

import argparse
import os
import sys
from typing import List, Optional

from . import VERSION
from .backend_c import CBackend
from .backend_desc import DescBackend
from .errors import SchemaError
from .model import apply_prefix, load_model


def write_if_changed(path: str, text: str) -> bool:
    """Write @text to @path unless it already holds exactly that (keeps mtimes)."""
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return False
    except OSError:
        pass
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
    return True


def outputs(schema: str, outdir: str, c_only: bool) -> List[str]:
    base = os.path.basename(schema)
    base = base[:-3] if base.endswith(".vs") else base
    names = [f"{base}.vs.c", f"{base}.vs.h"]
    if not c_only:
        names += [f"{base}.asn1", f"{base}.vmstate.json"]
    return [os.path.join(outdir, n) for n in names]


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(
        prog="vstate-gen",
        description="Compile a vstate schema (.vs) into C walkers and descriptions.")
    ap.add_argument("schema", help="the .vs file")
    ap.add_argument("-o", "--output-dir", default=".", help="where to write (default: .)")
    ap.add_argument("-I", "--include-dir", action="append", default=[],
                    help="also look for included schemas here")
    ap.add_argument("--check", action="store_true", help="check the schema, write nothing")
    ap.add_argument("--c-only", action="store_true",
                    help="write only NAME.vs.c and NAME.vs.h")
    ap.add_argument("--depfile", help="write a make-style dependency file (schemas included, "
                    "the generator's own sources)")
    ap.add_argument("--prefix", help="prepend PREFIX to every type name, so the C symbols of "
                    "two schemas declaring the same types (a current and an older one) do not "
                    "clash; included schemas need the same prefix")
    ap.add_argument("--version", action="version", version=f"vstate-gen {VERSION}")
    args = ap.parse_args(argv)

    try:
        model = load_model(args.schema, args.include_dir)
        if args.prefix:
            apply_prefix(model, args.prefix)
        c = CBackend(model)
        texts = [c.source(), c.header()]
        if not args.c_only:
            d = DescBackend(model)
            texts += [d.asn1(), d.vmstate_json()]
    except SchemaError as e:
        print(str(e), file=sys.stderr)
        return 1
    if args.check:
        return 0
    os.makedirs(args.output_dir, exist_ok=True)
    written = outputs(args.schema, args.output_dir, args.c_only)
    for path, text in zip(written, texts):
        write_if_changed(path, text)
    if args.depfile:
        write_if_changed(args.depfile, depfile_text(written[0], model.sources))
    return 0


def depfile_text(target: str, schemas: List[str]) -> str:
    """Make syntax: the output depends on every schema read and on the generator."""
    here = os.path.dirname(os.path.abspath(__file__))
    deps = list(schemas) + sorted(os.path.join(here, f) for f in os.listdir(here)
                                  if f.endswith(".py"))
    esc = [d.replace(" ", "\\ ") for d in deps]
    return f"{target}: " + " \\\n  ".join(esc) + "\n"
