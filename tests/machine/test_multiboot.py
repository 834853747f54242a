"""Multiboot v1 loader: header search and checks, ELF and a.out-kludge load plans, the info struct the guest reads."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

from previrt.errors import UsageError
from previrt.machine import memory, multiboot
from tests.machine.guestkit import (MULTIBOOT_HEADER_MAGIC, build_asm, build_image, exit_status,
                                    multiboot_header_source, run_image, write_source)

GUESTS = Path(__file__).parent / "guests" / "cpu"
MiB = 1024 * 1024


def header(flags=3, magic=MULTIBOOT_HEADER_MAGIC, checksum=None, address=()):
    checksum = (-(magic + flags)) & 0xFFFFFFFF if checksum is None else checksum
    return struct.pack("<III", magic, flags, checksum) + struct.pack(f"<{len(address)}I", *address)


def test_header_found_on_4_byte_boundary_within_8k():
    image = bytes(4096) + header()
    assert multiboot.find_header(image, "x").offset == 4096
    with pytest.raises(UsageError, match="no Multiboot header"):
        multiboot.find_header(bytes(8192) + header(), "x")        # past the first 8 KiB
    with pytest.raises(UsageError, match="no Multiboot header"):
        multiboot.find_header(bytes(2) + header() + bytes(16), "x")  # not 4-byte aligned


def test_bad_checksum_and_unknown_required_flag():
    with pytest.raises(UsageError, match="bad checksum"):
        multiboot.find_header(header(checksum=1) + bytes(16), "img")
    h = multiboot.find_header(header(flags=1 << 5) + bytes(16), "img")
    with pytest.raises(UsageError, match=r"requires features .* \(flags 0x20\)"):
        multiboot.check_flags(h, "img")


def test_aout_kludge_plan_honours_address_fields(tmp_path):
    # header at file offset 0x40, header_addr 0x200040 → load_addr 0x200000 from file offset 0
    body = bytearray(0x100)
    body[0x40:0x40 + 32] = header(flags=(1 << 16) | 3, address=(0x200040, 0x200000, 0x200080, 0x201000, 0x200060))
    path = tmp_path / "kernel.bin"
    path.write_bytes(bytes(body))
    plan = multiboot.plan_load(path)
    assert plan.kind == "a.out kludge" and plan.entry == 0x200060
    (chunk,) = plan.chunks
    assert chunk.addr == 0x200000 and chunk.data == bytes(body[:0x80]) and chunk.memsz == 0x1000


def test_elf_plan_uses_physical_addresses(tmp_path):
    img = build_asm(tmp_path, ".text\n.globl _start\n_start:\n hlt\n.data\n.long 7\n.bss\n.space 64\n")
    plan = multiboot.plan_load(img)
    assert plan.kind == "ELF" and plan.entry >= 0x100000
    assert all(c.addr >= 0x100000 for c in plan.chunks)
    assert sum(c.memsz for c in plan.chunks) >= 64 + 4


def test_not_elf_without_address_fields(tmp_path):
    path = tmp_path / "raw.bin"
    path.write_bytes(header() + bytes(64))
    with pytest.raises(UsageError, match="not an ELF image"):
        multiboot.plan_load(path)


def _with_first_pt_load(image: Path, out: Path, **fields) -> Path:
    """A copy of `image` with fields of its first PT_LOAD program header replaced (p_filesz, p_memsz...)."""
    data = bytearray(image.read_bytes())
    phoff, = struct.unpack_from("<I", data, 28)
    phentsize, phnum = struct.unpack_from("<HH", data, 42)
    names = ("p_type", "p_offset", "p_vaddr", "p_paddr", "p_filesz", "p_memsz", "p_flags", "p_align")
    for i in range(phnum):
        at = phoff + i * phentsize
        if struct.unpack_from("<I", data, at)[0] == multiboot.PT_LOAD:
            for name, value in fields.items():
                struct.pack_into("<I", data, at + 4 * names.index(name), value)
            break
    out.write_bytes(bytes(data))
    return out


def test_pt_load_the_file_cannot_satisfy_is_a_clear_error(tmp_path):
    img = build_asm(tmp_path, '#include "guestkit.h"\n.text\n.globl _start\n_start:\n exit 0\n')
    beyond = _with_first_pt_load(img, tmp_path / "beyond.elf", p_filesz=0x370031, p_memsz=0x370031)
    with pytest.raises(UsageError, match=r"PT_LOAD segment at 0x100000: file bytes .* lie beyond the end of the file"):
        multiboot.plan_load(beyond)
    bigger = _with_first_pt_load(img, tmp_path / "bigger.elf", p_memsz=1)
    with pytest.raises(UsageError, match=r"p_filesz 0x[0-9a-f]+ exceeds p_memsz 0x1"):
        multiboot.plan_load(bigger)
    for bad in (beyond, bigger):   # and through the command: a message and status 2, not a traceback
        done = run_image(bad)
        assert done.returncode == 2 and b"PT_LOAD segment" in done.stderr and b"Traceback" not in done.stderr


def test_segment_outside_ram_is_rejected(tmp_path):
    script = ("ENTRY(_start)\nSECTIONS {\n . = 0x4000000;\n .multiboot : { KEEP(*(.multiboot)) }\n"
              " .text : { *(.text) }\n /DISCARD/ : { *(.note.*) }\n}\n")
    img = build_asm(tmp_path, ".text\n.globl _start\n_start:\n hlt\n", ldscript=script)
    plan = multiboot.plan_load(img)
    with pytest.raises(UsageError, match=r"segment at 0x4000000\+.* lies outside guest RAM .*try a larger --mem"):
        multiboot.check_plan(plan, memory.layout(32 * MiB), str(img))
    multiboot.check_plan(plan, memory.layout(128 * MiB), str(img))     # fits in a larger machine
    done = run_image(img, "--mem", "32")
    assert done.returncode == 2 and b"outside guest RAM" in done.stderr


def test_segment_over_the_boot_info_is_rejected(tmp_path):
    script = ("ENTRY(_start)\nSECTIONS {\n . = 0x7000;\n .multiboot : { KEEP(*(.multiboot)) }\n"
              " .text : { *(.text) }\n .bss : { *(.bss) }\n /DISCARD/ : { *(.note.*) }\n}\n")
    img = build_asm(tmp_path, ".text\n.globl _start\n_start:\n hlt\n.bss\n.space 0x2000\n", ldscript=script)
    with pytest.raises(UsageError, match="overlaps the Multiboot info area"):
        multiboot.check_plan(multiboot.plan_load(img), memory.layout(16 * MiB), str(img))


def test_info_struct_layout():
    regions = memory.layout(16 * MiB)
    blobs = multiboot.build_info(regions, "root=/dev/hda")
    info = blobs[memory.BOOT_INFO_BASE]
    flags, lower, upper = struct.unpack_from("<III", info, 0)
    assert flags & 0x24D == 0x24D                                   # mem, cmdline, mods, mmap, loader name
    assert (lower, upper) == (639, 15 * 1024)                      # the EBDA takes the last KiB, as on QEMU
    assert blobs[struct.unpack_from("<I", info, 16)[0]] == b"root=/dev/hda\0"
    mmap_len, mmap_addr = struct.unpack_from("<II", info, 44)
    entries = [struct.unpack_from("<IQQI", blobs[mmap_addr], i) for i in range(0, mmap_len, 24)]
    assert entries == [(20, 0, 0x9FC00, 1), (20, 0x9FC00, 0x400, 2), (20, 0xE0000, 0x20000, 2),
                       (20, 0x100000, 15 * MiB, 1)]
    with pytest.raises(UsageError, match="--cmdline"):
        multiboot.build_info(regions, "x" * 5000)


def test_guest_reads_back_the_info_struct(tmp_path):
    img = build_image(tmp_path, [GUESTS / "boot_info.S"], name="boot_info")
    done = run_image(img, "--cmdline", "console=ttyS0 quiet", "--mem", "32")
    assert done.returncode == exit_status(0), done.stderr
    out = done.stdout.decode()
    assert re.search(r"magic=2badb002 flags=0000024d lower=0000027f upper=00007c00", out)
    assert "cmdline=[console=ttyS0 quiet]" in out and "loader=[previrt]" in out
    assert "mmap base=0000000000100000 len=0000000001f00000 type=00000001" in out
    assert out.count("mmap base=") == 4


def test_entry_state(tmp_path):
    src = write_source(tmp_path, "state.S", """#include "guestkit.h"
    .text
    .globl _start
_start:
    movl %cr0, %edi
    pushfl
    popl %ebp
    movl %cs, %esi
    movl %ds, %ecx
    movl %cr4, %ebx
    puthex %edi
    puthex %ebp
    puthex %esi
    puthex %ecx
    puthex %ebx
    exit 0
""")
    done = run_image(build_image(tmp_path, [src], name="state"))
    cr0, eflags, cs, ds, cr4 = (int(done.stdout[i:i + 8], 16) for i in range(0, 40, 8))
    assert cr0 & 1 and not cr0 & 0x80000000                          # protected mode, paging off
    assert not eflags & 0x200 and not eflags & 0x20000                # IF=0, VM=0
    assert (cs, ds) == (memory.BOOT_CODE_SELECTOR, memory.BOOT_DATA_SELECTOR)
    assert cr4 == 0                                                   # as the BIOS leaves it (and QEMU shows)
