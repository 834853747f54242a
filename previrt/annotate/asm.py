"""The GAS (AT&T) pass: find every sensitive instruction of previrt.isa.i386, pad it to its site size

with NOPs between labels, and record the site in `.previrt.sites`; record 16/64-bit code as ranges in `.previrt.code16`.

Each rewrite, before and after (kind cli, site size 8); the site is one line, with `;` between statements,
so no line is added and every line keeps its number (shown here one statement a line):

        cli      # off         .Lpv_s1: cli ;
                               .Lpv_i1: ;
                               .arch .nop ;
                               .if .Lpv_i1 - .Lpv_s1 > 8 ;
                               .error "kern.c:12: cli instruction is longer than its 8-byte previrt site" ;
                               .elseif 8 - (.Lpv_i1 - .Lpv_s1) > 11 ;
                               .byte 0xeb, 8 - (.Lpv_i1 - .Lpv_s1) - 2 ;
                               .nops 8 - (.Lpv_i1 - .Lpv_s1) - 2, 11 ;
                               .else ;
                               .nops 8 - (.Lpv_i1 - .Lpv_s1), 11 ;
                               .endif ;
                               .Lpv_e1: ;
                               .pushsection .previrt.sites,"a" ; (the 12-byte record) ; .popsection
                               # off

A stretch of 16-bit code, before and after (the 16-bit lines themselves are not touched):

        .code16                        .code16 ; .Lpv_cs1:
        cli                            cli
        .code32                        .Lpv_ce1: ;
                                       .pushsection .previrt.code16,"a" ; (the 12-byte record) ; .popsection ;
                                       .code32

Decisions:
* Only 32-bit code (`.code32`, the default) in executable sections is annotated: `.text`, `.text.*`,
  `.init`, `.fini`, names with a `text` component such as `.init.text`, and any section given flags
  with "x".  A sensitive instruction in a data section is left alone (data does not execute); 16-bit
  and 64-bit code pass through untouched (boot sectors must not grow).
* Each stretch of 16-bit (`.code16`, `.code16gcc`) or 64-bit (`.code64`) code in an executable section
  is recorded as a range in `.previrt.code16` (previrt.sites.gas_range_record), so that `previrt audit`
  does not sweep it as 32-bit code.  The start label goes after the directive that opens the stretch,
  the end label and the record before the one that closes it (`.code32`, or a switch of section or
  subsection: the range is closed in the old section and a new one opened in the new section if it
  is executable; `.pushsection`/`.popsection`/`.previous` alike), again as `;` statements on the
  directive's line; a stretch still open at the end of the file is closed by one line added at the
  end (no line number changes).  The 16-bit bytes are not touched.  A stretch with nothing between
  its two directives but blanks and `;` gets no range.  A stretch that a label of a `.previrt.code16`
  record is defined in (ours, or written by hand) is taken as recorded, so annotating annotated output
  changes nothing.  Code-size directives inside `.macro` bodies are an error: where and in which code
  size a macro is expanded is not known to a textual pass, and a wrong guess would hide 32-bit code
  from the audit; so is a stretch opening or closing inside a `.rept`/`.irp`/`.irpc` body (it would be
  recorded once for several copies).  GAS sizes every `.nops` in the code size in force at the end of
  the file, so a file with padded sites must end in 32-bit code (else GAS: "invalid single nop size").
* Macro bodies are annotated, with `\\@` in the labels so each expansion has its own; inside `.rept`,
  `.irp` and `.irpc` bodies (where GAS has no `\\@`) the labels are the numeric local labels
  97701/97702/97703, referred to as `97701b`.  A macro body is assumed to be expanded in code.
* `.arch .nop` lets GAS use the multi-byte NOPs (0f 1f /0, up to 11 bytes) in every CPU mode: padding
  is as few NOPs as possible and decodes as `nop`.  It also makes later alignment fills in the file
  use those NOPs.  A padding longer than one NOP (12..15 bytes: string I/O, invlpg, descriptor
  loads in 16-byte sites) starts with a short `jmp` to the site end instead, so every padded site
  costs exactly one extra instruction on the bare machine; the bytes it skips are NOPs all the same.
* The size check is GAS's: `.error` names the original file:line when the instruction (with its
  prefixes) is longer than the site.
* Already-annotated sites are found through `.previrt.sites` records, ours or written by hand: an
  instruction that a record's start label (`.long LABEL - .`) points at is left as it is, so
  annotating annotated output changes nothing.
* A prefix written as its own statement (`rep; outsb`, or `rep` on the line before) belongs to the
  site: the start label goes before it.
* Lines without sensitive instructions are copied as they are; regular expressions derived from the
  table find the few lines worth parsing.  Only those are parsed, so an error the pass reports (an
  unterminated string or comment, unbalanced .macro/.endm, .rept/.endr or .pushsection/.popsection)
  concerns what it must understand; anything else malformed is left for GAS to report.
* 32-bit code in Intel syntax (`.intel_syntax`) is an error: the pass reads AT&T, GAS's default.
* Out of reach of a textual pass, and left to `previrt audit` to catch: an instruction whose mnemonic
  or deciding operand is a macro parameter (`movl \\reg, %cr\\n`), code brought in by `.include`,
  and instructions written as `.byte`."""

