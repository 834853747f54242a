"""The acceptance image (tests/machine/guests/acceptance) under `previrt run`: expected serial output, the
success exit status, the sector it writes on disk, and identical bytes and instruction counts on two runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.machine import guestkit
from tests.machine.test_device_guests import by_vector, guest_instructions

ACCEPTANCE_DIR = Path(__file__).parent / "guests" / "acceptance"
SOURCES = ("boot.S", "kernel.c", "user.c")
GOLDEN = ACCEPTANCE_DIR / "acceptance.expected"
SUCCESS = 0x2A                      # kernel.c's SUCCESS: every check passed
DISK_SECTORS = 128
DISK_LBA = 2                        # kernel.c's DISK_LBA
SECTOR_TEXT = b"previrt acceptance sector\0"
RUN_TIMEOUT = 120
MAX_INSTRUCTIONS = "50000000"       # a bound far above what the image needs (about 50 000)


def build_acceptance(build_dir: Path) -> Path:
    """Compile and link the acceptance image with its own linker script (user pages apart)."""
    return guestkit.build_image(build_dir, [ACCEPTANCE_DIR / s for s in SOURCES], name="acceptance",
                                ldscript=(ACCEPTANCE_DIR / "link.ld").read_text())


def make_acceptance_disk(path: Path) -> Path:
    """A 64 KiB raw disk holding a byte ramp."""
    path.write_bytes(bytes((i * 31) & 0xFF for i in range(DISK_SECTORS * 512)))
    return path


def expected_sector(before: bytes) -> bytes:
    """What kernel.c's disk_round_trip writes over sector DISK_LBA, given its previous content."""
    return bytes(SECTOR_TEXT[i] if i < len(SECTOR_TEXT) else (i * 7 + before[i]) & 0xFF for i in range(512))


@pytest.fixture(scope="module")
def acceptance_image(tmp_path_factory) -> Path:
    return build_acceptance(tmp_path_factory.mktemp("acceptance"))


def run_acceptance(image: Path, work: Path, tag: str):
    disk = make_acceptance_disk(work / f"disk-{tag}.img")
    stats = work / f"stats-{tag}.json"
    done = guestkit.run_image(image, "--disk", str(disk), "--stats", str(stats),
                              "--max-instructions", MAX_INSTRUCTIONS, timeout=RUN_TIMEOUT)
    return done, disk, stats


def test_acceptance_image_is_multiboot_and_small(acceptance_image):
    data = acceptance_image.read_bytes()
    assert (0x1BADB002).to_bytes(4, "little") in data[:8192]
    lines = sum(len((ACCEPTANCE_DIR / s).read_text().splitlines()) for s in SOURCES)
    assert 300 <= lines <= 1000


def test_acceptance_runs_identically_twice(acceptance_image, tmp_path):
    runs = [run_acceptance(acceptance_image, tmp_path, tag) for tag in ("a", "b")]
    for done, disk, stats in runs:
        assert done.stdout.decode(errors="replace") == GOLDEN.read_text(), done.stderr.decode()[-3000:]
        assert done.returncode == guestkit.exit_status(SUCCESS), done.stderr.decode()[-3000:]
        data, fresh = disk.read_bytes(), make_acceptance_disk(tmp_path / "fresh.img").read_bytes()
        sector = slice(DISK_LBA * 512, (DISK_LBA + 1) * 512)
        assert data[sector] == expected_sector(fresh[sector])
        assert data[:sector.start] == fresh[:sector.start] and data[sector.stop:] == fresh[sector.stop:]
    (out_a, _, stats_a), (out_b, _, stats_b) = runs
    assert out_a.stdout == out_b.stdout
    count_a = guest_instructions(json.loads(stats_a.read_text()))
    count_b = guest_instructions(json.loads(stats_b.read_text()))
    assert count_a == count_b and count_a > 10_000


def test_acceptance_stats_count_what_the_guest_did(acceptance_image, tmp_path):
    done, _, stats_path = run_acceptance(acceptance_image, tmp_path, "stats")
    assert done.returncode == guestkit.exit_status(SUCCESS), done.stderr.decode()[-3000:]
    stats = json.loads(stats_path.read_text())
    assert stats["unclaimed_ports"] == {} and stats["end"] == "exit-port"
    # #UD: one ud2; #GP: 17 from ring 3 and one bad selector in ring 0; #PF: one kernel, one user page.
    assert by_vector(stats["exceptions"]) == {6: 1, 13: 18, 14: 2}
    interrupts = by_vector(stats["interrupts"])
    assert interrupts[0x2E] == 3 and interrupts[0x20] >= 10      # IRQ 14: 1 read + 1 write + 1 read
    assert by_vector(stats["software_interrupts"])[0x80] == 16    # the system calls the guest counts
