"""The acceptance image (tests/machine/guests/acceptance) under `previrt run`: expected serial output, the
success exit status, the sector it writes on disk, and identical bytes and instruction counts on two runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from previrt.guestrun import RunResult, run_image, vector_counts
from tests.machine import guestkit
from tests.machine.acceptance import (ACCEPTANCE_DIR, DISK_LBA, GOLDEN, SOURCES, SUCCESS, build_acceptance,
                                      expected_sector, make_acceptance_disk)


@pytest.fixture(scope="module")
def acceptance_image(tmp_path_factory) -> Path:
    return build_acceptance(tmp_path_factory.mktemp("acceptance"))


def run_acceptance(image: Path, work: Path, tag: str) -> tuple[RunResult, Path]:
    disk = make_acceptance_disk(work / f"disk-{tag}.img")
    return run_image(image, work, disk=disk, expect=guestkit.exit_status(SUCCESS), tag=tag), disk


def test_acceptance_image_is_multiboot_and_small(acceptance_image):
    data = acceptance_image.read_bytes()
    assert (0x1BADB002).to_bytes(4, "little") in data[:8192]
    lines = sum(len((ACCEPTANCE_DIR / s).read_text().splitlines()) for s in SOURCES)
    assert 300 <= lines <= 1000


def test_acceptance_runs_identically_twice(acceptance_image, tmp_path):
    runs = [run_acceptance(acceptance_image, tmp_path, tag) for tag in ("a", "b")]
    for run, disk in runs:
        assert run.ok, run.describe()
        assert run.output == GOLDEN.read_text()
        data, fresh = disk.read_bytes(), make_acceptance_disk(tmp_path / "fresh.img").read_bytes()
        sector = slice(DISK_LBA * 512, (DISK_LBA + 1) * 512)
        assert data[sector] == expected_sector(fresh[sector])
        assert data[:sector.start] == fresh[:sector.start] and data[sector.stop:] == fresh[sector.stop:]
    (a, _), (b, _) = runs
    assert a.output == b.output
    assert a.instructions == b.instructions and a.instructions > 10_000


def test_acceptance_stats_count_what_the_guest_did(acceptance_image, tmp_path):
    run, _ = run_acceptance(acceptance_image, tmp_path, "stats")
    assert run.ok, run.describe()
    stats = run.stats
    assert stats["unclaimed_ports"] == {} and stats["end"] == "exit-port"
    # #UD: one ud2; #GP: 17 from ring 3 and one bad selector in ring 0; #PF: one kernel, one user page.
    assert vector_counts(stats["exceptions"]) == {6: 1, 13: 18, 14: 2}
    interrupts = vector_counts(stats["interrupts"])
    assert interrupts[0x2E] == 3 and interrupts[0x20] >= 10      # IRQ 14: 1 read + 1 write + 1 read
    assert vector_counts(stats["software_interrupts"])[0x80] == 16    # the system calls the guest counts