from __future__ import annotations

import bisect
import collections
import os
import re
import stat
import sys

from previrt import sites
from previrt.annotate._gaslex import LexError, PREFIXES, Span, label_end, parse_statement, split_line
from previrt.annotate._origin import Origins
from previrt.annotate._sections import Context, StructureError
from previrt.errors import PrevirtError, UsageError
from previrt.isa import i386

MAX_NOP = 11  # longest single NOP GAS emits with `.arch .nop`
JMP_REL8 = "0xeb"  # `jmp rel8` over a padding longer than one NOP: the site runs one extra instruction
REPT_LABELS = ("97701", "97702", "97703")  # start, instruction end, site end inside .rept bodies

_STATE_DIRECTIVE = (r"\.(?:s(?:ection|ubsection)|p(?:ushsection|opsection|revious)|text|data|bss|code(?:16gcc|16|32|64)|macro"
                    r"|endm|rept|irpc?|endr|intel_syntax|att_syntax)\b")


def _trie(words: list[str]) -> str:
    """A regular expression for a set of words, factored by common prefixes (fast with `re`)."""
    heads: dict[str, list[str]] = {}
    for w in words:
        heads.setdefault(w[0], []).append(w[1:])
    alts = []
    for head, tails in sorted(heads.items()):
        rest = [t for t in tails if t]
        sub = f"(?:{_trie(rest)}){'?' if len(rest) < len(tails) else ''}" if rest else ""
        alts.append(re.escape(head) + sub)
    return "|".join(alts)


_WORDS = _trie(sorted(i386.gas_scan_words() | PREFIXES)) + r")(?![\w.$])"
# Scans over the lower-cased text; a match marks its line as worth parsing.  Each starts with a rare
# character or a literal, which `re` searches for quickly; the text is a few MB at most.
_SCANS = [re.compile(p) for p in (r"[\n\t ;:,](?:" + _WORDS, *i386.GAS_SCAN_HINTS, _STATE_DIRECTIVE, r"/\*")]
_FIRST_WORD = re.compile("(?:" + _WORDS)


def _candidate_lines(text: str) -> list[int]:
    """Offsets of the lines that may hold a sensitive instruction or change the pass's state."""
    ascii_ = text.isascii()
    low = text.lower() if ascii_ else text
    starts = {0} if _FIRST_WORD.match(low) or not ascii_ and _FIRST_WORD.match(text.lower()) else set()
    for rx in _SCANS if ascii_ else [re.compile(x.pattern, re.I) for x in _SCANS]:
        for m in rx.finditer(low):
            starts.add(low.rfind("\n", 0, m.end() - 1) + 1)
    return sorted(starts)


_OUR_NUMBER = re.compile(r"\.Lpv_[sie](\d+)")


def annotate_text(text: str, filename: str = "<input>", site_sizes: dict[int, int] | None = None) -> str:
    """`text` with every sensitive instruction padded and recorded; errors name the original file:line.

    `site_sizes` overrides the table's default site size per kind."""
    return _Pass(text, filename, site_sizes or {}).run()


def annotate_path(in_path: str, out_path: str) -> None:
    """Annotate a file into another, written whole or not at all (temporary file, then rename), with
    the permissions a newly created file gets (0666 less the umask); `-` is standard input / output, and
    an output that is not a regular file (/dev/null, a pipe) is written directly, never replaced.
    An input that cannot be read or an output that cannot be written is a UsageError; the pass's own
    refusal of the text is a PrevirtError naming file:line."""
    text, name = _read_source(in_path)
    result = annotate_text(text, name)
    try:
        _write_result(result, out_path)
    except OSError as e:
        raise UsageError(f"cannot write: {e.strerror}", where=out_path) from None


