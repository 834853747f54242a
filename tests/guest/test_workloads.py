"""Every workload completes on the bare machine (`previrt run`) in both builds with the golden output
(recorded on QEMU), and runs are deterministic: the same image gives the same instruction count twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.guest.guestrun import (EXIT_OK_STATUS, SERIAL_INPUT, TEST_SIZES, VARIANTS, GuestBuild, Run, fresh_disk,
                                  run_bare)

GOLDEN = Path(__file__).parent / "golden"
_runs: dict[tuple[str, str], Run] = {}


def cmdline(name: str) -> str:
    return f"run={name} n={TEST_SIZES[name]}"


def bare(guest: GuestBuild, variant: str, name: str, work: Path) -> Run:
    key = (variant, name)
    if key not in _runs:
        _runs[key] = run_bare(guest.image(variant), cmdline(name), fresh_disk(guest.disk, work, name), work,
                              serial_in=SERIAL_INPUT.get(name))
    return _runs[key]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", sorted(TEST_SIZES))
def test_workload_output_is_golden(guest, variant, name, tmp_path):
    run = bare(guest, variant, name, tmp_path)
    assert run.status == EXIT_OK_STATUS, run.output + run.stderr
    assert run.output == (GOLDEN / f"{name}.out").read_text()
    assert run.stats.get("end") == "exit-port"


@pytest.mark.parametrize("name", sorted(TEST_SIZES))
def test_previrt_build_runs_padded_sites(guest, name, tmp_path):
    """Unpatched, the previrt image executes the same program plus one padding instruction per executed site."""
    native = bare(guest, "native", name, tmp_path)
    previrt = bare(guest, "previrt", name, tmp_path)
    assert previrt.output == native.output
    assert native.instructions < previrt.instructions < native.instructions * 1.05


@pytest.mark.parametrize("name", ["ctxsw", "build"])
def test_two_runs_same_instruction_count(guest, name, tmp_path):
    first = bare(guest, "previrt", name, tmp_path)
    again = run_bare(guest.image("previrt"), cmdline(name), fresh_disk(guest.disk, tmp_path, "again"), tmp_path)
    assert again.output == first.output
    assert again.instructions == first.instructions
