"""`previrt bench`: the comparison matrix — every mode of the guest (native and previrt on bare, full virtualization,
pre-virtualization patched at load, the hand-ported para-virtual kernels) × its workloads, in estimated cycles.

Owns the matrix's modes, building the guest variants, running the cells (a process each, a fresh disk each, all
checked against native on bare), the targets and the three reports (matrix.md, matrix.json, matrix.png), each written
whole or not at all.  The cycles are the cost model's (previrt/costs.py); the raw counts are in matrix.json."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from previrt import __version__, costs
from previrt.errors import UsageError
from previrt.guestrun import (ALL_VARIANTS, EXIT_OK, PADDING_TARGET, WORKLOADS, GuestBuild, copy_guest, make_variant,
                              run_workload)

REFERENCE = "native-bare"          # every ratio is against this cell of the same workload


@dataclass(frozen=True)
class Mode:
    name: str
    variant: str                   # the guest build (guestrun's ALL_VARIANTS)
    target: str                    # previrt run --target
    options: tuple[str, ...] = ()
    what: str = ""


MODES = {m.name: m for m in (
    Mode("native-bare", "native", "bare", what="the native build on the bare PC (the reference)"),
    Mode("previrt-bare", "previrt", "bare", what="the previrt build on the bare PC (padded, unpatched)"),
    Mode("native-direct", "native", "direct", what="full virtualization of the native build on direct"),
    Mode("native-shadow", "native", "shadow", what="full virtualization of the native build on shadow"),
    Mode("previrt-direct", "previrt", "direct", what="the previrt build patched at load for direct"),
    Mode("previrt-shadow", "previrt", "shadow", what="the previrt build patched at load for shadow"),
    Mode("previrt-direct-full", "previrt", "direct", ("--virt", "full"),
         what="the previrt build on direct by full virtualization"),
    Mode("previrt-shadow-full", "previrt", "shadow", ("--virt", "full"),
         what="the previrt build on shadow by full virtualization"),
    Mode("paravirt-direct", "paravirt-direct", "direct", what="the hand-ported para-virtual kernel on direct"),
    Mode("paravirt-shadow", "paravirt-shadow", "shadow", what="the hand-ported para-virtual kernel on shadow"),
)}
HYPERVISORS = ("direct", "shadow")
SENSITIVE = ("null", "ctxsw", "fork", "pagetouch", "disk", "console")   # the 5x target's workloads
FULL_OVER_PATCHED = 5.0
PATCHED_OVER_PARAVIRT = 1.00
PATCHED_OVER_NATIVE_COMPUTE = 1.01


@dataclass
class Cell:
    workload: str
    mode: str
    n: int
    stats: dict = field(default_factory=dict)
    output: str = ""
    failed: str | None = None

    @property
    def ok(self) -> bool:
        return self.failed is None

    @property
    def cycles(self) -> int | None:
        return self.stats.get("cycles", {}).get("total") if self.ok else None

    def count(self, key: str) -> int | None:
        if not self.ok:
            return None
        value = self.stats.get(key)
        return sum(value.values()) if isinstance(value, dict) else value


# ---- options --------------------------------------------------------------------------------------------

def _names(value: str | None, known, what: str) -> list[str]:
    if value is None:
        return list(known)
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in names if v not in known]
    if unknown or not names:
        raise UsageError(f"{what}: unknown {', '.join(map(repr, unknown)) or 'empty list'} "
                         f"(known: {', '.join(known)})")
    return list(dict.fromkeys(names))


def sizes(names: list[str], n: int | None, scale: float | None) -> dict[str, int]:
    """One size for all (--n), or each workload's benchmark size times --scale (at least 1)."""
    if n is not None and scale is not None:
        raise UsageError("--n and --scale: give one of them")
    if n is not None:
        if n < 1:
            raise UsageError(f"--n must be at least 1, not {n}")
        return {w: n for w in names}
    scale = 1.0 if scale is None else scale
    if not 0 < scale < float("inf"):
        raise UsageError(f"--scale must be a positive number, not {scale:g}")
    return {w: max(1, round(WORKLOADS[w].size * scale)) for w in names}


def check_out(out: Path) -> None:
    if not out.is_dir():
        raise UsageError("--out: not a folder", where=str(out))


# ---- building and running -------------------------------------------------------------------------------

