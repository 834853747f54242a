"""The site-record format: the one contract between the build pass, the image reader, audit and patcher.

One fixed-size, self-relative, versioned record per padded site, in section `.previrt.sites`."""

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


def decode_section(data: bytes, section_address: int) -> list[Site]:
    """All records of a `.previrt.sites` section loaded (or linked) at `section_address`."""
    if len(data) % RECORD_SIZE:
        raise SiteFormatError(
            f"{SECTION} is {len(data)} bytes, not a multiple of the {RECORD_SIZE}-byte record")
    sites = []
    for off in range(0, len(data), RECORD_SIZE):
        rel, version, kind, size, insn_len, flags, aux = RECORD.unpack_from(data, off)
        if version != VERSION:
            raise SiteFormatError(
                f"{SECTION} record {off // RECORD_SIZE} at offset {off:#x}: version {version}, "
                f"this previrt reads version {VERSION}")
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
