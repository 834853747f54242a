"""benchmarks/bench_patch.py without running the benchmark: the generated input has the sites asked for, and the
report's verdict on the 50 ms target follows the warm figure (made-up results)."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_patch.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("benchmarks_bench_patch", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_generated_input_has_the_sites_asked_for(bench):
    from previrt.annotate.asm import annotate_text

    for n in (1, 10, 25):
        assert annotate_text(bench.generate_asm(n), "g.s").count(".pushsection .previrt.sites") == n


def result(warm: float) -> dict:
    return {"cold": 0.7, "assembly_cached": 0.5, "warm": warm, "write": 0.007, "by_directive": {"replace": 10000},
            "fresh": {"import": 0.04, "plan": warm + 0.003}}


def test_the_verdict_follows_the_warm_time(bench):
    args = argparse.Namespace(repeats=3)
    met = "\n".join(bench.report(args, 10000, result(0.017), 1000))
    missed = "\n".join(bench.report(args, 10000, result(0.051), 1000))
    assert "17.0 ms here, met." in met
    assert "51.0 ms here, NOT met." in missed
    assert "| warm: the plan cached (read header, records and code; hash; decode) | 17.0 ms | 588,235 | 0.024 |" in met
