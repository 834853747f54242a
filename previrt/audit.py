"""`previrt sites` and `previrt audit`: the objtool-like gate proving every sensitive instruction is a site.

Checks return Finding objects (audit()); the text output is apart (format_finding, list_sites, audit_command).
What is swept: see sweep_ranges (recorded 16/64-bit code is not); what counts as padding: see the NOP notes below."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Iterator, TextIO

from capstone import CS_ARCH_X86, CS_MODE_32, CS_OPT_SYNTAX_ATT, Cs
from capstone import x86 as X

from previrt.elf import Image, read_image
from previrt.isa.i386 import classify_capstone, row
from previrt.sites import SECTION, Site

X86_MAX_INSN = 15  # longest IA-32 instruction encoding

# Padding that counts as a NOP, precisely (what `.nops` and `.p2align` emit for i386, and nothing with
# an effect): capstone X86_INS_NOP (90, 66 90, 0f 1f /0 with 66 / 2e / 3e prefixes: nopl, nopw, cs nopw);
# `lea 0(%r32[,%eiz,s]),%r32` with the same register, disp 0, no prefix (8d 76 00, 8d 74 26 00,
# 8d b6/b4 … disp32); and `mov %r32,%r32` with the same register (89 f6 / 8b f6, older GAS tunes).
# Not padding: pause (f3 90), any other `xchg` (87 db: harmless, but not GAS padding), anything with a
# lock/rep prefix or a 67 address-size prefix (lea with 16-bit addressing truncates the register).
# Inside a site, a short `jmp` to the site end also counts (GAS `.nops` jumps over long paddings,
# 21 bytes and more); the bytes it skips must still decode as NOPs.
NOP_PREFIXES = frozenset({0, 0x66, 0x2E, 0x3E})
LEA_PREFIXES = frozenset({0})


@dataclass(frozen=True)
class Finding:
    """One audit finding: where (site or instruction address) and what is wrong."""

    address: int
    message: str


@dataclass
class AuditResult:
    findings: list[Finding]
    sites: int = 0
    ranges: int = 0
    swept_bytes: int = 0
    instructions: int = 0
    sensitive: int = 0
    unswept_bytes: int = 0
    by_function: bool = False
    code_ranges: int = 0  # records of 16/64-bit code
    other_mode_bytes: int = 0  # bytes of those ranges, left out of the 32-bit sweep


@dataclass(frozen=True)
class SweepRange:
    start: int
    end: int
    data: bytes  # the bytes of [start, end)


@dataclass
class Sweep:
    """Instruction boundaries of a linear sweep: address → size (an undecodable byte: size 1, address in `bad`)."""

    insns: dict[int, int] = field(default_factory=dict)
    bad: set[int] = field(default_factory=set)

    def containing(self, address: int) -> int | None:
        starts = sorted(self.insns)
        i = bisect.bisect_right(starts, address) - 1
        if i >= 0 and address < starts[i] + self.insns[starts[i]]:
            return starts[i]
        return None


def disassembler() -> Cs:
    """The decoder the checks use: Intel operand order in capstone's details (what the checks read)."""
    md = Cs(CS_ARCH_X86, CS_MODE_32)
    md.detail = True
    return md


_ATT = Cs(CS_ARCH_X86, CS_MODE_32)
_ATT.syntax = CS_OPT_SYNTAX_ATT


def att_text(code: bytes, address: int) -> str:
    """One instruction as findings show it: AT&T syntax, as GAS, gcc -S and the asm pass write it."""
    insn = next(_ATT.disasm(code[:X86_MAX_INSN], address, 1), None)
    return "(undecodable byte)" if insn is None else f"{insn.mnemonic} {insn.op_str}".strip()


def text(insn) -> str:
    return att_text(bytes(insn.bytes), insn.address)


def kind_name(kind: int) -> str:
    try:
        return row(kind).name
    except KeyError:
        return "?"


# ---- NOPs ----------------------------------------------------------------------------------------

def _prefixes(insn) -> set[int]:
    return set(insn.prefix) | {0}


