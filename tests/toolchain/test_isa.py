"""Tests of the sensitive-instruction table: every GAS spelling assembled with `as --32`, decoded by capstone,

and both classifiers agreeing on the kind; ordinary instructions classify as nothing.  GAS_EXAMPLES is shared."""

from __future__ import annotations

import re
import subprocess

import capstone
import pytest
from elftools.elf.elffile import ELFFile

from previrt.isa import i386
from previrt.isa.i386 import Category

_MEM = ["(%eax)", "0x12345678(%ebx,%ecx,4)", "%cs:8(%ebp)"]


def _w(m: str, b: str, w: str, l: str) -> str:
    """The register of the width a mnemonic's suffix asks for (no suffix: 32-bit)."""
    return {"b": b, "w": w}.get(m[-1], l) if m[-1] in "bwl" else l


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
