"""Two hypervisors side by side: every workload of the guest kernel (native build, benchmark sizes) by full
virtualization on `direct` (direct paging: validated, write-protected guest tables) and on `shadow` (shadow page
tables filled on faults), against the bare PC: same output and guest instruction count, exits by cause, and each
hypervisor's own paging counts; then one previrt image on both, by full virtualization and patched at load for
each one's ABI.  Writes shadow.md beside it.

Deterministic counts are the primary figures (exits, fills, flushes); wall time is one run on a shared machine.  A
run that gives no result is a failed cell, marked in the report, and the script exits 1 (also when an output
differs from bare)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

from previrt.guestrun import WORKLOADS, RunResult, build_guest, run_workload

REPORT = Path(__file__).resolve().with_name("shadow.md")
TARGETS = ("direct", "shadow")
# exit causes that are the memory virtualization's own work
PAGING_CAUSES = ("pf:pt-write", "pf:shadow-fill", "pf:guest", "gp:mov_to_cr", "gp:invlpg")


# Counts here are taken with virtual time in instructions (`--costs none`: no overhead charged into virtual time), so
# that a hypervisor run executes exactly bare's instructions; estimated cycles are previrt bench's (matrix.md).
NO_COSTS = ("--costs", "none")
MODES = {   # cell -> (build variant, target, run options)
    "bare": ("native", "bare", ()), "direct": ("native", "direct", NO_COSTS), "shadow": ("native", "shadow", NO_COSTS),
    "previrt-bare": ("previrt", "bare", ()),
    **{f"previrt-{t}-{m}": ("previrt", t, opts + NO_COSTS) for t in TARGETS
       for m, opts in (("full", ("--virt", "full")), ("patched", ()))},
}


def measure(names: list[str], work: Path, log) -> dict[str, dict[str, RunResult]]:
    guest = build_guest(work / "guest_src", log=log)
    cells = {}
    for name in names:
        n = WORKLOADS[name].size
        cells[name] = {"n": n, **{m: run_workload(guest, variant, name, n, work, target=t, options=opts)
                                  for m, (variant, t, opts) in MODES.items()}}
        print(f"{name}: " + "; ".join(f"{m} {'ok' if cells[name][m].ok else cells[name][m].failed}"
                                      for m in MODES), file=log, flush=True)
    return cells


def previrt_rows(cells: dict) -> tuple[list[str], bool]:
    """The same previrt image on each hypervisor, by full virtualization and patched at load."""
    rows, ok = [], True
    for name, c in cells.items():
        runs = [c["previrt-bare"]] + [c[f"previrt-{t}-{m}"] for t in TARGETS for m in ("full", "patched")]
        if not all(r.ok for r in runs):
            ok = False
            failed = next(r for r in runs if not r.ok)
            rows.append(f"| {name} | {c['n']} | **failed**: {failed.failed} |" + " |" * 10)
            continue
        bare = runs[0]
        same = all(r.output == bare.output for r in runs)
        ok &= same
        cols = []
        for t in TARGETS:
            full, patched = c[f"previrt-{t}-full"], c[f"previrt-{t}-patched"]
            fills = patched.stats.get("paging", {}).get("shadow-fill", "-") if t == "shadow" else "-"
            cols += [str(exits(full)), str(exits(patched)), f"{exits(full) / max(exits(patched), 1):.2f}",
                     str(sum(patched.stats.get("hypercalls", {}).values())), str(fills),
                     f"{patched.instructions / bare.instructions:.4f}"]
        rows.append(f"| {name} | {c['n']} | {'yes' if same else '**no**'} | " + " | ".join(cols) + " |")
    return rows, ok


def exits(run: RunResult) -> int:
    return sum(run.stats["exits"].values())


def paging_exits(run: RunResult) -> int:
    return sum(v for k, v in run.stats["exits"].items() if k in PAGING_CAUSES)


def report(cells: dict) -> tuple[str, bool]:
    ok, rows, detail = True, [], []
    wins: dict[str, list[str]] = {"direct": [], "shadow": [], "-": []}
    for name, c in cells.items():
        bare, runs = c["bare"], [c[t] for t in TARGETS]
        if not all(r.ok for r in (bare, *runs)):
            ok = False
            failed = next(r for r in (bare, *runs) if not r.ok)
            rows.append(f"| {name} | {c['n']} | **failed**: {failed.failed} | | | | | | |")
            continue
        same = all(r.output == bare.output and r.instructions == bare.instructions for r in runs)
        ok &= same
        d, s = runs
        winner = "-" if abs(exits(s) - exits(d)) <= 0.01 * exits(d) else "direct" if exits(d) < exits(s) else "shadow"
        wins[winner].append(name)
        rows.append(f"| {name} | {c['n']} | {'yes' if same else '**no**'} | {exits(d)} | {exits(s)} | "
                    f"{paging_exits(d)} | {paging_exits(s)} | {exits(s) / max(exits(d), 1):.2f} | {winner} |")
        top = lambda r: ", ".join(f"{k} {v}" for k, v in Counter(r.stats["exits"]).most_common(4))  # noqa: E731
        counts = lambda r: ", ".join(f"{k} {v}" for k, v in sorted(r.stats.get("paging", {}).items()))  # noqa: E731
        detail.append(f"| {name} | {top(d)} | {counts(d)} | {top(s)} | {counts(s)} |")
    host = f"{os.uname().sysname} {os.uname().machine}, {os.cpu_count()} cores"
    pv_rows, pv_ok = previrt_rows(cells)
    ok &= pv_ok
    text = "\n".join([
        "# Two hypervisors: `direct` against `shadow`",
        "",
        "## By full virtualization",
        "",
        f"Generated by `benchmarks/bench_shadow.py` (native guest build, benchmark sizes, one run; {host}). `same`: "
        "serial output and guest instruction count equal to bare's on both hypervisors. Exits are by cause; "
        f"`paging` counts the exits that are the memory virtualization's work ({', '.join(PAGING_CAUSES)}).",
        "",
        "| workload | n | same | exits direct | exits shadow | paging direct | paging shadow | shadow / direct | "
        "fewer exits |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Per workload: the top exit causes and each hypervisor's paging counts (`direct`: validations and drops of "
        "tables; `shadow`: fills, flushes, shadow directories reused from its cache, accessed/dirty write-backs).",
        "",
        "| workload | direct: top exits | direct: paging | shadow: top exits | shadow: paging |",
        "|---|---|---|---|---|",
        *detail,
        "",
        f"Fewer exits on shadow: {', '.join(wins['shadow']) or 'none'}; on direct: "
        f"{', '.join(wins['direct']) or 'none'} (within 1 %: {', '.join(wins['-']) or 'none'}). Why: direct paging "
        "lets the processor walk the guest's own tables, so a mapping costs nothing once validated, but every store "
        "to a table in use traps to be validated (`pf:pt-write`); shadow paging never traps a store, but the first "
        "touch of a page through a new or flushed shadow entry is a fill (`pf:shadow-fill`), the first write to it "
        "another (`pf:shadow-dirty`: clean pages are mapped read-only so the dirty bit is set as the processor sets "
        "it), and `invlpg` or a CR3 load without a cached shadow throws entries away. fork and faults build and drop "
        "whole address spaces: direct pays a trap per store into a table in use and a validation per new table, "
        "shadow only a fill per page touched, so shadow wins. pagetouch maps, touches and unmaps one page per "
        "iteration: two stores on direct, a fill and a dirty fill on shadow — the same count. ctxsw switches "
        "between two address spaces: shadow's cache of shadow directories keeps both, so a switch back costs no "
        "refill and the counts match. Everywhere else shadow pays only the fills of the first touches (a few dozen).",
        "",
        "## The same previrt image patched at load on each",
        "",
        "One `make PREVIRT=1` image on both hypervisors, by full virtualization (`--virt full`) and patched at load "
        "for each one's own ABI (`same`: every run's output equals the image's on bare). Per hypervisor: exits full, "
        "exits patched, their ratio, hypercalls and (shadow) fills of the patched run, and the patched run's guest "
        "instructions over bare's.",
        "",
        "| workload | n | same | direct full | direct patched | ratio | hypercalls | fills | instr. / bare | "
        "shadow full | shadow patched | ratio | hypercalls | fills | instr. / bare |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *pv_rows,
        "",
        "The two ABIs differ on purpose (hypervisors/direct/ABI.md, hypervisors/shadow/ABI.md): direct's wedge keeps "
        "the interrupt flag, the control registers and device mirrors in a shared page, queues page-table updates and "
        "takes system calls as direct traps; shadow's caches only the interrupt flag, leaves control-register reads "
        "and system calls to exits, makes port I/O one synchronous call per access, and needs no page-table updates at "
        "all (its shadow tables follow the guest's by faults; a patched CR3 load or invlpg is one hypercall, no "
        "instruction to decode). So patching helps direct far more: what remains on shadow are its system calls, "
        "port accesses, control-register reads, CR3 loads and invlpg (hypercalls) and fills.",
        "",
    ])
    return text, ok


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="+", choices=sorted(WORKLOADS), help="these workloads only (no report written)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-shadow-") as tmp:
        cells = measure(args.only or list(WORKLOADS), Path(tmp), sys.stderr)
    text, ok = report(cells)
    print(text)
    if not args.only:
        tmp_report = REPORT.with_suffix(".md.tmp")
        tmp_report.write_text(text)
        os.replace(tmp_report, REPORT)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
