"""Original source positions for lines of a GAS file: `.file N "name"` + `.loc N LINE`, and cpp/gcc line

markers `# LINE "name"` (inline asm in gcc -S output, preprocessed .S); the newest marker above a line wins."""

from __future__ import annotations

import re

_MARK = re.compile(
    r'^[ \t]*(?:\.loc[ \t]+(?P<locfile>\d+)[ \t]+(?P<locline>\d+)'
    r'|\.file[ \t]+(?P<fileno>\d+)[ \t]+(?P<filenames>"[^\n]*")'
    r'|#[ \t]*(?:line[ \t]+)?(?P<markline>\d+)[ \t]+"(?P<markname>(?:[^"\\\n]|\\.)*)")',
    re.M)
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

    def marker(self, offset: int, next_line: bool) -> str | None:
        """A `# N "name"` line that restores marker-based numbering after lines inserted into the line
        at `offset` (for the line after it when `next_line`), or None when `.loc` rules there."""
        self._scan(offset)
        if not self.mark or (self.loc and self.loc[0] > self.mark[0]):
            return None
        moff, name, line = self.mark
        return f'# {line + self.text.count(chr(10), moff, offset) - 1 + next_line} "{name}"'

    def describe(self, offset: int, lineno: int) -> str:
        """Original position if known, else this file's own line: for error messages."""
        return self.where(offset, lineno) or f"{self.filename}:{lineno}"

    def _scan(self, offset: int) -> None:
        if offset < self.scanned:  # asked about an earlier line: start again
            self.__init__(self.text, self.filename)
        for m in _MARK.finditer(self.text, self.scanned, offset):
            if m.group("locfile"):
                self.loc = (m.start(), m.group("locfile"), int(m.group("locline")))
            elif m.group("fileno"):
                names = _STRING.findall(m.group("filenames"))
                self.files[m.group("fileno")] = names[-1] if names else self.filename
            elif m.group("markname"):
                self.mark = (m.start(), m.group("markname"), int(m.group("markline")))
            else:  # `# 0 "" 2` closes gcc's inline-asm block: the .loc above applies again
                self.mark = None
        self.scanned = offset
