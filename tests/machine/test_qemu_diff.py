"""Differential test against QEMU: the acceptance image, every device guest and the CPU guests whose output does not
name loader-specific addresses give the same serial output and exit status on `qemu-system-i386` as on
`previrt run`. QEMU runs with its clock counting guest instructions (guestkit.run_on_qemu); owns the output
filter."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from previrt.guestrun import QEMU
from tests.machine import guestkit
from tests.machine.acceptance import GOLDEN, MAX_INSTRUCTIONS, SUCCESS, build_acceptance, make_acceptance_disk
from tests.machine.deviceguests import (EXIT_PROCESS_STATUS, GUEST_RUNS, build_device_guest, make_disk,
                                        previrt_args, serial_input_file)

# Lines that depend on how long QEMU's firmware ran before the guest: its RTC counts from power-on, previrt's from
# the guest's first instruction.
TIMING_LINES = {"cmos": ("rtc seconds:",)}

pytestmark = [pytest.mark.qemu,
              pytest.mark.skipif(shutil.which(QEMU) is None, reason=f"needs {QEMU}")]


def comparable(name: str, serial: bytes) -> str:
    """Serial text with the lines that legitimately differ between two PC models dropped."""
    skip = TIMING_LINES.get(name, ())
    lines = serial.decode(errors="replace").splitlines(keepends=True)
    return "".join(ln for ln in lines if not ln.startswith(skip))


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, Path]:
    build_dir = tmp_path_factory.mktemp("qemu-diff")
    built = {src: build_device_guest(build_dir, src) for src in sorted({r.source for r in GUEST_RUNS})}
    built["acceptance"] = build_acceptance(build_dir)
    return built


@pytest.mark.parametrize("run", GUEST_RUNS, ids=lambda r: r.name)
def test_device_guest_same_on_qemu_and_previrt(run, images, tmp_path):
    image = images[run.source]
    q_disk = make_disk(tmp_path / "qemu.img") if run.disk else None
    p_disk = make_disk(tmp_path / "previrt.img") if run.disk else None
    q_out, q_status = guestkit.run_on_qemu(image, run.cmdline, q_disk, run.serial_in)
    p_args = previrt_args(run, p_disk, serial_in=serial_input_file(run, tmp_path))
    p = guestkit.run_image(image, *p_args, timeout=60)
    assert comparable(run.name, q_out) == comparable(run.name, run.golden.read_bytes())
    assert q_status == EXIT_PROCESS_STATUS[run.exit_value]
    assert comparable(run.name, p.stdout) == comparable(run.name, q_out), p.stderr.decode()[-2000:]
    assert p.returncode == q_status
    if run.disk:
        assert p_disk.read_bytes() == q_disk.read_bytes()


def test_acceptance_same_on_qemu_and_previrt(images, tmp_path):
    q_disk = make_acceptance_disk(tmp_path / "qemu.img")
    p_disk = make_acceptance_disk(tmp_path / "previrt.img")
    q_out, q_status = guestkit.run_on_qemu(images["acceptance"], disk=q_disk)
    p = guestkit.run_image(images["acceptance"], "--disk", str(p_disk), "--max-instructions", MAX_INSTRUCTIONS,
                           timeout=120)
    assert q_out.decode() == GOLDEN.read_text()
    assert q_status == guestkit.exit_status(SUCCESS)
    assert p.stdout == q_out, p.stderr.decode()[-3000:]
    assert p.returncode == q_status
    assert p_disk.read_bytes() == q_disk.read_bytes()


# CPU guests whose output is the same on any Multiboot loader (boot_info prints the loader's own info struct,
# io_ring3 the info address in EBX; triple and stack_pf end in a shutdown, which QEMU reports as status 0).
CPU_GUESTS = ("exc_noswitch", "exc_ring3", "int_gates", "page_fault", "gp_storm", "df_np", "ring1", "tf_nt",
              "irq_ring3")


@pytest.mark.parametrize("name", CPU_GUESTS)
def test_cpu_guest_same_on_qemu_and_previrt(name, tmp_path):
    image = guestkit.build_image(tmp_path, [Path(__file__).parent / "guests" / "cpu" / f"{name}.S"], name=name)
    q_out, q_status = guestkit.run_on_qemu(image)
    p = guestkit.run_image(image, "--max-instructions", "50000000", timeout=60)
    assert q_status == guestkit.exit_status(0) and q_out
    assert p.stdout == q_out, p.stderr.decode()[-2000:]
    assert p.returncode == q_status
