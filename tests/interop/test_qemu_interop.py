#!/usr/bin/env python3
"""Interop with the installed QEMU (qemu-system-x86_64): TAP output.

1. Every corpus stream re-encodes byte-identical and every section decodes.
2. Fresh streams captured from the installed QEMU (pc and q35) do the same.
3. QEMU accepts what vstate writes: a re-encoded stream and one with an
   edited CMOS NVRAM byte are fed to `-incoming` with the capture's own
   command line; QEMU's state is then migrated back out and vstate checks
   it holds the edited value.

usage: test_qemu_interop.py VS_REWRITE CORPUS_DIR
"""

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from typing import List

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmp import QMP, QMPError  # noqa: E402

QEMU = shutil.which("qemu-system-x86_64")
MACHINES = {
    "pc": "pc-i440fx-7.2",
    "q35": "pc-q35-7.2",
}
# CMOS NVRAM bytes from 0x0e up are not recomputed by QEMU's RTC on load.
CMOS_INDEX = 0x3f
CMOS_VALUE = 0x5a


class Tap:
    def __init__(self) -> None:
        self.n = 0
        self.failed = 0

    def check(self, ok: bool, what: str, detail: str = "") -> None:
        self.n += 1
        print(f"{'ok' if ok else 'not ok'} {self.n} - {what}")
        if not ok:
            self.failed += 1
            for line in detail.splitlines()[:20]:
                print(f"# {line}")

    def skip(self, what: str, why: str) -> None:
        self.n += 1
        print(f"ok {self.n} - {what} # SKIP {why}")


