"""The guest kernel of guest_src/ as one unit: its workload table, its build (native and previrt images and the
disk, in a copy of the sources), and one run of an image with statistics, on `previrt run` or on QEMU.

`previrt demo`, the guest tests and the benchmarks all go through here, with one set of bounds:

* MAX_INSTRUCTIONS (10^9) ends a `previrt run` that does not stop by itself: about 50 times the largest
  workload size the benchmarks use (build n=3, about 2 * 10^7 instructions), under a minute of wall time.
* RUN_TIMEOUT (300 s of wall time) ends a process that makes no progress (on QEMU it is the only bound).
  Reaching either bound is a failed run, never a result.

A run names its target (`previrt run --target`, "bare" today; each hypervisor mode adds one) and passes
any further options through to `previrt run` unchanged, after the bounds (so an option can override one)."""

from __future__ import annotations

import json
import os
import selectors
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence, TextIO

from previrt.errors import PrevirtError, UsageError

# ---- the guest and its workloads --------------------------------------------------------------------------

GUEST_ENV = "PREVIRT_GUEST_SRC"     # where the guest sources are, when not beside the package
VARIANTS = ("native", "previrt")    # built by plain gcc / by `previrt cc` (padded sites, unpatched)
# The hand-ported para-virtual kernels (`make PARAVIRT=<hypervisor>`, plain gcc): each runs only on its hypervisor.
PARAVIRT_VARIANTS = {"paravirt-direct": "direct", "paravirt-shadow": "shadow"}
ALL_VARIANTS = (*VARIANTS, *PARAVIRT_VARIANTS)
BANNER = "previrt guest kernel:"    # the kernel's first line

# The guest's statuses through the exit port, (v << 1) | 1 (guest_src/README.md).
EXIT_OK = 1         # the workload succeeded
EXIT_FAIL = 3       # the workload failed (its first process exited non-zero or was killed)
EXIT_USAGE = 5      # bad command line: unknown or missing workload
EXIT_PANIC = 7      # kernel panic

# The cost target of pre-virtualization on the bare machine: previrt-unpatched / native guest instructions.
PADDING_TARGET = 1.005


@dataclass(frozen=True)
class Workload:
    name: str
    size: int                   # n of the benchmarks
    test_size: int              # n of the tests: small, a few million instructions at most
    unit: str                   # what one unit of n is
    reads_console: bool = False  # the workload reads n bytes from the UART

    def cmdline(self, n: int) -> str:
        return f"run={self.name} n={n}"

    def serial_input(self, n: int) -> bytes | None:
        """What is typed at the console for a run of size n (None: the workload reads nothing)."""
        return console_text(n) if self.reads_console else None


WORKLOADS = {w.name: w for w in (
    Workload("null", 20000, 200, "getpid calls"),
    Workload("ctxsw", 2000, 50, "pipe round trips (2 address-space switches each)"),
    Workload("fork", 200, 10, "fork + exit + wait"),
    Workload("pagetouch", 200, 5, "rounds of 16 demand-zero faults + 16 unmaps"),
    Workload("disk", 64, 4, "4 KiB blocks written and read back"),
    Workload("console", 1000, 10, "console lines"),
    Workload("sleep", 100, 5, "timer ticks slept"),
    Workload("compute", 20000, 500, "words sorted and hashed"),
    Workload("build", 3, 1, "rounds of 4 compilers over 16 files"),
    Workload("faults", 5, 1, "rounds of 9 faulting or stack-growing children"),
    Workload("input", 4096, 82, "bytes received on the console", reads_console=True),
)}


def workload(name: str) -> Workload:
    """The workload called `name`; an unknown name is a usage error listing the known ones."""
    try:
        return WORKLOADS[name]
    except KeyError:
        raise UsageError(f"unknown workload {name!r} (known: {', '.join(sorted(WORKLOADS))})") from None