def _read_source(in_path: str) -> tuple[str, str]:
    """(text, name for messages) of a file, or of standard input for `-`."""
    try:
        if in_path == "-":
            return sys.stdin.buffer.read().decode("utf-8", "surrogateescape"), "<stdin>"
        with open(in_path, encoding="utf-8", errors="surrogateescape", newline="") as f:
            return f.read(), in_path
    except OSError as e:
        raise UsageError(f"cannot read: {e.strerror}", where=in_path) from None


def _write_result(result: str, out_path: str) -> None:
    if out_path == "-":
        sys.stdout.buffer.write(result.encode("utf-8", "surrogateescape"))
        sys.stdout.flush()
        return
    target = os.path.realpath(out_path)  # through a symbolic link, as a compiler writes
    if os.path.isdir(target):
        raise UsageError("cannot write: it is a folder", where=out_path)
    if os.path.exists(target) and not stat.S_ISREG(os.stat(target).st_mode):  # /dev/null, a pipe
        with open(target, "w", encoding="utf-8", errors="surrogateescape", newline="") as f:
            f.write(result)
        return
    fd, tmp = _new_file(os.path.dirname(target))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape", newline="") as f:
            f.write(result)
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise


def _new_file(folder: str) -> tuple[int, str]:
    """A new file `.previrt-XXXX.s` in `folder`, opened for writing, mode 0666 less the umask (the
    tempfile module is not used: previrt cc imports this module once per compiled file)."""
    while True:
        path = os.path.join(folder, f".previrt-{os.urandom(6).hex()}.s")
        try:
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), path
        except FileExistsError:
            continue
        except OSError as e:
            raise UsageError(f"cannot write into this folder: {e.strerror}", where=folder) from None


class _Slot:
    """Text of a line decided after the line was rendered: the start label of a 16/64-bit code range,
    known once the range closes (empty when it needs no record)."""

    __slots__ = ("text",)

    def __init__(self):
        self.text = ""


# An open stretch of 16/64-bit code: its (section, subsection, mode), the text offset where it opened,
# the _Slot for its start label, and the index in the output of the line holding the slot (-1 while
# that line is being rendered).
_Stretch = collections.namedtuple("_Stretch", "key start slot out_index")