def _plain_lea(insn) -> bool:
    if insn.id != X.X86_INS_LEA or insn.addr_size != 4 or not _prefixes(insn) <= LEA_PREFIXES:
        return False
    dst, src = insn.operands
    mem = src.mem
    return (dst.type == X.X86_OP_REG and src.type == X.X86_OP_MEM and mem.base == dst.reg
            and mem.index in (0, X.X86_REG_EIZ) and mem.disp == 0 and mem.segment == 0)


def _self_mov(insn) -> bool:
    if insn.id != X.X86_INS_MOV or len(insn.operands) != 2 or _prefixes(insn) != {0}:
        return False
    a, b = insn.operands
    return (a.type == b.type == X.X86_OP_REG and a.reg == b.reg and a.size == 4)


def _jumps_to(insn, target: int) -> bool:
    return (insn.id == X.X86_INS_JMP and insn.opcode[0] == 0xEB and _prefixes(insn) == {0}
            and insn.operands[0].type == X.X86_OP_IMM and insn.operands[0].imm == target)


def is_padding_nop(insn) -> bool:
    """True for the NOP forms listed above (capstone instruction, detail on)."""
    if insn.id == X.X86_INS_NOP:
        return _prefixes(insn) <= NOP_PREFIXES
    return _plain_lea(insn) or _self_mov(insn)


# ---- decoding ------------------------------------------------------------------------------------

def decode_one(md: Cs, data: bytes, address: int):
    return next(md.disasm(data[:X86_MAX_INSN], address, 1), None)


def decode_all(md: Cs, data: bytes, address: int) -> Iterator:
    """Linear sweep of `data`; an undecodable byte is stepped over (yielded as _Undecodable)."""
    off = 0
    while off < len(data):
        last = off
        for insn in md.disasm(data[off:], address + off):
            yield insn
            last = insn.address - address + insn.size
        if last < len(data):
            yield _Undecodable(address + last)
        off = last + 1


@dataclass(frozen=True)
class _Undecodable:
    address: int
    size: int = 1


# ---- the checks ----------------------------------------------------------------------------------

def check_records(image: Image) -> tuple[list[Finding], list[Site]]:
    """Bounds, shape, kind and overlap of every record; returns the findings and the in-bounds sites."""
    findings, usable = [], []
    prev: Site | None = None
    for site in sorted(image.sites, key=lambda s: (s.address, s.end)):
        name = kind_name(site.kind)
        if name == "?":
            findings.append(Finding(site.address, f"record has unknown kind {site.kind}"))
        if site.insn_len == 0 or site.insn_len > site.size:
            findings.append(Finding(site.address, f"malformed record: size {site.size}, insn_len {site.insn_len}"))
        elif image.section_of(site.address, site.end) is None:
            findings.append(Finding(site.address, f"record out of bounds: site [{site.address:#x}, "
                                                  f"{site.end:#x}) is not inside an executable section"))
        else:
            usable.append(site)
        if prev is not None and site.address < prev.end:
            findings.append(Finding(site.address, f"site [{site.address:#x}, {site.end:#x}) overlaps the "
                                                  f"site [{prev.address:#x}, {prev.end:#x})"))
        if prev is None or site.end > prev.end:
            prev = site
    return findings, usable