def console_text(size: int) -> bytes:
    """`size` bytes of numbered text lines, typed at the console for a workload that reads it."""
    lines = b"".join(b"input line %04d of the console benchmark\n" % i for i in range(size // 16 + 1))
    return lines[:size]


# ---- building ---------------------------------------------------------------------------------------------

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


def previrt_cc() -> str:
    """`CC` for make: `previrt cc` through this interpreter, so no `previrt` on PATH is needed."""
    return f"{shlex.quote(sys.executable)} -m previrt cc"


def make_variables(variant: str) -> list[str]:
    """make's command-line variables for one variant; the guest's host tools run on this interpreter too."""
    if variant not in ALL_VARIANTS:
        raise ValueError(f"unknown variant {variant!r}")
    python = [f"PYTHON={shlex.quote(sys.executable)}"]
    if variant in PARAVIRT_VARIANTS:
        return python + [f"PARAVIRT={PARAVIRT_VARIANTS[variant]}"]
    return python + (["PREVIRT=1", f"CC={previrt_cc()}"] if variant == "previrt" else [])


@dataclass(frozen=True)
class GuestBuild:
    """A built guest tree: build/<variant>/kernel.elf and build/disk.img."""
    root: Path

    def image(self, variant: str) -> Path:
        return self.root / "build" / variant / "kernel.elf"

    @property
    def disk(self) -> Path:
        return self.root / "build" / "disk.img"

    def fresh_disk(self, work: Path, name: str) -> Path:
        """A private copy of the disk image in `work`: workloads write to their disk."""
        disk = Path(work) / f"{name}.img"
        shutil.copyfile(self.disk, disk)
        return disk


class GuestBuildError(PrevirtError):
    """make failed in the guest tree."""


def copy_guest(dest: Path, source: Path | None = None) -> Path:
    """Copy the guest sources (without their build folder) to `dest`; returns `dest`."""
    shutil.copytree(source or guest_source(), dest, ignore=shutil.ignore_patterns("build"), dirs_exist_ok=True)
    return Path(dest)


def make_guest(root: Path, jobs: int = 2, log: TextIO | None = None, variants: Sequence[str] = VARIANTS
               ) -> GuestBuild:
    """`make` and `make PREVIRT=1` (or the `variants` named: ALL_VARIANTS) in the guest tree `root`. With `log`,
    each command and make's output go there; without, a failure's output is in the error."""
    for variant in variants:
        argv = ["make", "-C", str(root), "--no-print-directory", "-s", f"-j{jobs}", *make_variables(variant)]
        if log is not None:
            shown = "make -s" + (" PREVIRT=1" if variant == "previrt" else "") + (
                f" PARAVIRT={PARAVIRT_VARIANTS[variant]}" if variant in PARAVIRT_VARIANTS else "")
            print(f"\n$ {shown}   (in {root})", file=log, flush=True)
        done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if log is not None:
            log.write(done.stdout)
        if done.returncode:
            detail = "" if log is not None else ":\n" + done.stdout.strip()
            raise GuestBuildError(f"the {variant} build failed (make exit status {done.returncode}){detail}",
                                  where=str(root))
        if log is not None:
            print(f"built {root / 'build' / variant / 'kernel.elf'}", file=log)
    return GuestBuild(Path(root))


def make_variant(root: Path, variant: str, jobs: int = 2) -> str | None:
    """Build one variant in the guest tree `root`; None when its image is there, else why it is not (make's status
    and the end of its output): for callers that go on without it (previrt bench marks its cells failed)."""
    try:
        make_guest(root, jobs, variants=(variant,))
    except GuestBuildError as e:
        lines = str(e).splitlines()
        errors = [ln.strip() for ln in lines[1:] if any(w in ln.lower() for w in ("error", "undefined", "***"))]
        return f"{lines[0]} {errors[0] if errors else (lines[-1].strip() if len(lines) > 1 else '')}".strip()
    image = GuestBuild(Path(root)).image(variant)
    return None if image.is_file() else f"make reported success but there is no {image}"


def build_guest(dest: Path, source: Path | None = None, jobs: int = 2, log: TextIO | None = None) -> GuestBuild:
    """Copy the guest sources to `dest` and build both variants and the disk there."""
    return make_guest(copy_guest(dest, source), jobs, log)


# ---- running ----------------------------------------------------------------------------------------------

MAX_INSTRUCTIONS = 1_000_000_000
RUN_TIMEOUT = 300.0
QEMU = "qemu-system-i386"
# No -nographic: it would put the firmware's console on the serial port too. The RTC starts where previrt's
# fixed RTC does and runs on QEMU's virtual clock. The virtual clock runs in real time here (the benchmarks
# measure QEMU's own speed with these arguments); a test adds `-icount` through `extra`.
QEMU_ARGS = ("-m", "64", "-serial", "stdio", "-monitor", "none", "-display", "none", "-no-reboot",
             "-nic", "none", "-rtc", "base=2000-01-01T00:00:00,clock=vm",
             "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04")
# For runs whose result must not depend on the host's speed or load (the tests): QEMU's virtual clock counts
# guest instructions (2**3 ns each; previrt's default clock gives 10 ns) and, with sleep=off, jumps over an idle
# CPU's wait straight to the next timer, so every PIT, RTC and UART timer fires after the same guest
# instructions on any host. Only QEMU's host-thread work stays in host time (a disk transfer, an ATA reset,
# serial input): a guest waits for that without a bound in guest instructions.
QEMU_ICOUNT = ("-icount", "shift=3,sleep=off")


@dataclass(frozen=True)
class RunResult:
    """One run of an image. `failed` says why the run gave no result (None: it did); `stats` is the
    `--stats` record of `previrt run` (empty on QEMU, or when previrt wrote none)."""
    machine: str                    # "previrt" or "qemu"
    target: str                     # previrt's --target; "qemu" on QEMU
    argv: tuple[str, ...]
    output: str                     # the serial output
    status: int | None              # the process status; None when the run was ended by RUN_TIMEOUT
    stderr: str = ""
    stats: dict = field(default_factory=dict)
    failed: str | None = None

    @property
    def ok(self) -> bool:
        return self.failed is None

    @property
    def instructions(self) -> int:
        """Guest instructions executed (previrt's count; an error when there is none)."""
        if "instructions" not in self.stats:
            raise ValueError(f"no instruction count: {self.failed or 'no statistics'}")
        return int(self.stats["instructions"])

    @property
    def command(self) -> str:
        """The command line as a user would type it."""
        argv = list(self.argv)
        if argv[1:3] == ["-m", "previrt"]:
            argv[:3] = ["previrt"]
        return shlex.join(argv)

    def describe(self) -> str:
        """Why it failed (or its status), the end of stderr and of the output: for a report or an assert."""
        head = f"failed: {self.failed}" if self.failed else f"status {self.status}"
        return f"{head}\n$ {self.command}\n--- stderr\n{self.stderr[-2000:]}\n--- output\n{self.output[-2000:]}"


def previrt_argv(image: Path, stats: Path, cmdline: str = "", disk: Path | None = None, target: str = "bare",
                 options: Sequence[str] = (), serial_in: Path | None = None) -> list[str]:
    """`previrt run` through this interpreter with statistics and the bounds; `options` last."""
    argv = [sys.executable, "-m", "previrt", "run", str(image), "--target", target, "--cmdline", cmdline,
            "--stats", str(stats), "--max-instructions", str(MAX_INSTRUCTIONS)]
    if disk is not None:
        argv += ["--disk", str(disk)]
    if serial_in is not None:
        argv += ["--serial-in", str(serial_in)]
    return argv + list(options)


def run_image(image: Path, work: Path, cmdline: str = "", disk: Path | None = None, target: str = "bare",
              options: Sequence[str] = (), serial_in: bytes | None = None, expect: int | None = None,
              tag: str = "run", log: TextIO | None = None) -> RunResult:
    """One `previrt run` of `image`; its files (statistics, serial input) are `work`/`tag`.*.

    A run succeeds when previrt wrote its statistics and the guest ended the run through the exit port (without
    `expect`) or the process status is `expect`. A run ended by a bound (unless `expect` is that status), or
    without statistics, has failed."""
    work = Path(work)
    stats_path, input_path = work / f"{tag}.stats.json", None
    stats_path.unlink(missing_ok=True)      # a run before must not lend this one its figures
    if serial_in is not None:
        input_path = work / f"{tag}.serial.in"
        input_path.write_bytes(serial_in)
    argv = previrt_argv(image, stats_path, cmdline, disk, target, options, input_path)
    if log is not None:
        print(f"$ {shlex.join(['previrt', *argv[3:]])}", file=log, flush=True)
    try:
        done = subprocess.run(argv, capture_output=True, timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        return RunResult("previrt", target, tuple(argv), _text(e.stdout), None, _text(e.stderr),
                         failed=f"no end after {RUN_TIMEOUT:g} s of wall time")
    stats = json.loads(stats_path.read_text()) if stats_path.exists() else {}
    stderr = _text(done.stderr)
    return RunResult("previrt", target, tuple(argv), _text(done.stdout), done.returncode, stderr, stats,
                     _previrt_failure(done.returncode, stats, stderr, expect))


def _previrt_failure(status: int, stats: dict, stderr: str, expect: int | None) -> str | None:
    """None when the run is a result; else why it is not. Without statistics there is no result, whatever the
    status: a crash of previrt itself exits 1, as a guest's poweroff(0) does."""
    end = stats.get("end")
    if end is None:
        return f"exit status {status}, no statistics written" + _report_line(stderr)
    if stats.get("exit_status") != status:
        return f"exit status {status}, but the statistics say {stats.get('exit_status')}"
    if (status == expect) if expect is not None else (end == "exit-port"):
        return None
    reason = f"exit status {status}" + (f", expected {expect}" if expect is not None else "")
    if end != "exit-port":
        reason += f", the run ended by {end!r}"
    return reason + _report_line(stderr)


def _report_line(stderr: str) -> str:
    """previrt's last error or end report on stderr (not its summary line), as ": text"."""
    lines = [ln for ln in stderr.splitlines() if ln.startswith("previrt:") and not ln.endswith("instructions/s")]
    return f": {lines[-1]}" if lines else ""


def _text(data: bytes | str | None) -> str:
    if isinstance(data, str):
        return data
    return (data or b"").decode(errors="replace")


def qemu_available() -> bool:
    return shutil.which(QEMU) is not None


def qemu_argv(image: Path, cmdline: str = "", disk: Path | None = None, extra: Sequence[str] = ()) -> list[str]:
    """QEMU booting `image` through its own Multiboot loader, with the PC previrt models."""
    argv = [QEMU, "-kernel", str(image), "-append", cmdline, *QEMU_ARGS, *extra]
    return argv + (["-drive", f"file={disk},format=raw,if=ide,index=0"] if disk is not None else [])


def run_qemu(image: Path, cmdline: str = "", disk: Path | None = None, serial_in: bytes | None = None,
             expect: int | None = None, banner: str | None = None, extra: Sequence[str] = ()) -> RunResult:
    """One boot on QEMU. With `banner`, the output is cut to start at it (the firmware may print first) and
    the serial input is sent once the banner's line is out (a UART driver's set-up may clear the FIFO).
    Without `expect`, the run succeeds when the guest ends it through the exit port (an odd status)."""
    argv = qemu_argv(image, cmdline, disk, extra)
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    head, failed = b"", None
    try:
        if serial_in is not None and banner is not None:
            head = _read_past(proc, banner.encode())
        out, err = proc.communicate(serial_in, timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        failed = f"no end after {RUN_TIMEOUT:g} s of wall time"
    text = _text(head + out)
    if banner is not None and banner in text:
        text = text[text.find(banner):]
    status = None if failed else proc.returncode
    if failed is None:
        if expect is not None and status != expect:
            failed = f"exit status {status}, expected {expect}"
        elif expect is None and status % 2 == 0:
            failed = f"exit status {status}: not an end through the exit port"
    return RunResult("qemu", "qemu", tuple(argv), text, status, _text(err), {}, failed)


def _read_past(proc: subprocess.Popen, banner: bytes) -> bytes:
    """QEMU's output up to the end of the line holding `banner` (or all of it, if QEMU ends first); a
    TimeoutExpired after RUN_TIMEOUT."""
    deadline, head = time.monotonic() + RUN_TIMEOUT, b""
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while banner not in head or b"\n" not in head[head.find(banner):]:
            left = deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired(proc.args, RUN_TIMEOUT)
            if sel.select(left):
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                head += chunk
    return head


# ---- a workload of the guest ------------------------------------------------------------------------------

def run_workload(build: GuestBuild, variant: str, name: str, n: int, work: Path, target: str = "bare",
                 options: Sequence[str] = (), expect: int | None = EXIT_OK, log: TextIO | None = None
                 ) -> RunResult:
    """Workload `name` of size n in one variant on `previrt run`, on a fresh copy of the disk."""
    w, tag = workload(name), f"{variant}-{target}-{name}"
    return run_image(build.image(variant), work, w.cmdline(n), build.fresh_disk(work, tag), target, options,
                     w.serial_input(n), expect, tag, log)


def qemu_workload(build: GuestBuild, variant: str, name: str, n: int, work: Path, expect: int | None = EXIT_OK,
                  extra: Sequence[str] = ()) -> RunResult:
    """Workload `name` of size n in one variant on QEMU, on a fresh copy of the disk; `extra` goes to QEMU's
    command line after QEMU_ARGS (a test passes `-icount` there, for a guest clock counting instructions)."""
    w = workload(name)
    return run_qemu(build.image(variant), w.cmdline(n), build.fresh_disk(work, f"{variant}-qemu-{name}"),
                    w.serial_input(n), expect, BANNER, extra)


# ---- reading statistics -----------------------------------------------------------------------------------

def vector_counts(table: dict) -> dict[int, int]:
    """A statistics table keyed "<vector> <name>" (interrupts, exceptions) as {vector: count}."""
    return {int(str(k).split()[0], 0): int(v) for k, v in table.items()}
