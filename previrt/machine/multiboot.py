"""Multiboot (v1) loader: find the header, plan the load (a.out-kludge address fields or ELF PT_LOAD), build the info struct.

Parsing and planning are pure (bytes in, plan out); `write_plan` is the one step that touches guest memory."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from previrt.errors import UsageError
from previrt.machine import memory
from previrt.machine.devices import bios

MULTIBOOT_SEARCH = 8192
MULTIBOOT_HEADER_MAGIC = 0x1BADB002
MULTIBOOT_BOOTLOADER_MAGIC = 0x2BADB002

# Header flags (Multiboot v1 spec, 3.1.2).  Bits 0-15 are "required": a loader that cannot honour one must fail.
MULTIBOOT_PAGE_ALIGN = 1 << 0
MULTIBOOT_MEMORY_INFO = 1 << 1
MULTIBOOT_VIDEO_MODE = 1 << 2
MULTIBOOT_AOUT_KLUDGE = 1 << 16
REQUIRED_UNDERSTOOD = MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO | MULTIBOOT_VIDEO_MODE

# Info flags (3.3).
MULTIBOOT_INFO_MEMORY = 1 << 0
MULTIBOOT_INFO_CMDLINE = 1 << 2
MULTIBOOT_INFO_MODS = 1 << 3
MULTIBOOT_INFO_MEM_MAP = 1 << 6
MULTIBOOT_INFO_BOOT_LOADER_NAME = 1 << 9

BOOT_LOADER_NAME = b"previrt"

# Offsets in the info struct (multiboot_info_t), and where the loader places what it points to.
INFO_FIELDS = {"flags": 0, "mem_lower": 4, "mem_upper": 8, "boot_device": 12, "cmdline": 16, "mods_count": 20,
               "mods_addr": 24, "mmap_length": 44, "mmap_addr": 48, "boot_loader_name": 64}
INFO_SIZE = 88
MMAP_ADDR = memory.BOOT_INFO_BASE + 0x100
LOADER_NAME_ADDR = memory.BOOT_INFO_BASE + 0x200
CMDLINE_ADDR = memory.BOOT_INFO_BASE + 0x300
CMDLINE_MAX = memory.BOOT_INFO_END - CMDLINE_ADDR - 1

PT_LOAD = 1
EM_386 = 3


@dataclass(frozen=True)
class Header:
    offset: int           # file offset of the magic
    flags: int
    address: tuple[int, int, int, int, int] | None   # header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr


@dataclass(frozen=True)
class Chunk:
    addr: int             # physical load address
    data: bytes
    memsz: int            # data, then zeros up to memsz


@dataclass
class LoadPlan:
    header: Header
    entry: int
    chunks: list[Chunk] = field(default_factory=list)
    kind: str = "ELF"


def find_header(image: bytes, where: str) -> Header:
    """The Multiboot header: magic on a 4-byte boundary in the first 8 KiB, with magic+flags+checksum == 0."""
    bad_sum = None
    for off in range(0, min(len(image), MULTIBOOT_SEARCH) - 11, 4):
        magic, flags, checksum = struct.unpack_from("<III", image, off)
        if magic != MULTIBOOT_HEADER_MAGIC:
            continue
        if (magic + flags + checksum) & 0xFFFFFFFF:
            bad_sum = off
            continue
        address = None
        if flags & MULTIBOOT_AOUT_KLUDGE:
            if off + 32 > len(image):
                raise UsageError(f"Multiboot header at offset {off:#x} is cut short (address fields)", where=where)
            address = struct.unpack_from("<5I", image, off + 12)
        return Header(off, flags, address)
    if bad_sum is not None:
        raise UsageError(f"Multiboot header at offset {bad_sum:#x} has a bad checksum "
                         f"(magic + flags + checksum must be 0 mod 2^32)", where=where)
    raise UsageError("no Multiboot header (magic 0x1BADB002) in the first 8 KiB: not a Multiboot kernel", where=where)


def check_flags(header: Header, where: str) -> None:
    unknown = header.flags & 0xFFFF & ~REQUIRED_UNDERSTOOD
    if unknown:
        raise UsageError(f"Multiboot header requires features this loader does not provide (flags {unknown:#x})",
                         where=where)


def plan_aout_kludge(image: bytes, header: Header, where: str) -> LoadPlan:
    """Flag bit 16: load [load_addr, load_end_addr) from the file so that header_addr lands on the header."""
    header_addr, load_addr, load_end_addr, bss_end_addr, entry = header.address
    if load_addr > header_addr:
        raise UsageError(f"Multiboot load_addr {load_addr:#x} is above header_addr {header_addr:#x}", where=where)
    file_off = header.offset - (header_addr - load_addr)
    if file_off < 0:
        raise UsageError("Multiboot address fields place the load before the start of the file", where=where)
    size = (load_end_addr - load_addr) if load_end_addr else len(image) - file_off
    if size < 0 or file_off + size > len(image):
        raise UsageError(f"Multiboot load_end_addr {load_end_addr:#x} lies beyond the end of the file", where=where)
    memsz = max(size, bss_end_addr - load_addr) if bss_end_addr else size
    return LoadPlan(header, entry, [Chunk(load_addr, image[file_off:file_off + size], memsz)], "a.out kludge")


def plan_elf(image: bytes, header: Header, where: str) -> LoadPlan:
    """ELF32 i386 executable: every PT_LOAD segment at its physical address; the entry translated likewise."""
    try:
        elf = ELFFile(io.BytesIO(image))
        if elf.elfclass != 32 or elf["e_machine"] != "EM_386":
            raise UsageError(f"not an i386 ELF32 image ({elf.elfclass}-bit, {elf['e_machine']}) and the "
                             "Multiboot header has no address fields (flag bit 16)", where=where)
        segments = [s.header for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
        entry = elf["e_entry"]
    except (ELFError, ValueError, KeyError, TypeError) as e:   # pyelftools raises more than ELFError on junk
        raise UsageError(f"not a valid ELF image and no Multiboot address fields (flag bit 16): {e}", where=where)
    if not segments:
        raise UsageError("ELF image has no PT_LOAD segment", where=where)
    for h in segments:
        check_segment(h, len(image), where)
    chunks = [Chunk(h.p_paddr, image[h.p_offset:h.p_offset + h.p_filesz], h.p_memsz) for h in segments]
    for h in segments:  # a kernel linked high but loaded low (p_vaddr != p_paddr) enters at the physical address
        if h.p_vaddr <= entry < h.p_vaddr + h.p_memsz:
            entry = entry - h.p_vaddr + h.p_paddr
            break
    return LoadPlan(header, entry, chunks)


def check_segment(h, image_size: int, where: str) -> None:
    """A PT_LOAD program header the file can satisfy: its bytes inside the file, p_filesz <= p_memsz."""
    if h.p_offset + h.p_filesz > image_size:
        raise UsageError(f"ELF PT_LOAD segment at {h.p_paddr:#x}: file bytes {h.p_offset:#x}+{h.p_filesz:#x} "
                         f"lie beyond the end of the file ({image_size:#x} bytes)", where=where)
    if h.p_filesz > h.p_memsz:
        raise UsageError(f"ELF PT_LOAD segment at {h.p_paddr:#x}: p_filesz {h.p_filesz:#x} exceeds "
                         f"p_memsz {h.p_memsz:#x}", where=where)


def plan_load(path: str | Path) -> LoadPlan:
    where = str(path)
    try:
        image = Path(path).read_bytes()
    except OSError as e:
        raise UsageError(f"cannot read image: {e.strerror}", where=where)
    header = find_header(image, where)
    check_flags(header, where)
    if header.address is not None:
        return plan_aout_kludge(image, header, where)
    if not image.startswith(b"\x7fELF"):
        raise UsageError("not an ELF image, and the Multiboot header has no address fields (flag bit 16)",
                         where=where)
    return plan_elf(image, header, where)


def check_plan(plan: LoadPlan, regions: tuple[memory.Region, ...], where: str) -> None:
    """Every chunk inside one RAM region and clear of the loader's boot-info page; the entry inside a chunk."""
    for c in plan.chunks:
        r = memory.region_of(regions, c.addr, max(c.memsz, 1))
        if r is None or r.mmap_type != memory.MULTIBOOT_MEMORY_AVAILABLE:
            raise UsageError(f"segment at {c.addr:#x}+{c.memsz:#x} lies outside guest RAM "
                             f"(RAM: {', '.join(f'{x.base:#x}-{x.end:#x}' for x in memory.ram_regions(regions))}; "
                             "try a larger --mem)", where=where)
        if c.addr < memory.BOOT_INFO_END and memory.BOOT_INFO_BASE < c.addr + c.memsz:
            raise UsageError(f"segment at {c.addr:#x}+{c.memsz:#x} overlaps the Multiboot info area "
                             f"{memory.BOOT_INFO_BASE:#x}-{memory.BOOT_INFO_END:#x}", where=where)
        if c.addr < memory.CONVENTIONAL_END and memory.EBDA_BASE < c.addr + c.memsz:
            raise UsageError(f"segment at {c.addr:#x}+{c.memsz:#x} overlaps the firmware's extended BIOS data area "
                             f"{memory.EBDA_BASE:#x}-{memory.CONVENTIONAL_END:#x}", where=where)
    if not any(c.addr <= plan.entry < c.addr + c.memsz for c in plan.chunks):
        raise UsageError(f"entry point {plan.entry:#x} is not inside any loaded segment", where=where)


