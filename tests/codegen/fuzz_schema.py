#!/usr/bin/env python3
"""Mutation fuzzing of vstate-gen's front end: no schema may crash it.

Usage: fuzz_schema.py [ITERATIONS] [--seed N] [--backends]

Takes the schemas under tests/codegen (errors/, good/ and the feature
schemas), mutates them at random (tokens and characters deleted, inserted,
duplicated and swapped, random bytes, splices of two schemas) and runs the
parser and checker in-process on each.  A SchemaError is the expected way to
refuse an input; anything else escaping is a crash: the input is printed and
the exit status is 1.  With --backends, schemas the checker accepts also go
through the C and description backends.  ITERATIONS defaults to 2000; the seed
defaults to a fixed value so runs repeat.
"""

import os
import random
import re
import shutil
import sys
import tempfile
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "codegen"))

from vsgen.errors import SchemaError  # noqa: E402
from vsgen.model import load_model  # noqa: E402

TOKEN = re.compile(r'\s+|/\*.*?\*/|//[^\n]*|"[^"\n]*"|[A-Za-z_][A-Za-z0-9_]*|0[xX][0-9a-fA-F]+|'
                   r'[0-9]+|<<|>>|<=|>=|==|!=|&&|\|\||.', re.S)
WORDS = ["type", "codec", "include", "version", "minimum", "cstruct", "header", "tmp_for",
         "pre_save", "post_save", "pre_load", "post_load", "subsection", "unused", "validate",
         "local", "buffer", "bitmap", "qtailq", "qlist", "gtree", "tmp", "needed", "since",
         "if", "default", "equal", "le", "cname", "max", "ctype", "size", "u8", "u16", "u32",
         "u64", "i8", "i16", "i32", "i64", "bool", "f64", "timer", "int", "x", "n", "A", "P",
         "0", "1", "255", "4294967296", "0xFFFFFFFF", "-1", "{", "}", "[", "]", "(", ")", ";",
         "*", "/", "-", "!", "~", "&&", "||", "<<", '"a"', '"a/s"', '""', '"_point.vs"',
         "/*", "*/", "//", '"', "\n", "\t", "version", "x_count", "parent"]


def seeds():
    out = {}
    for sub in ("errors", "good", "."):
        d = os.path.join(HERE, sub)
        for name in sorted(os.listdir(d)):
            p = os.path.join(d, name)
            if name.endswith(".vs") and os.path.isfile(p):
                with open(p, "rb") as f:
                    out[os.path.relpath(p, HERE)] = f.read()
    return out


def tokens(data: bytes):
    return TOKEN.findall(data.decode("utf-8", "replace"))


def mutate(rng: random.Random, data: bytes, corpus) -> bytes:
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(10)
        if op < 6:
            toks = tokens(data)
            if not toks:
                toks = [""]
            i = rng.randrange(len(toks))
            if op == 0:
                del toks[i]
            elif op == 1:
                toks.insert(i, rng.choice(WORDS) + rng.choice(["", " "]))
            elif op == 2:
                j = rng.randrange(len(toks))
                toks[i:i] = toks[j:j + rng.randint(1, 8)]
            elif op == 3:
                j = rng.randrange(len(toks))
                toks[i], toks[j] = toks[j], toks[i]
            elif op == 4:
                toks[i] = rng.choice(WORDS)
            else:
                other = tokens(rng.choice(corpus))
                j = rng.randrange(len(other) + 1)
                toks = toks[:i] + other[j:j + rng.randint(1, 30)] + toks[i:]
            data = "".join(toks).encode("utf-8")
        else:
            b = bytearray(data)
            i = rng.randrange(len(b) + 1)
            if op == 6 and b:
                del b[i:i + rng.randint(1, 4)]
            elif op == 7:
                b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 3)))
            elif op == 8 and b:
                j = rng.randrange(len(b))
                b[i:i] = b[j:j + rng.randint(1, 16)]
            else:
                b[i:i] = bytes([rng.choice(b"{}[]();*\"/0129xn_ \n")])
            data = bytes(b)
    return data


def main(argv) -> int:
    iterations, seed, backends = 2000, 1, False
    args = list(argv[1:])
    while args:
        a = args.pop(0)
        if a == "--seed":
            seed = int(args.pop(0))
        elif a == "--backends":
            backends = True
        elif a.isdigit():
            iterations = int(a)
        else:
            print(__doc__, file=sys.stderr)
            return 2
    if backends:
        from vsgen.backend_c import CBackend
        from vsgen.backend_desc import DescBackend
    rng = random.Random(seed)
    corpus_map = seeds()
    names = sorted(corpus_map)
    corpus = [corpus_map[n] for n in names]
    # Schemas that are accepted as they are: mutations of these reach the checker's depth.
    valid = [corpus_map[n] for n in names if not n.startswith("errors")]
    work = tempfile.mkdtemp(prefix="vstate-fuzz-")
    # The include helpers, so mutated includes resolve sometimes.
    for n, data in corpus_map.items():
        if os.path.basename(n).startswith("_") or n in ("common.vs",):
            with open(os.path.join(work, os.path.basename(n)), "wb") as f:
                f.write(data)
    path = os.path.join(work, "fuzz.vs")
    stats = {"refused": 0, "accepted": 0}
    try:
        for it in range(iterations):
            pool = valid if rng.random() < 0.6 else corpus
            data = mutate(rng, pool[rng.randrange(len(pool))], corpus)
            with open(path, "wb") as f:
                f.write(data)
            try:
                model = load_model(path, [])
                if backends:
                    c = CBackend(model)
                    c.source(), c.header()
                    d = DescBackend(model)
                    d.asn1(), d.vmstate_json()
                stats["accepted"] += 1
            except SchemaError as e:
                stats["refused"] += 1
                msg = str(e)
                if "\n" in msg or not re.match(r"[^:]+:\d+:\d+: \S", msg):
                    print(f"iteration {it}: malformed diagnostic {msg!r} for input:")
                    print(data.decode("utf-8", "backslashreplace"))
                    return 1
            except BaseException:  # noqa: B902 - anything else is the bug we hunt
                print(f"iteration {it} (seed {seed}): crash on input:")
                print("-" * 60)
                print(data.decode("utf-8", "backslashreplace"))
                print("-" * 60)
                traceback.print_exc(file=sys.stdout)
                return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"fuzz_schema: {iterations} inputs, {stats['refused']} refused, "
          f"{stats['accepted']} accepted, no crash")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
