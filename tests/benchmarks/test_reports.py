"""The benchmarks' verdicts and reports, on made-up results (no benchmark is run): a failed guest run is a
failed cell, never a ratio and never within the target; a --quick machine run writes no report."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from previrt.guestrun import PADDING_TARGET, RunResult

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ratio():
    return load("bench_guest_ratio")


def result(instructions: int | None, failed: str | None = None, output: str = "w: checksum=1\n") -> RunResult:
    stats = {} if instructions is None else {"instructions": instructions, "end": "exit-port"}
    return RunResult("previrt", "bare", ("previrt", "run"), output, 1 if failed is None else 14, "", stats, failed)


def table_row(report: str, name: str) -> str:
    return next(ln for ln in report.splitlines() if ln.startswith(f"| {name} |"))


def test_a_failed_run_is_a_failed_cell_without_a_ratio(ratio):
    rows = [ratio.Row("null", 10, result(1000), result(1001)),
            ratio.Row("disk", 10, result(1000), result(None, "exit status 3, expected 1"))]
    assert rows[0].ratio == 1.001 and rows[0].within_target
    assert rows[1].ratio is None and not rows[1].within_target
    report = ratio.render(rows)
    assert table_row(report, "null").endswith("| 1.0010 | 1 | 0.1 | yes | ok |")
    failed = table_row(report, "disk")
    assert "| 1,000 | **failed** | – |" in failed and "**failed: previrt: exit status 3, expected 1**" in failed
    assert "Within the target: 1 of 2 workloads." in report
    assert "Failed runs (no ratio): disk." in report and "Over the target: none." in report
    assert ratio.exit_status(rows) == 1 and ratio.exit_status(rows[:1]) == 0


def test_a_run_stopped_by_a_bound_is_failed_even_with_a_count(ratio):
    """max-instructions leaves a count in the statistics; it is still no result."""
    row = ratio.Row("compute", 10, result(0, "exit status 14, the run ended by 'max-instructions'"), result(500))
    assert row.failures == ["native: exit status 14, the run ended by 'max-instructions'"]
    assert row.ratio is None and not row.within_target and ratio.exit_status([row]) == 1
    assert "**failed**" in table_row(ratio.render([row]), "compute")


def test_over_the_target_or_different_output_is_not_within_it(ratio):
    assert 1.006 > PADDING_TARGET
    over = ratio.Row("console", 10, result(1000), result(1006))   # 1.006 > PADDING_TARGET
    differ = ratio.Row("ctxsw", 10, result(1000), result(1000, output="other\n"))
    assert not over.within_target and "**over**" in table_row(ratio.render([over]), "console")
    assert not differ.within_target and "| **NO** |" in table_row(ratio.render([differ]), "ctxsw")
    assert ratio.exit_status([over]) == ratio.exit_status([differ]) == 1


def test_main_exits_1_and_marks_the_report_when_a_run_fails(ratio, monkeypatch, tmp_path):
    monkeypatch.setattr(ratio, "REPORT", tmp_path / "guest_ratio.md")
    monkeypatch.setattr(ratio, "build_guest", lambda dest, jobs: None)
    monkeypatch.setattr(ratio, "measure", lambda guest, only, work: [
        ratio.Row("null", 10, result(None, "no end after 300 s of wall time"), result(1000))])
    assert ratio.main([]) == 1
    assert "**failed: native: no end after 300 s of wall time**" in (tmp_path / "guest_ratio.md").read_text()


@pytest.mark.parametrize("argv, written", [(["--quick"], False), ([], True), (["--quick", "--report", "x.md"], True)])
def test_machine_cpu_quick_run_writes_no_report(monkeypatch, tmp_path, argv, written):
    cpu = load("bench_machine_cpu")
    monkeypatch.setattr(cpu, "REPORT", tmp_path / "machine.md")
    monkeypatch.chdir(tmp_path)
    fake = cpu.Result("compute loop", "", 1000, 1000, 1, 0, 0, 0.5)
    monkeypatch.setattr(cpu, "measure", lambda quick, repeat: ([fake], fake, 10, 0.001))
    assert cpu.main(argv) == 0
    reports = sorted(p.name for p in tmp_path.glob("*.md"))
    assert reports == ([] if not written else ["x.md"] if "--report" in argv else ["machine.md"])