def check_site(md: Cs, image: Image, site: Site) -> list[Finding]:
    """The site starts with an instruction of its kind and length (a memory kind: exactly its row's
    original bytes), and the rest decodes as NOPs."""
    sec = image.section_of(site.address, site.end)
    data = sec.data[site.address - sec.address:site.end - sec.address]
    want = f"kind {site.kind} ({kind_name(site.kind)})"
    memory = row(site.kind).original
    if memory is not None:  # a memory site of the source pass: exactly the row's bytes, then NOPs
        if site.insn_len != len(memory) or not data.startswith(memory):
            return [Finding(site.address, f"memory site does not start with the {len(memory)} bytes "
                                          f"{memory.hex(' ')} (`{att_text(memory, site.address)}`) of its "
                                          f"kind (record: {want}, insn_len {site.insn_len}): it holds "
                                          f"{data[:max(len(memory), site.insn_len)].hex(' ')}")]
        return check_padding(md, data[len(memory):], site.address + len(memory), site)
    insn = decode_one(md, data, site.address)
    if insn is None:
        return [Finding(site.address, f"site start does not decode as an instruction (record: {want})")]
    found = []
    got = classify_capstone(insn)
    if got is None:
        found.append(Finding(site.address, f"site starts with `{text(insn)}`, not a sensitive instruction "
                                           f"(record: {want})"))
    elif got.kind != site.kind:
        found.append(Finding(site.address, f"kind mismatch: record says {want}, the instruction `{text(insn)}` "
                                           f"is kind {got.kind} ({got.name})"))
    if insn.size != site.insn_len:
        found.append(Finding(site.address, f"length mismatch: record says insn_len {site.insn_len}, "
                                           f"`{text(insn)}` is {insn.size} bytes"))
    return found + check_padding(md, data[insn.size:], site.address + insn.size, site)


def check_padding(md: Cs, data: bytes, address: int, site: Site) -> list[Finding]:
    for insn in decode_all(md, data, address):
        if isinstance(insn, _Undecodable):
            return [Finding(insn.address, f"padding of the site at {site.address:#x} does not decode")]
        if insn.address + insn.size > site.end:
            return [Finding(insn.address, f"padding of the site at {site.address:#x} ends inside `{text(insn)}`")]
        if not (is_padding_nop(insn) or _jumps_to(insn, site.end)):
            return [Finding(insn.address, f"padding of the site at {site.address:#x} is `{text(insn)}`, not a NOP")]
    return []


def sweep_ranges(image: Image, other_mode: list[tuple[int, int]] = ()) -> tuple[list[SweepRange], bool]:
    """What the sweep decodes; second value: whether any section went by function.

    A section without sized STT_FUNC symbols is swept whole. Otherwise: the sized function bodies,
    unsized STT_FUNC symbols up to the next symbol, and, in the rest of the section (assembly written
    without .type/.size), the DWARF line-table rows: each row starts an instruction, and a row is cut
    at the next symbol, so a labelled table or a Multiboot header in .text is not taken for code.
    The `other_mode` spans (recorded 16/64-bit code, sorted, not overlapping) are cut out: a range ends
    where 32-bit code starts again, so the sweep resumes on an instruction boundary."""
    ranges, by_function = [], False
    for sec in image.code:
        funcs = [f for f in image.functions if sec.address <= f.address < sec.end]
        if not any(f.size for f in funcs):
            spans = [(sec.address, sec.end)]
        else:
            by_function = True
            spans = _merge_overlapping(sorted({(f.address, min(_extent(image, f, sec), sec.end)) for f in funcs}))
            spans = sorted(spans + _line_spans(image, sec, spans))
        spans = [cut for a, b in spans for cut in _without(a, b, other_mode)]
        ranges += [SweepRange(a, b, sec.data[a - sec.address:b - sec.address]) for a, b in spans]
    return ranges, by_function


