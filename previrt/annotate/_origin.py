"""Original source positions for lines of a GAS file: `.file N "name"` + `.loc N LINE`, and cpp/gcc line

markers `# LINE "name"` (inline asm in gcc -S output, preprocessed .S); the newest marker above a line wins."""

from __future__ import annotations

import re

_LOC = re.compile(r'\.loc[ \t]+(\d+)[ \t]+(\d+)')
_FILE = re.compile(r'\.file[ \t]+(\d+)[ \t]+("[^\n]*")')
_HASH = re.compile(r'#[ \t]*(?:line[ \t]+)?(\d+)[ \t]+"((?:[^"\\\n]|\\.)*)"')
_STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"')


class Origins:
    """Answers "which original file:line is this line of `text`?" for lines met in increasing order."""

    def __init__(self, text: str, filename: str):
        self.text, self.filename = text, filename
        self.scanned = 0  # text offset up to which markers have been read
        self.files: dict[str, str] = {}
        self.loc: tuple[int, str, int] | None = None  # (offset, file number, line)
        self.mark: tuple[int, str, int] | None = None  # (offset of the marker line, name, line)

    def where(self, offset: int, lineno: int) -> str | None:
        """file:line of the original source for the line starting at `offset` (None: no marker yet)."""
        self._scan(offset)
        if self.mark and (not self.loc or self.mark[0] > self.loc[0]):
            moff, name, line = self.mark
            return f"{name}:{line + self.text.count(chr(10), moff, offset) - 1}"
        if self.loc:
            _, fileno, line = self.loc
            return f"{self.files.get(fileno, self.filename)}:{line}"
        return None

    def describe(self, offset: int, lineno: int) -> str:
        """Original position if known, else this file's own line: for error messages."""
        return self.where(offset, lineno) or f"{self.filename}:{lineno}"

    def _scan(self, offset: int) -> None:
        """Read the markers between the last line asked about and `offset` (only the newest matter)."""
        if offset < self.scanned:  # asked about an earlier line: start again
            self.__init__(self.text, self.filename)
        text, lo = self.text, self.scanned
        for m in _FILE.finditer(text, lo, offset):
            names = _STRING.findall(m.group(2))
            self.files[m.group(1)] = names[-1] if names else self.filename
        i = text.rfind(".loc", lo, offset)
        while i >= 0:
            m = _LOC.match(text, i)
            if m and not text[text.rfind("\n", 0, i) + 1:i].strip():
                self.loc = (i, m.group(1), int(m.group(2)))
                break
            i = text.rfind(".loc", lo, i)
        i = text.rfind("\n#", max(lo - 1, 0), offset)
        if i < 0:  # -1: a marker on the very first line; -2: no new marker
            i = -1 if lo == 0 and text.startswith("#") else -2
        while i >= -1:
            m = _HASH.match(text, i + 1)
            if m and i + 1 < offset:
                # `# 0 "" 2` closes gcc's inline-asm block: the .loc above applies again
                self.mark = (i + 1, m.group(2), int(m.group(1))) if m.group(2) else None
                break
            if i < 0:
                break
            i = text.rfind("\n#", max(lo - 1, 0), i)
            if i < 0:
                i = -1 if lo == 0 and text.startswith("#") else -2
        self.scanned = offset
