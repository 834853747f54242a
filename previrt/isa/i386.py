"""The one table of IA-32 virtualization-sensitive instructions, as data, and its two classifiers.

The annotator, audit, patcher and hypervisors read ROWS; nothing else in previrt lists instructions."""

from __future__ import annotations

import collections
import enum
import functools
import re

# Value types here and in the asm pass are named tuples, not dataclasses: `previrt cc` imports this
# module once per compiled file, and the dataclasses module costs more to import than the whole table.


class Category(enum.Enum):
    """Why an instruction is sensitive (Intel SDM vol. 3, and Popek/Goldberg on IA-32)."""

    PRIVILEGED = "privileged"  # CPL 0 only: #GP(0) elsewhere, so trap-and-emulate sees it
    IOPL_SENSITIVE = "iopl-sensitive"  # #GP when CPL > IOPL (cli, sti, in/out/ins/outs)
    SENSITIVE_UNPRIVILEGED = "sensitive-unprivileged"  # runs at any CPL, reads or changes
    #   state a hypervisor virtualizes, without trapping (popf drops IF, push %cs shows the RPL)
    MEMORY = "memory"  # not an instruction at all: a memory access the C source pass made a site
    #   (a page-table entry store or load), kinds 128.., MEMORY_ROWS


class Row(collections.namedtuple("Row", "kind name category gas_mnemonics capstone_names operands site_size "
                                        "original", defaults=(None,))):
    """One sensitive instruction (or operand-selected form of one); see the module notes below.

    kind            stable small integer, part of the site-record format; never renumber
    name            str
    category        Category
    gas_mnemonics   every AT&T spelling GAS accepts, with suffixes (tuple of str)
    capstone_names  capstone.x86 X86_INS_<name> the decoder reports for it (tuple of str)
    operands        operand form, in OPERAND FORMS below ("dest<-src", alternatives "|")
    site_size       default padded site size in bytes, SITE SIZES below
    original        MEMORY_ROWS only: the exact bytes the site starts with (bytes); None for instructions"""

    __slots__ = ()

    @property
    def capstone_ids(self) -> tuple[int, ...]:
        """capstone.x86 X86_INS_* ids (capstone is imported on first use: the annotator needs none)."""
        return _capstone_ids(self.capstone_names)


@functools.lru_cache(maxsize=None)
def _capstone_ids(names: tuple[str, ...]) -> tuple[int, ...]:
    import capstone.x86 as X

    return tuple(getattr(X, f"X86_INS_{n}") for n in names)


# OPERAND FORMS.  A form is "none", one operand class, or "dest<-src" (Intel order, arrow pointing
# the way data moves); "|" separates alternatives.  Most classes only document the form (GAS rejects
# a wrong one), but these *select* a row, because the mnemonic alone does not:
#   cr, dr     a control / debug register: `mov %eax,%cr3` is sensitive, `mov %eax,%ebx` is not;
#   seg        a segment register as a whole operand: `mov %ax,%ds`, `push %cs` (but not the segment
#              override in `movl %eax,%ds:(%ebx)`, which is a memory operand);
#   ptr16:32   an immediate far pointer `$sel,$offset` (GAS also spells `ljmp $s,$o` as `jmp $s,$o`);
#   m16:32     a far pointer in memory `*mem`, only under an "l" spelling (`jmp *mem` is near).
SELECTING_CLASSES = ("cr", "dr", "seg", "ptr16:32", "m16:32")

# SITE SIZES.  A site must hold the cheapest replacement any hypervisor emits for the kind: a `call
# rel32` into the in-place VMM (5 bytes) plus marshalling of the operand.  Chosen per operand form:
#    8  no operands or implicit ones (cli, pushf, iret, cpuid, int $n): call + 3 bytes spare, or an
#       inline virtual-IF store `movb $0, vcpu_if` (7 bytes);
#   12  a register or short memory operand to pass (mov %cr, in/out, segment moves, sti with its
#       pending-interrupt check): push/mov/call/pop, at most 12 bytes;
#   16  a general memory operand (descriptor tables, far pointers, invlpg) or a string I/O loop: `lea`
#       with SIB + disp32 is 7 bytes, plus push/call/pop; also covers the longest original encoding
#       (segment override + operand size + 0f xx + ModRM + SIB + disp32 = 10 bytes).
# The Afterburner used 4..24 bytes; previrt stays within that and never pads more than it needs.
# Kinds 1..127 are instructions (this table); 128..255 are left for the C source pass's memory sites.

