"""Fixtures for the device tests: a board on a fresh Clock, driven through port reads and writes.

Nothing here runs guest code: each test plays the guest driver's part with port I/O and clock advances."""

from __future__ import annotations

import io

import pytest

from previrt.machine.board import BoardConfig, build_board
from previrt.machine.clock import Clock


class Guest:
    """A guest driver's view of the board: `inb`/`outb` and friends, plus the passing of virtual time."""

    def __init__(self, board):
        self.board = board
        self.clock = board.clock

    def inb(self, port: int) -> int:
        return self.board.port_read(port, 1)

    def inw(self, port: int) -> int:
        return self.board.port_read(port, 2)

    def inl(self, port: int) -> int:
        return self.board.port_read(port, 4)

    def outb(self, port: int, value: int) -> None:
        self.board.port_write(port, 1, value)

    def outw(self, port: int, value: int) -> None:
        self.board.port_write(port, 2, value)

    def outl(self, port: int, value: int) -> None:
        self.board.port_write(port, 4, value)

    def run_for(self, instructions: int) -> None:
        """Let virtual time pass as the run loop does: slice to each deadline, fire its events."""
        end = self.clock.now + instructions
        while True:
            deadline = self.clock.next_deadline()
            if deadline is None or deadline > end:
                break
            self.clock.advance(deadline)
        self.clock.advance(end)

    def run_until(self, predicate, limit: int = 10**9) -> int:
        """Advance deadline by deadline until `predicate()` holds; returns the virtual time it took."""
        start = self.clock.now
        while not predicate():
            deadline = self.clock.next_deadline()
            if deadline is None or deadline - start > limit:
                raise AssertionError("condition never became true")
            self.clock.advance(deadline)
        return self.clock.now - start


def linux_pic_init(g: Guest, master_base: int = 0x30, slave_base: int = 0x38) -> None:
    """The sequence Linux's init_8259A writes (mask, ICW1..ICW4 to both chips, the masks)."""
    g.outb(0x21, 0xFF)
    g.outb(0xA1, 0xFF)
    g.outb(0x20, 0x11)
    g.outb(0x21, master_base)
    g.outb(0x21, 0x04)
    g.outb(0x21, 0x01)
    g.outb(0xA0, 0x11)
    g.outb(0xA1, slave_base)
    g.outb(0xA1, 0x02)
    g.outb(0xA1, 0x01)
    g.outb(0x21, 0xFB)                     # the cached masks: all masked but the cascade
    g.outb(0xA1, 0xFF)


def make_board(tmp_path=None, **overrides):
    config = dict(mem_bytes=64 << 20, serial_out=io.BytesIO())
    config.update(overrides)
    return build_board(Clock(), BoardConfig(**config))


@pytest.fixture
def board():
    b = make_board()
    yield b
    b.close()


@pytest.fixture
def guest(board):
    return Guest(board)
