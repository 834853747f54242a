"""Both kernel images boot on QEMU (an independent PC model) with the golden output of every workload:
the same bytes as on `previrt run`. QEMU's clock counts guest instructions (guestrun.QEMU_ICOUNT), so the
verdict does not depend on the host's load. Skipped where qemu-system-i386 is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from previrt.guestrun import (BANNER, EXIT_PANIC, QEMU, QEMU_ICOUNT, VARIANTS, WORKLOADS, qemu_available,
                              qemu_workload, run_qemu)

GOLDEN = Path(__file__).parent / "golden"

pytestmark = [pytest.mark.qemu, pytest.mark.skipif(not qemu_available(), reason=f"needs {QEMU}")]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_workload_on_qemu_matches_golden(guest, variant, name, tmp_path):
    run = qemu_workload(guest, variant, name, WORKLOADS[name].test_size, tmp_path, extra=QEMU_ICOUNT)
    assert run.ok, run.describe()
    assert run.output == (GOLDEN / f"{name}.out").read_text()


def test_panic_on_qemu(guest, tmp_path):
    run = run_qemu(guest.image("previrt"), "run=null panic=1", guest.fresh_disk(tmp_path, "d"), expect=EXIT_PANIC,
                   banner=BANNER, extra=QEMU_ICOUNT)
    assert run.ok, run.describe()
    assert "kernel panic: assertion failed" in run.output
