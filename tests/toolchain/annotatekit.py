"""Helpers shared by the asm-pass tests (test_annotate, test_annotate_property, test_isa): the statements they try
(from previrt/isa/examples.py: every spelling of every table row with its operand forms, prefixed forms, ordinary
instructions) and the build-and-check of an annotated image (assemble, link, decode each site with capstone). A helper module, not a
test module."""

from __future__ import annotations

import subprocess
from pathlib import Path

import capstone
from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

from previrt import sites
from previrt.isa import i386
from previrt.isa.examples import GAS_EXAMPLES, ORDINARY, PREFIXED, gas_examples  # the statements the tests try

NOP = capstone.x86.X86_INS_NOP

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
