"""Helpers shared by the asm-pass tests (test_annotate, test_annotate_property, test_isa): the statements they try
(every spelling of every table row with its operand forms, prefixed forms, ordinary instructions) and the
build-and-check of an annotated image (assemble, link, decode each site with capstone). A helper module, not a
test module."""

from __future__ import annotations

import subprocess
from pathlib import Path

import capstone
from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

from previrt import sites
from previrt.isa import i386

NOP = capstone.x86.X86_INS_NOP

# ---- statements --------------------------------------------------------------------------------

_MEM = ["(%eax)", "0x12345678(%ebx,%ecx,4)", "%cs:8(%ebp)"]


def _io_acc(m: str) -> str:
    return {"b": "%al", "w": "%ax"}.get(m[-1], "%eax") if m not in ("in", "out") else "%al"


_FORMS = {  # row name -> mnemonic -> operand texts to try
    "lldt": lambda m: ["%ax"] + _MEM, "ltr": lambda m: ["%bx", "(%eax)"], "lmsw": lambda m: ["%ax", "(%esi)"],
    "verr": lambda m: ["%ax", "(%eax)"], "verw": lambda m: ["%dx", "4(%eax)"],
    "sldt": lambda m: ["%eax"] if m.endswith("l") else ["%ax", "(%eax)"],
    "str": lambda m: ["%eax"] if m.endswith("l") else ["%cx", "(%edx)"],
    "smsw": lambda m: ["%eax"] if m.endswith("l") else ["%ax", "(%eax)"],
    "invlpg": lambda m: _MEM,
    "mov_to_cr": lambda m: ["%eax,%cr0", "%ebx,%cr3", "%ecx,%cr4", "%edx,%cr2"],
    "mov_from_cr": lambda m: ["%cr0,%eax", "%cr3,%ebx", "%cr4,%ecx", "%cr2,%edx"],
    "mov_to_dr": lambda m: ["%eax,%db0", "%esi,%db7", "%eax,%dr6"],
    "mov_from_dr": lambda m: ["%db0,%eax", "%db7,%esi", "%dr6,%eax"],
    "in": lambda m: [f"$0x80,{_io_acc(m)}", f"%dx,{_io_acc(m)}", f"(%dx),{_io_acc(m)}"],
    "out": lambda m: [f"{_io_acc(m)},$0x80", f"{_io_acc(m)},%dx", f"{_io_acc(m)},(%dx)"],
    "ins": lambda m: ["", "(%dx),%es:(%edi)"] if m != "ins" else [""],
    "outs": lambda m: ["", "%ds:(%esi),(%dx)", "%fs:(%esi),(%dx)"] if m != "outs" else [""],
    "push_seg": lambda m: ["%ds", "%cs", "%ss", "%es", "%fs", "%gs"],
    "pop_seg": lambda m: ["%ds", "%ss", "%es", "%fs", "%gs"],
    "mov_to_seg": lambda m: {"movl": ["%eax,%fs"]}.get(m, ["%ax,%ds", "(%eax),%es", "%bx,%ss"]),
    "mov_from_seg": lambda m: {"movl": ["%ds,%eax"]}.get(m, ["%ds,%ax", "%cs,(%eax)", "%gs,0x10(%ebp)"]),
    "ljmp": lambda m: ["$0x10,$0x1000"] + (["*(%eax)", "*0x1234"] if m.startswith("l") else []),
    "lcall": lambda m: ["$0x10,$0x1000"] + (["*(%eax)", "*8(%esp)"] if m.startswith("l") else []),
    "lret": lambda m: ["", "$8"],
    "lar": lambda m: ["%ax,%bx"] if m.endswith("w") else ["%eax,%ebx", "(%eax),%ecx"],
    "lsl": lambda m: ["%ax,%bx"] if m.endswith("w") else ["%eax,%ebx", "(%eax),%ecx"],
    "int": lambda m: ["$0x80", "$0x21", "$255"],
    "arpl": lambda m: ["%ax,%bx", "%ax,(%eax)"],
}
for _n in ("lgdt", "lidt", "sgdt", "sidt"):
    _FORMS[_n] = lambda m: _MEM
for _n in ("lds", "les", "lfs", "lgs", "lss"):
    _FORMS[_n] = lambda m: ["(%eax),%bx"] if m.endswith("w") else ["(%eax),%ebx", "0x10(%esi,%edi,2),%edx"]

# Prefixed forms: the annotator strips prefixes, capstone folds them into the instruction.
PREFIXED = [("rep insb", "ins"), ("rep insl", "ins"), ("rep outsb", "outs"), ("rep outsw", "outs"),
            ("repz outsl", "outs"), ("es outsb", "outs"), ("data16 ljmp $0x10,$0x1000", "ljmp"),
            ("ds lcall *(%eax)", "lcall"), ("int $3", "int3"), ("int $0x3", "int3")]

