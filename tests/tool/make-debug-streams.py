#!/usr/bin/env python3
"""Make the streams docs/debugging.md diagnoses, from a real QEMU 7.2 stream.

Usage: make-debug-streams.py CORPUS_DIR OUT_DIR

From streams/a-pc-bare/ran2s.bin (what QEMU 7.2 sent after SeaBIOS ran):
  src.bin            the stream as QEMU sent it
  dst-no-port92.bin  what a destination started without the port92 device
                     saves: the port92 section and its description removed
  dst-resaved.bin    what a destination whose keyboard controller lost the
                     translation bit saves: pckbd.kbd.mode 0x61 -> 0x21
  src-newer.bin      what a newer source sends: i8259 instance 0 carries a
                     subsection 'i8259/future' (one byte, described in the
                     trailer as QEMU describes what it sends)

The section layout comes from the corpus's own scan (ran2s.sections.json),
not from vstate, so the streams do not depend on what they test.
"""
import json
import os
import struct
import sys

FUTURE_NAME = b"i8259/future"
FUTURE_VALUE = 0x5A
PCKBD_MODE_OFFSET = 2          # write_cmd, status, mode (QEMU's vmstate_kbd)
PCKBD_MODE_NEW = 0x21


def split_trailer(data):
    """(stream up to EOF inclusive, trailer JSON object) of a legacy stream."""
    for at in range(len(data) - 6, 0, -1):
        if data[at] == 0x00 and data[at + 1] == 0x06:
            (n,) = struct.unpack(">I", data[at + 2:at + 6])
            if at + 6 + n == len(data):
                return data[:at + 1], json.loads(data[at + 6:])
    raise SystemExit("no description trailer found")


def join_trailer(head, desc):
    text = json.dumps(desc, separators=(",", ":")).encode()
    return head + b"\x06" + struct.pack(">I", len(text)) + text


def find_record(records, idstr, instance):
    for r in records:
        if r.get("idstr") == idstr and r.get("instance_id") == instance and \
                r["type"] == "FULL":
            return r
    raise SystemExit("no FULL section %s %d in the scan" % (idstr, instance))


def find_device(desc, name, instance):
    for d in desc["devices"]:
        if d["name"] == name and d["instance_id"] == instance:
            return d
    raise SystemExit("no description of %s %d" % (name, instance))


def main():
    corpus, out = sys.argv[1], sys.argv[2]
    base = os.path.join(corpus, "streams", "a-pc-bare", "ran2s")
    data = open(base + ".bin", "rb").read()
    records = json.load(open(base + ".sections.json"))["records"]
    head, desc = split_trailer(data)
    os.makedirs(out, exist_ok=True)

    def write(name, payload):
        with open(os.path.join(out, name), "wb") as f:
            f.write(payload)

    write("src.bin", data)

    # A device missing on the destination: no section, no description.
    r = find_record(records, "port92", 0)
    no_port92 = head[:r["offset"]] + head[r["offset"] + r["length"]:]
    d2 = json.loads(json.dumps(desc))
    d2["devices"].remove(find_device(d2, "port92", 0))
    write("dst-no-port92.bin", join_trailer(no_port92, d2))

    # A field that came back changed.
    r = find_record(records, "pckbd", 0)
    at = r["payload_offset"] + PCKBD_MODE_OFFSET
    if head[at] != 0x61:
        raise SystemExit("pckbd.kbd.mode is 0x%02x, not 0x61" % head[at])
    write("dst-resaved.bin", join_trailer(head[:at] + bytes([PCKBD_MODE_NEW]) + head[at + 1:],
                                          desc))

    # A subsection the destination does not know, at the end of the body.
    r = find_record(records, "i8259", 0)
    end = r["payload_offset"] + r["payload_length"]
    sub = bytes([0x05, len(FUTURE_NAME)]) + FUTURE_NAME + struct.pack(">I", 1) + \
        bytes([FUTURE_VALUE])
    d3 = json.loads(json.dumps(desc))
    find_device(d3, "i8259", 0)["subsections"] = [{
        "vmsd_name": FUTURE_NAME.decode(), "version": 1,
        "fields": [{"name": "pending_eoi", "type": "uint8", "size": 1}],
    }]
    write("src-newer.bin", join_trailer(head[:end] + sub + head[end:], d3))


if __name__ == "__main__":
    main()
