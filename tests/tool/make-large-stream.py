#!/usr/bin/env python3
"""Write a legacy migration stream with one large RAM block, for measuring
`vstate dump` on big inputs without a VM.

usage: make-large-stream.py MIB OUT

The stream has a configuration section, a RAM section START with MEM_SIZE,
PART sections of 4096 page records each (every fourth page a zero page, the
others data pages whose bytes depend on the page number), an END, EOF and a
description trailer listing no devices.  It prints the block's SHA-256 (pages never sent
and zero pages as zero bytes), the page counts and the stream's size as
`key value` lines, for the caller to check against what vstate reports.
"""

import hashlib
import struct
import sys

PAGE = 4096
FLAG_ZERO, FLAG_MEM_SIZE, FLAG_PAGE, FLAG_EOS, FLAG_CONTINUE = 0x02, 0x04, 0x08, 0x10, 0x20
PAGES_PER_PART = 4096
BLOCK = b"pc.ram"
RAM_ID = 2


def section_header(kind, sid, name=None):
    if name is None:
        return struct.pack(">BI", kind, sid)
    return struct.pack(">BIB", kind, sid, len(name)) + name + struct.pack(">II", 0, 4)


def footer(sid):
    return struct.pack(">BI", 0x7e, sid)


def page_bytes(n):
    """A page whose content depends on its number (cheap to make)."""
    head = struct.pack(">Q", n) * 8
    return head + bytes((n * 7 + i) & 0xff for i in range(64)) * ((PAGE - 64) // 64)


def main():
    mib, out = int(sys.argv[1]), sys.argv[2]
    length = mib << 20
    pages = length // PAGE
    digest = hashlib.sha256()
    zero_page = bytes(PAGE)
    template = page_bytes(0)
    n_zero = n_data = 0
    with open(out, "wb") as f:
        f.write(struct.pack(">II", 0x5145564D, 3))
        machine = b"pc-i440fx-7.2"
        f.write(struct.pack(">BI", 0x07, len(machine)) + machine)
        f.write(section_header(0x01, RAM_ID, b"ram"))
        f.write(struct.pack(">Q", length | FLAG_MEM_SIZE))
        f.write(struct.pack(">B", len(BLOCK)) + BLOCK + struct.pack(">Q", length))
        f.write(struct.pack(">Q", FLAG_EOS) + footer(RAM_ID))
        for first in range(0, pages, PAGES_PER_PART):
            part = [section_header(0x02, RAM_ID)]
            for n in range(first, min(first + PAGES_PER_PART, pages)):
                flags = FLAG_CONTINUE if n else 0
                if n % 4 == 3:
                    part.append(struct.pack(">Q", n * PAGE | FLAG_ZERO | flags))
                    if not flags:
                        part.append(struct.pack(">B", len(BLOCK)) + BLOCK)
                    part.append(b"\0")
                    digest.update(zero_page)
                    n_zero += 1
                else:
                    data = struct.pack(">Q", n) + template[8:]
                    part.append(struct.pack(">Q", n * PAGE | FLAG_PAGE | flags))
                    if not flags:
                        part.append(struct.pack(">B", len(BLOCK)) + BLOCK)
                    part.append(data)
                    digest.update(data)
                    n_data += 1
            part.append(struct.pack(">Q", FLAG_EOS) + footer(RAM_ID))
            f.write(b"".join(part))
        f.write(section_header(0x03, RAM_ID) + struct.pack(">Q", FLAG_EOS) + footer(RAM_ID))
        f.write(b"\0")
        # The description trailer QEMU writes after EOF (no devices here).
        desc = b'{"page_size": 4096, "devices": []}'
        f.write(struct.pack(">BI", 0x06, len(desc)) + desc)
        size = f.tell()
    print("sha256", digest.hexdigest())
    print("pages_sent", n_zero + n_data)
    print("zero_pages", n_zero)
    print("data_pages", n_data)
    print("bytes", size)


if __name__ == "__main__":
    main()
