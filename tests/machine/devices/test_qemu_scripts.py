"""Register-level differential tests: the same port scripts on qemu-system-i386 and on the board give the
same values. Scripts avoid what depends on how much time passes between two accesses, which QEMU (its clock
counting guest instructions) and the board (each access here takes no time) see differently: PIT counts, RTC
seconds, FIFO timeouts. They wait for device activity with polls, which let virtual time pass on the board."""

from __future__ import annotations

import shutil

import pytest

from previrt.guestrun import QEMU
from tests.machine.devices import portscript
from tests.machine.devices.conftest import Guest, make_board
from tests.machine.guestkit import run_on_qemu

pytestmark = [pytest.mark.qemu, pytest.mark.skipif(shutil.which(QEMU) is None, reason=f"needs {QEMU}")]

U = 0x3F8
# Quiet the PIT (channel 0 in mode 0 with the longest count: no IRQ 0 edge for 55 ms), then initialize
# the 8259A pair at 0x20 / 0x28 with everything masked: no interrupt source but the ones a script starts.
QUIET = [("w", 0x43, 0x30), ("w", 0x40, 0xFF), ("w", 0x40, 0xFF),
         ("w", 0x20, 0x11), ("w", 0x21, 0x20), ("w", 0x21, 0x04), ("w", 0x21, 0x01),
         ("w", 0xA0, 0x11), ("w", 0xA1, 0x28), ("w", 0xA1, 0x02), ("w", 0xA1, 0x01),
         ("w", 0x21, 0xFF), ("w", 0xA1, 0xFF)]

UART = [
    # divisor 0x1000 (28 baud): QEMU's FIFO timeout (4 characters: 1.4 s, 175 M guest instructions) stays far away
    ("w", U + 1, 0x00), ("w", U + 3, 0x80), ("w", U, 0x00), ("w", U + 1, 0x10),
    ("r", U), ("r", U + 1), ("w", U + 3, 0x03), ("r", U + 3), ("r", U + 1),
    ("w", U + 7, 0x5A), ("r", U + 7),
    ("w", U + 2, 0xC7), ("r", U + 2), ("r", U + 5),                               # FIFO on
    ("w", U + 4, 0x18), ("r", U + 4), ("r", U + 6),                               # loopback, OUT2
    ("w", U + 4, 0x1F), ("r", U + 6),
    ("w", U + 1, 0x0F), ("r", U + 2), ("r", U + 2),                               # THRE, then nothing
    ("w", U, 0x41), ("w", U, 0x42), ("r", U + 5), ("r", U + 2),
    ("r", U), ("r", U + 5), ("r", U), ("r", U + 5), ("r", U + 2), ("r", U + 2),
    ("w", U + 2, 0x00), ("r", U + 2),                                             # FIFO off
    ("w", U, 0x31), ("w", U, 0x32), ("r", U + 2), ("r", U + 5), ("r", U + 2),    # overrun: line status
    ("r", U), ("r", U + 5), ("r", U + 2),
    ("w", U + 1, 0x00), ("r", U + 2), ("w", U + 4, 0x08), ("r", U + 6),
]

PIC = QUIET + [
    ("w", 0x21, 0xFB), ("r", 0x21), ("r", 0xA1),
    ("w", U + 4, 0x18), ("w", U + 1, 0x02),             # UART THRE interrupt: IRQ 4 high
    ("w", 0x20, 0x0A), ("r", 0x20), ("w", 0x20, 0x0B), ("r", 0x20),
    ("w", 0x21, 0xEB), ("w", 0x20, 0x0C), ("r", 0x20),  # poll: acknowledges IR4
    ("w", 0x20, 0x0B), ("r", 0x20), ("w", 0x20, 0x0A), ("r", 0x20),
    ("w", 0x20, 0x0C), ("r", 0x20),                     # nothing more: the line stayed high, no edge
    ("w", 0x20, 0x20), ("w", 0x20, 0x0B), ("r", 0x20),  # non-specific EOI
    ("w", U + 1, 0x00), ("w", U + 1, 0x02),             # a new edge
    ("w", 0x70, 0x0A), ("w", 0x71, 0x26), ("w", 0x70, 0x0B), ("w", 0x71, 0x42),   # RTC 1024 Hz, PIE
    ("w", 0xA1, 0xFE), ("w", 0xA0, 0x0A), ("poll", 0xA0, 0x01, 0x01),            # IRQ 8 pending
    ("w", 0x20, 0x0A), ("r", 0x20),                     # master: IR2 (cascade) and IR4
    ("w", 0x20, 0x0C), ("r", 0x20),                     # poll: IR2 beats IR4
    ("w", 0xA0, 0x0C), ("r", 0xA0),                     # the slave's poll names IR0 (IRQ 8)
    ("w", 0xA0, 0x0B), ("r", 0xA0), ("w", 0x20, 0x0B), ("r", 0x20),
    ("w", 0x20, 0x0C), ("r", 0x20),                     # IR4 waits below IR2 in service
    ("w", 0x20, 0x62), ("w", 0x20, 0x0C), ("r", 0x20),  # specific EOI of IR2: now IR4
    ("w", 0x20, 0x0B), ("r", 0x20), ("w", 0x20, 0x64), ("r", 0x20),
    ("w", 0xA0, 0x20), ("w", 0x70, 0x0B), ("w", 0x71, 0x02), ("w", 0x70, 0x0C), ("r", 0x71),
    ("w", 0x21, 0xFF), ("w", 0x20, 0xC3), ("r", 0x21),  # set priority: accepted, IMR unchanged
    ("w", U + 1, 0x00), ("w", U + 4, 0x08),             # UART back out of loopback for the report
]

