"""Which section and code size a GAS statement is assembled in: .section/.pushsection/.popsection/.previous,

.text/.data/.bss/.subsection, .code16/.code32/.code64 (none in a .macro body), .att_syntax, and .macro/.rept bodies."""

from __future__ import annotations

import collections
import re

_SECTION_ARGS = re.compile(r'\s*("[^"]*"|[^\s,]+)\s*(.*)', re.S)
_FLAGS = re.compile(r'"([^"]*)"')
_SIMPLE = {".text": ".text", ".data": ".data", ".bss": ".bss"}
_CODE = {".code16": "16", ".code16gcc": "16", ".code32": "32", ".code64": "64"}
_BODY_OPEN = {".macro": "macro", ".rept": "rept", ".irp": "rept", ".irpc": "rept"}
_BODY_CLOSE = {".endm": "macro", ".endr": "rept"}
MACRO_BODY = "(macro body)"  # the section assumed for a macro body: it is expanded where it is used


class StructureError(ValueError):
    """Unbalanced .popsection/.endm/.endr, or a body left open at the end of the file."""


def default_executable(name: str) -> bool:
    """Whether a section named without flags holds code: GAS makes .text, .text.*, .init and .fini "ax";

    previrt also treats other dotted names with a `text` component (.init.text, .head.text) as code,
    since linker scripts place them with .text (over-annotating one costs padding, missing one costs
    a virtualization hole)."""
    return name in (".text", ".init", ".fini", MACRO_BODY) or "text" in name.split(".")


# An open .macro or .rept/.irp/.irpc body: kind "macro" | "rept", the line it opened on, and the
# (current, previous, stack, mode) state saved when it opened.
Body = collections.namedtuple("Body", "kind lineno saved")


class Context:
    """Section stack, code size and open bodies at one point of a GAS file."""

    def __init__(self):
        self.current: tuple[str, str] = (".text", "0")  # (section, subsection)
        self.previous: tuple[str, str] = (".text", "0")
        self.stack: list = []  # .pushsection: saved (current, previous)
        self.flags: dict = {}  # section name -> executable, once flags were given
        self.mode = "32"  # .code16 / .code32 / .code64
        self.syntax = "att"
        self.bodies: list = []  # open Body entries, innermost last

    def in_macro(self) -> bool:
        return any(b.kind == "macro" for b in self.bodies)

    def other_mode(self) -> tuple[str, str, str] | None:
        """(section, subsection, mode) while 16- or 64-bit code is assembled into an executable section;
        None in 32-bit code, in a data section and inside a .macro body (not assembled where it is written)."""
        if self.mode == "32" or self.in_macro() or not self.executable(self.current[0]):
            return None
        return (*self.current, self.mode)

    def annotatable(self) -> bool:
        """32-bit code in an executable section (or a macro body, section decided at expansion)."""
        return self.mode == "32" and self.executable(self.current[0])

    def executable(self, name: str) -> bool:
        return self.flags.get(name, default_executable(name)) if name != MACRO_BODY else True

    def label_scheme(self) -> str:
        kinds = {b.kind for b in self.bodies}
        return "rept" if "rept" in kinds else "macro" if "macro" in kinds else "plain"

    def directive(self, name: str, args: str, lineno: int) -> None:
        """Apply one directive; anything not about sections, code size or bodies is ignored."""
        if name in _SIMPLE:
            self._switch((_SIMPLE[name], args.strip() or "0"))
        elif name == ".section":
            self._switch(self._parse(args))
        elif name == ".pushsection":
            self.stack.append((self.current, self.previous))
            self._switch(self._parse(args))
        elif name == ".popsection":
            if not self.stack:
                raise StructureError(".popsection without a matching .pushsection")
            self.current, self.previous = self.stack.pop()
        elif name == ".previous":
            self.current, self.previous = self.previous, self.current
        elif name == ".subsection":
            self.current = (self.current[0], args.strip() or "0")
        elif name in _CODE:
            if self.in_macro():
                raise StructureError(f"{name} inside a .macro body: the asm pass cannot tell the code size a macro "
                                     f"leaves behind where it is expanded, nor record its 16/64-bit code for "
                                     f"previrt audit; write {name} outside the macro")
            self.mode = _CODE[name]
            self._check_syntax()
        elif name in (".intel_syntax", ".att_syntax"):
            self.syntax = name[1:-7]
            self._check_syntax()
        elif name in _BODY_OPEN:
            self._open(_BODY_OPEN[name], lineno)
        elif name in _BODY_CLOSE:
            self._close(name, lineno)

    def _check_syntax(self) -> None:
        if self.syntax == "intel" and self.mode == "32":
            raise StructureError("32-bit code in Intel syntax (.intel_syntax): the asm pass reads AT&T syntax, "
                                 "GAS's default; switch back with .att_syntax or build without -masm=intel")

    def _parse(self, args: str) -> tuple[str, str]:
        m = _SECTION_ARGS.match(args)
        if not m:
            raise StructureError("section directive without a section name")
        name, rest = m.group(1).strip('"'), m.group(2)
        flags = _FLAGS.search(rest)
        if flags:
            self.flags[name] = "x" in flags.group(1)
        sub = re.match(r",\s*(\d+)", rest)
        return name, sub.group(1) if sub else "0"

    def _switch(self, section: tuple[str, str]) -> None:
        self.previous, self.current = self.current, section

    def _open(self, kind: str, lineno: int) -> None:
        saved = (self.current, self.previous, list(self.stack), self.mode)
        self.bodies.append(Body(kind, lineno, saved))
        if kind == "macro":  # not assembled here: its own directives must not leak out
            self.current = self.previous = (MACRO_BODY, "0")
            self.stack = []

    def _close(self, name: str, lineno: int) -> None:
        if not self.bodies or self.bodies[-1].kind != _BODY_CLOSE[name]:
            opener = ".macro" if name == ".endm" else ".rept/.irp/.irpc"
            raise StructureError(f"{name} without a matching {opener}")
        body = self.bodies.pop()
        if body.kind == "macro":
            self.current, self.previous, self.stack, self.mode = body.saved
