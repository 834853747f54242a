"""Probe and hostile guests: serial output and exit status on the bare PC, on QEMU and on each hypervisor target,
against golden files.  Owns the golden-file format, the per-target expectations and the list of targets.

Guests: tests/vmm/guests/probe/NAME.S (what a guest kernel can observe; every target must print the same) and
tests/vmm/guests/hostile/NAME.S (what a guest must not get away with), built with tests/machine/guestkit.py;
kit.h (tests/machine/guests/cpu) and probekit.h, pagekit.h (tests/vmm/guests) are on the include path.

Golden files, beside each source:
  NAME.expected           line 1: `status N`, the process status of the run (anything after N is a note);
                          then the guest's serial output, byte for byte.  What the bare PC gives.
  NAME.<target>.expected  the same, for one target (`qemu`, `direct`, ...) where it legitimately differs;
                          a target without one is held to NAME.expected.  On QEMU a status of 12 (triple fault)
                          in NAME.expected is expected as 0: with -no-reboot QEMU ends at the shutdown, status 0.

Hypervisor targets: HYPERVISOR_TARGETS.  A target's cases are skipped while neither `previrt hypervisors` lists
it nor `previrt run --help` names it for --target; then they run `previrt run IMAGE --target T` with the same
options as bare.  Probe guests may have no override (test_probe_guests_have_no_overrides); a hostile guest's
NAME.direct.expected records a hypervisor's clear stop where the bare PC would have let the guest go on.

Lines the bare PC is known to get wrong are left out of the comparison on the previrt targets
(BARE_MODEL_DIFFERENCES), and a guest it cannot run at all is a strict xfail on bare (BARE_MODEL_BUGS).

Writing golden files (review the diff before committing):
    python -m tests.vmm.test_probes TARGET [NAME ...]
runs each guest (all by default) on TARGET (bare, qemu or a hypervisor) and writes NAME.expected for bare,
NAME.TARGET.expected otherwise.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.machine import guestkit

HERE = Path(__file__).parent
GUESTS = HERE / "guests"
INCLUDE_DIRS = (HERE.parent / "machine" / "guests" / "cpu", GUESTS)
KINDS = ("probe", "hostile")

HYPERVISOR_TARGETS = ["direct", "shadow"]

MEM_MIB = 64                       # the RAM size the guests assume (outside_ram_end maps the frame just past it)
MAX_INSTRUCTIONS = "20000000"
TIMEOUT = 120

QEMU = "qemu-system-i386"
# The PC QEMU boots matches `previrt run`'s: 64 MiB, COM1 on stdio, the exit port at 0xF4.  -icount: the
# guest's PIT runs on instruction counts, not on the host's clock (frames.S waits for one PIT interrupt).
QEMU_ARGS = ("-m", str(MEM_MIB), "-serial", "stdio", "-monitor", "none", "-display", "none", "-no-reboot",
             "-nic", "none", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
             "-icount", "shift=5,sleep=off")
QEMU_SHUTDOWN = {12: 0}            # bare status -> QEMU's, when no NAME.qemu.expected says otherwise

# Lines the bare PC gets wrong, left out of the comparison on bare and on the hypervisor targets (which run on
# the same CPU model); the golden files hold what QEMU and the SDM give.  Remove an entry once the model is fixed.
BARE_MODEL_DIFFERENCES: dict[str, tuple[str, ...]] = {}
# Guests the bare PC cannot run to the golden answer at all: expected to fail on bare (strict), reason given.
BARE_MODEL_BUGS: dict[str, str] = {}
# Bits a hypervisor is known to show differently, masked out of the values after '=' on the lines named, on that
# target only (each with its reason in the hypervisor's ABI.md).  direct: unicorn's page walk cannot set the
# accessed/dirty bits (0x60) in page tables it write-protects (ABI.md, "Known difference").
HYPERVISOR_MASKS: dict[tuple[str, str], tuple[tuple[str, ...], int]] = {
    ("direct", "paging"): (("pde 1,pde 2=", "pte 0x"), 0x60),
}


class Golden(NamedTuple):
    status: int
    output: bytes


def guest_names() -> list[str]:
    return sorted(f"{kind}/{src.stem}" for kind in KINDS for src in (GUESTS / kind).glob("*.S"))


def source(name: str) -> Path:
    return GUESTS / f"{name}.S"


def golden_path(name: str, target: str) -> Path:
    suffix = ".expected" if target == "bare" else f".{target}.expected"
    return GUESTS / f"{name}{suffix}"


def read_golden(path: Path) -> Golden:
    first, _, output = path.read_bytes().partition(b"\n")
    match = re.match(rb"status (\d+)\b", first)
    if match is None:
        raise ValueError(f"{path}: the first line must be 'status N', not {first!r}")
    return Golden(int(match.group(1)), output)


def expected(name: str, target: str) -> Golden:
    override = golden_path(name, target)
    if target != "bare" and override.exists():
        return read_golden(override)
    golden = read_golden(golden_path(name, "bare"))
    if target == "qemu":
        return Golden(QEMU_SHUTDOWN.get(golden.status, golden.status), golden.output)
    return golden


def comparable(name: str, target: str, output: bytes) -> str:
    text = output.decode(errors="replace")
    skip = () if target == "qemu" else BARE_MODEL_DIFFERENCES.get(Path(name).name, ())
    lines = [line for line in text.splitlines(keepends=True) if not line.startswith(skip)]
    masked = HYPERVISOR_MASKS.get((target, Path(name).name))
    if masked:
        prefixes, bits = masked
        lines = [mask_values(line, bits) if line.startswith(prefixes) else line for line in lines]
    return "".join(lines)


def mask_values(line: str, bits: int) -> str:
    """The line with `bits` cleared in every 8-digit hex value after its '='."""
    head, sep, values = line.partition("=")
    return head + sep + re.sub(r"\b[0-9a-f]{8}\b", lambda m: f"{int(m.group(), 16) & ~bits:08x}", values)


def build(name: str, out_dir: Path) -> Path:
    return guestkit.build_image(out_dir, [source(name)], name=Path(name).name,
                                cflags=[f"-I{d}" for d in INCLUDE_DIRS])


def run_previrt(image: Path, target: str) -> tuple[bytes, int]:
    done = guestkit.run_image(image, "--target", target, "--mem", str(MEM_MIB),
                              "--max-instructions", MAX_INSTRUCTIONS, timeout=TIMEOUT)
    return done.stdout, done.returncode


def run_qemu(image: Path) -> tuple[bytes, int]:
    done = subprocess.run([QEMU, "-kernel", str(image), "-append", "", *QEMU_ARGS], capture_output=True,
                          stdin=subprocess.DEVNULL, timeout=TIMEOUT)
    return done.stdout, done.returncode


def run(image: Path, target: str) -> tuple[bytes, int]:
    return run_qemu(image) if target == "qemu" else run_previrt(image, target)


def previrt_says(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "previrt", *args], capture_output=True, text=True,
                          timeout=TIMEOUT)
    return done.stdout if done.returncode == 0 else ""


@functools.lru_cache(maxsize=None)
def hypervisor_listed(target: str) -> bool:
    """Whether `previrt hypervisors` lists `target` (a line starting with its name), or `previrt run --help`
    names it among the --target choices."""
    name = re.escape(target)
    if re.search(rf"^\s*{name}\b", previrt_says("hypervisors"), re.M):
        return True
    option = re.search(r"^\s+--target\b.*?(?=^\s+-|\Z)", previrt_says("run", "--help"), re.S | re.M)
    return option is not None and re.search(rf"\b{name}\b", option.group(0)) is not None


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("vmm_guests")
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            built[name] = build(name, out_dir)
        return built[name]
    return get


def check(name: str, target: str, image_path: Path) -> None:
    output, status = run(image_path, target)
    want = expected(name, target)
    assert comparable(name, target, output) == comparable(name, target, want.output)
    assert status == want.status, f"status {status} on {target}, expected {want.status}"


def bare_case(name: str):
    reason = BARE_MODEL_BUGS.get(Path(name).name)
    marks = [pytest.mark.xfail(strict=True, reason=f"bare PC: {reason}")] if reason else []
    return pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize("name", [bare_case(n) for n in guest_names()])
def test_bare(name, image):
    check(name, "bare", image(name))


@pytest.mark.qemu
@pytest.mark.skipif(shutil.which(QEMU) is None, reason=f"needs {QEMU}")
@pytest.mark.parametrize("name", guest_names())
def test_qemu(name, image):
    check(name, "qemu", image(name))


@pytest.mark.parametrize("target", HYPERVISOR_TARGETS)
@pytest.mark.parametrize("name", guest_names())
def test_hypervisor(name, target, image):
    if not hypervisor_listed(target):
        pytest.skip(f"`previrt hypervisors` does not list {target!r} yet")
    check(name, target, image(name))


def test_every_guest_has_a_golden_file():
    assert guest_names()
    assert [n for n in guest_names() if not golden_path(n, "bare").exists()] == []


def test_probe_guests_have_no_overrides():
    """A probe guest prints the same everywhere: its only golden file is NAME.expected."""
    assert sorted(p.name for p in (GUESTS / "probe").glob("*.*.expected")) == []


def status_note(status: int) -> str:
    if status & 1:
        return f"exit port value {status >> 1:#04x}"
    return {10: "halted", 12: "triple fault", 14: "instruction limit", 16: "memory-error",
            18: "unsupported event", 20: "CPU stopped"}.get(status, "")


def write_golden(target: str, names: list[str]) -> None:
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            output, status = run(build(name, Path(tmp)), target)
            path = golden_path(name, target)
            path.write_bytes(f"status {status}  {status_note(status)}".rstrip().encode() + b"\n" + output)
            print(f"{path.relative_to(HERE)}: status {status}, {len(output.splitlines())} lines")


if __name__ == "__main__":
    write_golden(sys.argv[1], sys.argv[2:] or guest_names())