_P, _IO, _SU = Category.PRIVILEGED, Category.IOPL_SENSITIVE, Category.SENSITIVE_UNPRIVILEGED


def _r(kind, name, category, gas, ids, operands, size):
    return Row(kind, name, category, tuple(gas.split()), tuple(ids.split()),
               operands, size)


ROWS: tuple[Row, ...] = (
    # kind name           category  GAS spellings                      capstone ids        operands      size
    _r(1, "cli",          _IO, "cli",                                  "CLI",              "none",            8),
    _r(2, "sti",          _IO, "sti",                                  "STI",              "none",           12),
    _r(3, "hlt",          _P,  "hlt",                                  "HLT",              "none",            8),
    _r(4, "lgdt",         _P,  "lgdt lgdtl lgdtw",                     "LGDT",             "m16&32",         16),
    _r(5, "lidt",         _P,  "lidt lidtl lidtw",                     "LIDT",             "m16&32",         16),
    _r(6, "lldt",         _P,  "lldt lldtw",                           "LLDT",             "r/m16",          12),
    _r(7, "ltr",          _P,  "ltr ltrw",                             "LTR",              "r/m16",          12),
    _r(8, "lmsw",         _P,  "lmsw lmsww",                           "LMSW",             "r/m16",          12),
    _r(9, "clts",         _P,  "clts",                                 "CLTS",             "none",            8),
    _r(10, "invd",        _P,  "invd",                                 "INVD",             "none",            8),
    _r(11, "wbinvd",      _P,  "wbinvd",                               "WBINVD",           "none",            8),
    _r(12, "invlpg",      _P,  "invlpg",                               "INVLPG",           "m",              16),
    _r(13, "mov_to_cr",   _P,  "mov movl",                             "MOV",              "cr<-r32",        12),
    _r(14, "mov_from_cr", _P,  "mov movl",                             "MOV",              "r32<-cr",        12),
    _r(15, "mov_to_dr",   _P,  "mov movl",                             "MOV",              "dr<-r32",        12),
    _r(16, "mov_from_dr", _P,  "mov movl",                             "MOV",              "r32<-dr",        12),
    _r(17, "rdmsr",       _P,  "rdmsr",                                "RDMSR",            "none",            8),
    _r(18, "wrmsr",       _P,  "wrmsr",                                "WRMSR",            "none",            8),
    _r(19, "rdpmc",       _P,  "rdpmc",                                "RDPMC",            "none",            8),
    _r(20, "in",          _IO, "in inb inw inl",                       "IN",               "a<-imm8|a<-dx",  12),
    _r(21, "out",         _IO, "out outb outw outl",                   "OUT",              "imm8<-a|dx<-a",  12),
    _r(22, "ins",         _IO, "ins insb insw insl",                   "INSB INSW INSD",   "m<-dx",          16),
    _r(23, "outs",        _IO, "outs outsb outsw outsl",               "OUTSB OUTSW OUTSD", "dx<-m",         16),
    _r(24, "pushf",       _SU, "pushf pushfl pushfw",                  "PUSHF PUSHFD",     "none",            8),
    _r(25, "popf",        _SU, "popf popfl popfw",                     "POPF POPFD",       "none",            8),
    _r(26, "iret",        _SU, "iret iretl iretw",                     "IRET IRETD",       "none",            8),
    _r(27, "sgdt",        _SU, "sgdt sgdtl sgdtw",                     "SGDT",             "m16&32",         16),
    _r(28, "sidt",        _SU, "sidt sidtl sidtw",                     "SIDT",             "m16&32",         16),
    _r(29, "sldt",        _SU, "sldt sldtw sldtl",                     "SLDT",             "r/m16",          12),
    _r(30, "str",         _SU, "str strw strl",                        "STR",              "r/m16",          12),
    _r(31, "smsw",        _SU, "smsw smsww smswl",                     "SMSW",             "r/m16",          12),
    _r(32, "lar",         _SU, "lar larw larl",                        "LAR",              "r32<-r/m16",     16),
    _r(33, "lsl",         _SU, "lsl lslw lsll",                        "LSL",              "r32<-r/m16",     16),
    _r(34, "verr",        _SU, "verr verrw",                           "VERR",             "r/m16",          12),
    _r(35, "verw",        _SU, "verw verww",                           "VERW",             "r/m16",          12),
    _r(36, "push_seg",    _SU, "push pushl pushw",                     "PUSH",             "seg",             8),
    _r(37, "pop_seg",     _SU, "pop popl popw",                        "POP",              "seg",             8),
    _r(38, "mov_to_seg",  _SU, "mov movw movl",                        "MOV",              "seg<-r/m16",     12),
    _r(39, "mov_from_seg", _SU, "mov movw movl",                       "MOV",              "r/m16<-seg",     12),
    _r(40, "ljmp",        _SU, "ljmp ljmpl ljmpw jmp jmpl jmpw",       "LJMP JMP",         "ptr16:32|m16:32", 16),
    _r(41, "lcall",       _SU, "lcall lcalll lcallw call calll callw", "LCALL CALL",       "ptr16:32|m16:32", 16),
    _r(42, "lret",        _SU, "lret lretl lretw retf retfl retfw",   "RETF",             "none|imm16",      8),
    _r(43, "lds",         _SU, "lds ldsl ldsw",                        "LDS",              "r32<-m16:32",    16),
    _r(44, "les",         _SU, "les lesl lesw",                        "LES",              "r32<-m16:32",    16),
    _r(45, "lfs",         _SU, "lfs lfsl lfsw",                        "LFS",              "r32<-m16:32",    16),
    _r(46, "lgs",         _SU, "lgs lgsl lgsw",                        "LGS",              "r32<-m16:32",    16),
    _r(47, "lss",         _SU, "lss lssl lssw",                        "LSS",              "r32<-m16:32",    16),
    _r(48, "int",         _SU, "int",                                  "INT",              "imm8",            8),
    _r(49, "int3",        _SU, "int3",                                 "INT3",             "none",            8),
    _r(50, "into",        _SU, "into",                                 "INTO",             "none",            8),
    _r(51, "cpuid",       _SU, "cpuid",                                "CPUID",            "none",            8),
    _r(52, "arpl",        _SU, "arpl arplw",                           "ARPL",             "r/m16<-r16",     12),
    _r(53, "int1",        _SU, "int1",                                 "INT1",             "none",            8),
)

