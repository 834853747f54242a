"""`previrt demo`: build the bundled example with `previrt cc`, list its sites and audit it; then build the
guest kernel of guest_src/ natively and with `previrt cc`, run one workload of both on the bare machine, and run
the same previrt image on the `direct` hypervisor, by full virtualization and patched at load: one table of
guest instructions, hypervisor exits, hypercalls and wedge instructions per mode, every output checked against
the native build's on the bare machine.

Each step is one small function over a work dir; nothing is built in the source tree (guest_src/ is copied).
Building and running the guest is previrt.guestrun's."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from previrt.errors import PrevirtError, UsageError
from previrt.guestrun import (EXIT_OK, VARIANTS, WORKLOADS, GuestBuild, RunResult, build_guest, guest_source,
                              previrt_cc, run_image, run_workload)
from previrt.guestrun import workload as known_workload

DEMO_PACKAGE_DIR = "data/demo"
IMAGE = "demo.elf"
DEFAULT_WORKLOAD, DEFAULT_N = "build", 1


# ---- the bundled example ---------------------------------------------------------------------

def copy_example(workdir: str) -> str:
    """The bundled example copied into `workdir`/demo; returns that folder."""
    dest = os.path.join(workdir, "demo")
    src = resources.files("previrt").joinpath(DEMO_PACKAGE_DIR)
    os.makedirs(dest, exist_ok=True)
    for entry in src.iterdir():
        if entry.is_file():
            with resources.as_file(entry) as path:
                shutil.copyfile(path, os.path.join(dest, entry.name))
    return dest


def make(folder: str, out, *extra: str) -> subprocess.CompletedProcess:
    """`make [extra]` in `folder`, its output copied to `out`; a failed build is an error."""
    cmd = ["make", "-C", folder, "--no-print-directory", *extra]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out.write(proc.stdout)
    if proc.returncode:
        raise PrevirtError(f"make {' '.join(extra)} failed (exit status {proc.returncode})", where=folder)
    return proc


def build(folder: str, out) -> str:
    """`make CC="previrt cc"` in `folder`; returns the image path."""
    print(f"$ make CC=\"previrt cc\"   (in {folder})", file=out, flush=True)
    make(folder, out, f"CC={previrt_cc()}")
    return os.path.join(folder, IMAGE)


def show_sites(image: str, out) -> int:
    from previrt.audit import list_sites

    print(f"\n$ previrt sites {IMAGE}", file=out)
    return list_sites(image, out)


def show_audit(image: str, out, name: str = IMAGE) -> int:
    from previrt.audit import audit_command

    print(f"\n$ previrt audit {name}", file=out)
    return audit_command(image, out, verbose=True)


# ---- the guest kernel ------------------------------------------------------------------------

def run_variants(guest: GuestBuild, workload: str, n: int, work: Path, out) -> list[RunResult]:
    """The workload on both variants (bare machine); a variant that could not run at all is an error."""
    runs = []
    for variant in VARIANTS:
        run = run_workload(guest, variant, workload, n, work, log=out)
        if not run.stats:
            raise PrevirtError(f"the {variant} guest did not run: {run.failed}", where=str(guest.image(variant)))
        runs.append(run)
    return runs


def side_by_side(runs: list[RunResult], out) -> None:
    """Serial outputs in two columns, then the counts; a `!` marks lines that differ."""
    columns = [r.output.splitlines() for r in runs]
    width = max([len(VARIANTS[0]) + 12, *(len(x) for x in columns[0])])
    print(f"\n  {'native (gcc)':<{width}} | previrt cc, unpatched", file=out)
    print(f"  {'-' * width}-+-{'-' * width}", file=out)
    for i in range(max(len(c) for c in columns)):
        a, b = (c[i] if i < len(c) else "" for c in columns)
        print(f"{'!' if a != b else ' '} {a:<{width}} | {b}", file=out)
    n, p = runs
    print(f"\n  {'':<22}{'native':>16}{'previrt':>16}", file=out)
    print(f"  {'guest instructions':<22}{n.instructions:>16,}{p.instructions:>16,}", file=out)
    print(f"  {'exit status':<22}{n.status:>16}{p.status:>16}", file=out)
    print(f"  {'wall seconds':<22}{n.stats['wall_seconds']:>16.2f}{p.stats['wall_seconds']:>16.2f}", file=out)
    ratio = p.instructions / n.instructions if n.instructions else float("nan")
    print(f"  previrt / native instructions: {ratio:.4f} ({p.instructions - n.instructions:+,}: one padding "
          "instruction per executed site, and gcc's own choices around the C source pass's accessors)", file=out)


# ---- the same previrt image on the hypervisor ------------------------------------------------

@dataclass(frozen=True)
class Mode:
    """One way of running the guest: a build, a `previrt run --target` and its options; `virt` is the mode the
    hypervisor's statistics must report (None on the bare machine), `short` the mode's name in a sentence."""
    label: str
    variant: str
    target: str
    options: tuple[str, ...] = ()
    virt: str | None = None
    short: str = ""

    @property
    def tag(self) -> str:
        """The name of the run's files (statistics, disk) in the work dir."""
        return "-".join([self.variant, self.target, *([self.short.split()[0]] if self.short else [])])


