"""Per-behaviour guest programs (tests/machine/guests/devices: PC devices, exit port, CPU delivery) under
`previrt run`: serial output, exit status and stats; owns the table of guests, their build, the test disk."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.machine import guestkit

DEVICES_DIR = Path(__file__).parent / "guests" / "devices"
DISK_SECTORS = 128
DISK_LABEL = b"PREVIRT-DISK"
RUN_TIMEOUT = 60
MAX_INSTRUCTIONS = "20000000"       # a bound far above any guest here (they need < 100 000)


@dataclass(frozen=True)
class GuestRun:
    """One run of a device guest: its source, exit value, command line, disk, and bytes for the UART to receive."""
    name: str
    source: str
    exit_value: int
    cmdline: str = ""
    disk: bool = False
    serial_in: bytes = b""

    @property
    def golden(self) -> Path:
        return DEVICES_DIR / f"{self.name}.expected"


GUEST_RUNS = (
    GuestRun("uart_hello", "uart_hello.S", 0x00),
    GuestRun("uart_irq", "uart_irq.S", 0x00),
    GuestRun("uart_rx", "uart_rx.S", 0x00, serial_in=b"hello, uart\nnot read"),
    GuestRun("uart_loopback", "uart_loopback.S", 0x00),
    GuestRun("pit_ticks", "pit_ticks.S", 0x00),
    GuestRun("pit_mode0", "pit_mode0.S", 0x00),
    GuestRun("pit_channel2", "pit_channel2.S", 0x00),
    GuestRun("pic_cascade", "pic_cascade.S", 0x00),
    # Both requests must be taken inside `sti; nop; nop; cli`: the second right after the first handler's
    # iret, which (unlike sti) has no interrupt shadow (SDM vol. 3, 6.8.1; STI in vol. 2).
    GuestRun("pic_priority", "pic_priority.S", 0x00),
    GuestRun("ata_rw", "ata_rw.S", 0x00, disk=True),
    GuestRun("ata_multiple", "ata_multiple.S", 0x00, disk=True),
    GuestRun("ata_absent_slave", "ata_absent.S", 0x00, disk=True),
    GuestRun("ata_absent_none", "ata_absent.S", 0x00),
    GuestRun("cmos", "cmos.S", 0x00),
    GuestRun("cmos_set", "cmos_set.S", 0x00),
    GuestRun("cmos_irq", "cmos_irq.S", 0x00),     # 4 s of RTC time, nearly all of it waiting in hlt
    GuestRun("io_permission", "io_permission.S", 0x00),
    GuestRun("cpu_exceptions", "cpu_exceptions.S", 0x00),
    GuestRun("cpu_ring3", "cpu_ring3.S", 0x00),
    GuestRun("exit_00", "exit_status.S", 0x00, cmdline="exit=00"),
    GuestRun("exit_01", "exit_status.S", 0x01, cmdline="exit=01"),
    GuestRun("exit_42", "exit_status.S", 0x42, cmdline="exit=42"),
)

# QEMU's isa-debug-exit contract, spelled out: a guest write of v ends the process with (v << 1) | 1.
EXIT_PROCESS_STATUS = {0x00: 1, 0x01: 3, 0x42: 0x85}


def build_device_guest(build_dir: Path, source: str) -> Path:
    """Assemble and link one device guest (guestkit adds the Multiboot header)."""
    return guestkit.build_image(build_dir, [DEVICES_DIR / source], name=Path(source).stem)


def disk_pattern(k: int) -> int:
    """Byte k of the sectors ata_rw.S writes at LBA 1 (its fill_pattern, restated)."""
    return ((k * 13 + 0x5A) & 0xFF) ^ (k >> 9)


def make_disk(path: Path) -> Path:
    """A 64 KiB raw disk: a label in sector 0, a byte ramp elsewhere."""
    data = bytearray((i * 31) & 0xFF for i in range(DISK_SECTORS * 512))
    data[:len(DISK_LABEL)] = DISK_LABEL
    path.write_bytes(bytes(data))
    return path


def previrt_args(run: GuestRun, disk: Path | None, *extra: str, serial_in: Path | None = None) -> list[str]:
    args = ["--max-instructions", MAX_INSTRUCTIONS, *extra]
    if serial_in is not None:
        args += ["--serial-in", str(serial_in)]
    if run.cmdline:
        args += ["--cmdline", run.cmdline]
    if disk is not None:
        args += ["--disk", str(disk)]
    return args


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, Path]:
    """Every device guest built once per module, keyed by source name."""
    build_dir = tmp_path_factory.mktemp("device-guests")
    return {src: build_device_guest(build_dir, src) for src in sorted({r.source for r in GUEST_RUNS})}


def serial_input_file(run: GuestRun, directory: Path) -> Path | None:
    if not run.serial_in:
        return None
    path = directory / f"{run.name}.serial-in"
    path.write_bytes(run.serial_in)
    return path


def run_on_previrt(run: GuestRun, image: Path, tmp_path: Path, *extra: str):
    disk = make_disk(tmp_path / f"{run.name}.img") if run.disk else None
    args = previrt_args(run, disk, *extra, serial_in=serial_input_file(run, tmp_path))
    return guestkit.run_image(image, *args, timeout=RUN_TIMEOUT), disk


def test_exit_status_contract():
    for value, status in EXIT_PROCESS_STATUS.items():
        assert guestkit.exit_status(value) == status


@pytest.mark.parametrize("run", GUEST_RUNS, ids=lambda r: r.name)
def test_device_guest_output_and_status(run: GuestRun, images, tmp_path):
    stats_path = tmp_path / "stats.json"
    done, disk = run_on_previrt(run, images[run.source], tmp_path, "--stats", str(stats_path))
    assert done.stdout.decode(errors="replace") == run.golden.read_text(), done.stderr.decode()[-2000:]
    assert done.returncode == EXIT_PROCESS_STATUS[run.exit_value], done.stderr.decode()[-2000:]
    stats = json.loads(stats_path.read_text())
    assert stats["unclaimed_ports"] == {}          # every port the driver touched belongs to a device
    assert stats["end"] == "exit-port"


def test_ata_writes_reach_the_disk_file(images, tmp_path):
    run = next(r for r in GUEST_RUNS if r.name == "ata_rw")
    done, disk = run_on_previrt(run, images[run.source], tmp_path)
    assert done.returncode == 1, done.stderr.decode()[-2000:]
    data = disk.read_bytes()
    assert len(data) == DISK_SECTORS * 512
    assert data[512:4 * 512] == bytes(disk_pattern(k) for k in range(3 * 512))
    untouched = make_disk(tmp_path / "fresh.img").read_bytes()
    assert data[:512] == untouched[:512] and data[4 * 512:] == untouched[4 * 512:]


# Interrupts by vector that the interrupt-driven guests must have taken (their drivers count the same).
EXPECTED_INTERRUPTS = {
    "pit_ticks": {0x20: 20},         # 10 IRQ 0s in mode 2, 10 in mode 3
    "pic_cascade": {0x20: 1, 0x28: 5},   # the latched IRQ 0 in the `sti; nop; cli` window, 5 RTC IRQ 8s
    "uart_irq": {0x24: 20},          # one THRE interrupt per character, one more to switch ETBEI off
    "uart_rx": {0x24: 12},           # FIFOs off: one received-data interrupt per byte of the line
    "ata_rw": {0x2E: 7},             # IDENTIFY, 3 written sectors, 3 read sectors; none with nIEN=1
    "ata_multiple": {0x2E: 12},      # READ SECTORS 8, SET MULTIPLE 1, READ MULTIPLE 2 blocks, CHS read 1
    "pit_mode0": {0x20: 2},          # mode 0 interrupts once per count, at terminal count (two counts)
    "cmos_irq": {0x28: 3},           # two update-ended interrupts and one alarm
    "pic_priority": {0x20: 3, 0x24: 3},  # both requests taken in each of the three `sti; nop; nop; cli` windows
}


def by_vector(table: dict) -> dict[int, int]:
    """A stats table keyed "<vector> <name>" as {vector: count}."""
    return {int(str(k).split()[0], 0): int(v) for k, v in table.items()}


@pytest.mark.parametrize("name", sorted(EXPECTED_INTERRUPTS))
def test_interrupt_guests_are_deterministic(name, images, tmp_path):
    """Two runs give the same bytes, the same instruction count and the interrupts the driver expects."""
    run = next(r for r in GUEST_RUNS if r.name == name)
    outputs, counts = [], []
    for i in range(2):
        stats_path = tmp_path / f"{name}-{i}.json"
        done, _ = run_on_previrt(run, images[run.source], tmp_path, "--stats", str(stats_path))
        stats = json.loads(stats_path.read_text())
        outputs.append((done.stdout, done.returncode))
        counts.append(guest_instructions(stats))
        assert by_vector(stats["interrupts"]) == EXPECTED_INTERRUPTS[name]
    assert outputs[0] == outputs[1]
    assert counts[0] == counts[1] and counts[0] > 0


def test_pit_runs_at_1khz_of_virtual_time(images, tmp_path):
    """20 IRQ 0s at 1193182 / 1193 Hz span 20 ms of simulated time, at the default 100 M instructions/s."""
    run = next(r for r in GUEST_RUNS if r.name == "pit_ticks")
    stats_path = tmp_path / "pit.json"
    done, _ = run_on_previrt(run, images[run.source], tmp_path, "--stats", str(stats_path))
    assert done.returncode == 1
    seconds = json.loads(stats_path.read_text())["simulated_seconds"]
    assert 0.0195 <= seconds <= 0.0215


def guest_instructions(stats: dict) -> int:
    """The guest instruction count of a `--stats` file."""
    for key in ("guest_instructions", "instructions"):
        if key in stats:
            return int(stats[key])
    raise KeyError(f"no instruction count in stats keys {sorted(stats)}")


def test_cmos_fixed_time_is_reproducible(images, tmp_path):
    run = next(r for r in GUEST_RUNS if r.name == "cmos")
    first, _ = run_on_previrt(run, images[run.source], tmp_path)
    second, _ = run_on_previrt(run, images[run.source], tmp_path)
    times = [[ln for ln in d.stdout.decode().splitlines() if ln.startswith("rtc ")] for d in (first, second)]
    assert len(times[0]) == 3 and times[0] == times[1]



def test_uart_receives_from_stdin_and_ends_when_input_runs_dry(images):
    run = next(r for r in GUEST_RUNS if r.name == "uart_rx")
    done = guestkit.run_image(images[run.source], "--serial-in", "-", input=run.serial_in, timeout=RUN_TIMEOUT)
    assert done.stdout.decode() == run.golden.read_text(), done.stderr.decode()[-2000:]
    assert done.returncode == EXIT_PROCESS_STATUS[run.exit_value]
    # no newline ever arrives: the guest waits in hlt with only the (masked) PIT ticking, and the run ends
    done = guestkit.run_image(images[run.source], "--serial-in", "-", input=b"no newline", timeout=RUN_TIMEOUT)
    assert done.returncode == 10 and done.stdout == b"", done.stderr.decode()[-2000:]
    assert b"masked at the 8259A" in done.stderr
