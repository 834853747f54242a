"""GAS (AT&T, i386 ELF) lexing for the annotator: a source line into statements, a statement into parts.

Comments (`#` anywhere, `/` at the start of a line, `/* */` across lines), strings and character constants."""

from __future__ import annotations

import collections
import re

# One token of a line: a string, a character constant, a comment opener, a separator, or plain text.
_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:\\.|[^\\\n])|/\*|[#;\n]|[^"\'/#;\n]+|.', re.S)
_LABEL = re.compile(r'\s*([A-Za-z_.$\\][\w.$\\@]*|\d+|"[^"\n]*")\s*:(?![:=])')
_ASSIGN = re.compile(r'[A-Za-z_.$][\w.$]*\s*=(?!=)')
_WORD = re.compile(r'(\S+)\s*')

# Instruction prefixes GAS accepts as separate words before the mnemonic (and {pseudo} prefixes).
PREFIXES = frozenset("rep repe repz repne repnz lock data16 data32 addr16 addr32 cs ds es fs gs ss "
                     "notrack bnd xacquire xrelease".split())


class LexError(ValueError):
    """A line the lexer cannot split (unterminated string); `column` is 0-based."""

    def __init__(self, message: str, column: int):
        super().__init__(message)
        self.column = column


class Span(collections.namedtuple("Span", "start end clean")):
    """One statement of a line: [start, end) in the raw line (trimmed), and its text without comments."""

    __slots__ = ()


def split_line(line: str, in_comment: bool) -> tuple[list[Span], bool]:
    """Statements of `line` and whether a `/* */` comment is still open at its end."""
    spans: list[Span] = []
    clean: list[str] = []
    start = end = -1
    pos, n = 0, len(line)
    if not in_comment and line[:1] == "/" and line[1:2] != "*":
        return spans, False  # i386 ELF: `/` in column 0 starts a line comment
    while pos < n:
        if in_comment:
            close = line.find("*/", pos)
            if close < 0:
                break
            pos, in_comment = close + 2, False
            clean.append(" ")
            continue
        m = _TOKEN.match(line, pos)
        tok = m.group()
        if tok in ";#\n":
            _close(spans, clean, start, end)
            clean, start, end = [], -1, -1
            if tok != ";":
                break
        elif tok == "/*":
            in_comment = True
            clean.append(" ")
        elif tok == '"':
            raise LexError("unterminated string", pos)
        elif not tok.isspace():
            if start < 0:
                start = pos + len(tok) - len(tok.lstrip())
            end = pos + len(tok.rstrip())
            clean.append(tok)
        else:
            clean.append(tok)
        pos = m.end()
    _close(spans, clean, start, end)
    return spans, in_comment


def _close(spans: list[Span], clean: list[str], start: int, end: int) -> None:
    if start >= 0:
        spans.append(Span(start, end, "".join(clean).strip()))


class Statement(collections.namedtuple("Statement", "labels kind name args prefixes", defaults=("", "", ()))):
    """A statement's parts: labels defined (tuple), then a directive, an assignment or an instruction.

    kind      "empty" | "directive" | "assign" | "insn" | "prefix" (prefixes alone)
    name      directive name (".section") or mnemonic, lower case
    args      directive arguments or operand text
    prefixes  instruction prefixes written before the mnemonic (tuple)"""

    __slots__ = ()


def parse_statement(text: str) -> Statement:
    """Split a comment-free statement into labels and the rest."""
    labels, pos = [], 0
    while True:
        m = _LABEL.match(text, pos)
        if not m:
            break
        labels.append(m.group(1))
        pos = m.end()
    rest = text[pos:].strip()
    if not rest:
        return Statement(tuple(labels), "empty")
    if rest[0] == "." and not _ASSIGN.match(rest):
        m = _WORD.match(rest)
        return Statement(tuple(labels), "directive", m.group(1).lower(), rest[m.end():].strip())
    if _ASSIGN.match(rest):
        return Statement(tuple(labels), "assign", "", rest)
    return _instruction(tuple(labels), rest)


def label_end(raw: str) -> int:
    """Where a statement's own text starts after the labels it defines (0 when a comment is in the way)."""
    pos = 0
    while True:
        m = _LABEL.match(raw, pos)
        if not m:
            return pos + len(raw[pos:]) - len(raw[pos:].lstrip()) if pos else 0
        pos = m.end()


def _instruction(labels: tuple[str, ...], rest: str) -> Statement:
    prefixes, pos = [], 0
    while True:
        m = _WORD.match(rest, pos)
        if not m:
            return Statement(labels, "prefix", "", "", tuple(prefixes))
        word = m.group(1).lower()
        if word in PREFIXES or (word.startswith("{") and word.endswith("}")):
            prefixes.append(word)
            pos = m.end()
            continue
        return Statement(labels, "insn", word, rest[m.end():].strip(), tuple(prefixes))
