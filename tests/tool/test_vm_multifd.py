#!/usr/bin/env python3
"""Multifd between `vstate vm` processes and into QEMU 7.2, through QMP with
QEMU's capability and parameter names.  TAP output; the QEMU cases skip
with a reason when qemu-system-x86_64 is not installed.

usage: test_vm_multifd.py VSTATE
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
from qmp import QMP  # noqa: E402
from vmtap import finish, ok, skip, free_port  # noqa: E402

VSTATE = sys.argv[1]


def wait_file(path, timeout=10.0):
    end = time.time() + timeout
    while not os.path.exists(path) and time.time() < end:
        time.sleep(0.05)


def set_multifd(q, channels, compression):
    q.command("migrate-set-capabilities",
              capabilities=[{"capability": "multifd", "state": True}])
    q.command("migrate-set-parameters",
              **{"multifd-channels": channels, "multifd-compression": compression})


def wait_both(a, b, timeout=90.0):
    end = time.time() + timeout
    ai = bi = {}
    while time.time() < end:
        ai, bi = a.command("query-migrate"), b.command("query-migrate")
        if ai.get("status") in ("completed", "failed") and \
                bi.get("status") in ("completed", "failed"):
            break
        time.sleep(0.1)
    return ai, bi


def stop(procs):
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.communicate()


def source(tmp, name, dirty_rate):
    sock = os.path.join(tmp, f"{name}.qmp")
    p = subprocess.Popen([VSTATE, "vm", "--ram", "64M", "--fill", "random", "--dirty-rate",
                          dirty_rate, "--no-demo-device", "-qmp",
                          f"unix:{sock},server=on,wait=off"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_file(sock)
    q = QMP(sock)
    q.command("migrate-set-parameters", **{"max-bandwidth": 0})
    return p, q


def test_vstate_to_vstate(tmp):
    """Two processes, 4 channels, zstd, workload; the parameters read back."""
    dsock = os.path.join(tmp, "d.qmp")
    dst = subprocess.Popen([VSTATE, "vm", "-m", "64", "-S", "--no-demo-device", "-qmp",
                            f"unix:{dsock},server=on,wait=off", "-incoming", "defer"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    src, s = source(tmp, "s1", "50M")
    try:
        wait_file(dsock)
        d = QMP(dsock)
        for q in (s, d):
            set_multifd(q, 4, "zstd")
        params = s.command("query-migrate-parameters")
        caps = {c["capability"]: c["state"] for c in s.command("query-migrate-capabilities")}
        ok(params.get("multifd-channels") == 4 and params.get("multifd-compression") == "zstd"
           and caps.get("multifd") is True, "multifd parameters and capability read back",
           f"{params} {caps}")
        port = free_port()
        d.command("migrate-incoming", uri=f"tcp:127.0.0.1:{port}")
        s.command("migrate", uri=f"tcp:127.0.0.1:{port}")
        si, di = wait_both(s, d)
        ok(si.get("status") == "completed" and di.get("status") == "completed",
           "vstate vm -> vstate vm, multifd 4 channels, zstd, workload", f"{si}\n{di}")
        bad = None
        try:
            s.command("migrate-set-parameters", **{"multifd-compression": "lz4"})
        except Exception as e:  # noqa: BLE001
            bad = str(e)
        ok(bad is not None and "lz4" in bad, "an unknown multifd-compression is refused", bad)
        s.command("quit")
        d.command("quit")
    finally:
        stop([src, dst])


def test_into_qemu(tmp, qemu, channels, compression, dirty_rate):
    name = f"vstate vm -> QEMU 7.2, multifd {channels} channels, {compression}" + \
        (f", workload {dirty_rate}" if dirty_rate != "0" else "")
    qsock = os.path.join(tmp, f"q{channels}{compression}.qmp")
    qp = subprocess.Popen([qemu, "-M", "pc-i440fx-7.2", "-m", "64", "-display", "none",
                           "-nodefaults", "-vga", "std", "-serial", "null", "-S",
                           "-qmp", f"unix:{qsock},server=on,wait=off", "-incoming", "defer"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    src, s = source(tmp, f"s{channels}{compression}", dirty_rate)
    try:
        wait_file(qsock)
        q = QMP(qsock)
        for c in (q, s):
            set_multifd(c, channels, compression)
        port = free_port()
        q.command("migrate-incoming", uri=f"tcp:127.0.0.1:{port}")
        s.command("migrate", uri=f"tcp:127.0.0.1:{port}")
        si, qi = wait_both(s, q)
        ok(si.get("status") == "completed" and qi.get("status") == "completed", name,
           f"vstate: {si}\nQEMU: {qi}")
        q.command("quit")
        s.command("quit")
    finally:
        stop([src, qp])


def main():
    qemu = shutil.which("qemu-system-x86_64")
    with tempfile.TemporaryDirectory(prefix="vs-multifd-") as tmp:
        test_vstate_to_vstate(tmp)
        cases = [(2, "none", "50M"), (4, "none", "50M"), (2, "zstd", "50M"), (2, "zlib", "0")]
        for channels, compression, rate in cases:
            if qemu:
                test_into_qemu(tmp, qemu, channels, compression, rate)
            else:
                skip(f"vstate vm -> QEMU 7.2, multifd {channels} channels, {compression}",
                     "qemu-system-x86_64 is not installed")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
