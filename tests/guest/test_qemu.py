"""Both kernel images boot on QEMU (an independent PC model) with the golden output of every workload:
the same bytes as on `previrt run`. Skipped where qemu-system-i386 is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.guest.guestrun import (EXIT_OK_STATUS, EXIT_PANIC_STATUS, SERIAL_INPUT, TEST_SIZES, VARIANTS, fresh_disk,
                                  qemu_available, run_qemu)

GOLDEN = Path(__file__).parent / "golden"

pytestmark = [pytest.mark.qemu, pytest.mark.skipif(not qemu_available(), reason="needs qemu-system-i386")]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", sorted(TEST_SIZES))
def test_workload_on_qemu_matches_golden(guest, variant, name, tmp_path):
    run = run_qemu(guest.image(variant), f"run={name} n={TEST_SIZES[name]}", fresh_disk(guest.disk, tmp_path, name),
                   serial_in=SERIAL_INPUT.get(name))
    assert run.status == EXIT_OK_STATUS, run.output
    assert run.output == (GOLDEN / f"{name}.out").read_text()


def test_panic_on_qemu(guest, tmp_path):
    run = run_qemu(guest.image("previrt"), "run=null panic=1", fresh_disk(guest.disk, tmp_path, "d"))
    assert run.status == EXIT_PANIC_STATUS
    assert "kernel panic: assertion failed" in run.output
