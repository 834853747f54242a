"""The record formats: the one contract between the build pass, the image reader, audit and patcher.

Fixed-size, self-relative, versioned records: one per padded site, one per range of 16/64-bit code."""

from __future__ import annotations

import collections
import struct

SECTION = ".previrt.sites"
VERSION = 1

# struct previrt_site {            /* little endian, 12 bytes, 4-byte aligned */
#     int32_t  start;              /* site start minus the address of this field ("661b - .") */
#     uint8_t  version;            /* VERSION */
#     uint8_t  kind;               /* previrt.isa.i386 kind */
#     uint8_t  size;               /* site length in bytes: instruction + padding */
#     uint8_t  insn_len;           /* length of the original instruction at the start of the site */
#     uint16_t flags;              /* FLAG_* */
#     uint16_t aux;                /* kind-specific; 0 unless the kind's row says otherwise */
# };
RECORD = struct.Struct("<iBBBBHH")
RECORD_SIZE = RECORD.size
assert RECORD_SIZE == 12

FLAG_SOURCE_PASS = 0x0001  # emitted by the C source pass (memory operation), not the asm pass
FLAG_HAND = 0x0002  # written by hand in the guest source
# The file name the C source pass gives its accessors in line markers; DWARF line rows in it belong to the access
# that the accessor was inlined for (readers attribute them to the row before).
ACCESSOR_FILE = "<previrt pte accessors>"


class SiteFormatError(ValueError):
    """A record that cannot be decoded (bad version, truncated section)."""


class Site(collections.namedtuple("Site", "address kind size insn_len flags aux", defaults=(0, 0))):
    """One decoded site: absolute address once read from a linked image; kind, size, insn_len, flags
    and aux as in the record.  (A named tuple, not a dataclass: the asm pass, which `previrt cc` loads
    once per compiled file, imports this module, and the dataclasses module is slow to import.)"""

    __slots__ = ()

    @property
    def end(self) -> int:
        return self.address + self.size


def encode(site: Site, record_address: int) -> bytes:
    """Bytes of the record for `site` when the record itself sits at `record_address`."""
    return RECORD.pack(site.address - record_address, VERSION, site.kind, site.size,
                       site.insn_len, site.flags, site.aux)


def _records(data: bytes, record: struct.Struct, section: str):
    """(offset, fields) of each fixed-size `record` in the data of `section`."""
    if len(data) % record.size:
        raise SiteFormatError(f"{section} is {len(data)} bytes, not a multiple of the {record.size}-byte record")
    for off in range(0, len(data), record.size):
        yield off, record.unpack_from(data, off)


def _where(section: str, record: struct.Struct, off: int) -> str:
    return f"{section} record {off // record.size} at offset {off:#x}"


def _check_version(section: str, record: struct.Struct, off: int, version: int, expected: int) -> None:
    if version != expected:
        raise SiteFormatError(f"{_where(section, record, off)}: version {version}, "
                              f"this previrt reads version {expected}")


def decode_section(data: bytes, section_address: int) -> list[Site]:
    """All records of a `.previrt.sites` section loaded (or linked) at `section_address`."""
    sites = []
    for off, (rel, version, kind, size, insn_len, flags, aux) in _records(data, RECORD, SECTION):
        _check_version(SECTION, RECORD, off, version, VERSION)
        addr = (section_address + off + rel) & 0xFFFFFFFF
        sites.append(Site(addr, kind, size, insn_len, flags, aux))
    return sites


def gas_record(start_label: str, end_label: str, insn_end_label: str, kind: int,
               flags: int = 0, aux: int = 0) -> list[str]:
    """GAS lines that push one record for the site [start_label, end_label) into SECTION."""
    return [
        f'\t.pushsection {SECTION},"a"',
        "\t.balign 4",
        f"\t.long {start_label} - .",
        f"\t.byte {VERSION}, {kind}, {end_label} - {start_label}, {insn_end_label} - {start_label}",
        f"\t.short {flags}, {aux}",
        "\t.popsection",
    ]


# ---- 16-bit (and 64-bit) code ranges -----------------------------------------------------------
#
# The asm pass never annotates code assembled under `.code16`, `.code16gcc` or `.code64` (a boot sector
# or a real-mode trampoline must not grow); it records each stretch of it in an executable section as
# one range, so that `previrt audit` does not sweep those bytes as 32-bit code.  A stretch ends where
# the code size or the section (or subsection) changes, so a range never spans two sections.
#
# struct previrt_code_range {      /* little endian, 12 bytes, 4-byte aligned, in RANGE_SECTION */
#     int32_t  start;              /* first byte minus the address of this field ("START - .") */
#     int32_t  end;                /* end (exclusive) minus the address of this field ("END - .") */
#     uint8_t  version;            /* RANGE_VERSION */
#     uint8_t  mode;               /* 16 (.code16, .code16gcc) or 64 (.code64) */
#     uint16_t flags;              /* 0 */
# };
RANGE_SECTION = ".previrt.code16"
RANGE_VERSION = 1
RANGE_RECORD = struct.Struct("<iiBBH")
RANGE_RECORD_SIZE = RANGE_RECORD.size
assert RANGE_RECORD_SIZE == 12
RANGE_MODES = (16, 64)


class CodeRange(collections.namedtuple("CodeRange", "start end mode")):
    """One decoded range of 16- or 64-bit code: [start, end), absolute once read from a linked image."""

    __slots__ = ()

    @property
    def size(self) -> int:
        return self.end - self.start


def encode_range(rng: CodeRange, record_address: int) -> bytes:
    """Bytes of the record for `rng` when the record itself sits at `record_address`."""
    return RANGE_RECORD.pack(rng.start - record_address, rng.end - (record_address + 4), RANGE_VERSION,
                             rng.mode, 0)


def decode_ranges(data: bytes, section_address: int) -> list[CodeRange]:
    """All records of a `.previrt.code16` section loaded (or linked) at `section_address`."""
    ranges = []
    for off, (rel_start, rel_end, version, mode, _) in _records(data, RANGE_RECORD, RANGE_SECTION):
        _check_version(RANGE_SECTION, RANGE_RECORD, off, version, RANGE_VERSION)
        if mode not in RANGE_MODES:
            raise SiteFormatError(f"{_where(RANGE_SECTION, RANGE_RECORD, off)}: mode {mode}, not 16 or 64")
        at = section_address + off
        ranges.append(CodeRange((at + rel_start) & 0xFFFFFFFF, (at + 4 + rel_end) & 0xFFFFFFFF, mode))
    return ranges


def gas_range_record(start_label: str, end_label: str, mode: int) -> list[str]:
    """GAS lines that push one record for the code range [start_label, end_label) into RANGE_SECTION."""
    return [
        f'\t.pushsection {RANGE_SECTION},"a"',
        "\t.balign 4",
        f"\t.long {start_label} - .",
        f"\t.long {end_label} - .",
        f"\t.byte {RANGE_VERSION}, {mode}",
        "\t.short 0",
        "\t.popsection",
    ]
