#!/usr/bin/env python3
"""Multifd throughput of `vstate vm` against QEMU 7.2's, side by side in one run.

For each channel count (2 and 4 by default) and each kind, a paused source
with SIZE MiB of random RAM migrates over loopback TCP to a destination of
the same kind started with `-incoming defer`, multifd on at both ends and
max-bandwidth raised (QEMU's default cap is 128 MiB/s):

  vstate   vstate vm -m SIZE --fill random --seed N --paused
  qemu     qemu-system-x86_64 -m SIZE -S -device loader,file=F,addr=0, where
           F holds the same bytes (bench-migrate --random-file)

Throughput is the source's `ram.transferred` over its `total-time`
(query-migrate), the median of the runs; the ratio is of the medians.

usage: bench-multifd-qemu.py VSTATE BENCH_MIGRATE [--size MiB] [--runs N]
                             [--channels 2,4] [--qemu PATH]
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "interop"))
from qmp import QMP  # noqa: E402

MAX_BANDWIDTH = 1 << 40


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(cmd, sock, log):
    if os.path.exists(sock):
        os.unlink(sock)
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    end = time.time() + 60
    while not os.path.exists(sock) and time.time() < end:
        time.sleep(0.05)
    return p, QMP(sock, timeout=120)


def multifd_on(q, channels):
    q.command("migrate-set-capabilities",
              capabilities=[{"capability": "multifd", "state": True}])
    q.command("migrate-set-parameters",
              **{"multifd-channels": channels, "max-bandwidth": MAX_BANDWIDTH})


def commands(kind, args, workdir, n):
    s_sock = os.path.join(workdir, f"{kind}-src{n}.qmp")
    d_sock = os.path.join(workdir, f"{kind}-dst{n}.qmp")
    if kind == "vstate":
        src = [args.vstate, "vm", "-m", str(args.size), "--fill", "random", "--seed", "1",
               "--paused", "--no-demo-device", "--qmp", "unix:" + s_sock]
        dst = [args.vstate, "vm", "-m", str(args.size), "-S", "--no-demo-device",
               "-qmp", f"unix:{d_sock},server=on,wait=off", "-incoming", "defer"]
    else:
        base = [args.qemu, "-machine", "pc-i440fx-7.2", "-m", f"{args.size}M", "-nodefaults",
                "-display", "none", "-S"]
        src = base + ["-device", f"loader,file={args.random_file},addr=0",
                      "-qmp", f"unix:{s_sock},server=on,wait=off"]
        dst = base + ["-qmp", f"unix:{d_sock},server=on,wait=off", "-incoming", "defer"]
    return src, s_sock, dst, d_sock


def run_once(kind, channels, args, workdir, n):
    src_cmd, s_sock, dst_cmd, d_sock = commands(kind, args, workdir, n)
    log = open(os.path.join(workdir, f"{kind}-{n}.log"), "w")
    dp, d = start(dst_cmd, d_sock, log)
    sp, s = start(src_cmd, s_sock, log)
    try:
        multifd_on(d, channels)
        multifd_on(s, channels)
        port = free_port()
        d.command("migrate-incoming", uri=f"tcp:127.0.0.1:{port}")
        s.command("migrate", uri=f"tcp:127.0.0.1:{port}")
        while True:
            info = s.command("query-migrate")
            if info.get("status") in ("completed", "failed", "cancelled"):
                break
            time.sleep(0.05)
        if info.get("status") != "completed":
            raise RuntimeError(f"{kind}: {info.get('status')}: {info.get('error-desc', '')}")
        end = time.time() + 60
        while d.command("query-migrate").get("status") not in ("completed", "failed") and \
                time.time() < end:
            time.sleep(0.05)
        ram = info["ram"]
        if ram["normal"] < (args.size << 20) // 4096:
            raise RuntimeError(f"{kind} sent {ram['normal']} normal pages: RAM not random")
        return ram["transferred"] / (1 << 20) / (info["total-time"] / 1000.0)
    finally:
        for q, p in ((s, sp), (d, dp)):
            try:
                q.command("quit")
            except Exception:  # noqa: BLE001
                pass
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        log.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vstate")
    ap.add_argument("bench_migrate")
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--channels", default="2,4")
    ap.add_argument("--qemu", default=shutil.which("qemu-system-x86_64"))
    args = ap.parse_args()
    if not args.qemu:
        print("bench-multifd-qemu: skipped: qemu-system-x86_64 is not installed")
        return 0
    chans = [int(c) for c in args.channels.split(",")]
    with tempfile.TemporaryDirectory(prefix="vs-mfq-") as workdir:
        args.random_file = os.path.join(workdir, "ram.bin")
        subprocess.run([args.bench_migrate, "--random-file", args.random_file, "--size",
                        str(args.size), "--seed", "1"], check=True, stdout=subprocess.DEVNULL)
        res = {(k, c): [] for k in ("vstate", "qemu") for c in chans}
        n = 0
        for _ in range(args.runs):
            for c in chans:
                for kind in ("vstate", "qemu"):
                    n += 1
                    res[(kind, c)].append(run_once(kind, c, args, workdir, n))
    print(f"bench-multifd-qemu: {args.size} MiB random RAM, paused source, loopback TCP, "
          f"median of {args.runs} runs (MiB/s = transferred / total-time)")
    for c in chans:
        v = sorted(res[("vstate", c)])[len(res[("vstate", c)]) // 2]
        q = sorted(res[("qemu", c)])[len(res[("qemu", c)]) // 2]
        print(f"  multifd {c} channels: vstate {v:7.0f} MiB/s   QEMU 7.2 {q:7.0f} MiB/s   "
              f"ratio {v / q:.2f}x (goal >= 2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
