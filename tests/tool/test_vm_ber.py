#!/usr/bin/env python3
"""`vstate vm` migrating in vstate's BER stream form (`--ber`, QMP capability
x-vstate-ber): two processes over tcp and unix, a live capture to a file
that `vstate dump`, `describe` and `convert` read and a destination loads,
both ends set differently, and the capability through QMP.  TAP output.

usage: test_vm_ber.py VSTATE
"""

import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
from qmp import QMP, QMPError  # noqa: E402
from vmtap import finish, ok  # noqa: E402

VSTATE = sys.argv[1]
RAM = "64M"


def vm(*args):
    return subprocess.Popen([VSTATE, "vm", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def run(*args):
    return subprocess.run([VSTATE, *args], capture_output=True, text=True)


def digests(out):
    return [line for line in out.splitlines() if line.startswith(("ram ", "devices "))]


def pair(tmp, name, dst_uri, src_extra=(), dst_ber=True, src_ber=True):
    """A destination and a source process, --once --describe, device states saved."""
    src_devs = os.path.join(tmp, f"{name}-src.dev")
    dst_devs = os.path.join(tmp, f"{name}-dst.dev")
    dst = vm("--ram", RAM, "--incoming", dst_uri, "--once", "--describe",
             "--save-devices", dst_devs, *(["--ber"] if dst_ber else []))
    line = dst.stdout.readline()
    ok(line.startswith("listening on "), f"{name}: destination listens", line)
    src_uri = line.split()[-1] if line.startswith("listening on ") else dst_uri
    src = vm("--ram", RAM, "--fill", "random", "--max-bandwidth", "0", "--migrate", src_uri,
             "--once", "--describe", "--save-devices", src_devs, *src_extra,
             *(["--ber"] if src_ber else []))
    sout, serr = src.communicate(timeout=120)
    dout, derr = dst.communicate(timeout=120)
    return src, sout, serr, dst, dout, derr, src_devs, dst_devs


def test_pair(tmp, name, dst_uri, src_extra=()):
    src, sout, serr, dst, dout, derr, src_devs, dst_devs = pair(tmp, name, dst_uri, src_extra)
    ok(src.returncode == 0 and dst.returncode == 0, f"{name}: both ends exit 0",
       f"source {src.returncode}: {serr}\ndestination {dst.returncode}: {derr}")
    ok("Migration status: completed" in sout and "downtime:" in sout,
       f"{name}: the source prints the final figures", sout)
    ok(digests(sout) and digests(sout) == digests(dout),
       f"{name}: RAM blocks and devices equal at the switchover", sout + "\n---\n" + dout)
    diff = run("diff", src_devs, dst_devs)
    ok(diff.returncode == 0 and diff.stdout == "",
       f"{name}: vstate diff of the saved device states finds no difference",
       diff.stdout + diff.stderr)


def test_capture(tmp):
    """A running guest captured to file: in BER form, then read by the tools
    and loaded: by a BER destination, and converted to legacy by a legacy one."""
    cap = os.path.join(tmp, "live.ber")
    src = vm("--ram", RAM, "--fill", "random", "--dirty-rate", "50M", "--max-bandwidth", "0",
             "--migrate", f"file:{cap}", "--once", "--describe", "--ber")
    sout, serr = src.communicate(timeout=120)
    ok(src.returncode == 0 and os.path.exists(cap), "capture: the source completes",
       f"{src.returncode}: {serr}")
    with open(cap, "rb") as f:
        head = f.read(2)
    ok(head == b"\x30\x80", "capture: the file is a BER stream (30 80)", head.hex())

    dump = run("dump", "--ram=summary", cap)
    ok(dump.returncode == 0 and "pc.ram" in dump.stdout and "i8259" in dump.stdout,
       "capture: vstate dump reads it", dump.stdout[-2000:] + dump.stderr)
    desc = run("describe", cap)
    full = [f[0] for f in (line.split() for line in desc.stdout.splitlines())
            if len(f) > 4 and f[4] == "FULL"]
    ok(desc.returncode == 0 and "vstate BER stream" in desc.stdout and
       full == ["i8259", "i8259", "i8254", "mc146818rtc", "serial", "PCIBUS",
                "0000:00:01.0/PIIX3", "bootp", "ring", "vsdemo"],
       "capture: vstate describe lists the RAM rounds and every device section",
       desc.stdout + desc.stderr)
    parts = [f for f in (line.split() for line in desc.stdout.splitlines())
             if len(f) > 4 and f[0] == "ram" and f[4] == "PART"]
    ok(len(parts) >= 1, "capture: RAM went in PART rounds", desc.stdout)

    dst = vm("--ram", RAM, "--incoming", f"file:{cap}", "--once", "--describe", "--ber")
    dout, derr = dst.communicate(timeout=120)
    ok(dst.returncode == 0 and digests(sout) and digests(dout) == digests(sout),
       "capture: a BER destination loads it; RAM and devices equal the source's",
       sout + "\n---\n" + dout + derr)

    legacy = os.path.join(tmp, "live.bin")
    conv = run("convert", "--to=legacy", cap, legacy)
    ok(conv.returncode == 0, "capture: vstate convert makes it a legacy stream", conv.stderr)
    dst = vm("--ram", RAM, "--incoming", f"file:{legacy}", "--once", "--describe")
    dout, derr = dst.communicate(timeout=120)
    ok(dst.returncode == 0 and digests(dout) == digests(sout),
       "capture: converted to legacy, a legacy destination loads the same state",
       dout + derr)


def test_mismatch(tmp):
    for dst_ber, src_ber, want in ((True, False, "sends QEMU's legacy stream"),
                                   (False, True, "sends vstate's BER stream form")):
        name = f"mismatch ({'BER' if src_ber else 'legacy'} source)"
        src, sout, serr, dst, dout, derr, _, _ = pair(tmp, "mm", "tcp:127.0.0.1:0",
                                                       dst_ber=dst_ber, src_ber=src_ber)
        ok(dst.returncode == 1 and want in derr and "x-vstate-ber" in derr,
           f"{name}: the destination refuses it, saying why", derr)
        ok(src.returncode != 0, f"{name}: the source fails too", serr)


def test_qmp(tmp):
    dsock, ssock = os.path.join(tmp, "d.qmp"), os.path.join(tmp, "s.qmp")
    dst = vm("-m", RAM, "-qmp", f"unix:{dsock},server=on,wait=off", "-incoming", "defer", "-S")
    src = vm("-m", RAM, "--fill", "random", "--dirty-rate", "20M",
             "-qmp", f"unix:{ssock},server=on,wait=off")
    try:
        d, s = QMP(dsock), QMP(ssock)
        caps = {c["capability"]: c["state"] for c in s.command("query-migrate-capabilities")}
        ok(caps.get("x-vstate-ber") is False and len(caps) == 22,
           "query-migrate-capabilities: x-vstate-ber after QEMU's 21, off", caps)
        on = [{"capability": "x-vstate-ber", "state": True}]
        ok(s.command("migrate-set-capabilities", capabilities=on) == {} and
           d.command("migrate-set-capabilities", capabilities=on) == {},
           "migrate-set-capabilities x-vstate-ber on both ends")
        caps = {c["capability"]: c["state"] for c in d.command("query-migrate-capabilities")}
        ok(caps.get("x-vstate-ber") is True, "query-migrate-capabilities shows it on", caps)
        try:
            s.command("migrate-set-capabilities",
                      capabilities=[{"capability": "background-snapshot", "state": True}])
            ok(False, "background-snapshot with x-vstate-ber is refused")
        except QMPError as e:
            ok("not compatible with x-vstate-ber" in str(e),
               "background-snapshot with x-vstate-ber is refused", e)
        sock = os.path.join(tmp, "ber-qmp.sock")
        d.command("migrate-incoming", uri=f"unix:{sock}")
        s.command("migrate-set-parameters", **{"max-bandwidth": 0})
        ok(s.command("migrate", uri=f"unix:{sock}") == {}, "migrate returns {}")
        deadline = time.monotonic() + 60
        info = {}
        while time.monotonic() < deadline:
            info = s.command("query-migrate")
            if info.get("status") in ("completed", "failed", "cancelled"):
                break
            time.sleep(0.05)
        ram = info.get("ram", {})
        ok(info.get("status") == "completed" and ram.get("transferred", 0) > 64 << 20 and
           ram.get("remaining") == 0, "query-migrate: completed with the figures", info)
        dinfo = {}
        while time.monotonic() < deadline:
            dinfo = d.command("query-migrate")
            if dinfo.get("status") in ("completed", "failed"):
                break
            time.sleep(0.05)
        ok(dinfo.get("status") == "completed", "the destination completed", dinfo)
        d.command("quit")
        s.command("quit")
    finally:
        for p in (dst, src):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def main():
    print("TAP version 13")
    with tempfile.TemporaryDirectory(prefix="vs-vm-ber-") as tmp:
        test_pair(tmp, "tcp", "tcp:127.0.0.1:0")
        test_pair(tmp, "unix with workload", f"unix:{os.path.join(tmp, 'vm-ber.sock')}",
                  ("--dirty-rate", "50M"))
        test_capture(tmp)
        test_mismatch(tmp)
        test_qmp(tmp)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
