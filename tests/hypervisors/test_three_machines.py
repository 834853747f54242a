"""One binary, three machines: the guest kernel built once with `make PREVIRT=1` runs, as that one file, on the bare
PC (unpatched), on `direct` and on `shadow` — each patched at load for its own ABI, and each by full
virtualization — and all eleven workloads give the same serial output and exit status in all five modes.  The file
`previrt patch` writes for direct and the one it writes for shadow differ only inside the recorded sites and in
the target note."""

from __future__ import annotations

import subprocess
import sys

import pytest
from elftools.elf.elffile import ELFFile

from previrt.elf import read_image
from previrt.guestrun import EXIT_OK, WORKLOADS, run_workload
from tests.hypervisors.test_direct_guests import guest  # noqa: F401 (the fixture)

MODES = (("bare", ()), ("direct", ()), ("direct", ("--virt", "full")), ("shadow", ()), ("shadow", ("--virt", "full")))
TARGET_NOTE = ".previrt.target"


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_one_previrt_image_on_three_machines(guest, name, tmp_path):  # noqa: F811 (the fixture)
    n = WORKLOADS[name].test_size
    runs = {}
    for target, options in MODES:
        run = run_workload(guest, "previrt", name, n, tmp_path, target=target, options=options, expect=EXIT_OK)
        assert run.ok, run.describe()
        mode = run.stats.get("mode") or "bare"
        assert mode == ("full" if options else "previrt" if target != "bare" else "bare")
        runs[(target, mode)] = run
    bare = runs[("bare", "bare")]
    for key, run in runs.items():
        assert (run.status, run.output) == (bare.status, bare.output), key


def sections(path) -> dict[str, tuple[int, bytes]]:
    """Every section with contents: name -> (address, bytes)."""
    with open(path, "rb") as f:
        elf = ELFFile(f)
        return {s.name: (s["sh_addr"], s.data()) for s in elf.iter_sections()
                if s.name and s["sh_type"] != "SHT_NOBITS"}


def test_patched_files_differ_only_in_sites_and_target_note(guest, tmp_path):  # noqa: F811 (the fixture)
    image = guest.image("previrt")
    files = {}
    for target in ("direct", "shadow"):
        files[target] = tmp_path / f"kernel.{target}"
        done = subprocess.run([sys.executable, "-m", "previrt", "patch", str(image), "--target", target, "-o",
                               str(files[target])], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    spans = sorted((s.address, s.end) for s in read_image(str(image)).sites)
    direct, shadow = sections(files["direct"]), sections(files["shadow"])
    assert set(direct) == set(shadow) and TARGET_NOTE in direct
    assert direct[TARGET_NOTE][1] != shadow[TARGET_NOTE][1]
    in_sites = differing = 0
    for name, (address, data) in direct.items():
        if name == TARGET_NOTE:
            continue
        other_address, other = shadow[name]
        assert (other_address, len(other)) == (address, len(data)), name
        masked_a, masked_b = bytearray(data), bytearray(other)
        if address:
            for start, end in spans:
                lo, hi = max(start - address, 0), min(end - address, len(data))
                if lo < hi:
                    in_sites += masked_a[lo:hi] != masked_b[lo:hi]
                    masked_a[lo:hi] = masked_b[lo:hi] = bytes(hi - lo)
        differing += data != other
        assert masked_a == masked_b, f"{name} differs outside the recorded sites"
    assert differing and in_sites > 100          # the sites are patched differently, and nothing else is