def _without(start: int, end: int, holes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """[start, end) less the sorted, disjoint `holes`, as the non-empty pieces left."""
    out, cursor = [], start
    for a, b in holes[max(bisect.bisect_right(holes, (start, start)) - 1, 0):]:
        if a >= end:
            break
        if a > cursor:
            out.append((cursor, a))
        cursor = max(cursor, b)
    if cursor < end:
        out.append((cursor, end))
    return out


def _extent(image: Image, func, sec) -> int:
    if func.size:
        return func.address + func.size
    return _next_symbol(image, func.address, sec.end)


def _next_symbol(image: Image, address: int, limit: int) -> int:
    starts = image.symbol_starts
    i = bisect.bisect_right(starts, address)
    return min(starts[i], limit) if i < len(starts) else limit


def _line_spans(image: Image, sec, covered: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Line-table rows of `sec` that start outside the `covered` spans, each cut at the next symbol."""
    out = []
    for r in image.line_ranges:
        if not sec.address <= r.start < sec.end or _in_spans(covered, r.start):
            continue
        end = min(r.end, sec.end, _next_symbol(image, r.start, sec.end), _next_span(covered, r.start))
        if end > r.start:
            out.append((r.start, end))
    return out


def _in_spans(spans: list[tuple[int, int]], address: int) -> bool:
    i = bisect.bisect_right(spans, (address, float("inf"))) - 1
    return i >= 0 and spans[i][0] <= address < spans[i][1]


def _next_span(spans: list[tuple[int, int]], address: int) -> int:
    i = bisect.bisect_right(spans, (address, float("inf")))
    return spans[i][0] if i < len(spans) else 1 << 32


def _merge_overlapping(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def check_sweep(md: Cs, image: Image, rng: SweepRange, sites: list[Site], result: AuditResult) -> list[Finding]:
    """Every sensitive instruction of the range starts a site; no site is split by the sweep."""
    starts = {s.address for s in sites}
    site_starts = sorted(starts)
    sweep, findings = Sweep(), []
    for insn in decode_all(md, rng.data, rng.start):
        if isinstance(insn, _Undecodable):
            sweep.insns[insn.address] = 1
            sweep.bad.add(insn.address)
            continue
        sweep.insns[insn.address] = insn.size
        result.instructions += 1
        got = classify_capstone(insn)
        if got is None:
            continue
        result.sensitive += 1
        if insn.address not in starts and not _inside_site(sites, site_starts, insn.address):
            findings.append(Finding(insn.address, f"unannotated sensitive instruction `{text(insn)}` "
                                                  f"(kind {got.kind} {got.name}, {got.category.value}): "
                                                  f"no site record starts here"))
    return findings + _split_sites(sweep, rng, sites)


def _inside_site(sites: list[Site], site_starts: list[int], address: int) -> bool:
    i = bisect.bisect_right(site_starts, address) - 1
    return i >= 0 and any(s.address <= address < s.end for s in sites if s.address == site_starts[i])


def _split_sites(sweep: Sweep, rng: SweepRange, sites: list[Site]) -> list[Finding]:
    findings = []
    for site in sites:
        for edge, what in ((site.address, "start"), (site.end, "end")):
            if rng.start < edge < rng.end and edge not in sweep.insns:
                inner = sweep.containing(edge)
                if inner is not None:
                    shown = ("(undecodable byte)" if inner in sweep.bad else
                             att_text(rng.data[inner - rng.start:inner - rng.start + sweep.insns[inner]], inner))
                    findings.append(Finding(site.address, f"site {what} {edge:#x} falls inside the instruction "
                                                          f"`{shown}` at {inner:#x} of the sweep"))
    return findings


def check_code_ranges(image: Image) -> tuple[list[Finding], list[tuple[int, int]]]:
    """Bounds and shape of every 16/64-bit code range, and no site overlapping one (a site in 16-bit
    code would be checked and patched as 32-bit code).  Returns the findings and the usable ranges as
    sorted, merged (start, end) spans; an empty range excludes nothing and is not checked."""
    findings, spans = [], []
    sites = sorted(image.sites, key=lambda s: s.address)
    starts = [s.address for s in sites]  # a site is at most 255 bytes long (its size is a byte)
    for rng in sorted(image.code_ranges):
        where = f"{rng.mode}-bit code range [{rng.start:#x}, {rng.end:#x})"
        if rng.end < rng.start:
            findings.append(Finding(rng.start, f"malformed record: {where} ends before it starts"))
            continue
        if rng.end == rng.start:
            continue
        if image.section_of(rng.start, rng.end) is None:
            findings.append(Finding(rng.start, f"record out of bounds: {where} is not inside an executable "
                                               f"section"))
            continue
        spans.append((rng.start, rng.end))
        for site in sites[bisect.bisect_left(starts, rng.start - 255):bisect.bisect_left(starts, rng.end)]:
            if site.address < rng.end and site.end > rng.start:
                findings.append(Finding(site.address, f"site [{site.address:#x}, {site.end:#x}) "
                                                      f"({kind_name(site.kind)}) overlaps the {where}"))
    return findings, _merge_overlapping(sorted(spans))


def audit(image: Image) -> AuditResult:
    """All findings for one image, sorted by address."""
    md = disassembler()
    result = AuditResult([], sites=len(image.sites), code_ranges=len(image.code_ranges))
    findings, usable = check_records(image)
    for site in usable:
        if kind_name(site.kind) != "?":
            findings += check_site(md, image, site)
    range_findings, other_mode = check_code_ranges(image)
    findings += range_findings
    result.other_mode_bytes = sum(b - a for a, b in other_mode)
    ranges, result.by_function = sweep_ranges(image, other_mode)
    usable.sort(key=lambda s: s.address)
    starts = [s.address for s in usable]
    for rng in ranges:
        inside = usable[bisect.bisect_left(starts, rng.start):bisect.bisect_left(starts, rng.end)]
        findings += check_sweep(md, image, rng, inside, result)
        result.swept_bytes += rng.end - rng.start
    result.ranges = len(ranges)
    result.unswept_bytes = sum(len(s.data) for s in image.code) - result.swept_bytes - result.other_mode_bytes
    result.findings = sorted(set(findings), key=lambda f: (f.address, f.message))
    return result


# ---- text output ---------------------------------------------------------------------------------

def locate(image: Image, address: int) -> str:
    """`0x00101234 kmain+0x12 (kernel.c:42)`; the line part only with DWARF line info."""
    line = image.source_line(address)
    return f"{address:#010x} {image.describe(address)}" + (f" ({line})" if line else "")


def format_finding(image: Image, finding: Finding) -> str:
    return f"{image.path}: {locate(image, finding.address)}: {finding.message}"


def audit_command(image_path: str, out: TextIO, verbose: bool = False) -> int:
    """`previrt audit IMAGE`: findings one a line; 0 clean, 1 findings (unusable input raises UsageError).  An image
    `previrt patch` wrote is refused: its sites hold a hypervisor's code now, not the instructions the build recorded."""
    image = read_image(image_path)
    from previrt.errors import UsageError
    from previrt.patch import patched_target
    patched = patched_target(image_path)
    if patched is not None:
        raise UsageError(f"this image is patched for {patched[0]} (ABI {patched[1]}): its sites no longer hold the "
                         "recorded instructions; audit the image it was patched from", where=image_path)
    result = audit(image)
    for f in result.findings:
        print(format_finding(image, f), file=out)
    if verbose:
        how = "function bodies from the symbol table" if result.by_function else "whole executable sections"
        print(f"{image_path}: checked {result.sites} site records; swept {result.swept_bytes} bytes in "
              f"{result.ranges} ranges ({how}): {result.instructions} instructions, {result.sensitive} "
              f"sensitive; {result.other_mode_bytes} bytes of 16/64-bit code ({result.code_ranges} recorded "
              f"ranges) not swept; {result.unswept_bytes} bytes of executable sections outside swept functions",
              file=out)
    if result.findings:
        print(f"{image_path}: audit failed: {len(result.findings)} finding(s)", file=out)
        return 1
    print(f"{image_path}: audit clean: {result.sites} sites, every sensitive instruction recorded", file=out)
    return 0


def format_site(image: Image, site: Site) -> str:
    line = image.source_line(site.address) or "-"
    kind = f"{site.kind:3d} {kind_name(site.kind)}"
    return f"{site.address:#010x}  {kind:<16} {site.size:4d}  {image.describe(site.address):<28} {line}"


def list_sites(image_path: str, out: TextIO) -> int:
    """`previrt sites IMAGE`: one line per record, in address order."""
    image = read_image(image_path)
    _ = image.line_ranges  # malformed DWARF is reported before any output
    if not image.sites:
        print(f"{image_path}: no {SECTION} records", file=out)
        return 0
    print(f"{'address':<10}  {'kind':<16} {'size':>4}  {'function+offset':<28} source", file=out)
    for site in sorted(image.sites, key=lambda s: s.address):
        print(format_site(image, site), file=out)
    return 0
