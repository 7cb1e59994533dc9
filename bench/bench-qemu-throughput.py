#!/usr/bin/env python3
"""RAM throughput of `vstate vm` against QEMU 7.2, side by side in one run.

Both guests have the same RAM size and the same bytes in it: `vstate vm
--fill random --seed N`, and QEMU with `-device loader` of a file that
bench-migrate writes with the same generator (the script checks the
digest against `vstate vm --describe`, and that QEMU sends every page of
it as a normal page).  Both are paused (-S / --paused), get the same
`migrate-set-parameters max-bandwidth` (QEMU's default cap is 128 MiB/s)
and `migrate` to the same URI, driven through QMP the same way:

  exec   exec:cat > /dev/null
  tcp    tcp:127.0.0.1:PORT, a discarding reader (bench-migrate --sink)
         that is the same process for both

each unpinned and pinned (`taskset -c 0` for the source; the exec: child
inherits it, the TCP reader is started pinned the same way).  A third
sender, the raw page stream (bench-migrate --raw-to: 16-byte headers and
4 KiB pages of the same content, writev of 16 pages), goes to the same
sink in the same configuration.

Throughput, the same way for both: ram.transferred / total-time from
query-migrate, and ram.transferred / wall time (from sending `migrate` to
seeing `completed`, polled every 10 ms).  The raw stream: its bytes / its
wall time.  Each figure is the median of --runs runs, the three senders
taking turns within each run.

Usage: bench-qemu-throughput.py --build BUILD_DIR [--size MiB] [--runs N]
           [--accel auto|kvm|tcg] [--configs exec,tcp] [--pins none,0]
"""

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "interop"))
from qmp import QMP, QMPError  # noqa: E402

MAX_BANDWIDTH = 64 << 30   # bytes/s: far above what either can reach
POLL_S = 0.010


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pinned(cmd, pin):
    return (["taskset", "-c", pin] + cmd) if pin else cmd


class Guest:
    """A paused source driven through QMP: vstate vm or QEMU."""

    def __init__(self, name, cmd, sock, workdir):
        self.name = name
        self.sock = sock
        self.log = open(os.path.join(workdir, name + ".log"), "w")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        try:
            self.qmp = QMP(sock, timeout=120)
        except QMPError:
            self.stop()
            raise

    def migrate(self, uri):
        self.qmp.command("migrate-set-parameters", **{"max-bandwidth": MAX_BANDWIDTH})
        t0 = time.monotonic()
        self.qmp.command("migrate", uri=uri)
        while True:
            info = self.qmp.command("query-migrate")
            if info.get("status") in ("completed", "failed", "cancelled"):
                break
            time.sleep(POLL_S)
        wall = time.monotonic() - t0
        if info.get("status") != "completed":
            raise RuntimeError(f"{self.name}: migration {info.get('status')}: "
                               f"{info.get('error-desc', '')}")
        return info, wall

    def stop(self):
        try:
            self.qmp.command("quit")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def mib_s(nbytes, seconds):
    return nbytes / (1 << 20) / seconds if seconds > 0 else 0.0


def run_guest(kind, args, uri, pin, workdir):
    sock = os.path.join(workdir, kind + ".qmp")
    if os.path.exists(sock):
        os.unlink(sock)
    if kind == "vstate":
        cmd = [args.vstate, "vm", "-m", str(args.size), "--fill", "random", "--seed",
               str(args.seed), "--paused", "--qmp", "unix:" + sock]
    else:
        cmd = [args.qemu, "-machine", "pc", "-accel", args.accel, "-m", f"{args.size}M",
               "-nographic", "-S", "-display", "none",
               "-device", f"loader,file={args.random_file},addr=0",
               "-qmp", f"unix:{sock},server=on,wait=off"]
    g = Guest(kind, pinned(cmd, pin), sock, workdir)
    try:
        info, wall = g.migrate(uri)
    finally:
        g.stop()
    ram = info["ram"]
    if kind == "qemu" and ram["normal"] < (args.size << 20) // 4096:
        raise RuntimeError(f"QEMU sent {ram['normal']} normal pages: the loader did not fill "
                           "RAM")
    return {"total": mib_s(ram["transferred"], info["total-time"] / 1000.0),
            "wall": mib_s(ram["transferred"], wall),
            "transferred": ram["transferred"], "total_ms": info["total-time"],
            "normal": ram["normal"], "zero": ram["duplicate"]}


def run_raw(args, uri, pin):
    out = subprocess.run(pinned([args.bench, "--raw-to", uri, "--size", str(args.size),
                                 "--seed", str(args.seed)], pin),
                         check=True, capture_output=True, text=True).stdout
    m = re.search(r"raw: (\d+) bytes in (\d+) us", out)
    if not m:
        raise RuntimeError(f"bench-migrate --raw-to printed {out!r}")
    nbytes, us = int(m.group(1)), int(m.group(2))
    return {"total": mib_s(nbytes, us / 1e6), "wall": mib_s(nbytes, us / 1e6)}


def start_sink(args, pin):
    port = free_port()
    uri = f"tcp:127.0.0.1:{port}"
    proc = subprocess.Popen(pinned([args.bench, "--sink", uri], pin), stdout=subprocess.PIPE,
                            text=True)
    line = proc.stdout.readline()
    if not line.startswith("sink: listening"):
        proc.kill()
        raise RuntimeError(f"the sink did not start: {line!r}")
    return proc, uri