class _Pass:
    """One annotation of one file: the state carried from line to line."""

    def __init__(self, text: str, filename: str, site_sizes: dict[int, int]):
        self.text, self.filename, self.site_sizes = text, filename, site_sizes
        self.origins = Origins(text, filename)
        self.ctx = Context()
        self.out: list[str] = []
        self.in_comment: tuple[int, int] | None = None  # (offset, lineno) where the open comment began
        self.pending: tuple[int, int, int] | None = None  # prefix statement: (lineno, column, out index)
        self.covered = _annotated_sites(text) if sites.SECTION in text else set()
        numbers = [int(n) for n in _OUR_NUMBER.findall(text)] if ".Lpv_" in text else []
        self.next_n = max(numbers, default=0) + 1
        self.recorded = _record_label_offsets(text, sites.RANGE_SECTION) if sites.RANGE_SECTION in text else []
        ranges = [int(n) for n in _OUR_RANGE_NUMBER.findall(text)] if ".Lpv_c" in text else []
        self.next_range = max(ranges, default=0) + 1
        self.stretch: _Stretch | None = None
        self.edits: list = []  # range edits of the line being processed: (column, str or _Slot)

    def run(self) -> str:
        text, pos, lineno, n = self.text, 0, 1, len(self.text)
        candidates, k = _candidate_lines(text), 0
        while pos < n:
            if not (self.in_comment or self.pending):
                while k < len(candidates) and candidates[k] < pos:
                    k += 1
                if k == len(candidates):
                    self.out.append(text[pos:])
                    break
                start = candidates[k]
                if start > pos:
                    self.out.append(text[pos:start])
                    lineno += text.count("\n", pos, start)
                    pos = start
            end = text.find("\n", pos)
            end = n if end < 0 else end + 1
            self._line(text[pos:end], pos, lineno)
            pos, lineno = end, lineno + 1
        self._finish(lineno)
        return "".join(self.out)

    # ---- errors ----------------------------------------------------------------------------------

    def _error(self, message: str, offset: int, lineno: int) -> PrevirtError:
        where = self.origins.describe(offset, lineno)
        own = f"{self.filename}:{lineno}"
        return PrevirtError(message if where == own else f"{message} (at {own})", where=where)

    def _finish(self, lineno: int) -> None:
        if self.in_comment:
            raise self._error("unterminated /* comment", *self.in_comment)
        if self.ctx.bodies:
            body = self.ctx.bodies[-1]
            opener = ".macro" if body.kind == "macro" else ".rept/.irp/.irpc"
            raise self._error(f"{opener} body not closed by the end of the file", self._offset(body.lineno),
                              body.lineno)
        if self.stretch:  # still in 16/64-bit code: one line more, after all the others
            close = self._close_stretch(len(self.text))
            if close:
                newline = "" if not self.text or self.text.endswith("\n") else "\n"
                self.out.append(f"{newline}\t{close.rstrip(' ;')}\n")

    def _offset(self, lineno: int) -> int:
        pos = 0
        for _ in range(lineno - 1):
            pos = self.text.index("\n", pos) + 1
        return pos

    # ---- one line --------------------------------------------------------------------------------

    def _line(self, line: str, offset: int, lineno: int) -> None:
        try:
            spans, open_after = split_line(line, self.in_comment is not None)
        except LexError as e:
            raise self._error(f"unterminated string at column {e.column + 1}", offset, lineno) from None
        if open_after and not self.in_comment:
            self.in_comment = (offset, lineno)
        elif not open_after:
            self.in_comment = None
        found, self.edits = [], []
        for index, span in enumerate(spans):
            site = self._statement(line, span, index, offset, lineno)
            if site:
                found.append(site)
        if found and self.pending and self.pending[0] == lineno:
            raise self._error("a prefix statement ends a line that holds a sensitive instruction: write the "
                              "prefix on the line of the instruction it prefixes", offset, lineno)
        if found or self.edits:
            pieces = self._render(line, found, self.edits)
            if self.stretch and self.stretch.out_index < 0 and self.stretch.slot in pieces:
                self.stretch = self.stretch._replace(out_index=len(self.out))
                self.out.append(pieces)  # joined when the stretch closes
            else:
                self.out.append(_joined(pieces))
        else:
            self.out.append(line)
        if self.pending and self.pending[0] == lineno and self.pending[2] < 0:
            shift = sum(len(t if isinstance(t, str) else t.text) for c, t in self.edits if c <= self.pending[1])
            self.pending = (lineno, self.pending[1] + shift, len(self.out) - 1)

    def _statement(self, line: str, span: Span, index: int, offset: int, lineno: int):
        st = parse_statement(span.clean)
        if st.kind == "directive":
            before, in_macro = self.ctx.other_mode(), self.ctx.in_macro()
            try:
                self.ctx.directive(st.name, st.args, lineno)
            except StructureError as e:
                raise self._error(str(e), offset, lineno) from None
            after = self.ctx.other_mode()
            if after != before and not (in_macro or self.ctx.in_macro()):
                self._code_size_change(after, line, span, offset, lineno)
        if st.kind == "prefix":
            if self.pending is None or self.pending[0] != lineno:
                self.pending = (lineno, span.start + label_end(line[span.start:span.end]), -1)
            return None
        pending, self.pending = self.pending, None
        if st.kind != "insn" or (lineno, index) in self.covered or not self.ctx.annotatable():
            return None
        row = i386.classify_gas(st.name, st.args)
        if row is None:
            return None
        start, labels, inline = span.start + label_end(line[span.start:span.end]), self._labels(), True
        if pending and pending[0] == lineno:
            start = pending[1]
        elif pending:
            self._label_before(pending, labels[0])
            inline = False
        where = self.origins.describe(offset, lineno)
        return start, span.end, row, labels, inline, where, _short_form_guard(row, st.args, where)

    # ---- 16/64-bit code ranges ---------------------------------------------------------------------

    def _code_size_change(self, after: tuple | None, line: str, span: Span, offset: int, lineno: int) -> None:
        """Close the open stretch before this directive and open the one it starts after it."""
        if self.ctx.bodies:
            raise self._error("16/64-bit code starts or ends inside a .rept/.irp/.irpc body (a code-size or "
                              "section directive there): its range could not be recorded once per copy; move "
                              "the directive out of the body", offset, lineno)
        if self.stretch:
            column = span.start + label_end(line[span.start:span.end])  # at the directive, after its labels
            close = self._close_stretch(offset + column)
            if close:
                self.edits.append((column, close))
        if after:
            slot = _Slot()
            self.edits.append((span.end, slot))
            self.stretch = _Stretch(after, offset + span.end, slot, -1)

    def _close_stretch(self, at: int) -> str:
        """End the open stretch at text offset `at`: the statements to write there ('' if it needs no record)."""
        stretch, self.stretch = self.stretch, None
        close = ""
        between = self.text[stretch.start:at]
        first = bisect.bisect_left(self.recorded, stretch.start)
        recorded = first < len(self.recorded) and self.recorded[first] <= at
        if between.strip(" \t\r\n\f\v;") and not recorded:
            n, self.next_range = self.next_range, self.next_range + 1
            start, end = f".Lpv_cs{n}", f".Lpv_ce{n}"
            stretch.slot.text = f" ; {start}:"
            record = sites.gas_range_record(start, end, int(stretch.key[2]))
            close = f"{end}: ; " + " ; ".join(x.strip() for x in record) + " ; "
        if stretch.out_index >= 0:
            pieces = self.out[stretch.out_index]
            self.out[stretch.out_index] = _joined(pieces)
        return close

    # ---- rendering -------------------------------------------------------------------------------

    def _labels(self) -> tuple[str, str, str, str, str, str]:
        """(start, insn end, end) label definitions and the three references to them."""
        scheme = self.ctx.label_scheme()
        if scheme == "rept":
            return (*REPT_LABELS, *(f"{n}b" for n in REPT_LABELS))
        n, self.next_n = self.next_n, self.next_n + 1
        suffix = "_\\@" if scheme == "macro" else ""
        names = tuple(f".Lpv_{k}{n}{suffix}" for k in "sie")
        return (*names, *names)

    def _label_before(self, pending: tuple[int, int, int], start_label: str) -> None:
        """Put the start label before a prefix statement written on an earlier line."""
        _, column, index = pending
        line = self.out[index]
        self.out[index] = f"{line[:column]}{start_label}: {line[column:]}"

    def _render(self, line: str, found: list, edits: list) -> list:
        """The line with each site's start label before it and its padding and record after it, as
        further `;` statements on the same line: no line is added, so line numbers counted by GAS
        (from `# N "file"` markers, also inside .macro/.rept bodies) stay those of the source.  The
        range `edits` (column, text or _Slot) go in at their columns.  A list of pieces: str or _Slot."""
        inserts = list(edits)
        for a, b, row, labels, inline, where, guard in found:
            if inline:
                inserts.append((a, f"{labels[0]}: "))
            inserts.append((b, " ; " + " ; ".join(guard + self._postlude(row, labels, where))))
        parts, cursor = [], 0
        for column, piece in sorted(inserts, key=lambda e: e[0]):
            parts += [line[cursor:column], piece]
            cursor = column
        parts.append(line[cursor:])
        return parts

    def _postlude(self, row: i386.Row, labels: tuple, where: str) -> list[str]:
        _, i_def, e_def, s_ref, i_ref, e_ref = labels
        size = self.site_sizes.get(row.kind, row.site_size)
        message = _gas_string(f"{where}: {row.name} instruction is longer than its {size}-byte previrt site")
        pad = f"{size} - ({i_ref} - {s_ref})"
        return [f"{i_def}:", ".arch .nop", f".if {i_ref} - {s_ref} > {size}", f'.error "{message}"',
                f".elseif {pad} > {MAX_NOP}", f".byte {JMP_REL8}, {pad} - 2", f".nops {pad} - 2, {MAX_NOP}",
                ".else", f".nops {pad}, {MAX_NOP}", ".endif", f"{e_def}:",
                *(x.strip() for x in sites.gas_record(s_ref, e_ref, i_ref, row.kind))]


