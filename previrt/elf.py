"""Reading an i386 ELF file (pyelftools): site and code-range records, executable sections, functions, DWARF lines.

Parsing only: every malformed input becomes a UsageError naming the file; audit and output live elsewhere.
A linked image is read at its link addresses. A relocatable object (.o) is read as if linked at 0: its
SHF_ALLOC sections laid out in section order, the R_386_32/R_386_PC32 relocations of the record sections
applied; its DWARF lines are used when it has one executable section (line addresses are then offsets)."""

from __future__ import annotations

import bisect
import os
import zlib
from dataclasses import dataclass, field
from functools import cached_property

from elftools.common.exceptions import DWARFError, ELFError, ELFParseError
from elftools.construct import ConstructError
from elftools.elf.constants import SH_FLAGS
from elftools.elf.relocation import RelocationSection
from elftools.elf.elffile import ELFFile

from previrt.errors import UsageError
from previrt.sites import (ACCESSOR_FILE, RANGE_SECTION, SECTION, CodeRange, Site, SiteFormatError, decode_ranges,
                           decode_section)

ELFMAG = b"\x7fELF"
R_386_32, R_386_PC32 = 1, 2
PARSE_ERRORS = (ELFError, ELFParseError, DWARFError, zlib.error, ConstructError, ValueError, KeyError, IndexError,
                AssertionError, EOFError, UnicodeDecodeError, TypeError, AttributeError, OverflowError)


@dataclass(frozen=True)
class CodeSection:
    """An SHF_EXECINSTR section with its bytes at its link address."""

    name: str
    address: int
    data: bytes

    @property
    def end(self) -> int:
        return self.address + len(self.data)

    def contains(self, start: int, end: int) -> bool:
        return self.address <= start and end <= self.end


@dataclass(frozen=True)
class Function:
    """A code symbol: STT_FUNC (size may be 0 when the source gave no .size)."""

    name: str
    address: int
    size: int


@dataclass(frozen=True)
class LineRange:
    start: int
    end: int
    file: str
    line: int


@dataclass
class Image:
    """What audit and `previrt sites` need from one linked i386 ELF file."""

    path: str
    sites: list[Site]
    code: list[CodeSection]
    functions: list[Function]  # sorted by address
    labels: list[Function] = field(default_factory=list)  # code symbols (not STT_OBJECT) in code, sorted
    symbol_starts: list[int] = field(default_factory=list)  # addresses of every named symbol in code
    code_ranges: list[CodeRange] = field(default_factory=list)  # 16/64-bit code, from RANGE_SECTION
    _lines: object = None  # a callable giving list[LineRange], evaluated on first use

    def section_of(self, start: int, end: int) -> CodeSection | None:
        return next((s for s in self.code if s.contains(start, end)), None)

    @cached_property
    def _function_starts(self) -> list[int]:
        return [f.address for f in self.functions]

    @cached_property
    def _label_starts(self) -> list[int]:
        return [f.address for f in self.labels]

    @cached_property
    def _line_starts(self) -> list[int]:
        return [r.start for r in self.line_ranges]

    def function_at(self, address: int) -> Function | None:
        i = bisect.bisect_right(self._function_starts, address) - 1
        if i >= 0 and self.functions[i].address <= address < self.functions[i].address + self.functions[i].size:
            return self.functions[i]
        return None

    def describe(self, address: int) -> str:
        """`function+0xoff` (sized function, else the nearest preceding label), or the bare address."""
        func = self.function_at(address)
        if func is None:
            i = bisect.bisect_right(self._label_starts, address) - 1
            sec = next((s for s in self.code if s.address <= address < s.end), None)
            if i >= 0 and sec is not None and self.labels[i].address >= sec.address:
                func = self.labels[i]
        if func is None:
            return f"{address:#x}"
        return f"{func.name}+{address - func.address:#x}"

    @cached_property
    def line_ranges(self) -> list[LineRange]:
        return self._lines() if self._lines else []

    def source_line(self, address: int) -> str | None:
        """`file:line` from DWARF line info, or None without it."""
        ranges = self.line_ranges
        i = bisect.bisect_right(self._line_starts, address) - 1
        if i >= 0 and ranges[i].start <= address < ranges[i].end:
            return f"{ranges[i].file}:{ranges[i].line}"
        return None