# The far-pointer loads lds..lss name their pointer "m16:32" but are selected by mnemonic alone:
# the m16:32 class selects only for the jmp/call spellings (see OPERAND FORMS).
_FAR_BRANCH = frozenset({"ljmp", "lcall"})

# Memory sites of the C source pass (kinds 128..): a page-table entry store or load the pass turned into
# an accessor whose inline asm is the site, with fixed registers (pointer in %eax, value in %edx) so that
# a hypervisor's template can rely on them.  Not in ROWS: the asm pass and audit select sensitive
# instructions from ROWS, and a plain mov is not one.  `original` is the site's exact first bytes.
_M = Category.MEMORY
MEMORY_ROWS: tuple[Row, ...] = (
    Row(128, "pte_store", _M, ("movl",), ("MOV",), "m32<-r32", 8, b"\x89\x10"),  # movl %edx,(%eax)
    Row(129, "pte_load",  _M, ("movl",), ("MOV",), "r32<-m32", 8, b"\x8b\x10"),  # movl (%eax),%edx
)

_BY_KIND = {r.kind: r for r in ROWS + MEMORY_ROWS}
assert len(_BY_KIND) == len(ROWS) + len(MEMORY_ROWS), "duplicate kind in ROWS or MEMORY_ROWS"
assert all(r.kind < 128 for r in ROWS) and all(r.kind >= 128 for r in MEMORY_ROWS)


