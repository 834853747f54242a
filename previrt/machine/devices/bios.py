"""What the PC's firmware leaves in memory at Multiboot hand-off: the BIOS data area, an extended BIOS data area, the
Intel MultiProcessor Specification 1.4 tables, and a cleared text screen.

Pure data: `firmware_memory()` gives {physical address: bytes}; the loader writes them with the Multiboot info.
Laid out as QEMU's PC with SeaBIOS leaves them (checked with a guest on QEMU 7.2, tests/machine/test_pc_parts.py):

* BIOS data area at 0x400: COM port bases (0x400), LPT bases (0x408), the EBDA segment (0x40E), the equipment
  word (0x410), the base memory size in KiB (0x413), the keyboard buffer pointers, the video state of text mode 3;
* EBDA: 1 KiB at 0x9FC00 (its first word: its size in KiB), so base memory is 639 KiB and the Multiboot memory map
  reports 0x9FC00-0xA0000 reserved, as SeaBIOS's e820 map does;
* the MP floating pointer structure at 0xF5BA0 and the configuration table after it, in the F segment (read-only
  BIOS area; the standard search finds it in 0xF0000-0xFFFFF): one processor (local APIC id 0, the BSP), the ISA
  bus, one I/O APIC (id 0, 0xFEC00000), an I/O interrupt entry per ISA IRQ as SeaBIOS builds them (IRQ 0 on INTIN2,
  no entry for IRQ 2, none for 5, 9, 10, 11, which SeaBIOS keeps for PCI), ExtINT on LINT0 and NMI on LINT1.
  This PC has no PCI bus, so the ISA bus is bus 0 (QEMU's table has a PCI bus 0 and the ISA bus 1)."""

from __future__ import annotations

import struct

from previrt.machine import memory

BDA_BASE = 0x400
EBDA_BASE = memory.EBDA_BASE
EBDA_KIB = 1
BASE_MEMORY_KIB = EBDA_BASE // 1024            # 639: what 0x413 and the Multiboot mem_lower say
COM_PORTS = (0x3F8, 0, 0, 0)
EQUIPMENT = 0x0222                             # x87 present (bit 1), 80x25 colour (bits 4-5 = 10), one serial port

MP_FLOATING_POINTER = 0xF5BA0
MP_CONFIG_TABLE = MP_FLOATING_POINTER + 16
MP_SPEC_REV = 4                                # MP Specification 1.4
LAPIC_BASE = 0xFEE00000
IOAPIC_BASE = 0xFEC00000
LAPIC_ID = 0
LAPIC_VERSION = 0x14                           # QEMU's local APIC (version register 0x00050014)
IOAPIC_ID = 0
IOAPIC_MP_VERSION = 0x11                       # what SeaBIOS writes in the I/O APIC entry
ISA_BUS = 0
# ISA IRQ -> I/O APIC input, as SeaBIOS's mptable.c with QEMU's irq0 override: IRQ 0 on INTIN2, IRQ 2 absent, the
# PCI IRQs (5, 9, 10, 11) left out.
ISA_IRQ_PINS = {0: 2, 1: 1, 3: 3, 4: 4, 6: 6, 7: 7, 8: 8, 12: 12, 13: 13, 14: 14, 15: 15}
# What this PC's CPUID leaf 1 reports (EAX, EDX of unicorn's default CPU model), for the processor entry.
CPU_SIGNATURE = 0x000306C4
CPU_FEATURES = 0x078BFBFD

TEXT_BASE = 0xB8000
TEXT_COLUMNS, TEXT_ROWS = 80, 25
BLANK = 0x0720                                 # a space, light grey on black


def _checksummed(data: bytearray, at: int) -> bytes:
    data[at] = (-sum(data)) & 0xFF
    return bytes(data)


def bios_data_area() -> bytes:
    bda = bytearray(0x100)
    struct.pack_into("<4H", bda, 0x00, *COM_PORTS)
    struct.pack_into("<H", bda, 0x0E, EBDA_BASE >> 4)
    struct.pack_into("<H", bda, 0x10, EQUIPMENT)
    struct.pack_into("<H", bda, 0x13, BASE_MEMORY_KIB)
    struct.pack_into("<HH", bda, 0x1A, 0x1E, 0x1E)          # keyboard buffer head, tail (empty)
    struct.pack_into("<HH", bda, 0x80, 0x1E, 0x3E)          # keyboard buffer start, end
    bda[0x49] = 3                                           # video mode 3: 80x25 colour text
    struct.pack_into("<HHH", bda, 0x4A, TEXT_COLUMNS, 0x1000, 0)   # columns, page size, page offset
    struct.pack_into("<H", bda, 0x60, 0x0607)               # cursor shape: scan lines 6-7
    struct.pack_into("<H", bda, 0x63, 0x3D4)                # the 6845's index port
    bda[0x84] = TEXT_ROWS - 1
    bda[0x85] = 16                                          # character height
    return bytes(bda)


def ebda() -> bytes:
    data = bytearray(EBDA_KIB * 1024)
    data[0] = EBDA_KIB
    return bytes(data)


def mp_config_table() -> bytes:
    entries = [struct.pack("<BBBBII8x", 0, LAPIC_ID, LAPIC_VERSION, 0x03, CPU_SIGNATURE, CPU_FEATURES),  # EN | BP
               struct.pack("<BB6s", 1, ISA_BUS, b"ISA   "),
               struct.pack("<BBBBI", 2, IOAPIC_ID, IOAPIC_MP_VERSION, 0x01, IOAPIC_BASE)]
    entries += [struct.pack("<BBHBBBB", 3, 0, 0, ISA_BUS, irq, IOAPIC_ID, pin) for irq, pin in ISA_IRQ_PINS.items()]
    entries += [struct.pack("<BBHBBBB", 4, 3, 0, ISA_BUS, 0, LAPIC_ID, 0),       # ExtINT -> LINT0 of the BSP
                struct.pack("<BBHBBBB", 4, 1, 0, ISA_BUS, 0, 0xFF, 1)]           # NMI -> LINT1 of every CPU
    body = b"".join(entries)
    header = bytearray(struct.pack("<4sHBB8s12sIHHIHBB", b"PCMP", 44 + len(body), MP_SPEC_REV, 0, b"PREVIRT ",
                                   b"PC          ", 0, 0, len(entries), LAPIC_BASE, 0, 0, 0))
    return _checksummed(header + body, 7)


def mp_floating_pointer() -> bytes:
    fp = bytearray(struct.pack("<4sIBBB5s", b"_MP_", MP_CONFIG_TABLE, 1, MP_SPEC_REV, 0, bytes(5)))
    return _checksummed(fp, 10)


def firmware_memory(mp: bool = True) -> dict[int, bytes]:
    """{physical address: bytes} the firmware leaves; without `mp` no MultiProcessor tables (a uniprocessor PC with
    8259As only, as far as a kernel can tell)."""
    blobs = {BDA_BASE: bios_data_area(), EBDA_BASE: ebda(),
             TEXT_BASE: struct.pack("<H", BLANK) * (TEXT_COLUMNS * TEXT_ROWS)}
    if mp:
        blobs[MP_FLOATING_POINTER] = mp_floating_pointer()
        blobs[MP_CONFIG_TABLE] = mp_config_table()
    assert memory.BOOT_GDT_BASE + 0x100 <= MP_FLOATING_POINTER
    return blobs
