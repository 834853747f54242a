"""Every sensitive instruction in its GAS spellings and operand forms, for what needs an image holding every kind
the asm pass knows: the asm pass's tests, the site-size check (previrt/sitesizes.py) and its report.  Also the
prefixed forms capstone folds into an instruction, and ordinary instructions that are none of them."""

from __future__ import annotations

from previrt.isa import i386

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
