"""The guest runner (previrt.guestrun): a run that gives no result says why, whatever ended it; the workload
table refuses unknown names; console input is whole numbered lines."""

from __future__ import annotations

import pytest

from previrt.errors import UsageError
from previrt.guestrun import (EXIT_OK, EXIT_PANIC, MAX_INSTRUCTIONS, WORKLOADS, console_text, previrt_argv,
                              run_image, run_workload, workload)


def test_a_run_stopped_by_a_bound_has_failed(guest, tmp_path):
    run = run_workload(guest, "native", "null", 20, tmp_path, options=("--max-instructions", "1000"))
    assert not run.ok and run.status == 14
    assert "the run ended by 'max-instructions'" in run.failed
    assert run.instructions == 1000       # the count is still there to read


def test_a_run_with_another_status_than_expected_has_failed(guest, tmp_path):
    run = run_workload(guest, "native", "null", 20, tmp_path, expect=EXIT_PANIC)
    assert not run.ok and run.status == EXIT_OK
    assert run.failed == f"exit status {EXIT_OK}, expected {EXIT_PANIC}"


def test_a_run_that_could_not_start_has_failed(tmp_path):
    run = run_image(tmp_path / "missing.elf", tmp_path)
    assert not run.ok and run.status == 2 and run.stats == {}
    assert run.failed.startswith("exit status 2, no statistics written: previrt: error:"), run.failed
    with pytest.raises(ValueError, match="no statistics written"):
        run.instructions


def test_target_and_options_reach_previrt_run_after_the_bounds(tmp_path):
    argv = previrt_argv(tmp_path / "k.elf", tmp_path / "s.json", "run=null", target="direct",
                        options=("--virt", "full"))
    assert argv[argv.index("--target") + 1] == "direct"
    assert argv[argv.index("--max-instructions") + 1] == str(MAX_INSTRUCTIONS)
    assert argv[-2:] == ["--virt", "full"]


def test_unknown_workload_is_a_usage_error():
    with pytest.raises(UsageError, match=r"unknown workload 'nosuch' \(known: build, compute, "):
        workload("nosuch")


def test_console_input_is_numbered_lines_cut_to_size():
    text = console_text(WORKLOADS["input"].test_size)
    assert len(text) == WORKLOADS["input"].test_size and text.count(b"\n") == 2
    assert len(console_text(4096)) == 4096
    assert WORKLOADS["input"].serial_input(10) == console_text(10) and WORKLOADS["null"].serial_input(10) is None


def test_status_1_without_statistics_is_no_success(tmp_path, monkeypatch):
    """previrt's own crash exits 1, like a guest's poweroff(0): only the statistics tell them apart."""
    import subprocess

    from previrt import guestrun

    crash = subprocess.CompletedProcess([], 1, b"", b"Traceback (most recent call last):\nKeyError: 'x'\n")
    monkeypatch.setattr(guestrun.subprocess, "run", lambda argv, **kw: crash)
    run = run_image(tmp_path / "k.elf", tmp_path, expect=EXIT_OK)
    assert not run.ok and run.failed == "exit status 1, no statistics written"