PIT = [
    ("w", 0x43, 0x30), ("w", 0x40, 0xFF), ("w", 0x40, 0xFF),
    ("w", 0x43, 0xE2), ("r", 0x40),                     # read-back status: mode 0, OUT low
    ("w", 0x43, 0x36), ("w", 0x40, 0xFF), ("w", 0x40, 0xFF),
    ("w", 0x43, 0xE2), ("r", 0x40),                     # mode 3 just loaded: OUT high
    ("w", 0x43, 0x14), ("w", 0x40, 0xF0),
    ("w", 0x43, 0xE2), ("r", 0x40),                     # lobyte only, mode 2
    ("w", 0x43, 0x27), ("w", 0x40, 0x99),
    ("w", 0x43, 0xE2), ("r", 0x40),                     # hibyte only, mode 3, BCD
    ("w", 0x43, 0xB0), ("w", 0x42, 0xFF), ("w", 0x42, 0xFF),
    ("w", 0x61, 0x01), ("r", 0x61), ("r", 0x61), ("w", 0x61, 0x03), ("r", 0x61),
    ("w", 0x43, 0xE8), ("r", 0x42), ("r", 0x43),
]

CMOS = [
    ("w", 0x70, 0x0A), ("poll", 0x71, 0x80, 0x00), ("w", 0x70, 0x0B), ("r", 0x71),
    ("w", 0x70, 0x0D), ("r", 0x71), ("w", 0x70, 0x0C), ("r", 0x71), ("r", 0x70),
    *[op for reg in (0x09, 0x08, 0x07, 0x06, 0x04, 0x32) for op in (("w", 0x70, reg), ("r", 0x71))],
    ("w", 0x70, 0x0B), ("w", 0x71, 0x06),               # binary, 24 h
    *[op for reg in (0x09, 0x08, 0x07, 0x32) for op in (("w", 0x70, reg), ("r", 0x71))],
    ("w", 0x70, 0x0B), ("w", 0x71, 0x00),               # BCD, 12 h: midnight is 12 AM
    ("w", 0x70, 0x04), ("r", 0x71),
    ("w", 0x70, 0x0B), ("w", 0x71, 0x82),               # SET, then a new date and time
    *[op for reg, v in ((0x32, 0x20), (0x09, 0x24), (0x08, 0x02), (0x07, 0x29), (0x04, 0x23), (0x02, 0x59))
      for op in (("w", 0x70, reg), ("w", 0x71, v))],
    ("w", 0x70, 0x0B), ("w", 0x71, 0x02),
    *[op for reg in (0x32, 0x09, 0x08, 0x07, 0x06, 0x04, 0x02) for op in (("w", 0x70, reg), ("r", 0x71))],
    ("w", 0x70, 0x40), ("w", 0x71, 0xA5), ("w", 0x70, 0xC0), ("r", 0x71),
]

D, ALT = 0x1F0, 0x3F6
NOT_BUSY = (0x80, 0x00)
DATA_READY = (0x88, 0x08)


def lba(n: int, count: int, command: int) -> list[tuple]:
    return [("w", D + 6, 0xE0 | n >> 24), ("w", D + 2, count), ("w", D + 3, n & 0xFF), ("w", D + 4, n >> 8 & 0xFF),
            ("w", D + 5, n >> 16 & 0xFF), ("w", D + 7, command)]


