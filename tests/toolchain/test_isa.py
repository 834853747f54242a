"""Tests of the sensitive-instruction table: every GAS spelling assembled with `as --32`, decoded by capstone,

and both classifiers agreeing on the kind; ordinary instructions classify as nothing (the statements are in
annotatekit, shared with the annotator's property test)."""

from __future__ import annotations

import re
import subprocess

import capstone
import pytest
from elftools.elf.elffile import ELFFile

from previrt.isa import i386
from previrt.isa.i386 import Category
from tests.toolchain.annotatekit import GAS_EXAMPLES, ORDINARY, PREFIXED

def assemble_and_decode(statements: list[str], tmp_path) -> list[capstone.CsInsn]:
    """Assemble `statements` (one instruction each) with `as --32` and decode .text with capstone."""
    src, obj = tmp_path / "t.s", tmp_path / "t.o"
    src.write_text("\t.text\n" + "".join(f"\t{s}\n" for s in statements))
    proc = subprocess.run(["as", "--32", "-o", str(obj), str(src)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    with open(obj, "rb") as f:
        code = ELFFile(f).get_section_by_name(".text").data()
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_32)
    md.detail = True
    insns = list(md.disasm(code, 0))
    assert sum(i.size for i in insns) == len(code), "capstone stopped before the end of .text"
    return insns


def _split(stmt: str) -> tuple[str, str]:
    words = stmt.split(None, 1)
    return words[0], words[1] if len(words) > 1 else ""


def test_every_row_and_spelling_agrees_with_capstone(tmp_path):
    stmts = [s for _, s in GAS_EXAMPLES]
    insns = assemble_and_decode(stmts, tmp_path)
    assert len(insns) == len(stmts)
    for (r, stmt), insn in zip(GAS_EXAMPLES, insns):
        by_cs = i386.classify_capstone(insn)
        by_gas = i386.classify_gas(*_split(stmt))
        assert by_gas is r, f"{stmt!r}: classify_gas gave {by_gas and by_gas.name}, expected {r.name}"
        assert by_cs is r, f"{stmt!r} ({insn.mnemonic} {insn.op_str}): capstone gave {by_cs and by_cs.name}"
        assert insn.id in r.capstone_ids
        assert insn.size <= r.site_size, f"{stmt!r} is {insn.size} bytes, site size {r.site_size}"


def test_prefixed_forms(tmp_path):
    insns = assemble_and_decode([s for s, _ in PREFIXED], tmp_path)
    for (stmt, name), insn in zip(PREFIXED, insns):
        assert i386.classify_capstone(insn).name == name, stmt
        words = stmt.split()
        if words[0] not in ("rep", "repz", "es", "ds", "data16"):
            words = ["", *words]
        assert i386.classify_gas(words[1], " ".join(words[2:])).name == name, stmt


def test_ordinary_instructions_are_not_sensitive(tmp_path):
    insns = assemble_and_decode(ORDINARY, tmp_path)
    assert len(insns) == len(ORDINARY)
    for stmt, insn in zip(ORDINARY, insns):
        assert i386.classify_capstone(insn) is None, f"{stmt}: {i386.classify_capstone(insn)}"
        words = [w for w in stmt.split(None, 1)]
        if words[0] in ("rep", "lock"):
            words = words[1].split(None, 1)
        assert i386.classify_gas(words[0], words[1] if len(words) > 1 else "") is None, stmt


def _scanned(stmt: str) -> bool:
    """Whether the annotator's scan data (words and operand hints) would look at a statement."""
    low = stmt.lower()
    return bool(set(re.split(r"[\s;]+", low)) & i386.gas_scan_words()) or any(
        re.search(h, low) for h in i386.GAS_SCAN_HINTS)


def test_scan_data_finds_every_example_and_skips_plain_code():
    for r, stmt in GAS_EXAMPLES:
        assert _scanned(stmt), stmt
    for stmt in ["movl %eax, %ebx", "call printk", "jmp .L3", "pushl %ebp", "movl %fs:20, %eax", "addl $4, %esp",
                 "leal 4(%esp), %ecx", "movl %ds:(%ebx), %eax", "movl $str, %eax"]:
        assert not _scanned(stmt), stmt


def test_table_shape():
    kinds = [r.kind for r in i386.ROWS]
    assert len(set(kinds)) == len(kinds) and all(1 <= k <= 127 for k in kinds)
    assert len({r.name for r in i386.ROWS}) == len(i386.ROWS)
    for r in i386.ROWS:
        assert 5 <= r.site_size <= 24, r  # at least a call rel32; the Afterburner's upper bound
        assert r.gas_mnemonics and r.capstone_ids and r.operands
        assert i386.row(r.kind) is r
    required = ("cli sti hlt lgdt lidt lldt ltr lmsw clts invd wbinvd invlpg mov_to_cr mov_from_cr mov_to_dr "
                "mov_from_dr rdmsr wrmsr rdpmc in out ins outs pushf popf iret sgdt sidt sldt str smsw lar lsl "
                "verr verw push_seg pop_seg mov_to_seg mov_from_seg ljmp lcall lret lds les lfs lgs lss int "
                "int3 into cpuid arpl").split()
    names = {r.name: r for r in i386.ROWS}
    assert not set(required) - set(names)
    for n in ("cli", "sti", "in", "out", "ins", "outs"):
        assert names[n].category is Category.IOPL_SENSITIVE
    for n in ("hlt", "lgdt", "mov_to_cr", "mov_from_dr", "wrmsr", "invlpg", "clts"):
        assert names[n].category is Category.PRIVILEGED
    for n in ("pushf", "popf", "sgdt", "push_seg", "ljmp", "lds", "int", "cpuid", "arpl", "smsw"):
        assert names[n].category is Category.SENSITIVE_UNPRIVILEGED
    assert Category.IOPL_SENSITIVE.value == "iopl-sensitive"


def test_unknown_kind_is_a_clear_key_error():
    with pytest.raises(KeyError, match="unknown sensitive-instruction kind 200"):
        i386.row(200)


def test_operand_splitting():
    assert i386.split_operands("%eax,4(%ebx,%ecx,2)") == ["%eax", "4(%ebx,%ecx,2)"]
    assert i386.split_operands("") == []
    assert i386.split_operands(" $0x10 , $1f ") == ["$0x10", "$1f"]


# `int $N` operands GAS evaluates: each is assembled to int3 (0xcc) exactly when it is 3.
INT_OPERANDS = ["3", "03", "0x3", "0b11", "(1+2)", "1+1<<1", "7 % 4", "~-4", "'a - 94", "-7/2 + 6",
                "(!5)+3", "(1&&0)+3", "(1 < 2)+4", "7!4", "259 & 255", "010", "0x80", "(!0) + 4",
                "-(0 || 1) + 2", "1 && 1"]


def test_gas_constant_agrees_with_gas_on_int_operands(tmp_path):
    insns = assemble_and_decode([f"int ${e}" for e in INT_OPERANDS], tmp_path)
    assert len(insns) == len(INT_OPERANDS)
    for expr, insn in zip(INT_OPERANDS, insns):
        gas_value = 3 if insn.bytes == b"\xcc" else insn.bytes[1]
        assert i386.gas_constant(expr) & 0xFF == gas_value, expr
        assert i386.classify_gas("int", f"${expr}").name == i386.classify_capstone(insn).name, expr


def test_gas_constant_leaves_symbols_to_gas():
    for expr in ("VEC", "VEC+1", "3+sym", "(3", "3)", "08", ""):
        assert i386.gas_constant(expr) is None, expr
    assert i386.gas_short_form_guard(i386.classify_gas("int", "$VEC"), "$VEC") == ("VEC", 3, "int3")
    assert i386.gas_short_form_guard(i386.classify_gas("int", "$0x80"), "$0x80") is None
