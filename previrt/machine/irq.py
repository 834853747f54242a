"""Interrupt request lines: what a device holds to signal the interrupt controller.

A line forwards its level to a sink `set_irq(line, level)` (the 8259A pair); edges are the sink's business."""

from __future__ import annotations

from typing import Callable

from previrt.machine.clock import NO_LINE


class IrqLine:
    def __init__(self, set_irq: Callable[[int, bool], None], line: int):
        self._set_irq = set_irq
        self.line = line
        self.level = False

    def raise_(self) -> None:
        self.level = True
        self._set_irq(self.line, True)

    def lower(self) -> None:
        self.level = False
        self._set_irq(self.line, False)

    def pulse(self) -> None:
        """An edge: raise then lower (the PIT's OUT pin in mode 2, for instance)."""
        self.raise_()
        self.lower()

    def set(self, level: bool) -> None:
        self.raise_() if level else self.lower()


def line_of(irq: IrqLine | None) -> int:
    """The line number to tag a device's clock events with (NO_LINE when it drives none)."""
    return NO_LINE if irq is None else irq.line


class NullIrq(IrqLine):
    """A line connected to nothing, for devices tested on their own."""

    def __init__(self, line: int = NO_LINE):
        super().__init__(lambda _line, _level: None, line)
