#!/usr/bin/env python3
"""Postcopy through the QMP monitor of two `vstate vm` processes, with
QEMU 7.2's commands and words: capabilities on both ends, migrate,
migrate-start-postcopy, query-migrate in postcopy-active with its
figures, completion; the connection cut by a proxy between the two, both
ends postcopy-paused, migrate-recover and migrate with resume, completion;
postcopy-preempt; max-postcopy-bandwidth; the errors for wrong use; QEMU
7.2 as the destination of a postcopy, with and without preempt.
TAP output.

usage: test_vm_postcopy.py VSTATE
"""

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
from qmp import QMP, QMPError  # noqa: E402
from vmtap import finish, ok, free_port, wait_status  # noqa: E402

VSTATE = sys.argv[1]
RAM = "64M"


def vm(*args):
    return subprocess.Popen([VSTATE, "vm", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def expect_error(fn, words, name):
    try:
        fn()
        ok(False, name, "no error")
    except QMPError as e:
        ok(words in str(e), name, e)


class Proxy:
    """Forwards every connection on a TCP port to the destination's; cut()
    breaks them all at once, as a failing network would."""

    def __init__(self, dst_port):
        self.dst_port = dst_port
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(4)
        self.port = self.lsock.getsockname()[1]
        self.socks = []
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                a, _ = self.lsock.accept()
            except OSError:
                return
            b = socket.create_connection(("127.0.0.1", self.dst_port))
            with self.lock:
                if self.closed:
                    a.close()
                    b.close()
                    return
                self.socks += [a, b]
            threading.Thread(target=self._pump, args=(a, b), daemon=True).start()
            threading.Thread(target=self._pump, args=(b, a), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        with self.lock:
            self.closed = True
            socks, self.socks = self.socks, []
        self.lsock.close()
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def start_pair(tmp, name):
    dsock, ssock = os.path.join(tmp, f"{name}-d.qmp"), os.path.join(tmp, f"{name}-s.qmp")
    # The destination's own workload runs during postcopy and faults on missing pages.
    dst = vm("-m", "64", "--dirty-rate", "20M", "-qmp", f"unix:{dsock},server=on,wait=off",
             "-incoming", "defer")
    src = vm("-m", RAM, "--fill", "random", "--dirty-rate", "200M",
             "-qmp", f"unix:{ssock},server=on,wait=off")
    return src, dst, QMP(ssock), QMP(dsock)


def set_caps(q, **caps):
    return q.command("migrate-set-capabilities",
                     capabilities=[{"capability": k.replace("_", "-"), "state": v}
                                   for k, v in caps.items()])


def stop(procs):
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_errors(tmp):
    src, dst, s, d = start_pair(tmp, "err")
    try:
        expect_error(lambda: s.command("migrate-start-postcopy"),
                     "Postcopy must be started after migration has been started",
                     "migrate-start-postcopy before migrate: QEMU's words")
        expect_error(lambda: d.command("migrate-recover", uri="tcp:127.0.0.1:0"),
                     "Migrate recover can only be run when postcopy is paused.",
                     "migrate-recover while not paused: QEMU's words")
        expect_error(lambda: s.command("migrate", uri="tcp:127.0.0.1:1", resume=True),
                     "Cannot resume if there is no paused migration",
                     "migrate resume without a paused migration: QEMU's words")
        expect_error(lambda: set_caps(s, postcopy_preempt=True),
                     "Postcopy preempt requires postcopy-ram",
                     "postcopy-preempt without postcopy-ram: QEMU's words")
        expect_error(lambda: set_caps(s, postcopy_ram=True, background_snapshot=True),
                     "Background-snapshot is not compatible with postcopy-ram",
                     "postcopy-ram with background-snapshot: QEMU's words")
        expect_error(lambda: set_caps(s, postcopy_ram=True, multifd=True),
                     "multifd", "postcopy-ram with multifd: refused, naming multifd")
        caps = {c["capability"]: c["state"] for c in s.command("query-migrate-capabilities")}
        ok(not caps["postcopy-ram"] and not caps["postcopy-preempt"] and not caps["multifd"],
           "refused capabilities stay off", caps)
        # A running precopy migration without the capability cannot switch.
        port = free_port()
        d.command("migrate-incoming", uri=f"tcp:127.0.0.1:{port}")
        s.command("migrate-set-parameters", **{"max-bandwidth": 8 << 20})
        s.command("migrate", uri=f"tcp:127.0.0.1:{port}")
        wait_status(s, ("active",))
        expect_error(lambda: s.command("migrate-start-postcopy"),
                     "Enable postcopy with migrate_set_capability before the start of migration",
                     "migrate-start-postcopy without postcopy-ram: QEMU's words")
        s.command("migrate_cancel")
        ok(wait_status(s, ("cancelled",)).get("status") == "cancelled",
           "that migration cancels")
        # Postcopy needs a return path: a socket.
        set_caps(s, postcopy_ram=True)
        s.command("migrate", uri="exec:cat > /dev/null")
        info = wait_status(s, ("failed", "completed"))
        ok(info.get("status") == "failed" and
           "Unable to open return-path for postcopy" in info.get("error-desc", ""),
           "postcopy-ram to exec: fails with QEMU's words", info)
        ok(s.command("query-status")["status"] == "running", "the source runs on")
    finally:
        stop((src, dst))


def test_cut_recover(tmp):
    """postcopy-ram through a proxy; the proxy cut during postcopy; recovery."""
    src, dst, s, d = start_pair(tmp, "cut")
    try:
        for q in (s, d):
            set_caps(q, postcopy_ram=True)
        caps = {c["capability"]: c["state"] for c in s.command("query-migrate-capabilities")}
        ok(caps["postcopy-ram"], "postcopy-ram reads back on", caps)
        # Precopy cannot keep up with the guest; postcopy's sweep is slowed so the cut lands in it.
        s.command("migrate-set-parameters", **{"max-bandwidth": 32 << 20,
                                               "max-postcopy-bandwidth": 16 << 20,
                                               "downtime-limit": 50})
        p = s.command("query-migrate-parameters")
        ok(p.get("max-postcopy-bandwidth") == 16 << 20,
           "max-postcopy-bandwidth reads back", p)
        port = free_port()
        d.command("migrate-incoming", uri=f"tcp:127.0.0.1:{port}")
        proxy = Proxy(port)
        s.command("migrate", uri=f"tcp:127.0.0.1:{proxy.port}")
        ok(wait_status(s, ("active",)).get("status") == "active", "precopy runs")
        time.sleep(0.3)
        ok(s.command("migrate-start-postcopy") == {}, "migrate-start-postcopy returns {}")
        info = wait_status(s, ("postcopy-active",))
        ok(info.get("status") == "postcopy-active", "source: postcopy-active", info)
        ok(wait_status(d, ("postcopy-active",)).get("status") == "postcopy-active",
           "destination: postcopy-active")
        # LISTEN (postcopy-active) comes just before RUN, which starts the guest.
        deadline = time.monotonic() + 10
        while (d.command("query-status")["status"] != "running" and
               time.monotonic() < deadline):
            time.sleep(0.02)
        ok(d.command("query-status")["status"] == "running",
           "the destination runs before all RAM arrived")
        time.sleep(0.5)
        info = s.command("query-migrate")
        ram = info.get("ram", {})
        ok(info.get("status") == "postcopy-active" and ram.get("postcopy-bytes", 0) > 0 and
           "postcopy-requests" in ram,
           "query-migrate in postcopy: ram.postcopy-bytes grows, postcopy-requests there", info)
        proxy.cut()
        sp = wait_status(s, ("postcopy-paused",), timeout=20)
        dp = wait_status(d, ("postcopy-paused",), timeout=20)
        ok(sp.get("status") == "postcopy-paused" and dp.get("status") == "postcopy-paused",
           "a cut connection: both ends postcopy-paused", f"{sp}\n{dp}")
        expect_error(lambda: s.command("migrate", uri="tcp:127.0.0.1:1"),
                     "There's a migration process in progress",
                     "migrate without resume while paused: busy")
        rport = free_port()
        ok(d.command("migrate-recover", uri=f"tcp:127.0.0.1:{rport}") == {},
           "migrate-recover returns {}")
        expect_error(lambda: d.command("migrate-recover", uri="tcp:127.0.0.1:0"),
                     "Migrate recovery is triggered already",
                     "a second migrate-recover: QEMU's words")
        ok(s.command("migrate", uri=f"tcp:127.0.0.1:{rport}", resume=True) == {},
           "migrate with resume returns {}")
        info = wait_status(s, ("completed", "failed"), timeout=120)
        ok(info.get("status") == "completed", "source completes after the recovery", info)
        ram = info.get("ram", {})
        ok(ram.get("postcopy-requests", 0) > 0 and ram.get("postcopy-bytes", 0) > 0,
           "completed: the destination asked for pages, postcopy bytes counted", ram)
        dinfo = wait_status(d, ("completed", "failed"), timeout=60)
        ok(dinfo.get("status") == "completed", "destination completes", dinfo)
        ok(d.command("query-status")["status"] == "running", "the destination runs on")
        ok(s.command("query-status")["status"] == "postmigrate", "source is postmigrate")
        s.command("quit")
        d.command("quit")
        ok(src.wait(timeout=30) == 0 and dst.wait(timeout=30) == 0, "both exit 0 after quit")
    finally:
        stop((src, dst))


def test_preempt(tmp):
    """postcopy-ram and postcopy-preempt on both ends, straight over TCP."""
    src, dst, s, d = start_pair(tmp, "pre")
    try:
        for q in (s, d):
            set_caps(q, postcopy_ram=True, postcopy_preempt=True, postcopy_blocktime=True)
        caps = {c["capability"]: c["state"] for c in d.command("query-migrate-capabilities")}
        ok(caps["postcopy-preempt"] and caps["postcopy-ram"],
           "postcopy-preempt reads back on", caps)
        s.command("migrate-set-parameters", **{"max-bandwidth": 32 << 20,
                                               "max-postcopy-bandwidth": 32 << 20,
                                               "downtime-limit": 50})
        port = free_port()
        d.command("migrate-incoming", uri=f"tcp:127.0.0.1:{port}")
        s.command("migrate", uri=f"tcp:127.0.0.1:{port}")
        wait_status(s, ("active",))
        time.sleep(0.3)
        s.command("migrate-start-postcopy")
        info = wait_status(s, ("completed", "failed"), timeout=120)
        ok(info.get("status") == "completed", "preempt: source completes", info)
        ok(info.get("ram", {}).get("postcopy-requests", 0) > 0,
           "preempt: the destination asked for pages", info.get("ram"))
        dinfo = wait_status(d, ("completed", "failed"), timeout=60)
        ok(dinfo.get("status") == "completed" and "postcopy-blocktime" in dinfo and
           "postcopy-vcpu-blocktime" in dinfo,
           "preempt: destination completes, with postcopy-blocktime", dinfo)
        s.command("quit")
        d.command("quit")
        ok(src.wait(timeout=30) == 0 and dst.wait(timeout=30) == 0, "both exit 0 after quit")
    finally:
        stop((src, dst))


def test_qemu(tmp):
    """QEMU 7.2 as the destination of a postcopy from vstate vm, its guest
    running (so it faults and asks for pages), without and with preempt."""
    qemu = "qemu-system-x86_64"
    if subprocess.run(["sh", "-c", f"command -v {qemu}"], capture_output=True).returncode:
        print(f"# skipping QEMU interop: {qemu} is not installed")
        return
    for preempt in (False, True):
        name = "QEMU 7.2 destination" + (", postcopy-preempt" if preempt else "")
        qsock = os.path.join(tmp, f"q{preempt:d}.qmp")
        ssock = os.path.join(tmp, f"s{preempt:d}.qmp")
        qp = subprocess.Popen([qemu, "-M", "pc-i440fx-7.2", "-m", "64", "-display", "none",
                               "-nodefaults", "-vga", "std", "-serial", "null",
                               "-qmp", f"unix:{qsock},server=on,wait=off", "-incoming", "defer"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        src = vm("-m", "64", "--fill", "random", "--dirty-rate", "100M", "--no-demo-device",
                 "-qmp", f"unix:{ssock},server=on,wait=off")
        try:
            q, s = QMP(qsock), QMP(ssock)
            for mon in (q, s):
                set_caps(mon, postcopy_ram=True, postcopy_preempt=preempt)
            port = free_port()
            q.command("migrate-incoming", uri=f"tcp:127.0.0.1:{port}")
            s.command("migrate-set-parameters", **{"max-bandwidth": 16 << 20,
                                                   "max-postcopy-bandwidth": 32 << 20})
            s.command("migrate", uri=f"tcp:127.0.0.1:{port}")
            wait_status(s, ("active",))
            time.sleep(0.3)
            s.command("migrate-start-postcopy")
            info = wait_status(s, ("completed", "failed"), timeout=120)
            qinfo = wait_status(q, ("completed", "failed"), timeout=60)
            ok(info.get("status") == "completed" and qinfo.get("status") == "completed",
               f"{name}: both complete", f"{info}\n{qinfo}")
            ok(info.get("ram", {}).get("postcopy-bytes", 0) > 0 and
               q.command("query-status")["status"] == "running",
               f"{name}: pages followed in postcopy while QEMU's guest ran", info.get("ram"))
            q.command("quit")
            s.command("quit")
        finally:
            stop((qp, src))


def main():
    with tempfile.TemporaryDirectory(prefix="vs-vm-pc-") as tmp:
        test_errors(tmp)
        test_cut_recover(tmp)
        test_preempt(tmp)
        test_qemu(tmp)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