def _joined(pieces: list) -> str:
    """A rendered line from its pieces (str, or a _Slot whose text is decided by now)."""
    return "".join(p if isinstance(p, str) else p.text for p in pieces)


def _gas_string(text: str) -> str:
    """`text` escaped for the inside of a GAS string literal ("...")."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _short_form_guard(row: i386.Row, operands: str, where: str) -> list[str]:
    """GAS statements that stop the build when an operand only GAS can evaluate makes it assemble
    the instruction as the short form of another kind (`int $VEC` with VEC = 3 is int3, 0xcc), which
    the record's kind would not match; empty when the pass knows the operand's value."""
    guard = i386.gas_short_form_guard(row, operands)
    if guard is None:
        return []
    expr, value, short = guard
    message = _gas_string(f"{where}: {row.name} ${expr} is assembled as {short} when ${expr} is {value}, a "
                          f"different previrt site kind: write {short}")
    return [f".ifeq ({expr}) - {value}", f'.error "{message}"', ".endif"]


_OUR_RANGE_NUMBER = re.compile(r"\.Lpv_c[se](\d+)")
_LONG_REF = re.compile(r"\.(?:long|int|4byte)[ \t]+(\S+?)[ \t]*-[ \t]*\.[ \t]*(?:[,;#\n]|$)")


def _annotated_sites(text: str) -> set[tuple[int, int]]:
    """(line, statement index) of every instruction a `.previrt.sites` record's start label points at.

    Records are found by following the section directives; each record's `.long LABEL - .` is
    resolved to the label's definition (`Nb`/`Nf` for numeric labels), and the instruction at or
    after it is the site's."""
    covered, pos, lineno = set(), 0, 1
    for offset in _record_label_offsets(text, sites.SECTION):
        line_start = text.rfind("\n", 0, offset) + 1
        lineno += text.count("\n", pos, line_start)
        pos = line_start
        insn = _instruction_at_or_after(text, offset, line_start, lineno)
        if insn:
            covered.add(insn)
    return covered


