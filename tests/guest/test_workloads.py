"""Every workload completes on the bare machine (`previrt run`) in both builds with the golden output
(recorded on QEMU); the previrt build costs at most PADDING_TARGET of the native build's instructions; runs
are deterministic: the same image gives the same instruction count twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from previrt.guestrun import PADDING_TARGET, VARIANTS, WORKLOADS, GuestBuild, RunResult, run_workload

GOLDEN = Path(__file__).parent / "golden"
_runs: dict[tuple[str, str], RunResult] = {}


def bare(guest: GuestBuild, variant: str, name: str, work: Path) -> RunResult:
    key = (variant, name)
    if key not in _runs:
        _runs[key] = run_workload(guest, variant, name, WORKLOADS[name].test_size, work)
    return _runs[key]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_workload_output_is_golden(guest, variant, name, tmp_path):
    run = bare(guest, variant, name, tmp_path)
    assert run.ok, run.describe()
    assert run.output == (GOLDEN / f"{name}.out").read_text()
    assert run.stats["end"] == "exit-port"


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_previrt_build_runs_padded_sites_within_target(guest, name, tmp_path):
    """Unpatched, the previrt image executes the same program plus one padding instruction per executed site,
    within the design's cost target.  (Not an exact count: the C source pass's page-table accessors are inline asm,
    which moves gcc's inlining and register choices in the files that use them, either way.)"""
    native = bare(guest, "native", name, tmp_path)
    previrt = bare(guest, "previrt", name, tmp_path)
    assert native.ok and previrt.ok, native.describe() + previrt.describe()
    assert previrt.output == native.output
    assert previrt.instructions <= native.instructions * PADDING_TARGET
    assert previrt.stats["port_io"] == native.stats["port_io"]        # the same program: the same device work


def test_padding_target_is_half_a_percent():
    """The bound above is the design's 0.5 % (a third of CONFIG_PARAVIRT's cost), not a looser one."""
    assert PADDING_TARGET == 1.005


@pytest.mark.parametrize("name", ["ctxsw", "build"])
def test_two_runs_same_instruction_count(guest, name, tmp_path):
    first = bare(guest, "previrt", name, tmp_path)
    work = tmp_path / "again"
    work.mkdir()
    again = run_workload(guest, "previrt", name, WORKLOADS[name].test_size, work)
    assert again.ok, again.describe()
    assert again.output == first.output
    assert again.instructions == first.instructions
