"""Failure paths: a faulting user process is killed and the system carries on; a kernel assertion
failure panics with a register dump and a distinct exit status; a bad command line is refused."""

from __future__ import annotations

import re

import pytest

from tests.guest.guestrun import (EXIT_OK_STATUS, EXIT_PANIC_STATUS, EXIT_USAGE_STATUS, VARIANTS, fresh_disk,
                                  run_bare)


@pytest.mark.parametrize("variant", VARIANTS)
def test_faulting_process_is_killed_and_workload_completes(guest, variant, tmp_path):
    run = run_bare(guest.image(variant), "run=null n=20 fault=1", fresh_disk(guest.disk, tmp_path, "d"), tmp_path)
    assert run.status == EXIT_OK_STATUS, run.output + run.stderr
    lines = run.output.splitlines()
    assert lines[1] == "kernel: pid 1 (crash) killed: #PF page fault at 00000000, eip 08048560, err 6"
    assert re.fullmatch(r"null: calls=20 checksum=[0-9a-f]{8}", lines[2])


@pytest.mark.parametrize("variant", VARIANTS)
def test_kernel_assertion_panics_with_register_dump(guest, variant, tmp_path):
    run = run_bare(guest.image(variant), "run=null n=5 panic=1", fresh_disk(guest.disk, tmp_path, "d"), tmp_path)
    assert run.status == EXIT_PANIC_STATUS, run.output
    assert "kernel panic: assertion failed: !opt_panic_test at kernel/syscall.c:" in run.output
    for reg in ("eax=", "esp=", "eip=", "eflags=", "cr2=", "cr3="):
        assert reg in run.output
    assert "current: pid 1 (null)" in run.output
    assert "null: calls" not in run.output


def test_unknown_workload_is_refused(guest, tmp_path):
    run = run_bare(guest.image("native"), "run=nosuch", fresh_disk(guest.disk, tmp_path, "d"), tmp_path)
    assert run.status == EXIT_USAGE_STATUS
    assert "error: unknown workload 'nosuch'" in run.output
    assert "workloads: build compute console" in run.output


def test_missing_workload_is_refused(guest, tmp_path):
    run = run_bare(guest.image("native"), "n=3", fresh_disk(guest.disk, tmp_path, "d"), tmp_path)
    assert run.status == EXIT_USAGE_STATUS
    assert "error: no workload on the command line" in run.output