def check_same_content(args, workdir):
    """The file for QEMU's loader holds the bytes of vstate's pc.ram."""
    out = subprocess.run([args.bench, "--random-file", args.random_file, "--size",
                          str(args.size), "--seed", str(args.seed)],
                         check=True, capture_output=True, text=True).stdout.strip()
    vs = subprocess.run([args.vstate, "vm", "-m", str(args.size), "--fill", "random", "--seed",
                         str(args.seed), "--paused", "--once", "--describe",
                         "--max-bandwidth", "0", "--migrate", "exec:cat > /dev/null"],
                        check=True, capture_output=True, text=True).stdout
    line = next((ln for ln in vs.splitlines() if ln.startswith("ram pc.ram ")), None)
    if line != out:
        raise RuntimeError(f"RAM content differs: file {out!r}, vstate vm {line!r}")
    print(f"content: {out} (the loader's file and vstate's pc.ram agree)")


def median(runs, key):
    return statistics.median(r[key] for r in runs) if runs else None


def paired(runs, a, b):
    """The median of per-run ratios: a and b ran back to back, under the
    same load, so their ratio is steadier than the ratio of medians."""
    pairs = [x["total"] / y["total"] for x, y in zip(runs[a], runs[b]) if y["total"]]
    return statistics.median(pairs) if pairs else None


def fmt(v):
    return f"{v:8.0f}" if v is not None else "       -"


def ratio(a, b):
    return f"{a / b:5.2f}" if a and b else "    -"


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True, help="meson build directory")
    ap.add_argument("--size", type=int, default=1024, help="guest RAM in MiB (default 1024)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--accel", default="auto", choices=["auto", "kvm", "tcg"])
    ap.add_argument("--configs", default="exec,tcp")
    ap.add_argument("--pins", default="none,0", help="'none' or a CPU list for taskset -c")
    ap.add_argument("--qemu", default=shutil.which("qemu-system-x86_64"))
    args = ap.parse_args()
    args.vstate = os.path.join(args.build, "tools", "vstate")
    args.bench = os.path.join(args.build, "bench", "bench-migrate")
    if args.accel == "auto":
        args.accel = "kvm" if os.access("/dev/kvm", os.R_OK | os.W_OK) else "tcg"
    return args


def qemu_version(qemu):
    try:
        return subprocess.run([qemu, "--version"], capture_output=True,
                              text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        return None


def main():
    args = parse_args()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    version = qemu_version(args.qemu) if args.qemu else None
    if not version:
        print("QEMU: qemu-system-x86_64 not found: measuring vstate and the raw stream only")
    else:
        print(f"QEMU: {version}, -accel {args.accel}")
    print(f"guest: {args.size} MiB random, paused; median of {args.runs} runs; "
          f"load average at start {os.getloadavg()[0]:.2f}")
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-qemu-") as workdir:
        args.random_file = os.path.join(workdir, "ram.bin")
        check_same_content(args, workdir)
        for pin_arg in args.pins.split(","):
            pin = None if pin_arg == "none" else pin_arg
            for config in args.configs.split(","):
                sink = None
                if config == "tcp":
                    sink, uri = start_sink(args, pin)
                else:
                    uri = "exec:cat > /dev/null"
                runs = {"vstate": [], "qemu": [], "raw": []}
                try:
                    for _ in range(args.runs):
                        runs["vstate"].append(run_guest("vstate", args, uri, pin, workdir))
                        if version:
                            runs["qemu"].append(run_guest("qemu", args, uri, pin, workdir))
                        runs["raw"].append(run_raw(args, uri, pin))
                finally:
                    if sink:
                        sink.kill()
                        sink.wait()
                results[(config, pin)] = runs
                v = runs["vstate"]
                print(f"  {config:4} {'pinned ' + pin if pin else 'unpinned':9}: vstate " +
                      " ".join(f"{r['total']:.0f}" for r in v) + " | qemu " +
                      " ".join(f"{r['total']:.0f}" for r in runs["qemu"]) + " | raw " +
                      " ".join(f"{r['total']:.0f}" for r in runs["raw"]) + " MiB/s",
                      flush=True)
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    for kind in ("vstate", "qemu"):
        first = next((r[kind][0] for r in results.values() if r[kind]), None)
        if first:
            print(f"{kind}: {first['normal']} normal pages, {first['zero']} zero pages, "
                  f"{first['transferred']} bytes of RAM records")
    print()
    print("MiB/s (transferred / total-time; in brackets: / wall time); ratios of the medians,"
          " and 'paired': the median of each run's ratio")
    print(f"{'config':18} {'vstate':>19} {'QEMU 7.2':>19} {'raw stream':>10}"
          f"  {'vstate/QEMU':>11} {'vstate/raw':>10}  {'paired: /QEMU':>13} {'/raw':>5}")
    for (config, pin), runs in results.items():
        vt, vw = median(runs["vstate"], "total"), median(runs["vstate"], "wall")
        qt, qw = median(runs["qemu"], "total"), median(runs["qemu"], "wall")
        rt = median(runs["raw"], "total")
        name = f"{config} {'pinned ' + pin if pin else 'unpinned'}"
        print(f"{name:18} {fmt(vt)} [{fmt(vw)}] {fmt(qt)} [{fmt(qw)}] {fmt(rt):>10}"
              f"  {ratio(vt, qt):>5} [{ratio(vw, qw)}] {ratio(vt, rt):>10}"
              f"  {ratio(paired(runs, 'vstate', 'qemu'), 1):>13} "
              f"{ratio(paired(runs, 'vstate', 'raw'), 1):>5}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