def row(kind: int) -> Row:
    """The row of a site-record kind."""
    try:
        return _BY_KIND[kind]
    except KeyError:
        raise KeyError(f"unknown sensitive-instruction kind {kind!r}: previrt.isa.i386 defines kinds "
                       f"{min(_BY_KIND)}..{max(_BY_KIND)}") from None


def row_by_name(name: str) -> Row:
    """The row (ROWS or MEMORY_ROWS) named `name`."""
    for r in ROWS + MEMORY_ROWS:
        if r.name == name:
            return r
    raise KeyError(f"no previrt.isa.i386 row named {name!r}")


# ---- operand forms -------------------------------------------------------------------------------

_REG_CLASS = {  # register name (no %) -> selecting class
    **{f"cr{n}": "cr" for n in range(8)},
    **{f"dr{n}": "dr" for n in range(8)}, **{f"db{n}": "dr" for n in range(8)},
    **{s: "seg" for s in ("cs", "ds", "es", "fs", "gs", "ss")},
}


def _alternatives(row_: Row) -> list[tuple[str | None, str | None]]:
    """Each alternative of a row's form as (dest class, src class); single operands are (cls, None)."""
    alts = []
    for alt in row_.operands.split("|"):
        dest, _, src = alt.partition("<-")
        alts.append((dest, src or None))
    return alts


def _selecting(row_: Row) -> bool:
    if row_.name not in _FAR_BRANCH and row_.operands.endswith("m16:32"):
        return False
    return any(c in SELECTING_CLASSES for alt in _alternatives(row_) for c in alt)


_SELECTED = {r.kind: _selecting(r) for r in ROWS}


# ---- GAS (AT&T) ----------------------------------------------------------------------------------

def split_operands(text: str) -> list[str]:
    """AT&T operand text split at top-level commas: "%eax,4(%ebx,%ecx,2)" -> ["%eax", "4(%ebx,%ecx,2)"]."""
    ops, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            ops.append(text[start:i].strip())
            start = i + 1
    last = text[start:].strip()
    if last or ops:
        ops.append(last)
    return ops


def _gas_operand_is(cls: str, op: str, mnemonic: str) -> bool:
    if cls in ("cr", "dr", "seg"):
        return op.startswith("%") and _REG_CLASS.get(op[1:].strip().lower()) == cls
    if cls == "m16:32":
        return op.startswith("*") and mnemonic.startswith("l")
    return True  # a documenting class: GAS checks it


def _gas_matches(row_: Row, mnemonic: str, ops: list[str]) -> bool:
    for dest, src in _alternatives(row_):
        if dest == "ptr16:32":
            if len(ops) == 2 and ops[0].startswith("$") and ops[1].startswith("$"):
                return True
        elif src is None:
            if len(ops) == 1 and _gas_operand_is(dest, ops[0], mnemonic):
                return True
        elif len(ops) == 2 and _gas_operand_is(src, ops[0], mnemonic) and _gas_operand_is(dest, ops[1], mnemonic):
            return True
    return False


_BY_GAS: dict[str, tuple[Row, ...]] = {}
for _row in ROWS:
    for _m in _row.gas_mnemonics:
        _BY_GAS[_m] = _BY_GAS.get(_m, ()) + (_row,)


# GAS picks a shorter encoding of another row for some immediates: `int $3` assembles to int3 (CC).
GAS_SHORT_FORMS = {("int", 3): "int3"}
_BY_NAME = {r.name: r for r in ROWS}


