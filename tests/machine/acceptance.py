"""The acceptance image (tests/machine/guests/acceptance): its build, its disk and what it must print and write.

Shared by its tests, the QEMU differential test and the QEMU benchmark; a helper module, not a test module."""

from __future__ import annotations

from pathlib import Path

from tests.machine import guestkit

ACCEPTANCE_DIR = Path(__file__).parent / "guests" / "acceptance"
SOURCES = ("boot.S", "kernel.c", "user.c")
GOLDEN = ACCEPTANCE_DIR / "acceptance.expected"
SUCCESS = 0x2A                      # kernel.c's SUCCESS: every check passed
DISK_SECTORS = 128
DISK_LBA = 2                        # kernel.c's DISK_LBA
SECTOR_TEXT = b"previrt acceptance sector\0"
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
