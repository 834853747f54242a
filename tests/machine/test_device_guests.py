"""Per-behaviour guest programs (tests/machine/guests/devices: PC devices, exit port, CPU delivery) under
`previrt run`: serial output, exit status and stats (the table of guests, their build and the test disk are in
deviceguests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from previrt.guestrun import RunResult, run_image, vector_counts
from tests.machine import guestkit
from tests.machine.deviceguests import (DISK_SECTORS, EXIT_PROCESS_STATUS, GUEST_RUNS, MAX_INSTRUCTIONS, RUN_TIMEOUT,
                                        GuestRun, build_device_guest, disk_pattern, make_disk, run_on_previrt)


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, Path]:
    """Every device guest built once per module, keyed by source name."""
    build_dir = tmp_path_factory.mktemp("device-guests")
    return {src: build_device_guest(build_dir, src) for src in sorted({r.source for r in GUEST_RUNS})}


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


def run_with_stats(run: GuestRun, image: Path, work: Path, tag: str) -> RunResult:
    """One run of a device guest through previrt.guestrun, which reads its statistics."""
    disk = make_disk(work / f"{tag}.img") if run.disk else None
    return run_image(image, work, run.cmdline, disk, options=["--max-instructions", MAX_INSTRUCTIONS],
                     serial_in=run.serial_in or None, expect=EXIT_PROCESS_STATUS[run.exit_value], tag=tag)


@pytest.mark.parametrize("name", sorted(EXPECTED_INTERRUPTS))
def test_interrupt_guests_are_deterministic(name, images, tmp_path):
    """Two runs give the same bytes, the same instruction count and the interrupts the driver expects."""
    run = next(r for r in GUEST_RUNS if r.name == name)
    first, second = (run_with_stats(run, images[run.source], tmp_path, f"{name}-{i}") for i in range(2))
    for done in (first, second):
        assert done.ok, done.describe()
        assert vector_counts(done.stats["interrupts"]) == EXPECTED_INTERRUPTS[name]
    assert (first.output, first.status) == (second.output, second.status)
    assert first.instructions == second.instructions > 0


def test_pit_runs_at_1khz_of_virtual_time(images, tmp_path):
    """20 IRQ 0s at 1193182 / 1193 Hz span 20 ms of simulated time, at the default 100 M instructions/s."""
    run = next(r for r in GUEST_RUNS if r.name == "pit_ticks")
    stats_path = tmp_path / "pit.json"
    done, _ = run_on_previrt(run, images[run.source], tmp_path, "--stats", str(stats_path))
    assert done.returncode == 1
    seconds = json.loads(stats_path.read_text())["simulated_seconds"]
    assert 0.0195 <= seconds <= 0.0215


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
