#!/usr/bin/env python3
"""Load a migration stream into QEMU 7.2, migrate it straight back out, then
run monitor commands against the loaded machine.

Usage: qemu_feed.py STREAM OUTDIR HMP-COMMAND... -- QEMU-ARGUMENT...

The QEMU arguments describe the machine the stream came from (the same
-M, -m and devices).  Writes OUTDIR/feed-back.bin (what QEMU migrates out
right after the load) and OUTDIR/feed.txt (each command's output, one
line per command, stripped).  Exits 1 with QEMU's log on stderr when QEMU
refuses the stream, 77 when QEMU is not installed.
"""

import os
import shlex
import shutil
import subprocess
import sys
from typing import List

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
from qmp import QMP, QMPError  # noqa: E402

QEMU = os.environ.get("QEMU", "qemu-system-x86_64")


def feed(stream: str, outdir: str, hmp: List[str], machine: List[str]) -> int:
    if not shutil.which(QEMU):
        return 77
    sock = os.path.join(outdir, "feed.qmp")
    back = os.path.join(outdir, "feed-back.bin")
    log_path = os.path.join(outdir, "feed.log")
    argv = [QEMU] + machine + ["-display", "none", "-accel", "tcg", "-S",
                               "-incoming", "defer", "-qmp", f"unix:{sock},server=on,wait=off"]
    log = open(log_path, "w")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    qmp = None
    try:
        qmp = QMP(sock)
        qmp.command("migrate-incoming", uri=f"exec:cat {shlex.quote(stream)}")
        qmp.wait_migration()
        qmp.command("migrate", uri=f"exec:cat > {shlex.quote(back)}")
        qmp.wait_migration()
        lines = []
        for cmd in hmp:
            out = qmp.command("human-monitor-command", **{"command-line": cmd})
            lines.append(" ".join((out or "").split()) + "\n")
        with open(os.path.join(outdir, "feed.txt"), "w") as f:
            f.writelines(lines)
        return 0
    except (QMPError, OSError) as e:
        log.flush()
        with open(log_path) as f:
            sys.stderr.write(f"QEMU refused the stream: {e}\n{f.read()}")
        return 1
    finally:
        if qmp:
            try:
                qmp.command("quit")
            except (QMPError, OSError):
                pass
            qmp.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        for leftover in (sock, log_path):
            if os.path.exists(leftover):
                os.remove(leftover)


def main() -> int:
    args = sys.argv[1:]
    if "--" not in args or len(args) < 3:
        sys.stderr.write(__doc__)
        return 2
    sep = args.index("--")
    return feed(args[0], args[1], args[2:sep], args[sep + 1:])


if __name__ == "__main__":
    sys.exit(main())