NATIVE_BARE = Mode("native on bare", "native", "bare")
MODES = (
    NATIVE_BARE,
    Mode("previrt on bare", "previrt", "bare"),
    Mode("previrt on direct, full virtualization", "previrt", "direct", ("--virt", "full"), "full",
         "full virtualization"),
    Mode("previrt on direct, patched", "previrt", "direct", (), "previrt", "patched"),
)
HYPERVISOR_MODES = tuple(m for m in MODES if m.virt)


def run_mode(guest: GuestBuild, mode: Mode, workload: str, n: int, work: Path, out) -> RunResult:
    """The workload in one hypervisor mode, on a fresh copy of the disk; its files are `work`/<mode>-<workload>.*"""
    w, tag = WORKLOADS[workload], f"{mode.tag}-{workload}"
    return run_image(guest.image(mode.variant), work, w.cmdline(n), guest.fresh_disk(work, tag), mode.target,
                     mode.options, w.serial_input(n), EXIT_OK, tag, log=out)


def total(stats: dict, key: str) -> int:
    """The sum of a statistics table (cause -> count); 0 when the run has none."""
    return sum(int(v) for v in (stats.get(key) or {}).values())


def first_difference(reference: str, output: str) -> str:
    """Where `output` first departs from `reference`: 'line N: TEXT'."""
    ref, got = reference.splitlines(), output.splitlines()
    for i in range(max(len(ref), len(got))):
        a, b = (ref[i] if i < len(ref) else None), (got[i] if i < len(got) else None)
        if a != b:
            return f"line {i + 1}: " + (repr(b) if b is not None else "(output ends)")
    return "line endings differ"


def mode_problem(mode: Mode, run: RunResult) -> str | None:
    """Why a run is no result of `mode` (it failed, or the hypervisor ran it in another mode); else None."""
    if not run.ok:
        return run.failed
    if mode.virt and run.stats.get("mode") != mode.virt:
        return f"the hypervisor ran it in mode {run.stats.get('mode')!r}, not {mode.virt!r}"
    return None


