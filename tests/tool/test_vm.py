#!/usr/bin/env python3
"""`vstate vm` as users and QMP scripts drive it: two processes migrating
over real transports, one-shot from the shell and through the QMP monitor
with QEMU's command names, reply shapes and semantics.  TAP output.

usage: test_vm.py VSTATE
"""

import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
from qmp import QMP, QMPError  # noqa: E402
from vmtap import finish, ok, free_port, wait_status  # noqa: E402

VSTATE = sys.argv[1]
RAM = "64M"


def vm(*args, **kw):
    return subprocess.Popen([VSTATE, "vm", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def digests(out):
    return [line for line in out.splitlines() if line.startswith(("ram ", "devices "))]


def one_shot(tmp, name, dst_uri, src_uri, extra=()):
    """A destination and a source process with --once --describe, each
    saving its device state at the switchover (--save-devices)."""
    src_devs = os.path.join(tmp, f"{name}-src.dev")
    dst_devs = os.path.join(tmp, f"{name}-dst.dev")
    dst = vm("--ram", RAM, "--incoming", dst_uri, "--once", "--describe",
             "--save-devices", dst_devs)
    if dst_uri.startswith(("tcp:", "unix:")):
        # The destination prints where it listens once it does.
        line = dst.stdout.readline()
        ok(line.startswith("listening on "), f"{name}: destination listens", line)
    src = vm("--ram", RAM, "--fill", "random", "--max-bandwidth", "0", "--migrate", src_uri,
             "--once", "--describe", "--save-devices", src_devs, *extra)
    sout, serr = src.communicate(timeout=120)
    dout, derr = dst.communicate(timeout=120)
    ok(src.returncode == 0 and dst.returncode == 0, f"{name}: both ends exit 0",
       f"source {src.returncode}: {serr}\ndestination {dst.returncode}: {derr}")
    ok("Migration status: completed" in sout and "downtime:" in sout,
       f"{name}: the source prints the final figures", sout)
    ok(digests(sout) and digests(sout) == digests(dout),
       f"{name}: RAM blocks and devices equal at the switchover", sout + "\n---\n" + dout)
    diff = subprocess.run([VSTATE, "diff", src_devs, dst_devs], capture_output=True, text=True)
    ok(diff.returncode == 0 and diff.stdout == "",
       f"{name}: vstate diff of the saved device states finds no difference",
       diff.stdout + diff.stderr)
    return src_devs, dst_devs


def saved_sections(path):
    """The idstrs of the FULL sections of a saved device state, in order."""
    desc = subprocess.run([VSTATE, "describe", path], capture_output=True, text=True)
    return [f[0] for f in (line.split() for line in desc.stdout.splitlines())
            if len(f) > 4 and f[4] == "FULL"]


def save_paused(tmp, name, *extra):
    """The device state of a VM that never ran, saved by a migration to a command."""
    path = os.path.join(tmp, f"{name}.dev")
    p = vm("--ram", RAM, "--migrate", "exec:cat > /dev/null", "--once", "--paused",
           "--save-devices", path, *extra)
    _, err = p.communicate(timeout=120)
    return path if p.returncode == 0 and os.path.exists(path) else None, err


QEMU_DEVICES = ["i8259", "i8259", "i8254", "mc146818rtc", "serial", "PCIBUS",
                "0000:00:01.0/PIIX3"]


def check_saved_devices(tmp, a_devs, b_devs):
    """Device states saved by two different migrations: the tools read them
    and tell them apart; every shipped device is on the board, and the
    workload drives them."""
    ok(saved_sections(a_devs) == QEMU_DEVICES + ["bootp", "ring", "vsdemo"],
       "--save-devices: a stream of every device's section", saved_sections(a_devs))
    diff = subprocess.run([VSTATE, "diff", a_devs, b_devs], capture_output=True, text=True)
    ok(diff.returncode == 1 and "section " in diff.stdout,
       "vstate diff of two migrations' device states shows their differences",
       f"exit {diff.returncode}\n{diff.stdout}{diff.stderr}")
    never_ran, err = save_paused(tmp, "paused")
    ok(never_ran, "--save-devices after a migration to a command", err)
    if never_ran:
        diff = subprocess.run([VSTATE, "diff", never_ran, a_devs], capture_output=True,
                              text=True)
        driven = [dev for dev in ("i8254", "mc146818rtc", "bootp", "ring")
                  if f"section {dev} instance 0" in diff.stdout]
        ok(len(driven) == 4, "the workload drives the timers, BOOTP leases and the queue device",
           f"changed: {driven}\n{diff.stdout}")
    qemu_only, err = save_paused(tmp, "qemu-only", "--no-demo-device")
    ok(qemu_only and saved_sections(qemu_only) == QEMU_DEVICES,
       "--no-demo-device leaves out the devices QEMU does not know",
       f"{qemu_only and saved_sections(qemu_only)}\n{err}")
    bad = vm("--ram", RAM, "--save-devices", "x.dev")
    _, berr = bad.communicate(timeout=60)
    ok(bad.returncode == 2 and "needs --once" in berr, "--save-devices without --once: refused",
       berr)


def test_one_shot(tmp):
    port = free_port()
    tcp_src, _ = one_shot(tmp, "tcp", f"tcp:127.0.0.1:{port}", f"tcp:127.0.0.1:{port}",
                          ("--dirty-rate", "100M", "--pattern", "hot"))
    sock = os.path.join(tmp, "m.sock")
    _, unix_dst = one_shot(tmp, "unix", f"unix:{sock}", f"unix:{sock}",
                           ("--dirty-rate", "50M", "--pattern", "sequential"))
    check_saved_devices(tmp, tcp_src, unix_dst)
    # exec: has no peer process to wait for: save first, then load.
    path = os.path.join(tmp, "exec.bin")
    src = vm("--ram", RAM, "--fill", "pattern", "--migrate", f"exec:cat > {path}", "--once",
             "--describe", "--max-bandwidth", "0")
    sout, serr = src.communicate(timeout=120)
    dst = vm("--ram", RAM, "--incoming", f"exec:cat {path}", "--once", "--describe")
    dout, derr = dst.communicate(timeout=120)
    ok(src.returncode == 0 and dst.returncode == 0 and digests(sout) == digests(dout),
       "exec: save with cat, load with cat: equal", serr + derr)
    # A destination whose source sends garbage fails and says why.
    garbage = os.path.join(tmp, "garbage.bin")
    with open(garbage, "wb") as f:
        f.write(b"QEVN\0\0\0\3")
    dst = vm("--ram", RAM, "--incoming", f"file:{garbage}")
    dout, derr = dst.communicate(timeout=60)
    ok(dst.returncode == 1 and "load of migration failed: Not a migration stream" in derr,
       "a bad stream: the destination exits 1 naming the problem", derr)


def test_trace(tmp):
    path = os.path.join(tmp, "trace.bin")
    src = vm("--ram", "16M", "--migrate", f"file:{path}", "--once",
             "--trace", "migrate_set_state", "--trace", "savevm_*")
    _, err = src.communicate(timeout=60)
    states = [line.split(" new state ")[1] for line in err.splitlines()
              if ":migrate_set_state new state " in line]
    ok(states == ["setup", "active", "device", "completed"],
       "--trace migrate_set_state: the source's states in order", err)
    ok(any(":savevm_state_complete_precopy" in line for line in err.splitlines()),
       "--trace savevm_*: completion traced", err)
    bad = vm("--trace", "no_such_event")
    _, err = bad.communicate(timeout=30)
    ok(bad.returncode == 2 and "matches no event" in err, "--trace with a typo is an error", err)
    # USDT probes for perf/bpftrace, where the build found <sys/sdt.h>.
    sdt = any(os.path.exists(p) for p in ("/usr/include/sys/sdt.h",
                                           "/usr/include/x86_64-linux-gnu/sys/sdt.h"))
    try:
        notes = subprocess.run(["readelf", "-n", VSTATE], capture_output=True, text=True,
                               check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        notes = None
    if not sdt or notes is None:
        print("# skipping the USDT check: no <sys/sdt.h> or no readelf")
    else:
        ok("Provider: vstate" in notes and "Name: migrate_set_state" in notes,
           "USDT probes of provider vstate are in the binary")


def ram_pages(path, block="pc.ram"):
    """The pages of @block in a legacy stream (the last record of each page
    wins), read up to the first device section: header, configuration,
    then START/PART/END(ram) sections of RAM records."""
    import struct
    data = open(path, "rb").read()
    assert data[:8] == b"QEVM\0\0\0\3"
    pos = 8
    assert data[pos] == 0x07
    pos += 5 + struct.unpack(">I", data[pos + 1:pos + 5])[0]
    pages, last = {}, None
    while data[pos] in (1, 2, 3):
        kind = data[pos]
        pos += 5
        if kind == 1:
            pos += 1 + data[pos] + 8
        while True:
            word = struct.unpack(">Q", data[pos:pos + 8])[0]
            pos += 8
            flags, addr = word & 0xfff, word & ~0xfff
            if flags & 0x10:                      # EOS
                break
            if flags & 0x04:                      # MEM_SIZE and its block list
                left = addr
                while left:
                    n = data[pos]
                    left -= struct.unpack(">Q", data[pos + 1 + n:pos + 9 + n])[0]
                    pos += 9 + n
                continue
            if not flags & 0x20:                  # a block name unless CONTINUE
                last = data[pos + 1:pos + 1 + data[pos]].decode()
                pos += 1 + data[pos]
            if flags & 0x02:                      # ZERO: one fill byte
                page, pos = bytes([data[pos]]) * 4096, pos + 1
            else:                                 # PAGE
                page, pos = data[pos:pos + 4096], pos + 4096
            if last == block:
                pages[addr] = page
        assert data[pos] == 0x7e
        pos += 5
    return pages


def test_qemu(tmp):
    """The real QEMU 7.2 loads what vstate vm sends, live and from a file."""
    qemu = "qemu-system-x86_64"
    if subprocess.run(["sh", "-c", f"command -v {qemu}"], capture_output=True).returncode:
        print(f"# skipping QEMU interop: {qemu} is not installed")
        return

    def start_qemu(incoming, qsock):
        return subprocess.Popen([qemu, "-M", "pc-i440fx-7.2", "-m", "64", "-display", "none",
                                 "-nodefaults", "-vga", "std", "-serial", "null", "-S",
                                 "-qmp", f"unix:{qsock},server=on,wait=off",
                                 "-incoming", incoming],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    # Live, over TCP, with the workload running.
    port = free_port()
    qsock = os.path.join(tmp, "qemu1.qmp")
    qp = start_qemu(f"tcp:127.0.0.1:{port}", qsock)
    try:
        q = QMP(qsock)
        src = vm("--ram", "64M", "--fill", "random", "--dirty-rate", "50M", "--no-demo-device",
                 "--max-bandwidth", "0", "--migrate", f"tcp:127.0.0.1:{port}", "--once")
        sout, serr = src.communicate(timeout=120)
        info = wait_status(q, ("completed", "failed"))
        ok(src.returncode == 0 and info.get("status") == "completed",
           "QEMU 7.2 takes a live migration from vstate vm", f"{info}\n{serr}")
        q.command("quit")
        qp.wait(timeout=30)
    finally:
        if qp.poll() is None:
            qp.kill()
            qp.wait()

    # From a file, then QEMU saves its state again: pc.ram is ours.
    ours, theirs = os.path.join(tmp, "ours.bin"), os.path.join(tmp, "theirs.bin")
    src = vm("--ram", "64M", "--fill", "random", "--no-demo-device", "--migrate",
             f"file:{ours}", "--once")
    src.communicate(timeout=120)
    qsock = os.path.join(tmp, "qemu2.qmp")
    qp = start_qemu(f"exec:cat {ours}", qsock)
    try:
        q = QMP(qsock)
        info = wait_status(q, ("completed", "failed"))
        ok(info.get("status") == "completed", "QEMU 7.2 loads vstate vm's stream", info)
        q.command("migrate", uri=f"exec:cat > {theirs}")
        info = wait_status(q, ("completed", "failed"))
        q.command("quit")
        qp.wait(timeout=30)
        a, b = ram_pages(ours), ram_pages(theirs)
        ok(len(a) == 64 * 256 and a == b, "QEMU saves back the pc.ram it was sent",
           f"{len(a)} pages sent, {len(b)} saved back, "
           f"{sum(1 for k in a if a[k] != b.get(k))} differ")
    finally:
        if qp.poll() is None:
            qp.kill()
            qp.wait()


def test_qmp(tmp):
    dsock, ssock = os.path.join(tmp, "d.qmp"), os.path.join(tmp, "s.qmp")
    # QEMU's own spellings.
    dst = vm("-m", "64", "-qmp", f"unix:{dsock},server=on,wait=off", "-incoming", "defer", "-S")
    src = vm("-m", RAM, "--fill", "random", "--dirty-rate", "50M",
             "-qmp", f"unix:{ssock},server=on,wait=off")
    try:
        d, s = QMP(dsock), QMP(ssock)
        st = d.command("query-status")
        ok(st == {"status": "inmigrate", "singlestep": False, "running": False},
           "destination: query-status inmigrate", st)
        ok(d.command("query-migrate") == {}, "destination: query-migrate before any is {}")
        ok(s.command("query-status")["status"] == "running", "source runs")
        try:
            s.command("no-such-command")
            ok(False, "unknown command is an error")
        except QMPError as e:
            ok("The command no-such-command has not been found" in str(e),
               "unknown command: QEMU's words", e)
        try:
            s.command("migrate-incoming", uri="tcp:127.0.0.1:1")
            ok(False, "migrate-incoming on a source fails")
        except QMPError as e:
            ok("'-incoming' was not specified on the command line" in str(e),
               "migrate-incoming without -incoming: QEMU's words", e)

        try:
            d.command("migrate", uri="exec:cat > /dev/null")
            ok(False, "migrate from a destination fails")
        except QMPError as e:
            ok("Guest is waiting for an incoming migration" in str(e),
               "migrate while inmigrate: QEMU's words", e)
        port = free_port()
        ok(d.command("migrate-incoming", uri=f"tcp:127.0.0.1:{port}") == {},
           "migrate-incoming returns {}")
        # It returned once listening: a connection succeeds at once.
        c = socket.create_connection(("127.0.0.1", port), timeout=1)
        c.close()
        ok(True, "the destination listens when migrate-incoming returns")
        dst.wait(timeout=30)
        ok(dst.returncode == 1, "a source that connects and hangs up fails the destination",
           dst.stderr.read())

        dst = vm("-m", "64", "-qmp", f"unix:{dsock},server=on,wait=off", "-incoming", "defer",
                 "-S")
        d = QMP(dsock)
        port = free_port()
        d.command("migrate-incoming", uri=f"tcp:127.0.0.1:{port}")
        ok(s.command("migrate-set-parameters", **{"downtime-limit": 300,
                                                  "max-bandwidth": 1 << 30}) == {},
           "migrate-set-parameters")
        p = s.command("query-migrate-parameters")
        ok(p["downtime-limit"] == 300 and p["max-bandwidth"] == 1 << 30,
           "query-migrate-parameters reads them back", p)
        ok(s.command("migrate-set-capabilities",
                     capabilities=[{"capability": "xbzrle", "state": False}]) == {},
           "migrate-set-capabilities (off)")
        caps = s.command("query-migrate-capabilities")
        # QEMU 7.2's 21, then vstate's own x-vstate-ber.
        ok(len(caps) == 22 and caps[0] == {"state": False, "capability": "xbzrle"} and
           caps[21] == {"state": False, "capability": "x-vstate-ber"},
           "query-migrate-capabilities lists QEMU 7.2's 21, then x-vstate-ber",
           [caps[:2], caps[21:]])
        s.command("migrate-set-capabilities",
                  capabilities=[{"capability": "auto-converge", "state": True}])
        caps = {c["capability"]: c["state"] for c in s.command("query-migrate-capabilities")}
        ok(caps["auto-converge"] and not caps["xbzrle"], "auto-converge can be turned on", caps)
        try:
            s.command("migrate-set-parameters", **{"cpu-throttle-initial": 150})
            ok(False, "cpu-throttle-initial 150 is refused")
        except QMPError as e:
            ok("Parameter 'cpu_throttle_initial' expects an integer in the range of 1 to 99"
               in str(e), "cpu-throttle-initial out of range: QEMU's words", e)
        try:
            s.command("migrate-set-capabilities",
                      capabilities=[{"capability": "background-snapshot", "state": True}])
            ok(False, "background-snapshot with auto-converge is refused")
        except QMPError as e:
            ok("Background-snapshot is not compatible with auto-converge" in str(e),
               "background-snapshot with auto-converge: QEMU's words", e)
        s.command("migrate-set-parameters", **{"cpu-throttle-initial": 30})
        ok(s.command("query-migrate-parameters")["cpu-throttle-initial"] == 30,
           "cpu-throttle-initial reads back")
        ok(s.command("migrate", uri=f"tcp:127.0.0.1:{port}") == {}, "migrate returns {}")
        first = s.command("query-migrate")["status"]
        ok(first in ("setup", "active", "device", "completed"), "status right after migrate",
           first)
        info = wait_status(s, ("completed", "failed"))
        ok(info.get("status") == "completed", "source completes", info)
        ram = info.get("ram", {})
        keys = ["transferred", "remaining", "total", "duplicate", "skipped", "normal",
                "normal-bytes", "dirty-pages-rate", "mbps", "dirty-sync-count",
                "postcopy-requests", "page-size", "multifd-bytes", "pages-per-second",
                "precopy-bytes", "downtime-bytes", "postcopy-bytes",
                "dirty-sync-missed-zero-copy"]
        ok(list(ram.keys()) == keys and ram["remaining"] == 0 and ram["page-size"] == 4096,
           "completed: MigrationStats members in QEMU's order", list(ram.keys()))
        ok(list(info.keys()) == ["status", "ram", "total-time", "downtime", "setup-time"],
           "completed: MigrationInfo members", list(info.keys()))
        ok(s.command("query-status")["status"] == "postmigrate", "source is postmigrate")
        dinfo = wait_status(d, ("completed", "failed"))
        ok(dinfo == {"status": "completed"}, "destination reports completed only", dinfo)
        ok(d.command("query-status")["status"] == "paused", "-S: destination stays paused")
        d.command("cont")
        ok(d.command("query-status")["status"] == "running", "cont runs the destination")

        # Again, running, to a slow file: migrate resets the status to setup first.
        s.command("cont")
        ok(s.command("query-status")["status"] == "running", "cont after postmigrate")
        s.command("migrate-set-parameters", **{"max-bandwidth": 8 << 20})
        s.command("migrate", uri=f"file:{os.path.join(tmp, 'again.bin')}")
        st = s.command("query-migrate")["status"]
        ok(st in ("setup", "active"), "a second migrate never shows the last completed", st)
        try:
            s.command("migrate", uri="exec:cat > /dev/null")
            ok(False, "migrate while one runs fails")
        except QMPError as e:
            ok("There's a migration process in progress" in str(e), "busy: QEMU's words", e)
        active = wait_status(s, ("active",))
        ok("ram" in active and "expected-downtime" in active and "total-time" in active,
           "active: figures present", active)
        s.command("migrate_cancel")
        info = wait_status(s, ("cancelled",))
        ok(info == {"status": "cancelled"}, "migrate_cancel: cancelled", info)
        ok(s.command("query-status")["status"] == "running", "cancelled: the source runs")
        ok(s.command("quit") == {}, "quit")
        ok(src.wait(timeout=30) == 0, "source exits 0 after quit")
        d.command("quit")
        ok(dst.wait(timeout=30) == 0, "destination exits 0 after quit")
    finally:
        for p in (src, dst):
            if p.poll() is None:
                p.kill()
                p.wait()


def main():
    with tempfile.TemporaryDirectory(prefix="vs-vm-") as tmp:
        test_one_shot(tmp)
        test_trace(tmp)
        test_qemu(tmp)
        test_qmp(tmp)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