# GAS integer constants (decimal, 0x hex, 0b binary, leading-0 octal, 'c character) and operators,
# in GAS's precedence (as.info, "Infix Operators"): a comparison is -1 when true, 0 when false;
# `!`, `&&` and `||` give 1 and 0.
_GAS_TOKEN = re.compile(r"\s*(?:(0[xX][0-9a-fA-F]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)(?![\w.$])|'(\\?.)"
                        r"|(<<|>>|<>|!=|==|<=|>=|&&|\|\||[-+*/%|&^!~<>()]))")
_GAS_BINARY = (  # lowest precedence first
    {"&&": lambda a, b: int(bool(a and b)), "||": lambda a, b: int(bool(a or b))},
    {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "==": lambda a, b: -int(a == b),
     "<>": lambda a, b: -int(a != b), "!=": lambda a, b: -int(a != b), "<": lambda a, b: -int(a < b),
     ">": lambda a, b: -int(a > b), "<=": lambda a, b: -int(a <= b), ">=": lambda a, b: -int(a >= b)},
    {"|": lambda a, b: a | b, "&": lambda a, b: a & b, "^": lambda a, b: a ^ b, "!": lambda a, b: a | ~b},
    {"*": lambda a, b: a * b, "/": lambda a, b: int(a / b), "%": lambda a, b: a - b * int(a / b),
     "<<": lambda a, b: a << b, ">>": lambda a, b: a >> b},
)
_CHAR_ESCAPES = {"n": 10, "t": 9, "r": 13, "b": 8, "f": 12, "0": 0, "\\": 92, "'": 39, '"': 34}


def _gas_tokens(text: str) -> list | None:
    tokens, pos, text = [], 0, text.rstrip()
    while pos < len(text):
        m = _GAS_TOKEN.match(text, pos)
        if not m:
            return None  # a symbol, or something GAS alone can evaluate
        number, char, op = m.groups()
        if number is not None:
            tokens.append(int(number, 8) if number[0] == "0" and number[1:2].isdigit() else
                          int(number, 0) if number != "0" else 0)
        elif char is not None:
            tokens.append(_CHAR_ESCAPES.get(char[1], ord(char[1])) if len(char) == 2 else ord(char))
        else:
            tokens.append(op)
        pos = m.end()
    return tokens


def gas_constant(text: str) -> int | None:
    """The value of a GAS absolute expression made of integer constants ("3", "(1+2)", "03", "'a"),
    or None when it names a symbol or is not understood (GAS alone knows its value then)."""
    tokens = _gas_tokens(text)
    if not tokens:
        return None
    try:
        value, rest = _gas_binary(tokens, 0)
    except (IndexError, TypeError, ZeroDivisionError, ValueError):
        return None
    return value if not rest else None


def _gas_binary(tokens: list, level: int) -> tuple[int, list]:
    if level == len(_GAS_BINARY):
        return _gas_unary(tokens)
    ops = _GAS_BINARY[level]
    value, tokens = _gas_binary(tokens, level + 1)
    while tokens and isinstance(tokens[0], str) and tokens[0] in ops:
        rhs, rest = _gas_binary(tokens[1:], level + 1)
        value, tokens = ops[tokens[0]](value, rhs), rest
    return value, tokens


def _gas_unary(tokens: list) -> tuple[int, list]:
    head = tokens[0]
    if isinstance(head, int):
        return head, tokens[1:]
    if head == "(":
        value, rest = _gas_binary(tokens[1:], 0)
        if rest[:1] != [")"]:
            raise ValueError("unbalanced parentheses")
        return value, rest[1:]
    value, rest = _gas_unary(tokens[1:])
    unary = {"-": lambda v: -v, "+": lambda v: v, "~": lambda v: ~v, "!": lambda v: int(not v)}
    return unary[head](value), rest


def _immediate(op: str) -> int | None:
    return gas_constant(op[1:]) if op.startswith("$") else None


def _short_form(r: Row, operands: str) -> Row:
    name = GAS_SHORT_FORMS.get((r.name, _immediate(operands.strip())))
    return _BY_NAME[name] if name else r