def run(cmd: List[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


class Qemu:
    """One QEMU process with a QMP socket, from a capture's command line."""

    def __init__(self, argv: List[str], workdir: str, name: str, incoming: bool) -> None:
        self.sock = os.path.join(workdir, f"{name}.qmp")
        args = [a for a in argv if not a.startswith("unix:")]
        # Drop the capture's own -qmp option and give ours.
        cleaned: List[str] = []
        skip = False
        for a in args:
            if skip:
                skip = False
                continue
            if a == "-qmp":
                skip = True
                continue
            cleaned.append(a)
        cleaned[0] = QEMU or cleaned[0]
        cleaned += ["-qmp", f"unix:{self.sock},server=on,wait=off"]
        if incoming:
            cleaned += ["-incoming", "defer"]
        self.log = open(os.path.join(workdir, f"{name}.log"), "w")
        self.proc = subprocess.Popen(cleaned, stdout=self.log, stderr=subprocess.STDOUT)
        self.qmp = QMP(self.sock)

    def save(self, path: str) -> None:
        self.qmp.command("migrate", uri=f"exec:cat > {shlex.quote(path)}")
        self.qmp.wait_migration()

    def load(self, path: str) -> None:
        self.qmp.command("migrate-incoming", uri=f"exec:cat {shlex.quote(path)}")
        self.qmp.wait_migration()

    def close(self) -> None:
        try:
            self.qmp.command("quit")
        except (QMPError, OSError):
            pass
        self.qmp.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def machine_argv(machine: str) -> List[str]:
    return ["qemu-system-x86_64", "-M", machine, "-nodefaults", "-display", "none",
            "-nographic", "-accel", "tcg", "-m", "32M", "-S"]


def check_stream(tap: Tap, rewrite: str, path: str, label: str, workdir: str) -> bool:
    out = os.path.join(workdir, os.path.basename(path) + ".re")
    r = run([rewrite, path, out])
    same = r.returncode == 0 and open(path, "rb").read() == open(out, "rb").read()
    tap.check(same, f"{label}: re-encodes byte-identical", r.stderr)
    d = run([rewrite, "--describe", path])
    undecoded = [l for l in d.stdout.splitlines() if l.split()[-1:] not in (["schema"],
                                                                        ["description"], ["ram"])]
    counts: dict = {}
    for line in d.stdout.splitlines():
        how = line.split()[-1]
        counts[how] = counts.get(how, 0) + 1
    # The section coverage report: how each section was decoded.
    print(f"# coverage {label}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) +
          f", undecoded {len(undecoded)}")
    tap.check(d.returncode == 0 and not undecoded and d.stdout.strip() != "",
              f"{label}: every section decoded", d.stderr + "\n".join(undecoded))
    return same


def feed_back(tap: Tap, rewrite: str, argv: List[str], source: str, label: str,
              workdir: str) -> None:
    """Edit a CMOS byte, load it into QEMU, migrate it out, check the byte."""
    edited = os.path.join(workdir, f"{label}-edited.bin")
    back = os.path.join(workdir, f"{label}-back.bin")
    before = run([rewrite, "--get", source, "mc146818rtc", "0", f"cmos_data[{CMOS_INDEX}]"])
    tap.check(before.returncode == 0 and before.stdout.strip() != str(CMOS_VALUE),
              f"{label}: cmos_data[{CMOS_INDEX:#x}] does not hold {CMOS_VALUE:#x} yet",
              before.stdout + before.stderr)
    r = run([rewrite, source, edited, "mc146818rtc", "0", f"cmos_data[{CMOS_INDEX}]",
             str(CMOS_VALUE)])
    tap.check(r.returncode == 0, f"{label}: edit cmos_data[{CMOS_INDEX:#x}]", r.stderr)
    if r.returncode:
        return
    for what, stream in (("re-encoded", source + ".re"), ("edited", edited)):
        if not os.path.exists(stream):
            tap.check(False, f"{label}: {what} stream exists")
            continue
        q = Qemu(argv, workdir, f"{label}-{what}", incoming=True)
        try:
            q.load(stream)
            tap.check(True, f"{label}: QEMU loads the {what} stream")
            if what == "edited":
                q.save(back)
        except QMPError as e:
            tap.check(False, f"{label}: QEMU loads the {what} stream", str(e))
        finally:
            q.close()
    if os.path.exists(back):
        g = run([rewrite, "--get", back, "mc146818rtc", "0", f"cmos_data[{CMOS_INDEX}]"])
        tap.check(g.returncode == 0 and g.stdout.strip() == str(CMOS_VALUE),
                  f"{label}: QEMU's state holds the edited byte",
                  f"got {g.stdout.strip()!r} {g.stderr}")


def main() -> int:
    rewrite, corpus = sys.argv[1], sys.argv[2]
    tap = Tap()
    if not QEMU:
        print("1..0 # SKIP qemu-system-x86_64 is not installed")
        return 0
    workdir = tempfile.mkdtemp(prefix="vstate-interop-")
    try:
        streams = os.path.join(corpus, "streams")
        captures = []
        if os.path.isdir(streams):
            for d in sorted(os.listdir(streams)):
                for f in sorted(os.listdir(os.path.join(streams, d))):
                    if f.endswith(".bin"):
                        path = os.path.join(streams, d, f)
                        check_stream(tap, rewrite, path, f"corpus {d}/{f}", workdir)
                log = os.path.join(streams, d, "capture-log.json")
                if d in ("a-pc-bare", "c-q35-bare") and os.path.exists(log):
                    argv = shlex.split(json.load(open(log))["command"])
                    captures.append((d, argv, os.path.join(streams, d, "paused.bin")))
        else:
            tap.skip("corpus streams", f"corpus not found at {corpus}")
        for d, argv, path in captures:
            # Work on a copy so the .re file lands in the scratch directory.
            local = os.path.join(workdir, f"{d}.bin")
            shutil.copyfile(path, local)
            if check_stream(tap, rewrite, local, f"corpus {d} copy", workdir):
                feed_back(tap, rewrite, argv, local, f"corpus-{d}", workdir)
        for short, machine in MACHINES.items():
            argv = machine_argv(machine)
            fresh = os.path.join(workdir, f"fresh-{short}.bin")
            q = Qemu(argv, workdir, f"capture-{short}", incoming=False)
            try:
                q.save(fresh)
                tap.check(True, f"capture a fresh {short} stream from QEMU")
            except QMPError as e:
                tap.check(False, f"capture a fresh {short} stream from QEMU", str(e))
            finally:
                q.close()
            if os.path.exists(fresh) and check_stream(tap, rewrite, fresh, f"fresh {short}",
                                                      workdir):
                feed_back(tap, rewrite, argv, fresh, f"fresh-{short}", workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"1..{tap.n}")
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