def modes_table(results: dict[Mode, RunResult], out) -> None:
    """One row per mode: guest instructions, exits, hypercalls, wedge instructions, output against native on
    bare; then the commonest exit causes of each hypervisor mode."""
    reference = results[NATIVE_BARE].output
    width = max(len(m.label) for m in results)
    columns = ("guest instr.", "exits", "hypercalls", "wedge instr.")
    print(f"\n  {'mode':<{width}}" + "".join(f"  {c:>12}" for c in columns) + "  output", file=out)
    for mode, run in results.items():
        stats = run.stats
        figures = ["-"] * 4
        if "instructions" in stats:
            figures[0] = f"{run.instructions:,}"
        if stats and mode.virt:
            figures[1:] = (f"{total(stats, 'exits'):,}", f"{total(stats, 'hypercalls'):,}",
                           f"{int(stats.get('wedge_instructions', 0)):,}")
        same = "reference" if mode is NATIVE_BARE else "identical" if run.output == reference else "DIFFERS"
        print(f"  {mode.label:<{width}}" + "".join(f"  {f:>12}" for f in figures) + f"  {same}", file=out)
    print("  exits: hypervisor exits, every cause; wedge instr.: guest instructions run in the wedge (counted in "
          "guest instr.)", file=out)
    heads = {m: f"top exits, {m.short}:" for m in HYPERVISOR_MODES}
    for mode, head in heads.items():
        exits = Counter({k: int(v) for k, v in (results[mode].stats.get("exits") or {}).items()})
        top = sorted(exits.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        print(f"  {head:<{max(map(len, heads.values()))}} "
              + (", ".join(f"{cause} {count:,}" for cause, count in top) or "none"), file=out)
    full, patched = (results[m].stats for m in HYPERVISOR_MODES)
    if full and patched:
        f, p = total(full, "exits"), total(patched, "exits")
        fewer = f"{f / p:.2f}x fewer exits" if p else "no exits"
        print(f"  patched at load: {total(patched, 'patched_sites'):,} sites; {fewer} than full virtualization "
              f"({f:,} -> {p:,})", file=out)


def hypervisor_demo(guest: GuestBuild, bare: list[RunResult], workload: str, n: int, work: Path, out) -> int:
    """The previrt image on `direct` in both modes beside the bare runs; 0 when every mode ran as asked and
    gave native-on-bare's output."""
    print("\nthe same previrt image on the direct hypervisor, by full virtualization and patched at load:", file=out)
    results = dict(zip(MODES, bare))
    for mode in HYPERVISOR_MODES:
        results[mode] = run_mode(guest, mode, workload, n, work, out)
    modes_table(results, out)
    reference, status = results[NATIVE_BARE].output, 0
    differing = [m for m, run in results.items() if run.output != reference]
    if differing:
        print(f"\nserial output DIFFERS from native on bare in: {', '.join(m.label for m in differing)}", file=out)
        for mode in differing:
            print(f"  {mode.label}: {first_difference(reference, results[mode].output)}", file=out)
        status = 1
    else:
        print(f"\nserial output identical to native on bare in all {len(results)} modes", file=out)
    problems = {m: mode_problem(m, results[m]) for m in HYPERVISOR_MODES}
    if any(problems.values()):
        print("failed on the hypervisor:", file=out)
        for mode, problem in problems.items():
            if problem:
                print(f"  {mode.label}: {problem}", file=out)
        status = 1
    else:
        print("workload succeeded in both hypervisor modes", file=out)
    return status


def guest_demo(workdir: str, workload: str, n: int, out) -> int:
    """Build both variants, audit the previrt image, run the workload on both on the bare machine and the
    previrt image on `direct` in both modes; 0 when all agrees."""
    from previrt.audit import audit_command

    guest = build_guest(Path(workdir) / "guest_src", log=out)
    image = guest.image("previrt")
    print(f"\n$ previrt audit {image}", file=out)
    audit_status = audit_command(str(image), out, verbose=False)
    print(f"\nworkload `{WORKLOADS[workload].cmdline(n)}` on the bare machine, native and previrt-unpatched:",
          file=out)
    runs = run_variants(guest, workload, n, Path(workdir), out)
    side_by_side(runs, out)
    same = runs[0].output == runs[1].output
    ok = all(r.ok for r in runs)
    print(f"\noutputs {'identical' if same else 'DIFFER'}; workload "
          f"{'succeeded in both builds' if ok else 'did not succeed (exit status is (v << 1) | 1)'}", file=out)
    for variant, run in zip(VARIANTS, runs):
        if not run.ok:
            print(f"  {variant}: {run.failed}", file=out)
    hypervisor_status = hypervisor_demo(guest, runs, workload, n, Path(workdir), out)
    return 0 if audit_status == 0 and same and ok and hypervisor_status == 0 else 1


# ---- the whole demo --------------------------------------------------------------------------

def run_demo(workdir: str, out, workload: str = DEFAULT_WORKLOAD, n: int = DEFAULT_N) -> int:
    """The demo's steps in order; the status is 0 only when every step is."""
    guest_source()  # before anything is built: a missing guest tree is reported first
    image = build(copy_example(workdir), out)
    show_sites(image, out)
    status = show_audit(image, out)
    return guest_demo(workdir, workload, n, out) or status


def check_workdir(workdir: str) -> None:
    """--workdir: an existing folder, or a new one in an existing folder (never a chain of new folders)."""
    path = Path(workdir)
    if path.exists() and not path.is_dir():
        raise UsageError("--workdir is not a folder", where=workdir)
    if not path.exists() and not path.absolute().parent.is_dir():
        raise UsageError("--workdir: its parent folder does not exist", where=workdir)


def demo_command(args) -> int:
    out = sys.stdout
    known_workload(args.workload)   # a bad name, size or folder is refused before anything is built
    if args.n < 1:
        raise UsageError(f"--n must be at least 1, not {args.n}")
    if args.workdir:
        check_workdir(args.workdir)
        os.makedirs(args.workdir, exist_ok=True)
        return run_demo(args.workdir, out, args.workload, args.n)
    with tempfile.TemporaryDirectory(prefix="previrt-demo-") as tmp:
        return run_demo(tmp, out, args.workload, args.n)