def build(root: Path, variants: list[str], jobs: int, bar) -> dict[str, str | None]:
    """Each variant built in the guest tree `root`: variant -> None (its image is there) or why not."""
    missing = {}
    for variant in variants:
        bar.set_postfix_str(f"building {variant}")
        missing[variant] = make_variant(root, variant, jobs)
        if missing[variant]:
            bar.write(f"previrt bench: the {variant} build failed: {missing[variant].splitlines()[0]}",
                      file=sys.stderr)
    return missing


def default_out() -> Path:
    """benchmarks/ of this checkout, else ./benchmarks."""
    beside = Path(__file__).resolve().parents[1] / "benchmarks"
    return beside if beside.is_dir() else Path("benchmarks")


def run_cell(guest: GuestBuild, workload: str, mode: Mode, n: int, work: Path, options: tuple[str, ...]) -> Cell:
    cell_dir = work / f"{workload}-{mode.name}"
    cell_dir.mkdir(parents=True, exist_ok=True)
    result = run_workload(guest, mode.variant, workload, n, cell_dir, mode.target, (*mode.options, *options),
                          expect=EXIT_OK)
    cell = Cell(workload, mode.name, n, result.stats, result.output, result.failed)
    if cell.ok and mode.target != "bare" and result.stats.get("mode") not in (None, _expected_mode(mode)):
        cell.failed = f"ran in mode {result.stats.get('mode')!r}, not {_expected_mode(mode)!r}"
    return cell


def _expected_mode(mode: Mode) -> str:
    if mode.options:
        return "full"
    return {"native": "full", "previrt": "previrt"}.get(mode.variant, "paravirt")


def compare_outputs(cells: dict[tuple[str, str], Cell]) -> None:
    """A cell whose output is not native-on-bare's (or whose reference failed) has failed."""
    for (workload, mode), cell in cells.items():
        if mode == REFERENCE or not cell.ok:
            continue
        ref = cells.get((workload, REFERENCE))
        if ref is None or not ref.ok:
            cell.failed = "no reference: native on bare failed"
        elif cell.output != ref.output:
            cell.failed = "output differs from native on bare"


# ---- figures --------------------------------------------------------------------------------------------

def ratio(a: int | None, b: int | None) -> float | None:
    return a / b if a is not None and b else None


def fmt(x: float | None, digits: int = 2) -> str:
    return "FAILED" if x is None else f"{x:.{digits}f}"


def targets(cells: dict[tuple[str, str], Cell], workloads: list[str]) -> list[dict]:
    """Every stated target, per workload and hypervisor: {"target", "workload", "hypervisor", "value", "met"}."""
    rows = []

    def add(target: str, workload: str, hypervisor: str | None, value: float | None, met: bool | None) -> None:
        rows.append({"target": target, "workload": workload, "hypervisor": hypervisor, "value": value,
                     "met": bool(met) if value is not None else False})

    def cyc(w: str, m: str) -> int | None:
        c = cells.get((w, m))
        return c.cycles if c is not None else None

    def present(*modes: str) -> bool:
        return all(any(k[1] == m for k in cells) for m in modes)

    for hv in HYPERVISORS:
        if present(f"previrt-{hv}", f"paravirt-{hv}"):
            for w in workloads:
                v = ratio(cyc(w, f"previrt-{hv}"), cyc(w, f"paravirt-{hv}"))
                add(f"previrt-patched / paravirt cycles <= {PATCHED_OVER_PARAVIRT:.2f}", w, hv, v,
                    v is not None and v <= PATCHED_OVER_PARAVIRT)
        if present(f"previrt-{hv}-full", f"previrt-{hv}"):
            for w in workloads:
                if w in SENSITIVE:
                    v = ratio(cyc(w, f"previrt-{hv}-full"), cyc(w, f"previrt-{hv}"))
                    add(f"full virt / previrt-patched cycles >= {FULL_OVER_PATCHED:g}", w, hv, v,
                        v is not None and v >= FULL_OVER_PATCHED)
        if present(f"previrt-{hv}", REFERENCE) and "compute" in workloads:
            v = ratio(cyc("compute", f"previrt-{hv}"), cyc("compute", REFERENCE))
            add(f"previrt-patched / native-bare cycles <= {PATCHED_OVER_NATIVE_COMPUTE:.2f}", "compute", hv, v,
                v is not None and v <= PATCHED_OVER_NATIVE_COMPUTE)
    if present("previrt-bare", REFERENCE):
        for w in workloads:
            a, b = cells.get((w, "previrt-bare")), cells.get((w, REFERENCE))
            v = ratio(a.count("instructions") if a else None, b.count("instructions") if b else None)
            add(f"previrt-bare / native-bare instructions <= {PADDING_TARGET}", w, None, v,
                v is not None and v <= PADDING_TARGET)
    return rows


