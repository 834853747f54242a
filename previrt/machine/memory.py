"""The PC's physical memory layout as a table, and mapping it into a unicorn CPU.

Owns where RAM, the text buffer, the BIOS area and the loader's own structures (boot GDT, Multiboot info) live."""

from __future__ import annotations

from dataclasses import dataclass

from unicorn import UC_PROT_ALL, UC_PROT_EXEC, UC_PROT_READ

from previrt.errors import UsageError

KiB = 1024
MiB = 1024 * KiB
PAGE = 4 * KiB

CONVENTIONAL_END = 640 * KiB        # RAM 0 .. 640 KiB
EBDA_BASE = CONVENTIONAL_END - 1 * KiB   # the firmware's extended BIOS data area: the last KiB of conventional RAM,
                                    # reserved in the Multiboot map ("mem_lower" 639 KiB, as on QEMU's PC with
                                    # SeaBIOS); mapped with the rest (unicorn maps whole pages)
EXTENDED_BASE = 1 * MiB             # RAM from 1 MiB up to --mem ("mem_upper")
MIN_MEM = 2 * MiB
MAX_MEM = 3 * 1024 * MiB            # stay below the 32-bit PCI hole a PC would have

# Multiboot memory-map types (Multiboot v1 spec, "mmap_*").
MULTIBOOT_MEMORY_AVAILABLE = 1
MULTIBOOT_MEMORY_RESERVED = 2


@dataclass(frozen=True)
class Region:
    name: str
    base: int
    size: int
    perms: int
    mmap_type: int | None      # how the Multiboot memory map reports it (None: not listed, like VGA memory)

    @property
    def end(self) -> int:
        return self.base + self.size


# Below 1 MiB, as a PC has it.  The BIOS area is read-only to the guest (the boot GDT and the MP tables live there,
# see BOOT_GDT_BASE and devices/bios.py).  0xA0000-0xB7FFF (the VGA window outside text mode's) and 0xC0000-0xDFFFF
# (option ROMs) are not memory but device windows on the MMIO bus (board.MMIO_BOARD): they read as on QEMU's PC
# and ignore writes.
LOW_REGIONS = (
    Region("conventional RAM", 0x00000, CONVENTIONAL_END, UC_PROT_ALL, MULTIBOOT_MEMORY_AVAILABLE),
    Region("text buffer", 0xB8000, 0x8000, UC_PROT_ALL, None),
    Region("BIOS area", 0xE0000, 0x20000, UC_PROT_READ | UC_PROT_EXEC, MULTIBOOT_MEMORY_RESERVED),
)

# Where the loader puts its own structures (all in conventional RAM or the BIOS area, below any kernel).
BOOT_GDT_BASE = 0xF0000             # in the BIOS area: null, flat code 0x08, flat data 0x10
BOOT_CODE_SELECTOR = 0x08
BOOT_DATA_SELECTOR = 0x10
BOOT_INFO_BASE = 0x8000             # Multiboot info structure and what it points to
BOOT_INFO_END = 0x9000


def layout(mem_bytes: int) -> tuple[Region, ...]:
    """The regions of a PC with `mem_bytes` of RAM (conventional 640 KiB plus extended RAM from 1 MiB)."""
    if mem_bytes < MIN_MEM or mem_bytes > MAX_MEM:
        raise UsageError(f"--mem must be between {MIN_MEM // MiB} and {MAX_MEM // MiB} MiB, "
                         f"not {mem_bytes / MiB:g} MiB")
    if mem_bytes % PAGE:
        raise UsageError(f"memory size {mem_bytes:#x} is not a multiple of 4 KiB")
    extended = Region("extended RAM", EXTENDED_BASE, mem_bytes - EXTENDED_BASE, UC_PROT_ALL,
                      MULTIBOOT_MEMORY_AVAILABLE)
    return (*LOW_REGIONS, extended)


def map_regions(uc, regions: tuple[Region, ...], chunk: int | None = None, offset: int = 0) -> None:
    """Map each region; with `chunk`, writable regions in pieces of that size (a hypervisor write-protects single
    frames, and unicorn's cost of protecting part of a region grows with the region's size); with `offset`, physical
    address p of the PC at host address p + offset (a hypervisor whose guest memory is not at the identity)."""
    for r in regions:
        step = chunk if chunk and r.perms == UC_PROT_ALL else r.size
        for base in range(r.base, r.end, step):
            uc.mem_map(base + offset, min(step, r.end - base), r.perms)


def ram_regions(regions: tuple[Region, ...]) -> list[Region]:
    return [r for r in regions if r.mmap_type == MULTIBOOT_MEMORY_AVAILABLE]


def region_of(regions: tuple[Region, ...], addr: int, size: int = 1) -> Region | None:
    """The region wholly holding [addr, addr+size), or None."""
    for r in regions:
        if r.base <= addr and addr + size <= r.end:
            return r
    return None
