"""previrt demo: the bundled example builds with previrt cc, lists its sites and audits clean; the guest
kernel builds in both variants, its previrt image audits clean, and a workload gives the same output
in both on the bare machine, with the instruction counts side by side; the same previrt image runs on the
direct hypervisor by full virtualization and patched at load, one table row per mode, every output the same
as native on bare, fewer exits patched than fully virtualized.

Also checks the bundled Makefile builds with plain gcc, and that the plain image fails the audit."""

from __future__ import annotations

import io
import json
import re
from collections import Counter

from previrt import demo
from previrt.demo import copy_example
from previrt.guestrun import PADDING_TARGET, WORKLOADS, RunResult
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
    assert pv <= native * PADDING_TARGET
    assert re.search(r"exit status +1 +1\n", out)
    assert "outputs identical; workload succeeded in both builds" in out
    check_modes_table(out, tmp_path, "build", 1)


MODE_LABELS = ["native on bare", "previrt on bare", "previrt on direct, full virtualization",
               "previrt on direct, patched"]
ROW = re.compile(r"  (\S.*?) +([\d,]+|-) +([\d,]+|-) +([\d,]+|-) +([\d,]+|-)  (\S+)")


def modes_table(out: str) -> dict[str, tuple]:
    """The demo's table of modes: label -> (guest instructions, exits, hypercalls, wedge instructions, output);
    a figure shown as `-` is None."""
    lines = out.split("\n  mode ", 1)[1].splitlines()[1:5]
    rows = {}
    for line in lines:
        label, *figures, same = ROW.fullmatch(line).groups()
        rows[label] = (*(None if f == "-" else int(f.replace(",", "")) for f in figures), same)
    return rows


def check_modes_table(out: str, workdir, workload: str, n: int) -> None:
    """Four modes, every output identical to native on bare, exits full > patched > 0 and the patched run
    spending hypercalls or wedge instructions; each hypervisor run ran the workload asked for, in its mode."""
    rows = modes_table(out)
    assert list(rows) == MODE_LABELS
    assert [r[4] for r in rows.values()] == ["reference", "identical", "identical", "identical"]
    for label in MODE_LABELS[:2]:
        assert rows[label][0] > 0 and rows[label][1:4] == (None, None, None)
    full, patched = rows[MODE_LABELS[2]], rows[MODE_LABELS[3]]
    assert full[1] > patched[1] > 0
    assert full[2:4] == (0, 0) and patched[2] + patched[3] > 0
    assert "serial output identical to native on bare in all 4 modes" in out
    for mode in ("full virtualization", "patched"):
        causes = re.search(rf"\n  top exits, {mode}: +(.*)\n", out).group(1).split(", ")
        assert len(causes) == 3 and all(re.fullmatch(r"[\w:]+ [\d,]+", c) for c in causes)
    for tag, mode in (("full", "full"), ("patched", "previrt")):
        stats = json.loads((workdir / f"previrt-direct-{tag}-{workload}.stats.json").read_text())
        assert stats["mode"] == mode and stats["target"] == "direct"
        argv = stats["command_line"]
        assert argv[argv.index("--cmdline") + 1] == WORKLOADS[workload].cmdline(n)


def test_demo_reports_a_failing_workload(tmp_path):
    """A workload that fails in the guest (more disk blocks than its scratch area): exit status 3 in both
    builds, the demo says why and exits 1."""
    status, out, err = previrt("demo", "--workdir", str(tmp_path), "--workload", "disk", "--n", "100000")
    assert status == 1, out + err
    assert "error: scratch area too small" in out
    assert re.search(r"exit status +3 +3\n", out) and "did not succeed" in out
    assert "  native: exit status 3, expected 1" in out and "  previrt: exit status 3, expected 1" in out
    rows = modes_table(out)
    assert list(rows) == MODE_LABELS and {r[4] for r in list(rows.values())[1:]} == {"identical"}
    assert out.count("--target direct --cmdline 'run=disk n=100000' ") == 2
    assert "failed on the hypervisor:\n" in out
    for label in MODE_LABELS[2:]:
        assert f"  {label}: exit status 3, expected 1" in out


def fake_run(output: str, **stats) -> RunResult:
    return RunResult("previrt", "any", ("previrt",), output, 1, stats={"end": "exit-port", "exit_status": 1,
                                                                        "instructions": 1000, **stats})


def test_demo_fails_naming_a_mode_whose_output_differs(monkeypatch):
    """Without building: the hypervisor runs are stubbed; a patched run printing something else makes the
    demo fail (status 1) and name that mode and the first differing line."""
    good = "previrt guest kernel: run=null n=1\nnull: ok\n"
    runs = {"full": fake_run(good, mode="full", exits={"gp:cli": 5}),
            "previrt": fake_run(good.replace("ok", "bad"), mode="previrt", exits={"gp:out": 2}, hypercalls={"x": 1})}
    monkeypatch.setattr(demo, "run_mode", lambda guest, mode, *rest: runs[mode.virt])
    out = io.StringIO()
    assert demo.hypervisor_demo(None, [fake_run(good), fake_run(good)], "null", 1, None, out) == 1
    text = out.getvalue()
    assert [r[4] for r in modes_table(text).values()] == ["reference", "identical", "identical", "DIFFERS"]
    assert "serial output DIFFERS from native on bare in: previrt on direct, patched\n" in text
    assert "  previrt on direct, patched: line 2: 'null: bad'\n" in text


def test_demo_fails_when_the_hypervisor_runs_another_mode(monkeypatch):
    """A run the hypervisor reports in another mode than asked is no result of that mode: status 1."""
    good = "previrt guest kernel\n"
    monkeypatch.setattr(demo, "run_mode", lambda guest, mode, *rest: fake_run(good, mode="full"))
    out = io.StringIO()
    assert demo.hypervisor_demo(None, [fake_run(good), fake_run(good)], "null", 1, None, out) == 1
    assert "  previrt on direct, patched: the hypervisor ran it in mode 'full', not 'previrt'\n" in out.getvalue()


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
