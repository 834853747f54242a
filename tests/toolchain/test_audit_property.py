"""Property: any mix of sensitive (every row of the table) and ordinary instructions, annotated, assembled
and linked, audits clean, with one site per sensitive instruction, kinds in order."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from previrt.annotate.asm import annotate_text
from previrt.audit import audit
from previrt.elf import read_image
from previrt.isa.i386 import ROWS, classify_gas
from tests.toolchain.projects import NOTE_GNU_STACK, assemble, link

# One or more spellings per row of the table (test_every_row_has_an_example keeps it complete).
SENSITIVE = [
    "cli", "sti", "hlt", "lgdt (%eax)", "lidtl 6(%esp)", "lldt %ax", "ltr %ax", "lmsw %ax", "clts", "invd",
    "wbinvd", "invlpg (%ebx)", "movl %eax, %cr3", "movl %cr0, %eax", "movl %eax, %db7", "movl %dr6, %ecx",
    "rdmsr", "wrmsr", "rdpmc", "inb $0x60, %al", "inl (%dx), %eax", "inw %dx, %ax", "outb %al, $0x80",
    "outw %ax, (%dx)", "outl %eax, %dx", "insb", "rep insl", "outsw", "rep outsb", "pushfl", "popfl", "pushf",
    "popf", "iret", "sgdt (%eax)", "sidt 2(%esi)", "sldt %ax", "str %ax", "smsw %eax", "lar %ax, %eax",
    "lsl %bx, %ecx", "verr %ax", "verw (%ebx)", "push %ds", "pushl %fs", "pop %es", "popl %gs", "movw %ax, %ds",
    "movl %eax, %ss", "mov %cs, %ax", "movw %fs, (%ebx)", "ljmp $0x08, $0x1000", "ljmp *(%eax)",
    "lcall $0x10, $0x2000", "lcall *4(%ebx)", "lret", "lret $8", "lds (%eax), %ebx", "les 4(%eax), %ecx",
    "lfs (%esi), %edi", "lgs (%eax), %edx", "lss (%eax), %esp", "int $0x80", "int3", "into", "cpuid",
    "arpl %ax, %bx", "int1",
]
# Ordinary instructions, some with bytes of sensitive opcodes inside them (0xfa cli, 0xec in, 0x9d popf).
ORDINARY = [
    "movl %eax, %ebx", "addl $4, %esp", "nop", "leal 4(%esi), %edi", "pushl %eax", "popl %ecx",
    "movw %ax, %bx", "xorl %ecx, %ecx", "movl %eax, %ds:(%ebx)", "movl %es:4(%esi), %eax", "testb $1, %al",
    "jmp 1f\n1:", "call 2f\n2:", "movl $0xfa, %eax", "movl $0x9d9cfaec, %edx", "imull %ecx, %edx",
    "shll $3, %eax", "rep movsb", "cmpl $0, (%eax)", "incl %eax", "pushl $0", "jmp *%eax", "call *(%eax)",
    "movzbl %al, %eax", "lock incl (%ebx)",
]


def _split(stmt: str) -> tuple[str, str]:
    words = stmt.split(None, 1)
    if words[0] == "rep":
        words = words[1].split(None, 1)
    return words[0], words[1] if len(words) > 1 else ""


def kind_of(stmt: str) -> int | None:
    row = classify_gas(*_split(stmt))
    return row.kind if row else None


def test_every_row_has_an_example():
    assert {kind_of(s) for s in SENSITIVE} == {r.kind for r in ROWS}
    assert all(kind_of(s.split("\n")[0]) is None for s in ORDINARY)


def program(stmts: list[str], sized: bool, joined: bool) -> str:
    body = "; ".join(s for s in stmts if "\n" not in s) if joined else "\n".join(f"\t{s}" for s in stmts)
    head = "\t.text\n\t.globl _start\n" + ("\t.type _start, @function\n" if sized else "") + "_start:\n"
    tail = "\n\tret\n" + ("\t.size _start, . - _start\n" if sized else "")
    return head + body + tail + NOTE_GNU_STACK


@settings(max_examples=25, deadline=None)
@given(stmts=st.lists(st.sampled_from(SENSITIVE + ORDINARY), min_size=1, max_size=24),
       sized=st.booleans(), joined=st.booleans())
def test_annotated_mix_audits_clean(stmts, sized, joined):
    text = program(stmts, sized, joined)
    expected = [k for s in stmts if (not joined or "\n" not in s) for k in [kind_of(s)] if k is not None]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = tmp / "mix.s"
        src.write_text(annotate_text(text, "mix.s"))
        image = read_image(str(link([assemble(src, tmp / "mix.o")], tmp / "mix.elf")))
        result = audit(image)
    assert [f.message for f in result.findings] == []
    assert [s.kind for s in sorted(image.sites, key=lambda s: s.address)] == expected
    assert result.sensitive == len(expected)
