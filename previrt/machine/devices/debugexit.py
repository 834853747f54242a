"""The exit port, compatible with QEMU's `isa-debug-exit` (iobase 0xF4, iosize 4), and the POST-code port 0x80.

A write of v ends the run; the process then exits with (v << 1) | 1, exactly as QEMU does (the run loop's part)."""

from __future__ import annotations

from typing import Callable


class DebugExit:
    """Any write of any width inside the window hands its value to `on_exit`; reads give 0 (as QEMU 7.2)."""

    WIDE_OFFSETS = frozenset(range(4))

    def __init__(self, on_exit: Callable[[int], None]):
        self._on_exit = on_exit

    def read(self, offset: int, size: int) -> int:
        return 0

    def write(self, offset: int, size: int, value: int) -> None:
        self._on_exit(value)


class PostCode:
    """Port 0x80, the POST-code port guests use as an I/O delay: writes are dropped, reads give 0xFF (as QEMU)."""

    def read(self, offset: int, size: int) -> int:
        return 0xFF

    def write(self, offset: int, size: int, value: int) -> None:
        pass
