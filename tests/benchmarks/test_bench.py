"""`previrt bench` on a tiny matrix (2 workloads x 3 modes, n=3): the three reports with the right cells; then the same
matrix with the previrt image broken (an empty file where make left the image): its cells FAILED in matrix.md, null
with a reason in matrix.json, no bar, and exit status 1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

WORKLOADS = ("null", "compute")
MODES = ("native-bare", "previrt-bare", "previrt-direct")


def bench(work: Path, out: Path) -> subprocess.CompletedProcess:
    out.mkdir(exist_ok=True)
    return subprocess.run([sys.executable, "-m", "previrt", "bench", "--workloads", ",".join(WORKLOADS),
                           "--modes", ",".join(MODES), "--n", "3", "--jobs", "2", "--workdir", str(work),
                           "--out", str(out)], capture_output=True, text=True)


def rows(md: str, title: str) -> dict[str, list[str]]:
    """A table of matrix.md by its heading: workload -> its cells (after the workload and n)."""
    section = md.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    found = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] in WORKLOADS:
            found[cells[0]] = cells[2:]
    return found


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("bench")
    work = base / "work"
    good = bench(work, base / "good")
    image = work / "guest" / "build" / "previrt" / "kernel.elf"
    image.write_bytes(b"")               # newer than its sources: make leaves it, and the run refuses it
    broken = bench(work, base / "broken")
    return base, good, broken


def test_a_tiny_matrix_writes_three_reports(runs):
    base, good, _ = runs
    assert good.returncode == 0, good.stderr[-3000:]
    out = base / "good"
    assert sorted(p.name for p in out.iterdir()) == ["matrix.json", "matrix.md", "matrix.png"]
    assert (out / "matrix.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out / "matrix.md").read_text()
    relative = rows(md, "Cycles relative to native on bare")
    assert set(relative) == set(WORKLOADS)
    for workload, cells in relative.items():
        assert len(cells) == len(MODES) and cells[0] == "1.00" and "**FAILED**" not in cells
        assert float(cells[2]) > 1.0           # patched on direct costs more than bare
    assert rows(md, "Hypervisor exits")["null"][:2] == ["0", "0"]
    assert "previrt-bare / native-bare instructions <= 1.005" in md
    doc = json.loads((out / "matrix.json").read_text())
    assert doc["modes"] == list(MODES) and doc["workloads"] == list(WORKLOADS) and doc["failed"] == []
    assert doc["costs"]["name"] == "default" and doc["unicorn"] and doc["gcc"] and doc["host"]["cpus"]
    for workload in WORKLOADS:
        for mode in MODES:
            cell = doc["cells"][workload][mode]
            assert cell["ok"] and cell["failed"] is None and cell["n"] == 3
            assert cell["cycles"] == cell["stats"]["cycles"]["total"] > 0
        direct = doc["cells"][workload]["previrt-direct"]["stats"]
        assert direct["mode"] == "previrt" and direct["cycles"]["overhead"] > 0
    assert "previrt bench" in good.stderr          # the progress bar and the summary go to stderr


def test_a_failed_cell_is_marked_failed_never_zero(runs):
    base, _, broken = runs
    assert broken.returncode == 1, broken.stderr[-3000:]
    assert "FAILED null / previrt-bare" in broken.stderr and "FAILED compute / previrt-direct" in broken.stderr
    out = base / "broken"
    md = (out / "matrix.md").read_text()
    for title in ("Cycles relative to native on bare", "Hypervisor exits", "Guest instructions"):
        for workload, cells in rows(md, title).items():
            assert cells[0] != "**FAILED**" and cells[1:] == ["**FAILED**", "**FAILED**"], (title, workload)
    assert "no Multiboot header" in md
    doc = json.loads((out / "matrix.json").read_text())
    for workload in WORKLOADS:
        assert doc["cells"][workload]["native-bare"]["ok"]
        for mode in MODES[1:]:
            cell = doc["cells"][workload][mode]
            assert cell["ok"] is False and cell["cycles"] is None and cell["relative_cycles"] is None
            assert "no Multiboot header" in cell["failed"]
    assert len(doc["failed"]) == 4
    assert (out / "matrix.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_options_are_refused(tmp_path):
    done = subprocess.run([sys.executable, "-m", "previrt", "bench", "--modes", "native-bare,warp",
                           "--out", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 2 and "warp" in done.stderr and not list(tmp_path.iterdir())


def test_sizes_and_targets_from_made_up_cells():
    from previrt import bench

    assert bench.sizes(["null", "fork"], 7, None) == {"null": 7, "fork": 7}
    assert bench.sizes(["null", "fork"], None, 0.01) == {"null": 200, "fork": 2}
    with pytest.raises(Exception, match="--scale"):
        bench.sizes(["null"], None, -1.0)

    def cell(workload, mode, cycles, instructions=100, failed=None):
        return bench.Cell(workload, mode, 1, {"cycles": {"total": cycles}, "instructions": instructions}, "", failed)
    cells = {}
    for w, (native, patched, full, para) in {"null": (100, 150, 900, 160), "compute": (100, 101, 110, 90)}.items():
        cells[(w, "native-bare")] = cell(w, "native-bare", native)
        cells[(w, "previrt-bare")] = cell(w, "previrt-bare", native, 100 if w == "null" else 101)
        cells[(w, "previrt-direct")] = cell(w, "previrt-direct", patched)
        cells[(w, "previrt-direct-full")] = cell(w, "previrt-direct-full", full)
        cells[(w, "paravirt-direct")] = cell(w, "paravirt-direct", para, failed="boom" if w == "compute" else None)
    found = bench.targets(cells, ["null", "compute"])
    para = {t["workload"]: t for t in found if t["target"].startswith("previrt-patched / paravirt")}
    assert para["null"]["met"] and para["null"]["hypervisor"] == "direct"          # 150 / 160 <= 1.00
    assert para["compute"]["value"] is None and para["compute"]["met"] is False    # a failed cell is never met
    full = [t for t in bench.targets(cells, ["null", "compute"]) if t["target"].startswith("full")]
    assert [(t["workload"], t["met"]) for t in full] == [("null", True)]    # 900 / 150 >= 5; compute is not listed
    compute = [t for t in bench.targets(cells, ["compute"]) if "native-bare cycles" in t["target"]]
    assert compute[0]["value"] == 1.01 and compute[0]["met"]
    padding = {t["workload"]: t["met"] for t in bench.targets(cells, ["null", "compute"])
               if "instructions" in t["target"]}
    assert padding == {"null": True, "compute": False}                      # 101 / 100 > 1.005
