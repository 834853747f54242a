"""Failure paths: a faulting user process is killed and the system carries on; a kernel assertion
failure panics with a register dump and a distinct exit status; a bad command line is refused."""

from __future__ import annotations

import re

import pytest

from previrt.guestrun import EXIT_OK, EXIT_PANIC, EXIT_USAGE, VARIANTS, WORKLOADS, run_image


def run_cmdline(guest, variant, cmdline, work, expect):
    return run_image(guest.image(variant), work, cmdline, guest.fresh_disk(work, "d"), expect=expect)


@pytest.mark.parametrize("variant", VARIANTS)
def test_faulting_process_is_killed_and_workload_completes(guest, variant, tmp_path):
    run = run_cmdline(guest, variant, "run=null n=20 fault=1", tmp_path, EXIT_OK)
    assert run.ok, run.describe()
    lines = run.output.splitlines()
    assert lines[1] == "kernel: pid 1 (crash) killed: #PF page fault at 00000000, eip 08048560, err 6"
    assert re.fullmatch(r"null: calls=20 checksum=[0-9a-f]{8}", lines[2])


@pytest.mark.parametrize("variant", VARIANTS)
def test_kernel_assertion_panics_with_register_dump(guest, variant, tmp_path):
    run = run_cmdline(guest, variant, "run=null n=5 panic=1", tmp_path, EXIT_PANIC)
    assert run.ok, run.describe()
    assert "kernel panic: assertion failed: !opt_panic_test at kernel/syscall.c:" in run.output
    for reg in ("eax=", "esp=", "eip=", "eflags=", "cr2=", "cr3="):
        assert reg in run.output
    assert "current: pid 1 (null)" in run.output
    assert "null: calls" not in run.output


def test_unknown_workload_is_refused_with_the_list_of_workloads(guest, tmp_path):
    """The guest's own list is the workload table's (the demo checks names against the table), plus the
    program `fault=1` starts, which always fails and measures nothing."""
    run = run_cmdline(guest, "native", "run=nosuch", tmp_path, EXIT_USAGE)
    assert run.ok, run.describe()
    assert "error: unknown workload 'nosuch'" in run.output
    listed = next(ln for ln in run.output.splitlines() if ln.startswith("workloads: "))
    assert listed.split()[1:] == sorted([*WORKLOADS, "crash"])


def test_missing_workload_is_refused(guest, tmp_path):
    run = run_cmdline(guest, "native", "n=3", tmp_path, EXIT_USAGE)
    assert run.ok, run.describe()
    assert "error: no workload on the command line" in run.output