def gas_short_form_guard(r: Row, operands: str) -> tuple[str, int, str] | None:
    """For a row GAS may assemble as a shorter form of another row (`int $N` with N = 3 is int3),
    when the operand is an expression only GAS can evaluate (a symbol): (expression, value, name of
    the short form's row), so the pass can make GAS check that it is not that value."""
    op = operands.strip()
    if not op.startswith("$") or _immediate(op) is not None:
        return None
    for (name, value), short in GAS_SHORT_FORMS.items():
        if name == r.name:
            return op[1:].strip(), value, short
    return None


def classify_gas(mnemonic: str, operands: str) -> Row | None:
    """The row of an AT&T statement (mnemonic without prefixes, operand text), or None."""
    rows = _BY_GAS.get(mnemonic.lower())
    if not rows:
        return None
    ops = None
    for r in rows:
        if not _SELECTED[r.kind]:
            return _short_form(r, operands)
        if ops is None:
            ops = split_operands(operands)
        if _gas_matches(r, mnemonic.lower(), ops):
            return r
    return None


def gas_scan_words() -> frozenset[str]:
    """Mnemonics that make a statement worth classifying whatever its operands (lower case)."""
    words = {m for r in ROWS if not _SELECTED[r.kind] for m in r.gas_mnemonics}
    return frozenset(words | {m for r in ROWS if r.name in _FAR_BRANCH for m in r.gas_mnemonics if m[0] == "l"})


# Operand texts (lower case) that make a common mnemonic (mov, push, pop, jmp, call) worth classifying.
GAS_SCAN_HINTS = (r"%cr[0-7]", r"%d[rb][0-7]", r"%[cdefgs]s\b(?![ \t]*:)", r"\$[^,;#\n]*,[ \t]*\$")


# ---- capstone ------------------------------------------------------------------------------------

_CS_READ, _CS_WRITE = 1, 2  # capstone CS_AC_READ / CS_AC_WRITE
_ANY_ACCESS = None  # single operands: capstone reports no access for `push %ds`
_FAR_INDIRECT = {"JMP": 5, "LJMP": 5, "CALL": 3, "LCALL": 3}  # FF /5 and FF /3: far through memory
_X86_OP_REG = 1  # capstone.x86.X86_OP_REG


def _cs_reg_class(insn, op) -> str | None:
    return _REG_CLASS.get(insn.reg_name(op.reg)) if op.type == _X86_OP_REG else None


def _cs_has(insn, cls: str, access: int) -> bool:
    if cls == "ptr16:32":
        return insn.opcode[0] in (0xEA, 0x9A)
    if cls == "m16:32":
        return insn.opcode[0] == 0xFF and (insn.modrm >> 3) & 7 == _far_indirect().get(insn.id)
    return any(_cs_reg_class(insn, op) == cls and (access is _ANY_ACCESS or op.access & access)
               for op in insn.operands)


def _cs_matches(row_: Row, insn) -> bool:
    for dest, src in _alternatives(row_):
        if dest in SELECTING_CLASSES and _cs_has(insn, dest, _CS_WRITE if src else _ANY_ACCESS):
            return True
        if src in SELECTING_CLASSES and _cs_has(insn, src, _CS_READ):
            return True
    return False


@functools.lru_cache(maxsize=None)
def _far_indirect() -> dict[int, int]:
    return {_capstone_ids((name,))[0]: reg for name, reg in _FAR_INDIRECT.items()}


@functools.lru_cache(maxsize=None)
def _by_capstone() -> dict[int, tuple[Row, ...]]:
    table: dict[int, tuple[Row, ...]] = {}
    for r in ROWS:
        for i in r.capstone_ids:
            table[i] = table.get(i, ()) + (r,)
    return table


def classify_capstone(insn) -> Row | None:
    """The row of a capstone instruction (32-bit mode, detail on), or None."""
    for r in _by_capstone().get(insn.id, ()):
        if not _SELECTED[r.kind] or _cs_matches(r, insn):
            return r
    return None
