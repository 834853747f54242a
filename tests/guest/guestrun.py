"""Build the guest (both variants) in a copy of guest_src/ and run it on `previrt run` or QEMU.
The workload table with the small sizes the tests use lives here too."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

GUEST_SRC = Path(__file__).resolve().parents[2] / "guest_src"
VARIANTS = ("native", "previrt")
EXIT_OK_STATUS = 1      # poweroff(EXIT_OK): (0 << 1) | 1
EXIT_FAIL_STATUS = 3    # the workload failed
EXIT_USAGE_STATUS = 5   # bad command line
EXIT_PANIC_STATUS = 7   # kernel panic
BANNER = "previrt guest kernel:"

# workload -> n used by the tests (small: the whole guest suite stays well under a minute and a half)
TEST_SIZES = {
    "null": 200, "ctxsw": 50, "fork": 10, "pagetouch": 5, "disk": 4, "console": 10, "sleep": 5,
    "compute": 500, "build": 1, "faults": 1, "input": 24,
}
# serial input for the workloads that read the console
SERIAL_INPUT = {"input": b"hello world\nsecond line\n"}

RUN_TIMEOUT = 60                # seconds; the test sizes take a few seconds each
MAX_INSTRUCTIONS = 50_000_000   # the test sizes need at most about 10 M guest instructions

QEMU = "qemu-system-i386"
# No -nographic: it would put the firmware's console on the serial port too.
QEMU_ARGS = ("-m", "64", "-serial", "stdio", "-monitor", "none", "-display", "none", "-no-reboot",
             "-nic", "none", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04")


@dataclass(frozen=True)
class GuestBuild:
    root: Path

    def image(self, variant: str) -> Path:
        return self.root / "build" / variant / "kernel.elf"

    @property
    def disk(self) -> Path:
        return self.root / "build" / "disk.img"


@dataclass(frozen=True)
class Run:
    output: str
    status: int
    stats: dict
    stderr: str = ""

    @property
    def instructions(self) -> int:
        return int(self.stats["instructions"])


def build_guest(dest: Path, jobs: int = 2) -> GuestBuild:
    """Copy guest_src/ (without its build folder) to dest and build both variants and the disk there."""
    shutil.copytree(GUEST_SRC, dest, ignore=shutil.ignore_patterns("build"))
    for extra in ([], ["PREVIRT=1"]):
        done = subprocess.run(["make", "-s", f"-j{jobs}", *extra], cwd=dest, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"make {' '.join(extra)} failed:\n{done.stdout}\n{done.stderr}")
    return GuestBuild(dest)


def fresh_disk(template: Path, work: Path, name: str) -> Path:
    """A private copy of the disk image: workloads write to it."""
    disk = work / f"{name}.img"
    shutil.copyfile(template, disk)
    return disk


def run_bare(image: Path, cmdline: str, disk: Path, work: Path, timeout: float = RUN_TIMEOUT,
             max_instructions: int = MAX_INSTRUCTIONS, serial_in: bytes | None = None) -> Run:
    """One `previrt run`; a run that overstays `timeout` comes back with status -1 and what it printed."""
    stats = work / "stats.json"
    stats.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "previrt", "run", str(image), "--disk", str(disk), "--cmdline", cmdline,
            "--stats", str(stats), "--max-instructions", str(max_instructions)]
    if serial_in is not None:
        (work / "serial.in").write_bytes(serial_in)
        argv += ["--serial-in", str(work / "serial.in")]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return Run((e.stdout or b"").decode(errors="replace"), -1, {}, f"timed out after {timeout} s")
    data = json.loads(stats.read_text()) if stats.exists() else {}
    return Run(done.stdout.decode(errors="replace"), done.returncode, data, done.stderr.decode(errors="replace"))


def run_qemu(image: Path, cmdline: str, disk: Path, timeout: float = 60, serial_in: bytes | None = None) -> Run:
    """Boot on QEMU; the output is cut to start at the kernel's banner (the firmware may print first).
    Serial input is sent once the banner is out: the UART driver is ready then (its set-up clears the FIFO)."""
    proc = subprocess.Popen([QEMU, "-kernel", str(image), "-append", cmdline, *QEMU_ARGS,
                             "-drive", f"file={disk},format=raw,if=ide,index=0"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        head = b""
        if serial_in is not None:
            while BANNER.encode() not in head and proc.poll() is None:
                head += proc.stdout.read1(4096)
            if b"\n" not in head[head.find(BANNER.encode()):]:
                head += proc.stdout.readline()
            proc.stdin.write(serial_in)
            proc.stdin.flush()
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    text = (head + out).decode(errors="replace")
    at = text.find(BANNER)
    return Run(text[at:] if at >= 0 else text, proc.returncode, {}, err.decode(errors="replace"))


def qemu_available() -> bool:
    return shutil.which(QEMU) is not None
