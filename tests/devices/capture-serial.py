#!/usr/bin/env python3
"""Capture QEMU 7.2 migration streams holding a 16550A UART in known states.

Usage: capture-serial.py OUTDIR
       capture-serial.py --feed STREAM OUTDIR

Starts `qemu-system-x86_64 -M pc -nodefaults -serial null` paused, programs
COM1 (port 0x3f8) through the monitor's `o` (port write) command, and
migrates to OUTDIR/<name>.bin:

  idle     the UART as reset leaves it;
  fifo     115200 8N1, FIFOs on with trigger level 1, all interrupts
           enabled, scratch 0x5a, loopback on, "hi!" sent (so received):
           receive FIFO, armed character timeout, pending THRE;
  timeout  as fifo with trigger level 14, then the machine runs 0.3 s so
           the character timeout fires; its firmware is a 64 KiB image
           whose reset vector halts the CPU, so nothing but time touches
           the UART;
  modem    COM1 on a tty backend (a pseudo-terminal, whose modem lines all
           read low) instead of null, so QEMU polls the modem lines: IER.MSI
           on, then MCR = OUT2|RTS|DTR: the poll subsection with its timer
           armed one character time ahead.

Without QEMU, or when a step fails, it writes the reason to OUTDIR/why and
exits 0: the C test then skips the QEMU cases and prints that reason.

--feed loads STREAM (a capture with its serial section rewritten) into a
QEMU started like the captures, migrates it straight out to
OUTDIR/feed-back.bin, then reads COM1's SCR, IIR, RBR twice and LSR and
writes them to OUTDIR/feed.txt, one "name value" line each.  It exits 1
when QEMU refuses the stream.
"""

import os
import shlex
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
from qmp import QMP, QMPError  # noqa: E402

sys.dont_write_bytecode = True
import qemu_feed  # noqa: E402

QEMU = os.environ.get("QEMU", "qemu-system-x86_64")
COM1 = 0x3F8

# (register offset, value) writes per capture, in order.
SETUP = [
    (3, 0x83),   # LCR: DLAB, 8N1
    (0, 0x01),   # DLL: divisor 1 = 115200 baud
    (1, 0x00),   # DLM
    (3, 0x03),   # LCR: 8N1
    (7, 0x5A),   # SCR
    (1, 0x0F),   # IER: all four sources
    (4, 0x1B),   # MCR: loopback, OUT2, RTS, DTR
]
SEND = [(0, ord("h")), (0, ord("i")), (0, ord("!"))]

# A firmware image that only halts: reset vector (top 16 bytes) = cli; hlt; jmp $-1.
HALT_BIOS = bytes(0xFFF0) + bytes([0xFA, 0xF4, 0xEB, 0xFD]) + bytes(12)

# name: (writes, seconds to run, backend: "null" or "tty")
CAPTURES = {
    "idle": ([], 0.0, "null"),
    "fifo": (SETUP + [(2, 0x07)] + SEND, 0.0, "null"),    # FCR: FIFOs on, both reset, trigger 1
    "timeout": (SETUP + [(2, 0xC7)] + SEND, 0.3, "null"),  # trigger 14; then run
    "modem": ([(1, 0x08), (4, 0x0B)], 0.0, "tty"),
}


def give_up(outdir: str, why: str) -> int:
    with open(os.path.join(outdir, "why"), "w") as f:
        f.write(why + "\n")
    return 0


def capture(outdir: str, name: str, writes, run_for: float, backend: str) -> None:
    sock = os.path.join(outdir, f"{name}.qmp")
    argv = [QEMU, "-M", "pc", "-nodefaults", "-display", "none", "-accel", "tcg",
            "-m", "32M", "-S", "-qmp", f"unix:{sock},server=on,wait=off"]
    pty = None
    if run_for:
        bios = os.path.join(outdir, "halt.bin")
        with open(bios, "wb") as f:
            f.write(HALT_BIOS)
        argv += ["-bios", bios]
    if backend == "tty":
        pty = os.openpty()
        argv += ["-chardev", f"serial,id=com1,path={os.ttyname(pty[1])}",
                 "-serial", "chardev:com1"]
    else:
        argv += ["-serial", "null"]
    log = open(os.path.join(outdir, f"{name}.log"), "w")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    qmp = None
    try:
        qmp = QMP(sock)
        for reg, val in writes:
            qmp.command("human-monitor-command",
                        **{"command-line": f"o /b {COM1 + reg:#x} {val:#x}"})
        if run_for:
            qmp.command("cont")
            time.sleep(run_for)
            qmp.command("stop")
        path = os.path.join(outdir, f"{name}.bin")
        qmp.command("migrate", uri=f"exec:cat > {shlex.quote(path)}")
        qmp.wait_migration()
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
        if pty:
            os.close(pty[0])
            os.close(pty[1])
        for leftover in (sock, os.path.join(outdir, f"{name}.log")):
            if os.path.exists(leftover):
                os.remove(leftover)


FEED_READS = [("scr", 7), ("iir", 2), ("rbr1", 0), ("rbr2", 0), ("lsr", 5)]


def feed(stream: str, outdir: str) -> int:
    hmp = [f"i /b {COM1 + reg:#x}" for _, reg in FEED_READS]
    machine = ["-M", "pc", "-nodefaults", "-m", "32M", "-serial", "null"]
    rc = qemu_feed.feed(stream, outdir, hmp, machine)
    if rc:
        return rc
    # "portb[0x03ff] = 0xa5" -> "scr 165"
    path = os.path.join(outdir, "feed.txt")
    with open(path) as f:
        outputs = f.read().splitlines()
    with open(path, "w") as f:
        for (name, _), line in zip(FEED_READS, outputs):
            f.write(f"{name} {int(line.split('=')[1], 16)}\n")
    return 0


def main() -> int:
    if sys.argv[1] == "--feed":
        return feed(sys.argv[2], sys.argv[3])
    outdir = sys.argv[1]
    if not shutil.which(QEMU):
        return give_up(outdir, f"{QEMU} is not installed (Debian: qemu-system-x86)")
    for name, (writes, run_for, backend) in CAPTURES.items():
        try:
            capture(outdir, name, writes, run_for, backend)
        except (QMPError, OSError, subprocess.SubprocessError) as e:
            return give_up(outdir, f"capturing '{name}' with {QEMU} failed: {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