ATA = QUIET + [
    ("w", D + 6, 0xA0), ("poll", ALT, *NOT_BUSY), ("r", D + 7),
    ("w", 0xA1, 0xBF), ("w", 0x21, 0xFB),
    ("w", D + 7, 0xEC), ("poll", ALT, *DATA_READY),
    ("w", 0xA0, 0x0A), ("r", 0xA0), ("w", 0x20, 0x0A), ("r", 0x20),   # IRQ 14 through the cascade
    ("skip", D, 47), ("rw", D), ("skip", D, 12), ("rw", D), ("rw", D),   # word 49 differs: no DMA here
    ("skip", D, 194), ("r", ALT), ("r", D + 7),
    *lba(5, 2, 0x30), ("poll", ALT, *DATA_READY), ("fill", D, 256, 0x1234), ("poll", ALT, *DATA_READY),
    ("r", D + 2), ("r", D + 3), ("fill", D, 256, 0x4321), ("poll", ALT, *NOT_BUSY), ("r", D + 7),
    ("r", D + 2), ("r", D + 3),
    *lba(4, 3, 0x20), ("poll", ALT, *DATA_READY), ("sum", D, 256), ("poll", ALT, *DATA_READY),
    ("sum", D, 256), ("poll", ALT, *DATA_READY), ("sum", D, 256), ("poll", ALT, *NOT_BUSY), ("r", D + 7),
    ("w", D + 1, 0x03), ("w", D + 2, 0x0C), ("w", D + 7, 0xEF), ("poll", ALT, *NOT_BUSY), ("r", D + 7),
    ("w", D + 2, 8), ("w", D + 7, 0xC6), ("poll", ALT, *NOT_BUSY), ("r", D + 7),
    *lba(0, 10, 0xC4), ("poll", ALT, *DATA_READY), ("sum", D, 8 * 256), ("poll", ALT, *DATA_READY),
    ("sum", D, 2 * 256), ("poll", ALT, *NOT_BUSY), ("r", D + 7),
    *lba(128, 1, 0x20), ("poll", ALT, 0x81, 0x01), ("r", D + 1), ("r", D + 7),
    *lba(127, 2, 0x20), ("poll", ALT, *DATA_READY), ("sum", D, 256), ("poll", ALT, 0x81, 0x01), ("r", D + 1),
    *lba(200, 1, 0x30), ("poll", ALT, *DATA_READY), ("fill", D, 256, 0), ("poll", ALT, 0x81, 0x01),
    ("r", D + 1), ("r", D + 7),
    ("w", D + 6, 0xA0), ("w", D + 7, 0xA1), ("poll", ALT, *NOT_BUSY), ("r", D + 1), ("r", D + 7),
    ("w", D + 7, 0x00), ("poll", ALT, *NOT_BUSY), ("r", D + 1), ("r", D + 7),
    ("w", D + 6, 0xB0), ("r", D + 7), ("r", ALT), ("r", D + 1), ("w", D + 7, 0xEC), ("r", D + 7),
    ("w", D + 6, 0xA0), ("r", D + 7),
    ("w", D + 7, 0xE7), ("poll", ALT, *NOT_BUSY), ("r", D + 7),
    ("w", ALT, 0x04), ("w", ALT, 0x00), ("poll", ALT, *NOT_BUSY),
    ("r", D + 2), ("r", D + 3), ("r", D + 4), ("r", D + 5), ("r", D + 6), ("r", D + 1), ("r", D + 7),
]

SCRIPTS = {"uart": UART, "pic": PIC, "pit": PIT, "cmos": CMOS, "ata": ATA}
DISK_SECTORS = 128


def make_disk(path):
    path.write_bytes(bytes((i * 31 + (i >> 9)) & 0xFF for i in range(DISK_SECTORS * 512)))
    return path


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_script_reads_the_same_on_qemu_and_the_board(name, tmp_path):
    ops = SCRIPTS[name]
    image = portscript.build(tmp_path, f"script_{name}", ops)
    q_disk = make_disk(tmp_path / "qemu.img") if name == "ata" else None
    serial, status = run_on_qemu(image, disk=q_disk)
    expected = portscript.parse(serial)
    assert status == 1 and len(expected) == sum(op[0] in ("r", "rw", "sum", "poll") for op in ops), serial
    b_disk = make_disk(tmp_path / "board.img") if name == "ata" else None
    board = make_board(disk=str(b_disk) if b_disk else None)
    got = portscript.run_on_board(Guest(board), ops)
    board.close()
    mismatches = [(i, f"{e:#x}", f"{g:#x}") for i, (e, g) in enumerate(zip(expected, got)) if e != g]
    assert not mismatches, f"(index, qemu, board): {mismatches}"
    if q_disk is not None:
        assert q_disk.read_bytes() == b_disk.read_bytes()
