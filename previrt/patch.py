"""The load-time patcher: every recorded site of a previrt image rewritten for one hypervisor, from that hypervisor's
jinja2 templates (one per site kind), assembled in one batch with the system as/ld, checked, filled with NOPs.

Owns plan() (a Patch: per site original, replacement and final bytes; no file written), write_image() (a patched copy
of the ELF file that names its target), patched_target() (reads that name back), the content-hash cache of both the
batch and the whole plan, and `previrt patch` (patch_command, the --dump text).

Each site, before and after (kind cli, site size 8, template `movb $0, shared_vif`):

    fa                      cli                         c6 05 00 00 02 fc 00    movb $0x0,0xfc020000
    0f 1f 80 00 00 00 00    nopl 0x0(%eax)              90                      nop

Templates: `<row name>.s.j2` (a row of previrt.isa.i386: cli.s.j2, mov_to_cr.s.j2), rendered with StrictUndefined,
a filter `hex`, and
    site   address, end, size, kind (row name), insn_len, aux            (SiteContext)
    insn   mnemonic, op_str (capstone's own, Intel: "popfd"), ops (AT&T operands in source order, as GAS writes
           them: `mov %eax,%cr3` -> ["%eax", "%cr3"]), att (the AT&T text), bytes        (InsnContext)
    sym    name -> address, from the hypervisor; each is also `.set` for the assembler (`call wedge_sti` works)
The rendered text is GAS (AT&T) for i386, or one directive as its first non-blank line: `# previrt: keep` (the site
stays as it is) or `# previrt: trap` (its first byte becomes int3; Patch.traps holds the original for emulation at
the trap). A kind without a template becomes ud2 plus NOPs and is listed in Patch.unhandled. A replacement never
grows its site; the rest of the site is padding as the asm pass lays it out (one NOP, or a short jmp over NOPs)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import NamedTuple, TextIO

from previrt.elf import Image, read_image
from previrt.errors import PrevirtError, UsageError
from previrt.isa import i386
from previrt.sites import RANGE_SECTION, SECTION, SiteFormatError, decode_ranges, decode_section

TEMPLATE_SUFFIX = ".s.j2"
TARGET_SECTION = ".previrt.target"  # names the target a patched image was written for (not loaded)
BATCH_SECTION = ".previrt.patch."  # + index: one section per assembled site in the batch

# What a site becomes (PatchedSite.directive).
REPLACE = "replace"  # the template's assembled code, then padding
KEEP = "keep"  # `# previrt: keep`: the original instruction and padding, unchanged
TRAP = "trap"  # `# previrt: trap`: int3 over the first byte; the original is in Patch.traps
UD2 = "ud2"  # no template for the kind: ud2, then padding; listed in Patch.unhandled
DIRECTIVES = {"keep": KEEP, "trap": TRAP}  # `# previrt: WORD` as a rendered template's first non-blank line
_DIRECTIVE_LINE = re.compile(r"#\s*previrt\s*:\s*(\S*)\s*$")

INT3 = b"\xcc"
UD2_BYTES = b"\x0f\x0b"

# Padding, exactly as the asm pass has GAS lay it out (`.arch .nop` then `.nops N, 11`): one NOP up to MAX_NOP bytes,
# a longer padding starts with a short jmp to the site end. These are the NOPs `previrt audit` accepts as padding.
MAX_NOP = 11
JMP_REL8 = 0xEB
NOPS = tuple(bytes.fromhex(h) for h in (
    "", "90", "6690", "0f1f00", "0f1f4000", "0f1f440000", "660f1f440000", "0f1f8000000000", "0f1f840000000000",
    "660f1f840000000000", "662e0f1f840000000000", "66662e0f1f840000000000"))

MAX_REFUSALS_SHOWN = 20  # sites named in one error; the rest are counted
_SYMBOL_NAME = re.compile(r"[A-Za-z_.$][A-Za-z0-9_.$]*\Z")
_GAS_MESSAGE = re.compile(r"^[^:\n]*:(\d+): (Error|Warning): (.*)$", re.M)
_LD_SITE = re.compile(r"\(" + re.escape(BATCH_SECTION) + r"(\d+)\+0x[0-9a-fA-F]+\): (.*)$", re.M)

ELF32_HEADER = struct.Struct("<16sHHIIIIIHHHHHH")  # e_ident .. e_shstrndx
ELF32_SHDR = struct.Struct("<IIIIIIIIII")  # sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, ... sh_entsize
SHT_PROGBITS, SHN_LORESERVE = 1, 0xFF00


class PatchError(PrevirtError):
    """One or more sites refused (original bytes changed, a replacement too long, a template that does not render,
    assemble or link): status 1. `refusals` holds one line per site."""

    exit_status = 1

    def __init__(self, refusals: list[str]):
        self.refusals = refusals
        shown = refusals[:MAX_REFUSALS_SHOWN]
        more = len(refusals) - len(shown)
        super().__init__("\n".join(shown + ([f"... and {more} more sites refused"] if more else [])))


# ---- the result ------------------------------------------------------------------------------------

class PatchedSite(NamedTuple):
    """One site as patched: `original`, `final` are its whole `size` bytes before and after; `replacement` is what
    went in before the padding (the assembled template; for keep the original instruction; for trap int3; ud2)."""

    address: int
    kind: str  # the row name of previrt.isa.i386
    size: int
    insn_len: int
    directive: str  # REPLACE, KEEP, TRAP or UD2
    original: bytes
    replacement: bytes
    final: bytes

    @property
    def end(self) -> int:
        return self.address + self.size


@dataclass(eq=False)
class Patch:
    """The patch of one image for one template set: `sites` in address order; `cached` says what came from the cache
    ("plan": everything, no check, render, as or ld ran; "assembly": the batch; "": as and ld ran, or there was
    nothing to assemble). `image` (functions, DWARF lines: for dumps and messages) is read on first use."""

    image_path: str
    sites: list[PatchedSite]
    cached: str = ""
    _image: Image | None = field(default=None, repr=False)

    @property
    def image(self) -> Image:
        if self._image is None:
            self._image = read_image(self.image_path)
        return self._image

    @cached_property
    def by_kind(self) -> dict[str, int]:
        """Row name -> number of sites of that kind."""
        counts: dict[str, int] = {}
        for s in self.sites:
            counts[s.kind] = counts.get(s.kind, 0) + 1
        return dict(sorted(counts.items()))

    @cached_property
    def traps(self) -> dict[int, tuple[bytes, str]]:
        """Link address of each int3 -> (the original instruction's bytes, row name), for emulation at the trap; the
        guest resumes at the address plus the length of those bytes (the rest of the site is padding)."""
        return {s.address: (s.original[:s.insn_len], s.kind) for s in self.sites if s.directive == TRAP}

    @cached_property
    def replaced(self) -> dict[int, tuple[bytes, str, int]]:
        """Link address of each site patched with new code -> (the site's original bytes, row name, length of the
        original instruction): what a hypervisor puts back when code the template was not written for (ring 3)
        reaches the site."""
        return {s.address: (s.original, s.kind, s.insn_len) for s in self.sites if s.directive == REPLACE}

    @cached_property
    def unhandled(self) -> dict[int, str]:
        """Link address of each ud2 -> row name: the kinds the template set has no template for."""
        return {s.address: s.kind for s in self.sites if s.directive == UD2}

    @cached_property
    def writes(self) -> dict[int, bytes]:
        """Link address -> final bytes, for every site whose bytes change (what a loader writes into guest memory)."""
        return {s.address: s.final for s in self.sites if s.final != s.original}


# ---- the template context --------------------------------------------------------------------------

class SiteContext(NamedTuple):
    """`site` in a template."""

    address: int
    end: int
    size: int
    kind: str  # row name
    insn_len: int
    aux: int  # the record's kind-specific field


class InsnContext(NamedTuple):
    """`insn` in a template: the original instruction as capstone decodes it. `mnemonic` and `op_str` are capstone's
    own (its default, Intel syntax: "popfd", "mov"); `ops` are the AT&T operands in source order as GAS writes them
    (`mov %eax,%cr3` -> ["%eax", "%cr3"]); `att` is the whole instruction in AT&T ("movl %eax,%cr3"); `bytes` its
    encoding."""

    mnemonic: str
    op_str: str
    ops: list
    att: str
    bytes: bytes


# ---- plan ------------------------------------------------------------------------------------------

def plan(image_path: str, templates_dir, sym: dict[str, int] | None, *, cache_dir=None) -> Patch:
    """The patch of every site of the linked image at `image_path` from the templates in `templates_dir`, with the
    symbols `sym` (name -> address) defined for them. Nothing is written but the cache (`cache_dir`, default
    default_cache_dir()). Raises UsageError for unusable input, PatchError when a site is refused."""
    src = Source(image_path)
    templates = _template_set(templates_dir)
    sym = _checked_symbols(sym)
    sites, originals = _checked_records(src)
    cache = Cache(Path(cache_dir) if cache_dir is not None else default_cache_dir())
    key = _plan_key(src, templates, sym, originals)
    hit = cache.get(key, "plan")
    patched = _decode_plan(hit, sites, originals) if hit is not None else None
    if patched is not None:
        return Patch(image_path, patched, cached="plan")
    insns = _checked_instructions(src, sites, originals)
    rendered = _render_all(src, templates, sym, sites, insns)
    assembled, from_cache = _assemble_cached(src, sites, rendered, sym, cache)
    patched = _patched_sites(src, sites, originals, rendered, assembled)
    cache.put(key, "plan", _encode_plan(patched))
    return Patch(image_path, patched, cached="assembly" if from_cache else "", _image=src.loaded)


class Source:
    """The image being patched. Read first, and all a cached plan needs: the header, the site records (and their
    section's address and bytes, for the cache key), the 16/64-bit code ranges, the executable sections; the full
    Image (functions, DWARF lines, for messages naming a site) on first use of `full`."""

    def __init__(self, path: str):
        from previrt.elf import ELFMAG, PARSE_ERRORS

        self.path, self.loaded = path, None
        blob = _read_input(path)
        if blob[:4] != ELFMAG:
            raise UsageError("not an ELF file", where=path)
        try:
            target = self._read(_elf_file(blob), len(blob))
        except UsageError:
            raise
        except SiteFormatError as e:
            raise UsageError(f"corrupt {SECTION} or {RANGE_SECTION} section: {e}", where=path) from None
        except PARSE_ERRORS as e:
            raise UsageError(f"truncated or malformed ELF file ({type(e).__name__}: {e})", where=path) from None
        if target is not None:
            raise UsageError(f"is already patched for target {target[0]!r} (ABI {target[1]}): patch the unpatched "
                             f"image", where=path)
        if not self.sites:
            raise UsageError(f"nothing to patch: no {SECTION} records", where=path)

    def _read(self, elf, size: int) -> tuple[str, int] | None:
        from elftools.elf.constants import SH_FLAGS

        from previrt import elf as elfread

        elfread._check_header(self.path, elf)
        if elf["e_type"] == "ET_REL":
            raise UsageError("is a relocatable object; previrt patch patches linked images", where=self.path)
        sections = list(elf.iter_sections())
        self.code = sorted((elfread.CodeSection(s.name, s["sh_addr"], elfread._section_data(s, size))
                            for s in sections if s["sh_flags"] & SH_FLAGS.SHF_EXECINSTR
                            and s["sh_type"] != "SHT_NOBITS"), key=lambda c: c.address)
        named = {s.name: s for s in reversed(sections)}  # the first of a name, as elf.read_image takes it
        records, ranges = named.get(SECTION), named.get(RANGE_SECTION)
        self.records = b"" if records is None else elfread._section_data(records, size)
        self.records_address = 0 if records is None else records["sh_addr"]
        self.sites = decode_section(self.records, self.records_address)
        self.other_mode = sorted((r.start, r.end) for r in ([] if ranges is None else decode_ranges(
            elfread._section_data(ranges, size), ranges["sh_addr"])) if r.end > r.start)
        self.light = Image(self.path, self.sites, self.code, [])
        return _target_of(elf)

    @property
    def full(self) -> Image:
        if self.loaded is None:
            self.loaded = read_image(self.path)
        return self.loaded


def _elf_file(blob: bytes):
    import io

    from elftools.elf.elffile import ELFFile

    return ELFFile(io.BytesIO(blob))


def _checked_symbols(sym) -> dict[str, int]:
    from collections.abc import Mapping

    if sym is not None and not isinstance(sym, Mapping):
        raise UsageError(f"patch symbols must be a mapping of name to address, not {type(sym).__name__}")
    sym = dict(sym or {})
    for name, value in sym.items():
        if not isinstance(name, str) or not _SYMBOL_NAME.match(name):
            raise UsageError(f"patch symbol {name!r} is not a GAS symbol name")
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFFFFFFFF:
            raise UsageError(f"patch symbol {name} = {value!r} is not a 32-bit address")
    return dict(sorted(sym.items()))


# ---- checks ----------------------------------------------------------------------------------------

def where(image: Image, address: int, kind: str) -> str:
    """`IMAGE: 0x00101234 kmain+0x12 (kernel.c:42): cli site` — how every message names a site (the line only where
    the image has readable DWARF line info)."""
    try:
        line = image.source_line(address)
    except PrevirtError:
        line = None
    return f"{image.path}: {address:#010x} {image.describe(address)}" + (f" ({line})" if line else "") + \
        f": {kind} site"


def _checked_records(src: Source) -> tuple[list, list[bytes]]:
    """The sites in address order, each of a known kind and sane lengths, inside an executable section, not
    overlapping the one before; and the bytes each holds (instruction and padding)."""
    names, sites = _row_names(), sorted(src.sites)
    refusals, originals, sec, prev_end = [], [], None, -1
    for site in sites:
        start, end = site.address, site.address + site.size
        if sec is None or not (sec.address <= start and end <= sec.address + len(sec.data)):
            sec = next((c for c in src.code if c.contains(start, end)), None)
        if site.kind not in names or not 0 < site.insn_len <= site.size or sec is None or start < prev_end or \
                (src.other_mode and _other_mode(src.other_mode, start, end)):
            refusals.append(_record_refusal(src, site, sec, sites))
        else:
            originals.append(sec.data[start - sec.address:end - sec.address])
        prev_end = max(prev_end, end)
    if refusals:
        raise PatchError(refusals)
    return sites, originals


def _record_refusal(src: Source, site, sec, sites: list) -> str:
    kind = _row_names().get(site.kind)
    head = where(src.full, site.address, kind or f"kind {site.kind}")
    if kind is None:
        return f"{head}: the record's kind {site.kind} is not a row of previrt/isa/i386.py"
    if not 0 < site.insn_len <= site.size:
        return f"{head}: malformed record: size {site.size}, insn_len {site.insn_len}"
    if sec is None:
        return f"{head}: [{site.address:#x}, {site.end:#x}) is not inside an executable section"
    span = _other_mode(src.other_mode, site.address, site.end)
    if span is not None:
        return f"{head}: [{site.address:#x}, {site.end:#x}) overlaps the 16/64-bit code [{span[0]:#x}, {span[1]:#x})"
    other = next(s for s in sites if s.address <= site.address < s.end and s is not site)
    return f"{head}: [{site.address:#x}, {site.end:#x}) overlaps the site [{other.address:#x}, {other.end:#x})"


def _other_mode(spans: list[tuple[int, int]], start: int, end: int) -> tuple[int, int] | None:
    """The recorded 16/64-bit code range [start, end) overlaps, if any (a site there is not 32-bit code)."""
    import bisect

    i = bisect.bisect_left(spans, (end,))
    return next((sp for sp in reversed(spans[:i]) if sp[1] > start), None)


def _checked_instructions(src: Source, sites: list, originals: list[bytes]) -> list[InsnContext]:
    """Each site holds what the build pass recorded (as `previrt audit` checks it: an instruction of the record's
    kind and length, then padding); returns the decoded instructions."""
    from previrt import audit

    md, att = audit.disassembler(), _att_disassembler()
    refusals, insns = [], []
    for site, data in zip(sites, originals):
        findings = audit.check_site(md, src.light, site)
        if findings:
            refusals.append(f"{where(src.full, site.address, i386.row(site.kind).name)}: the bytes are not what the "
                            f"build pass recorded ({findings[0].message}): was the image changed after it was "
                            f"built?")
            continue
        insns.append(_insn_context(md, att, data[:site.insn_len], site.address))
    if refusals:
        raise PatchError(refusals)
    return insns


@lru_cache(maxsize=None)
def _att_disassembler():
    from capstone import CS_ARCH_X86, CS_MODE_32, CS_OPT_SYNTAX_ATT, Cs

    md = Cs(CS_ARCH_X86, CS_MODE_32)
    md.syntax = CS_OPT_SYNTAX_ATT
    return md


def _insn_context(md, att, code: bytes, address: int) -> InsnContext:
    intel = next(md.disasm(code, address, 1))
    gas = next(att.disasm(code, address, 1))
    ops = gas_operands(gas.op_str)
    text = f"{gas.mnemonic} {','.join(ops)}".strip()
    return InsnContext(intel.mnemonic, intel.op_str, ops, text, bytes(code))


def gas_operands(op_str: str) -> list[str]:
    """capstone's AT&T operand text as GAS writes operands: "0x10(%ebx, %ecx, 4), %eax" -> ["0x10(%ebx,%ecx,4)",
    "%eax"]; a far pointer "$0x10:$0x1000" -> ["$0x10", "$0x1000"]."""
    ops = []
    for op in i386.split_operands(op_str):
        op = re.sub(r",\s+", ",", op)
        ops += op.split(":", 1) if op.startswith("$") and ":$" in op else [op]
    return ops


# ---- templates -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TemplateSet:
    """A templates folder: the row names it has a template for, and a digest of every file in it."""

    folder: Path
    kinds: frozenset
    digest: bytes


def _template_set(templates_dir) -> TemplateSet:
    folder = Path(templates_dir)
    if not folder.is_dir():
        raise UsageError("is not a folder of patch templates", where=str(folder))
    h, kinds = hashlib.sha256(), set()
    rows = {r.name for r in i386.ROWS + i386.MEMORY_ROWS}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        try:
            h.update(f"{rel}\0".encode() + path.read_bytes() + b"\0")
        except OSError as e:
            raise UsageError(f"cannot read: {e.strerror}", where=str(path)) from None
        if rel.endswith(TEMPLATE_SUFFIX) and "/" not in rel:
            name = rel[:-len(TEMPLATE_SUFFIX)]
            if name not in rows:
                raise UsageError(f"the template names no row of previrt/isa/i386.py ({name!r}; rows are named like "
                                 f"cli, mov_to_cr)", where=str(path))
            kinds.add(name)
    return TemplateSet(folder, frozenset(kinds), h.digest())


class Rendered(NamedTuple):
    template: str | None  # file name, None for a kind without template
    directive: str
    text: str  # GAS text to assemble (REPLACE only)


def _render_all(src: Source, templates: TemplateSet, sym: dict[str, int], sites: list,
                insns: list[InsnContext]) -> list[Rendered]:
    env, render_errors = _environment(templates.folder)
    refusals, out = [], []
    for site, insn in zip(sites, insns):
        kind = i386.row(site.kind).name
        if kind not in templates.kinds:
            out.append(Rendered(None, UD2, ""))
            continue
        name = kind + TEMPLATE_SUFFIX
        ctx = SiteContext(site.address, site.end, site.size, kind, site.insn_len, site.aux)
        try:
            out.append(_rendered(name, env.get_template(name).render(site=ctx, insn=insn, sym=sym)))
        except render_errors as e:
            refusals.append(f"{where(src.full, site.address, kind)}: template {name} does not render: "
                            f"{type(e).__name__}: {e}")
    if refusals:
        raise PatchError(refusals)
    return out


def _environment(folder: Path) -> tuple:
    """The jinja2 environment of a templates folder (StrictUndefined; filter `hex`), and the errors a render raises."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, autoescape=False)
    env.filters["hex"] = lambda v: f"{v:#x}"
    return env, (jinja2.TemplateError, ArithmeticError, LookupError, TypeError, ValueError, AttributeError)


def _rendered(name: str, text: str) -> Rendered:
    """A directive as the first non-blank line decides; anything else is GAS text to assemble."""
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    m = _DIRECTIVE_LINE.match(first)
    if m is None:
        return Rendered(name, REPLACE, text if text.endswith("\n") else text + "\n")
    if m.group(1) not in DIRECTIVES:
        raise ValueError(f"unknown directive `{first}` (known: " +
                         ", ".join(f"# previrt: {d}" for d in DIRECTIVES) + ")")
    return Rendered(name, DIRECTIVES[m.group(1)], "")


# ---- the batch: one .s, one linker script, as and ld -------------------------------------------------

class Batch(NamedTuple):
    source: str
    script: str
    first_lines: list  # 1-based line of each entry's first rendered line in `source`
    entries: list  # (site index, site, Rendered) in batch order


def batch(sites: list, rendered: list[Rendered], sym: dict[str, int]) -> Batch:
    """The assembly file (every REPLACE site in a section of its own) and the linker script placing each section at
    its site's address."""
    lines = [f"# previrt patch batch: {sum(r.directive == REPLACE for r in rendered)} sites"]
    lines += [f"\t.set {name}, {value:#x}" for name, value in sym.items()]
    script, entries, firsts = ["SECTIONS", "{"], [], []
    for i, (site, r) in enumerate(zip(sites, rendered)):
        if r.directive != REPLACE:
            continue
        j = len(entries)
        lines += [f'\t.section {BATCH_SECTION}{j},"ax",@progbits', f"# {site.address:#010x} {r.template}"]
        firsts.append(len(lines) + 1)
        lines += r.text.splitlines()
        script.append(f"  {BATCH_SECTION}{j} {site.address:#010x} : {{ *({BATCH_SECTION}{j}) }}")
        entries.append((i, site, r))
    script += ["  /DISCARD/ : { *(*) }", "}"]
    return Batch("\n".join(lines) + "\n", "\n".join(script) + "\n", firsts, entries)


def _assemble_cached(src: Source, sites: list, rendered: list[Rendered], sym: dict[str, int],
                     cache: "Cache") -> tuple[dict, bool]:
    """Site index -> the bytes its template assembled to; and whether they came from the cache."""
    b = batch(sites, rendered, sym)
    if not b.entries:
        return {}, False
    key = _digest([b"assembly", _toolchain_identity(), b.source.encode(), b.script.encode()])
    data = cache.get(key, "asm")
    sections = _decode_sections(data, len(b.entries)) if data is not None else None
    from_cache = sections is not None
    if not from_cache:
        sections = run_batch(src, b)
        cache.put(key, "asm", _encode_sections(sections))
    return {i: sections[j] for j, (i, _, _) in enumerate(b.entries)}, from_cache


def run_batch(src: Source, b: Batch) -> list[bytes]:
    """Assemble (`as --32`) and link (`ld -m elf_i386`) the batch; the bytes of each entry's section."""
    with tempfile.TemporaryDirectory(prefix="previrt-patch-") as tmp:
        Path(tmp, "batch.s").write_text(b.source)
        Path(tmp, "batch.ld").write_text(b.script)
        proc = _tool(["as", "--32", "-o", "batch.o", "batch.s"], tmp)
        if proc.returncode:
            raise PatchError(_assembly_refusals(src, b, proc.stdout + proc.stderr))
        proc = _tool(["ld", "-m", "elf_i386", "-T", "batch.ld", "-e", "0", "-z", "noexecstack",
                      "--no-check-sections", "-o", "batch.elf", "batch.o"], tmp)
        if proc.returncode:
            raise PatchError(_link_refusals(src, b, proc.stdout + proc.stderr))
        return _read_sections(Path(tmp, "batch.elf"), len(b.entries))


def _tool(argv: list[str], cwd: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    except OSError as e:
        raise UsageError(f"cannot run `{argv[0]}` (GNU binutils) to assemble the patch: {e.strerror}") from None


def _assembly_refusals(src: Source, b: Batch, output: str) -> list[str]:
    import bisect

    text = b.source.splitlines()
    refusals = []
    for m in _GAS_MESSAGE.finditer(output):
        line, level, message = int(m.group(1)), m.group(2), m.group(3)
        j = bisect.bisect_right(b.first_lines, line) - 1
        if level != "Error":
            continue
        if j < 0:
            refusals.append(f"{src.path}: the patch symbols do not assemble: `{text[line - 1].strip()}`: {message}")
            continue
        _, site, r = b.entries[j]
        refusals.append(f"{where(src.full, site.address, i386.row(site.kind).name)}: template {r.template} does not "
                        f"assemble: line {line - b.first_lines[j] + 1} of its output `{text[line - 1].strip()}`: "
                        f"{message}")
    return refusals or [f"{src.path}: the patch batch does not assemble: {output.strip()}"]


def _link_refusals(src: Source, b: Batch, output: str) -> list[str]:
    refusals = []
    for m in _LD_SITE.finditer(output):
        _, site, r = b.entries[int(m.group(1))]
        refusals.append(f"{where(src.full, site.address, i386.row(site.kind).name)}: template {r.template} does not "
                        f"link: {m.group(2).strip()}")
    return refusals or [f"{src.path}: the patch batch does not link: {output.strip()}"]


def _read_sections(path: Path, count: int) -> list[bytes]:
    """The bytes of each batch section of the linked batch (an empty one may be left out by ld)."""
    from elftools.elf.elffile import ELFFile

    out = [b""] * count
    with open(path, "rb") as f:
        for sec in ELFFile(f).iter_sections():
            if sec.name.startswith(BATCH_SECTION):
                out[int(sec.name[len(BATCH_SECTION):])] = sec.data()
    return out


# ---- from assembled bytes to final bytes -------------------------------------------------------------

def padding(n: int) -> bytes:
    """`n` bytes of padding, as the asm pass lays it out: one NOP up to MAX_NOP bytes, else a short jmp to the end
    over NOPs (a patched site costs at most one instruction more than its replacement)."""
    if n <= MAX_NOP:
        return NOPS[n]
    head = bytes((JMP_REL8, n - 2)) if n - 2 <= 127 else b""
    rest = n - len(head)
    return head + NOPS[MAX_NOP] * (rest // MAX_NOP) + NOPS[rest % MAX_NOP]


def _patched_sites(src: Source, sites: list, originals: list[bytes], rendered: list[Rendered],
                   assembled: dict[int, bytes]) -> list[PatchedSite]:
    refusals, out = [], []
    for i, (site, original, r) in enumerate(zip(sites, originals, rendered)):
        kind = i386.row(site.kind).name
        replacement = {REPLACE: assembled.get(i, b""), KEEP: original[:site.insn_len], TRAP: INT3,
                       UD2: UD2_BYTES}[r.directive]
        if len(replacement) > site.size:
            refusals.append(f"{where(src.full, site.address, kind)}: the replacement from template {r.template} is "
                            f"{len(replacement)} bytes, the site {site.size} bytes: a site never grows")
            continue
        final = _final(r.directive, original, replacement, site.size)
        out.append(PatchedSite(site.address, kind, site.size, site.insn_len, r.directive, original, replacement,
                               final))
    if refusals:
        raise PatchError(refusals)
    return out


def _final(directive: str, original: bytes, replacement: bytes, size: int) -> bytes:
    if directive == KEEP:
        return original
    if directive == TRAP:
        return INT3 + original[1:]
    return replacement + padding(size - len(replacement))


# ---- the cache ---------------------------------------------------------------------------------------

def default_cache_dir() -> Path:
    """$PREVIRT_CACHE_DIR, else $XDG_CACHE_HOME/previrt, else ~/.cache/previrt; the patcher's files in `patch/`."""
    root = os.environ.get("PREVIRT_CACHE_DIR")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = os.path.join(xdg, "previrt") if xdg else os.path.join(os.path.expanduser("~"), ".cache", "previrt")
    return Path(root) / "patch"


class Cache:
    """Files named by the content hash of what determines them: `KEY.asm` (the sections of one batch) and `KEY.plan`
    (a whole Patch). Written atomically (a temporary file renamed); a file that cannot be read or decoded is a miss,
    one that cannot be written is skipped: the cache only ever saves work."""

    MAGIC = b"previrt-patch-cache-1\n"

    def __init__(self, folder: Path):
        self.folder = folder

    def _path(self, key: bytes, kind: str) -> Path:
        return self.folder / f"{key.hex()}.{kind}"

    def get(self, key: bytes, kind: str) -> bytes | None:
        try:
            data = self._path(key, kind).read_bytes()
        except OSError:
            return None
        head = self.MAGIC + key
        return data[len(head):] if data.startswith(head) else None

    def put(self, key: bytes, kind: str, data: bytes) -> None:
        tmp = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-")
            with os.fdopen(fd, "wb") as f:
                f.write(self.MAGIC + key + data)
            os.replace(tmp, self._path(key, kind))
        except OSError:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass


def _digest(parts: list[bytes]) -> bytes:
    h = hashlib.sha256()
    for p in parts:
        h.update(struct.pack("<Q", len(p)))
        h.update(p)
    return h.digest()


def _file_identity(path: str | None) -> bytes:
    """Resolved path, size and modification time: a changed file is a new key, without reading or running it."""
    if path is None:
        return b"-"
    real = os.path.realpath(path)
    try:
        st = os.stat(real)
    except OSError:
        return real.encode()
    return f"{real}\0{st.st_size}\0{st.st_mtime_ns}".encode()


def _toolchain_identity() -> bytes:
    """The assembler and linker the batch runs (as found on PATH now)."""
    return b"\0".join(_file_identity(shutil.which(tool)) for tool in ("as", "ld"))


@lru_cache(maxsize=None)
def _code_identity() -> bytes:
    """What else decides a plan: the sources of the patcher and of what it checks with (audit, elf, sites, the
    table), and the renderer and decoder as installed."""
    from importlib.util import find_spec

    here = Path(__file__).resolve().parent
    parts = [(here / name).read_bytes() for name in ("patch.py", "audit.py", "elf.py", "sites.py", "isa/i386.py")]
    for package in ("jinja2", "capstone"):
        spec = find_spec(package)
        parts.append(_file_identity(spec.origin if spec else None))
    return _digest(parts)


def _plan_key(src: Source, templates: TemplateSet, sym: dict[str, int], originals: list[bytes]) -> bytes:
    """Everything a plan depends on: the site records (their section's address and bytes), the bytes of every site,
    the templates, the symbols, the tools and the code that checks, renders and fills."""
    return _digest([b"plan", _code_identity(), _toolchain_identity(), templates.digest,
                    repr(sorted(sym.items())).encode(), struct.pack("<I", src.records_address), src.records,
                    b"".join(originals)])


_DIRECTIVE_CODES = (REPLACE, KEEP, TRAP, UD2)


def _encode_plan(patched: list[PatchedSite]) -> bytes:
    """count, one directive code per site, the replacement lengths, the final bytes of every site one after another."""
    n = len(patched)
    codes = bytes(_DIRECTIVE_CODES.index(s.directive) for s in patched)
    lengths = struct.pack(f"<{n}B", *(len(s.replacement) for s in patched))
    return struct.pack("<I", n) + codes + lengths + b"".join(s.final for s in patched)


def _decode_plan(data: bytes, sites: list, originals: list[bytes]) -> list[PatchedSite] | None:
    n = len(sites)
    if len(data) != 4 + 2 * n + sum(s.size for s in sites) or struct.unpack_from("<I", data)[0] != n:
        return None
    codes, lengths, off = data[4:4 + n], data[4 + n:4 + 2 * n], 4 + 2 * n
    if max(codes, default=0) >= len(_DIRECTIVE_CODES):
        return None
    names = _row_names()
    out = []
    for site, original, code, length in zip(sites, originals, codes, lengths):
        final = data[off:off + site.size]
        off += site.size
        out.append(PatchedSite(site.address, names[site.kind], site.size, site.insn_len, _DIRECTIVE_CODES[code],
                               original, final[:length], final))
    return out


@lru_cache(maxsize=None)
def _row_names() -> dict[int, str]:
    return {r.kind: r.name for r in i386.ROWS + i386.MEMORY_ROWS}


def _encode_sections(sections: list[bytes]) -> bytes:
    return struct.pack(f"<I{len(sections)}I", len(sections), *map(len, sections)) + b"".join(sections)


def _decode_sections(data: bytes, count: int) -> list[bytes] | None:
    if len(data) < 4 + 4 * count or struct.unpack_from("<I", data)[0] != count:
        return None
    lengths = struct.unpack_from(f"<{count}I", data, 4)
    if 4 + 4 * count + sum(lengths) != len(data):
        return None
    out, off = [], 4 + 4 * count
    for n in lengths:
        out.append(data[off:off + n])
        off += n
    return out


# ---- the patched file ----------------------------------------------------------------------------------

def write_image(image_path: str, patch: Patch, out_path: str, target: str, abi_version: int) -> None:
    """Write a copy of `image_path` with every site's final bytes at its file offset (through the PT_LOAD segments)
    and a section TARGET_SECTION (not loaded) naming `target` and `abi_version`. Every other byte of the input stays
    where it was: the section, a copy of the section-name table and the grown section header table are appended,
    and only the ELF header's e_shoff and e_shnum change. Atomic: a temporary file renamed over `out_path`."""
    _check_target_name(target, abi_version)
    blob = _read_input(image_path)
    if _same_file(image_path, out_path):
        raise UsageError("the output would overwrite the image it patches", where=out_path)
    out, segments = bytearray(blob), _segments(image_path, blob)
    for site in patch.sites:
        off = _file_offset(image_path, segments, site)
        if blob[off:off + site.size] != site.original:
            raise PatchError([f"{where(patch.image, site.address, site.kind)}: the image's bytes differ from the "
                              f"ones the patch was planned on (the image changed since)"])
        out[off:off + site.size] = site.final
    tail, shoff, shnum = _target_section(image_path, blob, target_note(patch, target, abi_version))
    header = list(ELF32_HEADER.unpack_from(blob))
    header[6], header[12] = shoff, shnum  # e_shoff, e_shnum
    out[:ELF32_HEADER.size] = ELF32_HEADER.pack(*header)
    out += tail
    _write_atomically(out_path, bytes(out), _mode(image_path))


def target_note(patch: Patch, target: str, abi_version: int) -> bytes:
    """TARGET_SECTION's content: the target and ABI version, then what a loader of the patched file needs and can
    no longer read from it: each site patched to int3 with its original instruction (the hypervisor emulates it),
    each site patched to ud2 (reported when reached), each site patched with new code with its original bytes and
    instruction length (put back if ring 3 reaches it)."""
    lines = [f"target={target}", f"abi={abi_version}"]
    lines += [f"trap={address:x}:{kind}:{data.hex()}" for address, (data, kind) in sorted(patch.traps.items())]
    lines += [f"unhandled={address:x}:{kind}" for address, kind in sorted(patch.unhandled.items())]
    lines += [f"replaced={address:x}:{kind}:{data.hex()}:{insn_len}"
              for address, (data, kind, insn_len) in sorted(patch.replaced.items())]
    return ("\n".join(lines) + "\n").encode()


def _check_target_name(target: str, abi_version: int) -> None:
    if not re.fullmatch(r"[A-Za-z0-9_.+-]+", target or ""):
        raise UsageError(f"target name {target!r} cannot be recorded in {TARGET_SECTION}")
    if isinstance(abi_version, bool) or not isinstance(abi_version, int) or abi_version < 0:
        raise UsageError(f"ABI version {abi_version!r} is not a non-negative integer")


def _read_input(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise UsageError(f"cannot read: {e.strerror}", where=path) from None


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def _mode(path: str) -> int:
    return os.stat(path).st_mode & 0o777


def _segments(path: str, blob: bytes) -> list[tuple[int, int, int]]:
    """(p_vaddr, p_offset, p_filesz) of each PT_LOAD segment."""
    import io

    from elftools.elf.elffile import ELFFile

    from previrt.elf import PARSE_ERRORS

    try:
        return [(h["p_vaddr"], h["p_offset"], h["p_filesz"]) for h in ELFFile(io.BytesIO(blob)).iter_segments()
                if h["p_type"] == "PT_LOAD"]
    except PARSE_ERRORS as e:
        raise UsageError(f"malformed program headers ({type(e).__name__}: {e})", where=path) from None


def _file_offset(path: str, segments: list, site: PatchedSite) -> int:
    for vaddr, offset, filesz in segments:
        if vaddr <= site.address and site.end <= vaddr + filesz:
            return offset + site.address - vaddr
    raise UsageError(f"site [{site.address:#x}, {site.end:#x}) is not inside the file part of a PT_LOAD segment",
                     where=path)


def _target_section(path: str, blob: bytes, data: bytes) -> tuple[bytes, int, int]:
    """What to append to `blob` to add a section holding `data`: the section, a copy of the section-name table with
    its name added, the section header table plus one entry; and the new e_shoff and e_shnum."""
    hdr = ELF32_HEADER.unpack_from(blob)
    e_shoff, e_shentsize, e_shnum, e_shstrndx = hdr[6], hdr[11], hdr[12], hdr[13]
    if blob[5] != 1 or e_shoff == 0 or e_shnum == 0 or e_shstrndx >= SHN_LORESERVE or \
            e_shentsize != ELF32_SHDR.size or e_shoff + e_shnum * e_shentsize > len(blob):
        raise UsageError("has no section header table previrt patch can extend", where=path)
    headers = [list(ELF32_SHDR.unpack_from(blob, e_shoff + i * e_shentsize)) for i in range(e_shnum)]
    names = headers[e_shstrndx]
    strtab = blob[names[4]:names[4] + names[5]] + TARGET_SECTION.encode() + b"\0"
    data_off = len(blob)
    names[4], names[5] = data_off + len(data), len(strtab)
    headers.append([len(strtab) - len(TARGET_SECTION) - 1, SHT_PROGBITS, 0, 0, data_off, len(data), 0, 0, 1, 0])
    tail = data + strtab
    tail += bytes(-(data_off + len(tail)) % 4)
    shoff = data_off + len(tail)
    return tail + b"".join(ELF32_SHDR.pack(*h) for h in headers), shoff, len(headers)


def _write_atomically(path: str, data: bytes, mode: int) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            os.fchmod(f.fileno(), mode)
        os.replace(tmp, path)
        tmp = None
    except OSError as e:
        raise UsageError(f"cannot write: {e.strerror}", where=path) from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def patched_target(image_path: str) -> tuple[str, int] | None:
    """(target, ABI version) named by an image's TARGET_SECTION, or None for an image previrt patch did not write."""
    from previrt.elf import ELFMAG, PARSE_ERRORS

    blob = _read_input(image_path)
    if blob[:4] != ELFMAG:
        raise UsageError("not an ELF file", where=image_path)
    try:
        return _target_of(_elf_file(blob))
    except PARSE_ERRORS as e:
        raise UsageError(f"truncated or malformed ELF file ({type(e).__name__}: {e})", where=image_path) from None


def _target_of(elf) -> tuple[str, int] | None:
    note = _note_of(elf)
    return None if note is None else (note.target, note.abi)


class PatchedNote(NamedTuple):
    """What TARGET_SECTION records (see `target_note`)."""
    target: str
    abi: int
    traps: dict[int, tuple[bytes, str]]
    unhandled: dict[int, str]
    replaced: dict[int, tuple[bytes, str, int]]


def _note_of(elf) -> PatchedNote | None:
    sec = elf.get_section_by_name(TARGET_SECTION)
    if sec is None:
        return None
    fields: dict[str, list[str]] = {}
    for line in sec.data().decode("ascii").splitlines():
        key, _, value = line.partition("=")
        fields.setdefault(key, []).append(value)
    traps = {int(a, 16): (bytes.fromhex(data), kind)
             for a, kind, data in (v.split(":") for v in fields.get("trap", []))}
    unhandled = {int(a, 16): kind for a, kind in (v.split(":") for v in fields.get("unhandled", []))}
    replaced = {int(a, 16): (bytes.fromhex(data), kind, int(insn_len))
                for a, kind, data, insn_len in (v.split(":") for v in fields.get("replaced", []))}
    return PatchedNote(fields["target"][0], int(fields["abi"][0]), traps, unhandled, replaced)


def patched_note(image_path: str) -> PatchedNote | None:
    """The whole TARGET_SECTION record of a patched image, or None for an image previrt patch did not write."""
    from previrt.elf import ELFMAG, PARSE_ERRORS

    blob = _read_input(image_path)
    if blob[:4] != ELFMAG:
        raise UsageError("not an ELF file", where=image_path)
    try:
        return _note_of(_elf_file(blob))
    except (*PARSE_ERRORS, ValueError) as e:
        raise UsageError(f"malformed {TARGET_SECTION} ({type(e).__name__}: {e})", where=image_path) from None


# ---- text output and `previrt patch` ---------------------------------------------------------------------

def _hex(data: bytes) -> str:
    return data.hex(" ") or "-"


def dump_lines(patch: Patch) -> list[str]:
    """Per site (Linux's DUMP_BYTES): address, kind, directive, function+offset and source line, then the original,
    replacement and final bytes."""
    lines = []
    for s in patch.sites:
        line = patch.image.source_line(s.address)
        lines += [f"{s.address:#010x} {s.kind} ({s.directive}) {patch.image.describe(s.address)}" +
                  (f" ({line})" if line else ""),
                  f"  original:    {_hex(s.original)}",
                  f"  replacement: {_hex(s.replacement)}",
                  f"  final:       {_hex(s.final)}"]
    return lines


def summary_line(patch: Patch, out_path: str, target: str, abi_version: int) -> str:
    counts = {d: sum(s.directive == d for s in patch.sites) for d in _DIRECTIVE_CODES}
    text = (f"{out_path}: {len(patch.sites)} sites patched for {target} (ABI {abi_version}): {counts[REPLACE]} "
            f"replaced, {counts[KEEP]} kept, {counts[TRAP]} to int3, {counts[UD2]} to ud2")
    if patch.unhandled:
        text += " (no template for: " + ", ".join(sorted(set(patch.unhandled.values()))) + ")"
    return text


def patch_command(image_path: str, target: str, out_path: str, dump: bool, out: TextIO) -> int:
    """`previrt patch IMAGE --target NAME -o OUT [--dump]`: 0 written; PatchError (1) a site refused; UsageError (2)
    unusable input (the image, the target, its templates, the output)."""
    from previrt.vmm import registry

    if os.path.exists(out_path) and _same_file(image_path, out_path):
        raise UsageError("the output would overwrite the image it patches", where=out_path)
    hv = registry.load(target)
    templates = getattr(hv, "templates", None)
    if templates is None:
        raise UsageError(f"hypervisor {target!r} has no patch templates: previrt patch cannot patch for it (it runs "
                         f"images by full virtualization only)")
    symbols = getattr(hv, "symbols", None)
    abi_version = getattr(hv, "abi_version", 1)
    patch = plan(image_path, templates, symbols() if callable(symbols) else symbols)
    write_image(image_path, patch, out_path, hv.name, abi_version)
    if dump:
        for line in dump_lines(patch):
            print(line, file=out)
    print(summary_line(patch, out_path, hv.name, abi_version), file=out)
    return 0
