"""previrt demo: the bundled example builds with previrt cc, lists its sites and audits clean; the guest
kernel builds in both variants, its previrt image audits clean, and a workload gives the same output
in both on the bare machine, with the instruction counts side by side.

Also checks the bundled Makefile builds with plain gcc, and that the plain image fails the audit."""

from __future__ import annotations

import re
from collections import Counter

from previrt.demo import copy_example
from tests.toolchain.projects import make, previrt


def test_demo_builds_lists_sites_and_audits_clean(tmp_path):
    status, out, err = previrt("demo", "--workdir", str(tmp_path))
    assert status == 0, out + err
    image = tmp_path / "demo" / "demo.elf"
    assert image.exists()
    sites_block = out.split("$ previrt sites demo.elf\n")[1].split("\n\n$ previrt audit")[0].splitlines()
    kinds = Counter(line.split()[2] for line in sites_block[1:])
    assert kinds == Counter({"cli": 2, "out": 2, "hlt": 1, "pushf": 1, "popf": 1, "in": 1})
    assert any("main+0x" in line and "main.c:" in line for line in sites_block)
    assert any("_start+0x0" in line and "entry.S:10" in line for line in sites_block)
    assert "audit clean: 8 sites" in out
    guest = tmp_path / "guest_src" / "build"
    assert (guest / "native" / "kernel.elf").exists() and (guest / "previrt" / "kernel.elf").exists()
    assert re.search(r"build/previrt/kernel\.elf: audit clean: \d+ sites", out)
    rows = [line for line in out.splitlines() if "checksum=" in line]
    assert len(rows) == 1 and rows[0].startswith("  build: rounds=1 ")
    left, right = rows[0][2:].split(" | ")
    assert left.rstrip() == right
    counts = re.search(r"guest instructions +([\d,]+) +([\d,]+)", out)
    native, pv = (int(x.replace(",", "")) for x in counts.groups())
    assert native < pv <= native * 1.005
    assert re.search(r"exit status +1 +1\n", out)
    assert "outputs identical; workload succeeded in both builds" in out


def test_demo_reports_a_failing_workload(tmp_path):
    """An unknown workload: the guest says so and exits 5 in both builds, the demo exits 1."""
    status, out, err = previrt("demo", "--workdir", str(tmp_path), "--workload", "nosuch")
    assert status == 1, out + err
    assert re.search(r"exit status +5 +5\n", out) and "did not succeed" in out


def test_bundled_example_builds_with_plain_gcc_and_fails_the_audit(tmp_path):
    folder = copy_example(str(tmp_path))
    make(folder, "gcc")
    status, out, _ = previrt("audit", str(tmp_path / "demo" / "demo.elf"))
    assert status == 1 and "audit failed: 8 finding(s)" in out