def read_image(path: str) -> Image:
    """Open, check (ELF, ELFCLASS32, EM_386, ET_EXEC/ET_DYN) and read `path`."""
    try:
        with open(path, "rb") as f:
            blob = f.read()
    except OSError as e:
        raise UsageError(f"cannot read: {e.strerror}", where=path) from None
    if blob[:4] != ELFMAG:
        raise UsageError("not an ELF file", where=path)
    try:
        return _read(path, blob)
    except UsageError:
        raise
    except PARSE_ERRORS as e:
        raise UsageError(f"truncated or malformed ELF file ({type(e).__name__}: {e})", where=path) from None


def _read(path: str, blob: bytes) -> Image:
    import io

    elf = ELFFile(io.BytesIO(blob))
    _check_header(path, elf)
    base = _layout(elf)
    code = [CodeSection(s.name, base[i], _section_data(s, len(blob)))
            for i, s in enumerate(elf.iter_sections())
            if s["sh_flags"] & SH_FLAGS.SHF_EXECINSTR and s["sh_type"] != "SHT_NOBITS" and i in base]
    functions, labels, starts = _symbols(elf, code, base)
    image = Image(path, _records(path, elf, len(blob), base, SECTION, decode_section), code, functions, labels,
                  starts, _records(path, elf, len(blob), base, RANGE_SECTION, decode_ranges))
    line_base = _line_base(elf, code)
    if elf.has_dwarf_info() and line_base is not None:
        image._lines = lambda: _dwarf_lines(path, elf, line_base)
    return image