def executable_code(path: str | Path) -> list[tuple[int, bytes]]:
    """(virtual address, bytes) of every executable section of an ELF image, for code analysis; [] otherwise."""
    try:
        with open(path, "rb") as f:
            elf = ELFFile(f)
            return [(sec["sh_addr"], sec.data()) for sec in elf.iter_sections()
                    if sec["sh_flags"] & 0x4 and sec["sh_type"] == "SHT_PROGBITS"]   # SHF_EXECINSTR
    except (ELFError, OSError):
        return []


def write_plan(plan: LoadPlan, mem_write) -> None:
    for c in plan.chunks:
        mem_write(c.addr, c.data + bytes(c.memsz - len(c.data)))


def memory_map(regions: tuple[memory.Region, ...]) -> bytes:
    """multiboot_mmap_entry records: size (20), base_addr, length, type.  The EBDA at the top of conventional RAM is
    reported reserved (the firmware's data)."""
    entries = []
    for r in regions:
        if r.mmap_type is None:
            continue
        if r.base < memory.EBDA_BASE < r.end:
            entries += [(r.base, memory.EBDA_BASE - r.base, r.mmap_type),
                        (memory.EBDA_BASE, r.end - memory.EBDA_BASE, memory.MULTIBOOT_MEMORY_RESERVED)]
        else:
            entries.append((r.base, r.size, r.mmap_type))
    return b"".join(struct.pack("<IQQI", 20, *e) for e in entries)