# Ordinary instructions: nothing to classify (the last ones use a segment register as an override).
ORDINARY = ["mov %eax,%ebx", "movl $1,%eax", "push %eax", "pushl $0", "pushl (%eax)", "pop %ebx", "popl 4(%esp)",
            "jmp *%eax", "jmp *(%eax)", "call *%edx", "call *8(%ebx)", "ret", "ret $4", "leave", "nop", "cld",
            "std", "clc", "ud2", "rep movsb", "rep stosl", "lock cmpxchgl %ecx,(%edx)", "lea 0x4(%esp),%ecx",
            "movw %ax,%bx", "movzwl %ax,%eax", "xchg %eax,%ebx", "imull $3,%eax,%eax",
            "movl %eax,%ds:(%ebx)", "movl %fs:0x14,%eax", "movl $1,%es:(%edi)", "cmpl %eax,%ss:4(%ebx)",
            "pushl %gs:0x10", "popl %fs:(%eax)", "mov %es:(%ebx),%cx", "rdtsc", "pause", "lfence"]


def gas_examples(r: i386.Row) -> list[tuple[str, str]]:
    """(mnemonic, full statement) for every spelling of a row, with each operand form the test tries."""
    out = []
    for m in r.gas_mnemonics:
        for ops in _FORMS.get(r.name, lambda m: [""])(m):
            out.append((m, f"{m} {ops}".strip()))
    return out


GAS_EXAMPLES: list[tuple[i386.Row, str]] = [(r, stmt) for r in i386.ROWS for _, stmt in gas_examples(r)]


# ---- annotated images --------------------------------------------------------------------------

def build(asm: str, tmp_path: Path, name: str = "t", debug: bool = False) -> Path:
    """Assemble with `as --32` and link at 0x100000 (undefined symbols resolve to 0): the ELF image."""
    src, obj, elf = (tmp_path / f"{name}{ext}" for ext in (".s", ".o", ".elf"))
    src.write_text(asm)
    run(["as", "--32", *(["-g"] if debug else []), "-o", str(obj), str(src)])
    run(["ld", "-m", "elf_i386", "-Ttext=0x100000", "-e", "0x100000", "--unresolved-symbols=ignore-all",
         "-o", str(elf), str(obj)])
    return elf


def run(cmd: list[str]) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(cmd)}:\n{proc.stderr}"
    return proc.stdout


def disassembler() -> capstone.Cs:
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_32)
    md.detail = True
    return md


class Image:
    """A linked image: executable sections, site records and function symbols."""

    def __init__(self, path: Path):
        with open(path, "rb") as f:
            elf = ELFFile(f)
            self.code = [(s["sh_addr"], s.data()) for s in elf.iter_sections()
                         if s["sh_flags"] & SH_FLAGS.SHF_EXECINSTR and s["sh_type"] == "SHT_PROGBITS"]
            sec = elf.get_section_by_name(sites.SECTION)
            self.sites = sites.decode_section(sec.data(), sec["sh_addr"]) if sec else []
            symtab = elf.get_section_by_name(".symtab")
            self.functions = sorted((s["st_value"], s["st_size"], s.name) for s in symtab.iter_symbols()
                                    if s["st_info"]["type"] == "STT_FUNC" and s["st_size"])

    def bytes_at(self, address: int, size: int) -> bytes:
        for base, data in self.code:
            if base <= address and address + size <= base + len(data):
                return data[address - base:address - base + size]
        raise AssertionError(f"{address:#x}+{size} is not inside an executable section")


def check_sites(image: Image, site_sizes: dict[int, int] | None = None) -> None:
    """Each site: a recorded-kind instruction of insn_len bytes, then NOPs only, exactly `size` in all."""
    md = disassembler()
    for site in image.sites:
        code = image.bytes_at(site.address, site.size)
        insns = list(md.disasm(code, site.address))
        assert sum(i.size for i in insns) == site.size, f"site {site}: does not decode to its end"
        first = insns[0]
        row = i386.classify_capstone(first)
        assert row is not None and row.kind == site.kind, f"{first.mnemonic} {first.op_str} at {site}"
        assert first.size == site.insn_len
        pad = insns[1:]
        if pad and pad[0].bytes[0] == 0xEB:  # a padding longer than one NOP: short jmp to the site end
            assert site.size - site.insn_len > 11 and pad[0].size == 2, f"site {site}: needless jmp"
            assert pad[0].operands[0].imm == site.address + site.size, f"site {site}: jmp misses the end"
            pad = pad[1:]
        else:
            assert len(pad) <= 1, f"site {site}: padding runs {len(pad)} NOPs, not one"
        assert all(i.id == NOP for i in pad), f"site {site}: padding {[i.mnemonic for i in insns[1:]]}"
        if not site.flags & sites.FLAG_HAND:
            assert site.size == (site_sizes or {}).get(site.kind, i386.row(site.kind).site_size)