def _record_label_offsets(text: str, section: str) -> list[int]:
    """Sorted text offsets of the definitions of the labels the records of `section` refer to."""
    return sorted({d for ref, at in _record_refs(text, section) for d in [_definition(text, ref, at)] if d is not None})


def _record_refs(text: str, section: str) -> list[tuple[str, int]]:
    """(label, offset) of every `.long LABEL - .` inside `section`."""
    ctx, refs = Context(), []
    starts = _candidate_lines(text)
    for k, start in enumerate(starts):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        try:
            spans, _ = split_line(text[start:end], False)
        except LexError:
            continue  # the main pass reports it with its position
        for span in spans:
            st = parse_statement(span.clean)
            if st.kind == "directive":
                try:
                    ctx.directive(st.name, st.args, 0)
                except StructureError:
                    pass
                if ctx.current[0] == section:
                    m = _LONG_REF.match(span.clean)
                    if m:
                        refs.append((m.group(1), start + span.start))
        if ctx.current[0] == section:
            stop = starts[k + 1] if k + 1 < len(starts) else len(text)
            refs.extend((m.group(1), m.start()) for m in _LONG_REF.finditer(text, end, stop))
    return refs


def _definition(text: str, ref: str, at: int) -> int | None:
    """Offset of the definition of label `ref` used at offset `at` (GAS's `Nb`/`Nf` rules)."""
    numeric = ref[:-1].isdigit() and ref[-1] in "bf"
    name = ref[:-1] if numeric else ref
    if not (numeric and ref[-1] == "f"):
        found = _find_label(text, name, at, backwards=True)
        if found is not None or numeric:
            return found
    return _find_label(text, name, at, backwards=False)


def _find_label(text: str, name: str, at: int, backwards: bool) -> int | None:
    """Nearest definition `name:` before (or after) `at`; `name :` with spaces is found by a regex."""
    needle = name + ":"
    i = text.rfind(needle, 0, at) if backwards else text.find(needle, at)
    while i >= 0:
        before = text[i - 1:i]
        after = text[i + len(needle):i + len(needle) + 1]
        if not (before.isalnum() or before in ("_", ".", "$", "\\")) and after not in (":", "="):
            return i
        i = text.rfind(needle, 0, i) if backwards else text.find(needle, i + 1)
    spaced = re.compile(r"(?<![\w.$\\])" + re.escape(name) + r"[ \t]+:(?![:=])")
    defs = [m.start() for m in spaced.finditer(text)]
    defs = [d for d in defs if (d < at) == backwards]
    return (defs[-1] if backwards else defs[0]) if defs else None


def _instruction_at_or_after(text: str, offset: int, line_start: int, lineno: int,
                             max_lines: int = 64) -> tuple[int, int] | None:
    """(line, statement index) of the first instruction statement at or after `offset`."""
    in_comment = False
    for _ in range(max_lines):
        end = text.find("\n", line_start)
        end = len(text) if end < 0 else end
        try:
            spans, in_comment = split_line(text[line_start:end], in_comment)
        except LexError:
            return None
        for index, span in enumerate(spans):
            if line_start + span.end > offset and parse_statement(span.clean).kind == "insn":
                return lineno, index
        if end == len(text):
            return None
        line_start, lineno = end + 1, lineno + 1
    return None