def build_info(regions: tuple[memory.Region, ...], cmdline: str, mp: bool = True) -> dict[int, bytes]:
    """What the guest finds in memory at hand-off, as {physical address: bytes}: what the firmware left (the BIOS data
    areas, the MultiProcessor tables unless `mp` is false, a cleared text screen: devices/bios.py), then the
    Multiboot info struct and the data it points to."""
    cmd = cmdline.encode() + b"\0"
    if len(cmd) > CMDLINE_MAX:
        raise UsageError(f"--cmdline is {len(cmd) - 1} bytes; at most {CMDLINE_MAX - 1} fit")
    mmap = memory_map(regions)
    lower = next(r for r in regions if r.base == 0)
    upper = next(r for r in regions if r.base == memory.EXTENDED_BASE)
    values = {"flags": (MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_CMDLINE | MULTIBOOT_INFO_MODS
                        | MULTIBOOT_INFO_MEM_MAP | MULTIBOOT_INFO_BOOT_LOADER_NAME),
              "mem_lower": min(lower.end, memory.EBDA_BASE) // 1024, "mem_upper": upper.size // 1024,
              "boot_device": 0xFFFFFFFF, "cmdline": CMDLINE_ADDR, "mods_count": 0, "mods_addr": 0,
              "mmap_length": len(mmap), "mmap_addr": MMAP_ADDR, "boot_loader_name": LOADER_NAME_ADDR}
    info = bytearray(INFO_SIZE)
    for name, value in values.items():
        struct.pack_into("<I", info, INFO_FIELDS[name], value)
    return {**bios.firmware_memory(mp), memory.BOOT_INFO_BASE: bytes(info), MMAP_ADDR: mmap,
            LOADER_NAME_ADDR: BOOT_LOADER_NAME + b"\0", CMDLINE_ADDR: cmd}
