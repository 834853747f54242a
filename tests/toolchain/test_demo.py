"""previrt demo: the bundled example builds with previrt cc, lists its sites and audits clean; the guest
kernel builds in both variants, its previrt image audits clean, and a workload gives the same output
in both on the bare machine, with the instruction counts side by side.

Also checks the bundled Makefile builds with plain gcc, and that the plain image fails the audit."""

from __future__ import annotations

import re
from collections import Counter

from previrt import demo
from previrt.demo import copy_example
from previrt.guestrun import PADDING_TARGET, WORKLOADS
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
    assert native < pv <= native * PADDING_TARGET
    assert re.search(r"exit status +1 +1\n", out)
    assert "outputs identical; workload succeeded in both builds" in out


def test_demo_reports_a_failing_workload(tmp_path):
    """A workload that fails in the guest (more disk blocks than its scratch area): exit status 3 in both
    builds, the demo says why and exits 1."""
    status, out, err = previrt("demo", "--workdir", str(tmp_path), "--workload", "disk", "--n", "100000")
    assert status == 1, out + err
    assert "error: scratch area too small" in out
    assert re.search(r"exit status +3 +3\n", out) and "did not succeed" in out
    assert "  native: exit status 3, expected 1" in out and "  previrt: exit status 3, expected 1" in out


def test_demo_refuses_an_unknown_workload_before_building(tmp_path):
    status, out, err = previrt("demo", "--workdir", str(tmp_path), "--workload", "nosuch")
    assert status == 2 and out == ""
    assert err == f"previrt: error: unknown workload 'nosuch' (known: {', '.join(sorted(WORKLOADS))})\n"
    assert list(tmp_path.iterdir()) == []


def test_demo_refuses_a_workdir_whose_parent_is_missing(tmp_path):
    workdir = tmp_path / "missing" / "work"
    status, out, err = previrt("demo", "--workdir", str(workdir))
    assert status == 2 and out == ""
    assert err == f"previrt: error: {workdir}: --workdir: its parent folder does not exist\n"
    assert not (tmp_path / "missing").exists()


def test_demo_refuses_a_workdir_that_is_a_file(tmp_path):
    workdir = tmp_path / "file"
    workdir.write_text("")
    status, out, err = previrt("demo", "--workdir", str(workdir))
    assert status == 2 and out == "" and "--workdir is not a folder" in err


def test_demo_creates_a_new_workdir_in_an_existing_folder(tmp_path, monkeypatch):
    """One new folder is fine (the parent exists); the demo's steps are stubbed here."""
    seen = []
    monkeypatch.setattr(demo, "run_demo", lambda workdir, out, workload, n: seen.append(workdir) or 0)
    status, _, err = previrt("demo", "--workdir", str(tmp_path / "new"))
    assert status == 0, err
    assert seen == [str(tmp_path / "new")] and (tmp_path / "new").is_dir()


def test_bundled_example_builds_with_plain_gcc_and_fails_the_audit(tmp_path):
    folder = copy_example(str(tmp_path))
    make(folder, "gcc")
    status, out, _ = previrt("audit", str(tmp_path / "demo" / "demo.elf"))
    assert status == 1 and "audit failed: 8 finding(s)" in out