def _layout(elf: ELFFile) -> dict[int, int]:
    """Section index → address: sh_addr when linked; in a .o the SHF_ALLOC sections one after another."""
    sections = list(elf.iter_sections())
    if elf["e_type"] != "ET_REL":
        return {i: s["sh_addr"] for i, s in enumerate(sections)}
    base, cursor = {}, 0
    for i, s in enumerate(sections):
        if s["sh_flags"] & SH_FLAGS.SHF_ALLOC:
            align = max(s["sh_addralign"], 1)
            cursor = -(-cursor // align) * align
            base[i] = cursor
            cursor += s["sh_size"]
    return base


def _line_base(elf: ELFFile, code: list[CodeSection]) -> int | None:
    """What to add to DWARF line addresses: 0 when linked; in a .o with one code section, its address."""
    if elf["e_type"] != "ET_REL":
        return 0
    with_bytes = [c for c in code if c.data]
    return with_bytes[0].address if len(with_bytes) == 1 else None


def _check_header(path: str, elf: ELFFile) -> None:
    machine, cls, etype = elf["e_machine"], elf.elfclass, elf["e_type"]
    if cls != 32 or machine != "EM_386":
        desc = {("EM_X86_64", 64): "x86-64", ("EM_386", 64): "64-bit i386"}.get(
            (machine, cls), f"ELFCLASS{cls} {machine}")
        raise UsageError(f"is {_article(desc)} {desc} ELF file; previrt reads ELFCLASS32 EM_386 (i386) images",
                         where=path)
    if etype not in ("ET_EXEC", "ET_DYN", "ET_REL"):
        raise UsageError(f"is an ELF file of type {etype}; previrt reads linked images and objects",
                         where=path)


def _section_data(section, file_size: int) -> bytes:
    if section["sh_type"] == "SHT_NOBITS":
        return b""
    if section["sh_offset"] + section["sh_size"] > file_size:
        raise ValueError(f"section {section.name} extends past the end of the file")
    return section.data()


def _records(path: str, elf: ELFFile, file_size: int, base: dict[int, int], name: str, decode) -> list:
    """The records of section `name` (SECTION or RANGE_SECTION), decoded by `decode`; none without it."""
    index = next((i for i, s in enumerate(elf.iter_sections()) if s.name == name), None)
    if index is None:
        return []
    sec = elf.get_section(index)
    try:
        data = _section_data(sec, file_size)
        if elf["e_type"] == "ET_REL":
            data = _relocated(elf, index, data, base)
        return decode(data, base.get(index, 0))
    except (SiteFormatError, ValueError) as e:
        raise UsageError(f"corrupt {name} section: {e}", where=path) from None


def _relocated(elf: ELFFile, index: int, data: bytes, base: dict[int, int]) -> bytes:
    """A record section of a .o with its R_386_32 / R_386_PC32 relocations applied at the layout."""
    out = bytearray(data)
    for rel in elf.iter_sections():
        if not isinstance(rel, RelocationSection) or rel["sh_info"] != index:
            continue
        symtab = elf.get_section(rel["sh_link"])
        for r in rel.iter_relocations():
            sym = symtab.get_symbol(r["r_info_sym"])
            if sym["st_shndx"] not in base:
                raise ValueError(f"record relocation at offset {r['r_offset']:#x} refers to {sym.name or 'a symbol'} "
                                 f"outside the object's sections")
            off, kind = r["r_offset"], r["r_info_type"]
            addend = r["r_addend"] if rel.is_RELA() else int.from_bytes(out[off:off + 4], "little", signed=True)
            value = base[sym["st_shndx"]] + sym["st_value"] + addend
            if kind == R_386_PC32:
                value -= base[index] + off
            elif kind != R_386_32:
                raise ValueError(f"record relocation at offset {off:#x} has type {kind}, "
                                 f"not R_386_32 or R_386_PC32")
            out[off:off + 4] = (value & 0xFFFFFFFF).to_bytes(4, "little")
    return bytes(out)


def _symbols(elf: ELFFile, code: list[CodeSection],
             base: dict[int, int]) -> tuple[list[Function], list[Function], list[int]]:
    """(STT_FUNC symbols, code labels, start of every named symbol) inside executable sections."""
    symtab = elf.get_section_by_name(".symtab")
    if symtab is None:
        return [], [], []
    functions, labels, starts = [], [], set()
    for sym in symtab.iter_symbols():
        kind, size, shndx = sym["st_info"]["type"], sym["st_size"], sym["st_shndx"]
        if not sym.name or kind in ("STT_SECTION", "STT_FILE", "STT_TLS") or not isinstance(shndx, int):
            continue
        value = sym["st_value"] + (base.get(shndx, 0) if elf["e_type"] == "ET_REL" else 0)
        if not any(s.address <= value < s.end for s in code):
            continue
        starts.add(value)
        if kind == "STT_OBJECT":
            continue
        entry = Function(sym.name, value, size)
        labels.append(entry)
        if kind == "STT_FUNC":
            functions.append(entry)
    key = lambda f: (f.address, -f.size, f.name)  # noqa: E731
    return sorted(set(functions), key=key), sorted(set(labels), key=key), sorted(starts)


def _dwarf_lines(path: str, elf: ELFFile, line_base: int) -> list[LineRange]:
    try:
        dwarf = elf.get_dwarf_info()
        ranges = []
        for cu in dwarf.iter_CUs():
            prog = dwarf.line_program_for_CU(cu)
            if prog is not None:
                own = _program_ranges(prog, line_base)
                if any(r.file == ACCESSOR_FILE for r in own):
                    own = _attributed(own, _accessor_calls(dwarf, cu, prog, line_base))
                ranges += own
        return sorted(ranges, key=lambda r: (r.start, r.end))
    except PARSE_ERRORS as e:
        raise UsageError(f"malformed DWARF line info ({type(e).__name__}: {e})", where=path) from None


def _program_ranges(prog, line_base: int = 0) -> list[LineRange]:
    """[start, end) → file:line for consecutive rows of each sequence of one line program."""
    names = _file_names(prog)
    out, prev = [], None
    for entry in prog.get_entries():
        st = entry.state
        if st is None:
            continue
        if prev is not None and st.address > prev.address:
            out.append(LineRange(prev.address + line_base, st.address + line_base, names.get(prev.file, "?"),
                                 prev.line))
        prev = None if st.end_sequence else _Row(st.address, st.file, st.line)
    return out


ACCESSOR_SPAN = 64     # bytes after an accessor's entry that its body may take when the compiler split it


def _accessor_calls(dwarf, cu, prog, line_base: int) -> list[LineRange]:
    """Where the C source pass's accessors were inlined: [low, high) → the file:line of the access (the inlined
    call's DW_AT_call_file/call_line), for the line rows the accessor's own body has."""
    names, out = _file_names(prog), []
    for die in cu.iter_DIEs():
        if die.tag != "DW_TAG_inlined_subroutine" or "DW_AT_call_line" not in die.attributes:
            continue
        origin = die.get_DIE_from_attribute("DW_AT_abstract_origin") if "DW_AT_abstract_origin" in die.attributes \
            else None
        name = origin.attributes.get("DW_AT_name") if origin is not None else None
        if name is None or not name.value.startswith(b"__previrt_pte_"):
            continue
        low, high = die.attributes.get("DW_AT_low_pc"), die.attributes.get("DW_AT_high_pc")
        if low is not None and high is not None:
            spans = [(low.value, low.value + high.value if high.form != "DW_FORM_addr" else high.value)]
        elif "DW_AT_ranges" in die.attributes:          # split by the scheduler into pieces: each of them
            spans = _ranges(dwarf, cu, die.attributes["DW_AT_ranges"].value)
        elif "DW_AT_entry_pc" in die.attributes:        # pieces not listed: from its entry on
            start = die.attributes["DW_AT_entry_pc"].value
            spans = [(start, start + ACCESSOR_SPAN)]
        else:
            continue
        where = names.get(die.attributes["DW_AT_call_file"].value, "?")
        out.extend(LineRange(start + line_base, end + line_base, where, die.attributes["DW_AT_call_line"].value)
                   for start, end in spans)
    return out


def _ranges(dwarf, cu, offset: int) -> list[tuple[int, int]]:
    """[start, end) of each piece of a DW_AT_ranges list (DWARF 4 .debug_ranges or 5 .debug_rnglists), relative
    entries from the compilation unit's base address."""
    lists = dwarf.range_lists()
    if lists is None:
        return []
    top = cu.get_top_DIE().attributes.get("DW_AT_low_pc")
    base = top.value if top is not None else 0
    spans = []
    for entry in lists.get_range_list_at_offset(offset, cu=cu):
        if hasattr(entry, "base_address"):
            base = entry.base_address
        elif entry.begin_offset < entry.end_offset:
            shift = 0 if getattr(entry, "is_absolute", False) else base
            spans.append((entry.begin_offset + shift, entry.end_offset + shift))
    return spans


def _attributed(ranges: list[LineRange], calls: list[LineRange]) -> list[LineRange]:
    """Line rows in the accessors' own file take the line of the access they were inlined for."""
    if not calls:
        return ranges
    starts = sorted(calls, key=lambda c: c.start)
    keys = [c.start for c in starts]
    out = []
    for r in ranges:
        if r.file == ACCESSOR_FILE:
            i = bisect.bisect_right(keys, r.start) - 1      # the nearest inlined call at or before the row
            if i >= 0 and starts[i].start <= r.start < starts[i].end:
                r = LineRange(r.start, r.end, starts[i].file, starts[i].line)
        out.append(r)
    return out


@dataclass(frozen=True)
class _Row:
    address: int
    file: int
    line: int


def _file_names(prog) -> dict[int, str]:
    """File index → name as the compiler wrote it (DWARF 5 counts from 0, earlier versions from 1)."""
    header = prog.header
    dirs = [d.decode(errors="replace") if isinstance(d, bytes) else d for d in header["include_directory"]]
    base = 0 if header["version"] >= 5 else 1
    names = {}
    for i, entry in enumerate(header["file_entry"]):
        name = entry.name.decode(errors="replace") if isinstance(entry.name, bytes) else entry.name
        d = entry.dir_index
        if header["version"] < 5:
            d -= 1
        if not os.path.isabs(name) and 0 <= d < len(dirs) and (header["version"] < 5 or d > 0):
            name = os.path.join(dirs[d], name)
        names[i + base] = name
    return names


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiox" or word[:2].lower() == "el" else "a"


PARAVIRT_SECTION = ".previrt.paravirt"   # a hand-ported para-virtual kernel names its hypervisor here (not loaded)


def paravirt_target(path: str) -> tuple[str, int] | None:
    """(hypervisor, ABI version) a para-virtual kernel was ported to, from its PARAVIRT_SECTION (ASCII lines
    `target=NAME` and `abi=N`); None for any other image.  A malformed section is a UsageError naming the file."""
    from previrt.errors import UsageError

    try:
        with open(path, "rb") as f:
            sec = ELFFile(f).get_section_by_name(PARAVIRT_SECTION)
            data = None if sec is None else sec.data()
    except (OSError, *PARSE_ERRORS):
        return None
    if data is None:
        return None
    fields = {}
    for line in data.decode("ascii", "replace").replace("\0", "\n").splitlines():
        key, sep, value = line.strip().partition("=")
        if sep:
            fields[key] = value
    target, abi = fields.get("target", ""), fields.get("abi", "")
    if not target.isidentifier() or not abi.isdigit():
        raise UsageError(f"section {PARAVIRT_SECTION} must hold `target=NAME` and `abi=N` lines, not {data[:64]!r}",
                         where=path)
    return target, int(abi)


def has_sites(path: str) -> bool:
    """Whether an ELF file has a site-record section (a previrt image); False for anything that is not ELF."""
    try:
        with open(path, "rb") as f:
            return ELFFile(f).get_section_by_name(SECTION) is not None
    except (OSError, *PARSE_ERRORS):
        return False
