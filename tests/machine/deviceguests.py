"""The device guests (tests/machine/guests/devices: PC devices, exit port, CPU delivery): the table of their runs,
their build, the test disk and one run on `previrt run`. Shared by their tests and the QEMU differential test; a
helper module, not a test module."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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


def check_target_equals_bare(run: GuestRun, image: Path, tmp_path: Path, target: str) -> None:
    """The device guest on `target` (a hypervisor): the bare PC's status, serial output and disk contents."""
    for name in ("bare", target):
        (tmp_path / name).mkdir()
    bare, bare_disk = run_on_previrt(run, image, tmp_path / "bare")
    other, other_disk = run_on_previrt(run, image, tmp_path / target, "--target", target)
    assert (other.returncode, other.stdout) == (bare.returncode, bare.stdout), other.stderr.decode()[-2000:]
    if run.disk:
        assert other_disk.read_bytes() == bare_disk.read_bytes()
