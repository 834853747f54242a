"""The acceptance image (tests/machine/guests/acceptance: paging, ring 3, system calls, faults, the disk) on `direct`:
the bare PC's serial output, exit status, written sector and guest instruction count."""

from __future__ import annotations

from previrt.guestrun import run_image
from tests.machine import guestkit
from tests.machine.acceptance import DISK_LBA, GOLDEN, SUCCESS, build_acceptance, expected_sector, make_acceptance_disk


def test_acceptance_image_on_direct_equals_bare(tmp_path):
    image = build_acceptance(tmp_path / "build")
    runs = {}
    for target in ("bare", "direct"):
        disk = make_acceptance_disk(tmp_path / f"disk-{target}.img")
        # instruction-level faithfulness: no overhead charged into virtual time (--costs none), so the timer's
        # interrupts fall at the same instructions as on bare
        runs[target] = run_image(image, tmp_path, disk=disk, target=target, expect=guestkit.exit_status(SUCCESS),
                                 tag=target, options=("--costs", "none")), disk
    (bare, bare_disk), (direct, direct_disk) = runs["bare"], runs["direct"]
    assert bare.ok and direct.ok, (bare.describe(), direct.describe())
    assert direct.output == bare.output == GOLDEN.read_text()
    assert direct.instructions == bare.instructions
    assert direct_disk.read_bytes() == bare_disk.read_bytes()
    fresh = make_acceptance_disk(tmp_path / "fresh.img").read_bytes()
    sector = slice(DISK_LBA * 512, (DISK_LBA + 1) * 512)
    assert direct_disk.read_bytes()[sector] == expected_sector(fresh[sector])
    assert direct.stats["exits"] and direct.stats["bounced"]