# ---- reports ----------------------------------------------------------------------------------------------

def _table(title: str, modes: list[str], workloads: list[str], value: Callable[[Cell], str],
           cells: dict[tuple[str, str], Cell], note: str = "") -> list[str]:
    lines = [f"## {title}", ""] + ([note, ""] if note else [])
    lines += ["| workload | n | " + " | ".join(modes) + " |", "|---|---|" + "---|" * len(modes)]
    for w in workloads:
        row = []
        for m in modes:
            c = cells[(w, m)]
            row.append(value(c) if c.ok else "**FAILED**")
        n = cells[(w, modes[0])].n
        lines.append(f"| {w} | {n} | " + " | ".join(row) + " |")
    return lines + [""]


def top_overhead(c: Cell) -> str:
    breakdown = {k: v for k, v in c.stats.get("cycles", {}).get("breakdown", {}).items()
                 if k in costs.OVERHEAD_COMPONENTS and v}
    if not breakdown:
        return "-"
    name = max(breakdown, key=breakdown.get)
    return f"{name} {100 * breakdown[name] / c.cycles:.0f} %"


def render_md(cells: dict[tuple[str, str], Cell], workloads: list[str], modes: list[str], table: costs.CostTable,
              target_rows: list[dict], info: dict) -> str:
    def rel(c: Cell) -> str:
        return fmt(ratio(c.cycles, cells[(c.workload, REFERENCE)].cycles))

    out = ["# The comparison matrix", "",
           f"Generated by `previrt bench` (previrt {info['previrt']}, unicorn {info['unicorn']}, {info['gcc']}; "
           f"{info['host']['system']} {info['host']['machine']}, {info['host']['cpus']} cores). Cycles are the cost "
           f"model's estimate (`previrt/costs.py`, table `{table.name}`): guest instructions at one cycle each plus "
           "the virtualization overhead each hypervisor charged into virtual time (world switches, hypercalls, "
           "decode and emulation, interrupt injection, page-table validation, shadow fills and flushes, device-model "
           "work); every raw count is in `matrix.json`. A cell whose run failed (bad status, a crash, a missing "
           "image, output other than native on bare's) is **FAILED**, never a number.", "",
           f"Command: `{info.get('command', 'previrt bench')}`.", "",
           "Modes: " + "; ".join(f"`{m}` {MODES[m].what}" for m in modes) + ".", ""]
    failed = [c for c in cells.values() if not c.ok]
    if failed:
        out += ["Failed cells:", ""] + [f"* {c.workload} / {c.mode}: {c.failed.splitlines()[0]}" for c in failed] + [""]
    unpriced = sorted({k for c in cells.values() if c.ok for k in c.stats.get("cycles", {}).get("unpriced", [])})
    if unpriced:
        out += [f"Counts the cost model does not price (not in its cycles): {', '.join(unpriced)}.", ""]
    out += _table("Cycles relative to native on bare", modes, workloads, rel, cells)
    out += _table("Hypervisor exits", modes, workloads, lambda c: str(c.count("exits") or 0), cells)
    out += _table("Hypercalls", modes, workloads, lambda c: str(c.count("hypercalls") or 0), cells)
    out += _table("Guest instructions", modes, workloads, lambda c: str(c.count("instructions")), cells)
    out += _table("Estimated cycles", modes, workloads, lambda c: str(c.cycles), cells)
    out += _table("Largest overhead component", modes, workloads, top_overhead, cells,
                  "The component of the cost model that adds the most cycles (its share of the cell's cycles); "
                  "`matrix.json` has every cell's whole breakdown.")
    for hv in HYPERVISORS:
        patched, para = f"previrt-{hv}", f"paravirt-{hv}"
        if patched not in modes or para not in modes:
            continue
        out += [f"## Pre-virtualization against the hand port on {hv}", "",
                f"Cycles of the previrt image patched at load for {hv} (`{patched}`) against the kernel ported by hand "
                f"to {hv}'s ABI (`{para}`); target: at most {PATCHED_OVER_PARAVIRT:.2f}.", "",
                "| workload | n | previrt-patched cycles | paravirt cycles | previrt-patched / paravirt | target |",
                "|---|---|---|---|---|---|"]
        for w in workloads:
            a, b = cells[(w, patched)], cells[(w, para)]
            v = ratio(a.cycles, b.cycles)
            verdict = "**not met**" if v is None or v > PATCHED_OVER_PARAVIRT else "met"
            out.append(f"| {w} | {a.n} | {a.cycles if a.ok else '**FAILED**'} | {b.cycles if b.ok else '**FAILED**'} "
                       f"| {fmt(v)} | {verdict} |")
        out.append("")
    out += ["## Targets", ""]
    if not target_rows:
        out += ["No target applies to the modes run.", ""]
    else:
        out += ["| target | hypervisor | workload | value | met |", "|---|---|---|---|---|"]
        for t in target_rows:
            value = fmt(t["value"], 4 if "instructions" in t["target"] else 2)
            out.append(f"| {t['target']} | {t['hypervisor'] or '-'} | {t['workload']} | {value} | "
                       f"{'met' if t['met'] else '**not met**'} |")
        met = sum(t["met"] for t in target_rows)
        out += ["", f"{met} of {len(target_rows)} target rows met.", ""]
    out += ["## Cost table", "", "| constant | cycles | source |", "|---|---|---|"]
    out += [f"| {k} | {c.cycles} | {c.source} |" for k, c in table.constants.items()]
    return "\n".join(out) + "\n"


