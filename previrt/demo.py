"""`previrt demo`: build the bundled example with `previrt cc`, list its sites and audit it; then build the
guest kernel of guest_src/ natively and with `previrt cc`, and run one workload of it on the bare machine.

Each step is one small function over a work dir; nothing is built in the source tree (guest_src/ is copied).
Building and running the guest is previrt.guestrun's."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path

from previrt.errors import PrevirtError, UsageError
from previrt.guestrun import (VARIANTS, WORKLOADS, GuestBuild, RunResult, build_guest, guest_source, previrt_cc,
                              run_workload)
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
    print(f"  previrt / native instructions: {ratio:.4f} ({p.instructions - n.instructions:+,}: about one padding "
          "instruction per executed site)", file=out)


def guest_demo(workdir: str, workload: str, n: int, out) -> int:
    """Build both variants, audit the previrt image, run the workload on both; 0 when all agrees."""
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
    return 0 if audit_status == 0 and same and ok else 1


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
