"""The board table and port dispatch: standard windows, overlap rejection, unclaimed ports, the exit port.

Counts matter: the run loop reports port I/O by device and lists unclaimed ports with --trace-io."""

from __future__ import annotations

import logging

import pytest

from previrt.machine.board import BOARD, BoardConfig, Slot, build_board
from previrt.machine.bus import BusConflict
from previrt.machine.clock import Clock
from previrt.machine.devices.debugexit import PostCode
from tests.machine.devices.conftest import make_board


def test_table_places_standard_devices_at_standard_ports(board):
    where = {m.name: (m.base, m.length) for m in board.ports.mappings()}
    assert where["pic-master"] == (0x20, 2) and where["pic-slave"] == (0xA0, 2)
    assert where["com1"] == (0x3F8, 8)
    assert where["debug-exit"] == (0xF4, 4)
    assert where["post"] == (0x80, 1)
    assert {slot.irq for slot in BOARD if slot.name == "com1"} == {4}


def test_overlapping_row_is_rejected():
    clash = Slot("clash", lambda board, irq: PostCode(), 0x3FC, 2)
    with pytest.raises(BusConflict, match="clash at 0x3fc.*overlaps com1"):
        build_board(Clock(), BoardConfig(1 << 20, None), BOARD + (clash,))


def test_unclaimed_ports_read_all_ones_and_are_counted(board):
    assert board.port_read(0x2E8, 1) == 0xFF
    assert board.port_read(0x2E8, 2) == 0xFFFF
    assert board.port_read(0xCF8, 4) == 0xFFFFFFFF
    board.port_write(0x2E8, 1, 0x41)
    assert board.unclaimed[(0x2E8, "r")] == 2
    assert board.unclaimed[(0x2E8, "w")] == 1
    assert board.unclaimed[(0xCF8, "r")] == 1


def test_trace_io_logs_unclaimed_accesses(caplog):
    board = make_board(trace_io=True)
    with caplog.at_level(logging.WARNING, logger="previrt.machine.io"):
        board.port_write(0x378, 1, 0x55)
    assert "unclaimed port write 0x0378 size 1 value 0x55" in caplog.text


def test_exit_port_takes_the_written_value_at_any_width(board):
    assert board.exit_status is None
    assert board.port_read(0xF4, 1) == 0 and board.exit_status is None
    board.port_write(0xF4, 1, 0x31)
    assert board.exit_status == 0x31
    board.port_write(0xF4, 4, 0x12345678)
    assert board.exit_status == 0x12345678
    assert board.io_counts["debug-exit"] == 3


def test_port_80_is_accepted_and_ignored(board):
    board.port_write(0x80, 1, 0x12)
    assert board.port_read(0x80, 1) == 0xFF
    assert not board.unclaimed and board.io_counts["post"] == 2


def test_wide_access_to_byte_device_is_split_into_bytes(board):
    board.port_write(0x3FB, 2, 0x0380)     # LCR=0x80 (DLAB) then MCR=0x03
    uart = board.devices["com1"]
    assert (uart.lcr, uart.mcr) == (0x80, 0x03)
    assert board.port_read(0x3FB, 2) == 0x0380
    assert board.port_read(0x3FF, 2) == 0xFF00   # scratch, then the unclaimed 0x400
    assert board.unclaimed[(0x400, "r")] == 1
    assert board.io_counts["com1"] == 5


def test_intr_and_acknowledge_are_the_pics(board):
    board.port_write(0x20, 1, 0x11)
    board.port_write(0x21, 1, 0x20)
    board.port_write(0x21, 1, 0x04)
    board.port_write(0x21, 1, 0x01)
    board.pic.set_irq(3, True)
    assert board.intr() and board.acknowledge() == 0x23


def test_close_flushes_serial(tmp_path):
    out = (tmp_path / "serial").open("wb")
    board = make_board(serial_out=out)
    for ch in b"no newline":
        board.port_write(0x3F8, 1, ch)
    assert (tmp_path / "serial").read_bytes() == b""          # buffered until a newline ...
    board.close()
    assert (tmp_path / "serial").read_bytes() == b"no newline"  # ... or until the board closes
    out.close()


def test_firmware_state_is_what_the_bios_leaves(board):
    assert (board.port_read(0x21, 1), board.port_read(0xA1, 1)) == (0xB8, 0x8E)
    assert (board.pic.master.vector_base, board.pic.slave.vector_base) == (0x08, 0x70)
    board.pic.set_irq(0, True)
    assert board.intr() and board.acknowledge() == 0x08
    assert board.io_counts["pic-master"] == 1 and board.io_counts["pic-slave"] == 1   # firmware writes not counted


def test_can_wake_only_with_an_event_on_an_unmasked_line(board):
    # after the firmware: the PIT's channel 0 runs (IRQ 0), master IMR 0xB8 leaves IRQ 0 open
    assert board.clock.pending_lines() == [0]
    assert board.can_wake()
    board.port_write(0x21, 1, 0xFF)
    assert not board.can_wake()
    board.clock.schedule_in(10, lambda: None)                    # an event that does not say which line: may wake
    assert board.can_wake()
