"""The board's power-on and firmware hand-over state against QEMU's: a probe guest reads the device registers
on qemu-system-i386 before touching anything; the same reads on a fresh board must give the same values."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from previrt.guestrun import QEMU
from tests.machine import guestkit
from tests.machine.devices.conftest import Guest, make_board

PROBE = Path(__file__).parent / "reset_probe.c"

pytestmark = [pytest.mark.qemu, pytest.mark.skipif(shutil.which(QEMU) is None, reason=f"needs {QEMU}")]


def parse(serial: str) -> list[tuple[str, int, int]]:
    """("port", port, value) and ("cmos", register, value) in the order the probe read them."""
    out = []
    for line in serial.splitlines():
        if m := re.fullmatch(r"([0-9a-f]{8})=([0-9a-f]{2})", line):
            out.append(("port", int(m[1], 16), int(m[2], 16)))
        elif m := re.fullmatch(r"cmos\[([0-9a-f]{2})\]=([0-9a-f]{2})", line):
            out.append(("cmos", int(m[1], 16), int(m[2], 16)))
    return out


def test_fresh_board_reads_like_qemu_after_firmware(tmp_path):
    image = guestkit.build_image(tmp_path, [PROBE], name="reset_probe", crt0=True)
    serial, status = guestkit.run_on_qemu(image)
    reference = parse(serial.decode())
    assert status == guestkit.exit_status(0) and len(reference) == 19 + 13, serial
    g = Guest(make_board())
    mine = []
    for kind, where, _ in reference:        # the probe does every port read first, then CMOS
        if kind == "port":
            mine.append((kind, where, g.inb(where)))
        else:
            g.outb(0x70, where)
            mine.append((kind, where, g.inb(0x71)))
    assert mine == reference
