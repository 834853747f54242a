#!/usr/bin/env python3
"""Build the guest's disk image: a header sector, the source files of the `build` workload, a results
area and a scratch area for the `disk` workload. Deterministic: the same bytes on every run.

Usage: mkdisk.py OUT.img   (layout: see struct disk_header in user/ulib.h)"""
import os
import struct
import sys

SECTOR = 512
MAGIC = b"PVDISK01"
NFILES = 16
FILES_LBA = 64
RESULTS_LBA = 1024
SCRATCH_LBA = 2048
DISK_SECTORS = 16384  # 8 MiB
KEYWORDS = ["int", "return", "if", "else", "while", "for", "static", "struct", "u32", "void", "const"]


def lcg(state):
    return (state * 1664525 + 1013904223) & 0xFFFFFFFF


def source_file(index):
    """A few KiB of C-like text, different for every index."""
    s = 0x9E3779B9 ^ index
    lines = []
    nlines = 60 + index * 13 % 90
    for _ in range(nlines):
        words = []
        s = lcg(s)
        for _ in range(3 + (s >> 28)):
            s = lcg(s)
            kind = s >> 30
            if kind == 0:
                words.append(KEYWORDS[(s >> 8) % len(KEYWORDS)])
            elif kind == 1:
                words.append(str((s >> 4) % 10000))
            else:
                words.append("sym_%x" % ((s >> 12) % (64 + index * 16)))
        s = lcg(s)
        lines.append("    " + " ".join(words) + (";" if s & 1 else " {"))
    return ("\n".join(lines) + "\n").encode()


def build():
    files, data, lba = [], [], FILES_LBA
    for i in range(NFILES):
        body = source_file(i)
        files.append((b"src%02d.c" % i, lba, len(body)))
        data.append((lba, body))
        lba += (len(body) + SECTOR - 1) // SECTOR
    assert lba <= RESULTS_LBA
    header = MAGIC + struct.pack("<4I", NFILES, SCRATCH_LBA, DISK_SECTORS - SCRATCH_LBA, RESULTS_LBA)
    for name, flba, size in files:
        header += struct.pack("<16sII", name, flba, size)
    assert len(header) <= SECTOR
    image = bytearray(DISK_SECTORS * SECTOR)
    image[:len(header)] = header
    for flba, body in data:
        image[flba * SECTOR:flba * SECTOR + len(body)] = body
    return bytes(image)


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: mkdisk.py OUT.img\n")
        return 2
    tmp = argv[1] + ".tmp"
    with open(tmp, "wb") as f:
        f.write(build())
    os.replace(tmp, argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
