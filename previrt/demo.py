"""`previrt demo`: build the bundled example with `previrt cc`, list its sites and audit it; then build the
guest kernel of guest_src/ natively and with `previrt cc`, and run one workload of it on the bare machine.

Each step is one small function over a work dir; nothing is built in the source tree (guest_src/ is copied)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from previrt.errors import PrevirtError, UsageError

DEMO_PACKAGE_DIR = "data/demo"
IMAGE = "demo.elf"
GUEST_ENV = "PREVIRT_GUEST_SRC"  # where the guest sources are, when not beside the package
VARIANTS = ("native", "previrt")
DEFAULT_WORKLOAD, DEFAULT_N = "build", 1
EXIT_OK_STATUS = 1  # the guest's poweroff(0) through the exit port: (0 << 1) | 1
MAX_INSTRUCTIONS = 2_000_000_000  # a bound, so a bad --n cannot spin for ever


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


def previrt_cc_command() -> str:
    """`CC` for make: `previrt cc` when PATH finds this interpreter's previrt, else `python -m previrt cc`."""
    found = shutil.which("previrt")
    if found and os.path.dirname(os.path.realpath(found)) == os.path.dirname(os.path.realpath(sys.executable)):
        return "previrt cc"
    return f"{shlex.quote(sys.executable)} -m previrt cc"


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
    make(folder, out, f"CC={previrt_cc_command()}")
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

@dataclass(frozen=True)
class GuestRun:
    variant: str
    output: str
    status: int
    instructions: int
    wall: float


def guest_source() -> Path:
    """$PREVIRT_GUEST_SRC, else guest_src/ of this checkout, else the copy a non-editable install put in
    <prefix>/share/previrt; an error naming the places looked at."""
    if os.environ.get(GUEST_ENV):
        places = [Path(os.environ[GUEST_ENV])]
    else:
        places = [Path(__file__).resolve().parents[1] / "guest_src", Path(sys.prefix) / "share/previrt/guest_src"]
    for where in places:
        if (where / "Makefile").is_file():
            return where
    raise UsageError("guest sources not found (no Makefile in " + " or ".join(map(str, places)) +
                     f"); set {GUEST_ENV} to a copy of guest_src/")


def build_guest(workdir: str, out) -> Path:
    """Copy guest_src/ (without its build folder) into `workdir` and build both variants there."""
    dest = Path(workdir) / "guest_src"
    shutil.copytree(guest_source(), dest, ignore=shutil.ignore_patterns("build"), dirs_exist_ok=True)
    cc = previrt_cc_command()
    for label, extra in (("make", ()), ("make PREVIRT=1", ("PREVIRT=1", f"CC={cc}"))):
        print(f"\n$ {label} -s   (in {dest})", file=out, flush=True)
        make(str(dest), out, "-s", "-j2", *extra)
        print(f"built {dest / 'build' / ('previrt' if extra else 'native') / 'kernel.elf'}", file=out)
    return dest


def run_guest(guest: Path, variant: str, cmdline: str, work: Path, out, serial_in: bytes | None = None) -> GuestRun:
    """One `previrt run --target bare` of a variant on a fresh copy of the disk image."""
    disk, stats = work / f"{variant}.img", work / f"{variant}.json"
    shutil.copyfile(guest / "build" / "disk.img", disk)
    image = guest / "build" / variant / "kernel.elf"
    stats.unlink(missing_ok=True)   # a --workdir used before must not lend this run its figures
    argv = ["run", str(image), "--target", "bare", "--disk", str(disk), "--cmdline", cmdline,
            "--stats", str(stats), "--max-instructions", str(MAX_INSTRUCTIONS)]
    if serial_in is not None:       # the console-input workload reads the UART
        (work / "serial.in").write_bytes(serial_in)
        argv += ["--serial-in", str(work / "serial.in")]
    print(f"$ previrt {' '.join(shlex.quote(a) for a in argv)}", file=out, flush=True)
    done = subprocess.run([sys.executable, "-m", "previrt", *argv], capture_output=True)
    if not stats.exists():
        raise PrevirtError(f"the {variant} guest did not run: {done.stderr.decode(errors='replace').strip()}",
                           where=str(image))
    data = json.loads(stats.read_text())
    return GuestRun(variant, done.stdout.decode(errors="replace"), done.returncode, int(data["instructions"]),
                    float(data["wall_seconds"]))


def console_text(size: int) -> bytes:
    """`size` bytes of numbered text lines, typed at the console for the `input` workload."""
    lines = b"".join(b"line %05d typed at the console\n" % i for i in range(size // 16 + 1))
    return lines[:size]


def side_by_side(runs: list[GuestRun], out) -> None:
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
    print(f"  {'wall seconds':<22}{n.wall:>16.2f}{p.wall:>16.2f}", file=out)
    ratio = p.instructions / n.instructions if n.instructions else float("nan")
    print(f"  previrt / native instructions: {ratio:.4f} ({p.instructions - n.instructions:+,}: about one padding "
          "instruction per executed site)", file=out)


def guest_demo(workdir: str, workload: str, n: int, out) -> int:
    """Build both variants, audit the previrt image, run the workload on both; 0 when all agrees."""
    from previrt.audit import audit_command

    guest = build_guest(workdir, out)
    image = guest / "build" / "previrt" / "kernel.elf"
    print(f"\n$ previrt audit {image}", file=out)
    audit_status = audit_command(str(image), out, verbose=False)
    cmdline = f"run={workload} n={n}"
    print(f"\nworkload `{cmdline}` on the bare machine, native and previrt-unpatched:", file=out)
    serial_in = console_text(n) if workload == "input" else None
    runs = [run_guest(guest, v, cmdline, Path(workdir), out, serial_in) for v in VARIANTS]
    side_by_side(runs, out)
    same = runs[0].output == runs[1].output
    ok = all(r.status == EXIT_OK_STATUS for r in runs)
    print(f"\noutputs {'identical' if same else 'DIFFER'}; workload "
          f"{'succeeded in both builds' if ok else 'did not succeed (exit status is (v << 1) | 1)'}", file=out)
    return 0 if audit_status == 0 and same and ok else 1


# ---- the whole demo --------------------------------------------------------------------------

def run_demo(workdir: str, out, workload: str = DEFAULT_WORKLOAD, n: int = DEFAULT_N) -> int:
    """The demo's steps in order; the status is 0 only when every step is."""
    guest_source()  # before anything is built: a missing guest tree is reported first
    image = build(copy_example(workdir), out)
    show_sites(image, out)
    status = show_audit(image, out)
    return guest_demo(workdir, workload, n, out) or status


def demo_command(args) -> int:
    out = sys.stdout
    if args.n < 1:
        raise UsageError(f"--n must be at least 1, not {args.n}")
    if args.workdir:
        os.makedirs(args.workdir, exist_ok=True)
        return run_demo(args.workdir, out, args.workload, args.n)
    with tempfile.TemporaryDirectory(prefix="previrt-demo-") as tmp:
        return run_demo(tmp, out, args.workload, args.n)