def render_json(cells: dict[tuple[str, str], Cell], workloads: list[str], modes: list[str], table: costs.CostTable,
                target_rows: list[dict], info: dict) -> str:
    matrix = {}
    for w in workloads:
        matrix[w] = {}
        for m in modes:
            c = cells[(w, m)]
            ref = cells[(w, REFERENCE)].cycles
            matrix[w][m] = {"n": c.n, "ok": c.ok, "failed": c.failed,
                            "cycles": c.cycles, "relative_cycles": ratio(c.cycles, ref),
                            "stats": c.stats if c.ok else None}
    doc = {"generated_by": "previrt bench", **info, "reference": REFERENCE, "workloads": workloads, "modes": modes,
           "costs": table.to_json(), "cells": matrix, "targets": target_rows,
           "failed": [{"workload": c.workload, "mode": c.mode, "reason": c.failed}
                      for c in cells.values() if not c.ok]}
    return json.dumps(doc, indent=1, sort_keys=False) + "\n"


def render_png(path: Path, cells: dict[tuple[str, str], Cell], workloads: list[str], modes: list[str]) -> None:
    """Per workload, one bar per mode: cycles relative to native on bare (log scale when they spread); no bar for
    a failed cell."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    values = {(w, m): ratio(cells[(w, m)].cycles, cells[(w, REFERENCE)].cycles) for w in workloads for m in modes}
    present = [v for v in values.values() if v]
    fig, ax = plt.subplots(figsize=(max(8, 1.2 * len(workloads) * max(1, len(modes)) / 3), 5))
    width = 0.8 / max(1, len(modes))
    colours = plt.get_cmap("tab10")
    handles = []
    for i, m in enumerate(modes):
        offset = (i - (len(modes) - 1) / 2) * width
        xs = [j + offset for j, w in enumerate(workloads) if values[(w, m)]]
        ys = [values[(w, m)] for w in workloads if values[(w, m)]]
        colour = colours(list(MODES).index(m) % 10)
        ax.bar(xs, ys, width, color=colour)
        handles.append(Patch(color=colour, label=m if ys else f"{m} (FAILED)"))
        for j, w in enumerate(workloads):
            if not values[(w, m)]:          # a failed cell: no bar, a mark where it would stand
                ax.text(j + offset, 0.02, "FAILED", rotation=90, fontsize=6, ha="center", va="bottom",
                        transform=ax.get_xaxis_transform())
    ax.set_xticks(range(len(workloads)))
    ax.set_xticklabels(workloads)
    ax.axhline(1.0, color="black", linewidth=0.6)
    if present and max(present) / min(present) > 20:
        ax.set_yscale("log")
    ax.set_ylabel("cycles relative to native on bare")
    ax.set_title("previrt bench: estimated cycles per workload and mode")
    ax.legend(handles=handles, fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """`write(tmp)` then a rename over `path`: a report is whole or absent."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def host_info() -> dict:
    import unicorn

    try:
        gcc = subprocess.run(["gcc", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        gcc = "gcc: not found"
    return {"previrt": __version__, "unicorn": unicorn.__version__, "gcc": gcc, "python": platform.python_version(),
            "host": {"system": platform.system(), "release": platform.release(), "machine": platform.machine(),
                     "processor": platform.processor(), "cpus": os.cpu_count()}}


# ---- the command ------------------------------------------------------------------------------------------

def bench_command(args: argparse.Namespace) -> int:
    workloads = _names(args.workloads, list(WORKLOADS), "--workloads")
    modes = _names(args.modes, list(MODES), "--modes")
    if REFERENCE not in modes:
        modes.insert(0, REFERENCE)          # every ratio needs it
    n_of = sizes(workloads, args.n, args.scale)
    cores = os.cpu_count() or 1
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, not {args.jobs}")
    jobs = min(args.jobs or cores, cores)        # parallel runs up to the core count
    table = costs.costs_option(args.costs)
    run_options = ("--costs", args.costs) if args.costs else ()
    if args.costs and table.file:
        run_options = ("--costs", str(Path(args.costs).resolve()))
    out = Path(args.out) if args.out else default_out()
    check_out(out)
    with tempfile.TemporaryDirectory(prefix="previrt-bench-") as tmp:
        work = Path(args.workdir) if args.workdir else Path(tmp)
        if not work.is_dir():
            if work.exists() or not work.parent.is_dir():
                raise UsageError("--workdir: not a folder, nor a new one in an existing folder", where=str(work))
            work.mkdir()
        cells = run_matrix(work, workloads, modes, n_of, jobs, run_options)
    target_rows = targets(cells, workloads)
    info = host_info()
    info["command"] = shlex.join(getattr(args, "command_line", None) or ["previrt", "bench"])
    info["sizes"] = n_of
    write_atomic(out / "matrix.md", lambda p: p.write_text(render_md(cells, workloads, modes, table, target_rows,
                                                                      info)))
    write_atomic(out / "matrix.json", lambda p: p.write_text(render_json(cells, workloads, modes, table,
                                                                          target_rows, info)))
    write_atomic(out / "matrix.png", lambda p: render_png(p, cells, workloads, modes))
    failed = [c for c in cells.values() if not c.ok]
    for c in failed:
        print(f"previrt bench: FAILED {c.workload} / {c.mode}: {c.failed.splitlines()[0]}", file=sys.stderr)
    print(f"previrt bench: {len(cells) - len(failed)} of {len(cells)} cells ran; wrote {out / 'matrix.md'}, "
          f"{out / 'matrix.json'}, {out / 'matrix.png'}", file=sys.stderr)
    return 1 if failed else 0


def run_matrix(work: Path, workloads: list[str], modes: list[str], n_of: dict[str, int], jobs: int,
               run_options: tuple[str, ...]) -> dict[tuple[str, str], Cell]:
    from tqdm import tqdm

    root = work / "guest"
    copy_guest(root)
    variants = [v for v in ALL_VARIANTS if any(MODES[m].variant == v for m in modes)]
    guest = GuestBuild(root)
    runs = work / "runs"
    if runs.exists():
        shutil.rmtree(runs)
    runs.mkdir()
    cells: dict[tuple[str, str], Cell] = {}
    todo = [(w, m) for w in workloads for m in modes]
    with tqdm(total=len(variants) + len(todo), desc="previrt bench", unit="step", file=sys.stderr,
              dynamic_ncols=True) as bar:
        missing = build(root, variants, jobs, bar)
        bar.update(len(variants))
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {}
            for w, m in todo:
                why = missing.get(MODES[m].variant)
                if why:
                    cells[(w, m)] = Cell(w, m, n_of[w], failed=f"no {MODES[m].variant} image: {why.splitlines()[0]}")
                    bar.update(1)
                    continue
                futures[pool.submit(run_cell, guest, w, MODES[m], n_of[w], runs, run_options)] = (w, m)
            for future in as_completed(futures):
                w, m = futures[future]
                try:
                    cells[(w, m)] = future.result()
                except Exception as e:          # a crash of the harness for one cell is that cell's failure
                    cells[(w, m)] = Cell(w, m, n_of[w], failed=f"{type(e).__name__}: {e}")
                cell = cells[(w, m)]
                if not cell.ok:
                    bar.write(f"previrt bench: FAILED {w} / {m}: {cell.failed.splitlines()[0]}", file=sys.stderr)
                bar.set_postfix_str(f"{w} / {m}")
                bar.update(1)
    compare_outputs(cells)
    return cells
