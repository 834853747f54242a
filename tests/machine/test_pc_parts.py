"""The PC parts a third-party kernel expects: the firmware's data (BIOS data area, EBDA, MP tables), the local and I/O
APICs, the CGA text console, the 8042 keyboard controller and absent devices — the models on their own, the
conformance guest (tests/machine/guests/pc/conformance.c) on `previrt run` against its golden output and screen and
against QEMU, `--mp off`, `--screen`, `--keys`, and MMIO's exactness in virtual time."""

from __future__ import annotations

import json

import shutil
import struct
from pathlib import Path

import pytest

from previrt.guestrun import QEMU
from previrt.machine import memory, multiboot
from previrt.machine.clock import Clock
from previrt.machine.devices import bios
from previrt.machine.devices.cga import CgaConsole, text_screen
from previrt.machine.devices.i8042 import I8042
from previrt.machine.devices.ioapic import IoApic
from previrt.machine.devices.lapic import LocalApic
from previrt.machine.irq import IrqLine
from tests.machine import guestkit
from tests.machine.deviceguests import make_disk

PC_DIR = Path(__file__).parent / "guests" / "pc"
GOLDEN = PC_DIR / "conformance.expected"
GOLDEN_SCREEN = PC_DIR / "conformance.screen"
MAX_INSTRUCTIONS = "50000000"
needs_qemu = pytest.mark.skipif(shutil.which(QEMU) is None, reason=f"needs {QEMU}")


@pytest.fixture(scope="module")
def conformance(tmp_path_factory) -> Path:
    return guestkit.build_image(tmp_path_factory.mktemp("pc"), [PC_DIR / "conformance.c"], name="conformance",
                                crt0=True)


def run_conformance(image: Path, tmp_path: Path, *extra: str):
    disk = make_disk(tmp_path / "disk.img")
    return guestkit.run_image(image, "--disk", str(disk), "--max-instructions", MAX_INSTRUCTIONS, *extra)


# --- the firmware's data -------------------------------------------------------------------------------------

def test_mp_tables_checksums_and_entries():
    blobs = bios.firmware_memory()
    fp = blobs[bios.MP_FLOATING_POINTER]
    assert fp[:4] == b"_MP_" and sum(fp) & 0xFF == 0 and fp[8] == 1 and fp[9] == 4 and fp[11] == 0
    assert struct.unpack_from("<I", fp, 4)[0] == bios.MP_CONFIG_TABLE
    assert 0xF0000 <= bios.MP_FLOATING_POINTER < 0x100000 and bios.MP_FLOATING_POINTER % 16 == 0
    ct = blobs[bios.MP_CONFIG_TABLE]
    length, rev, _, _, _, _, _, count, lapic = struct.unpack_from("<HBB8s12sIHHI", ct, 4)
    assert ct[:4] == b"PCMP" and length == len(ct) and rev == 4 and sum(ct) & 0xFF == 0
    assert lapic == 0xFEE00000 and count == 1 + 1 + 1 + 11 + 2
    assert bios.MP_CONFIG_TABLE + len(ct) <= 0x100000


def test_bios_data_area_and_memory_map():
    bda = bios.bios_data_area()
    assert struct.unpack_from("<H", bda, 0)[0] == 0x3F8
    assert struct.unpack_from("<H", bda, 0x0E)[0] << 4 == memory.EBDA_BASE
    assert struct.unpack_from("<H", bda, 0x13)[0] == 639
    assert bios.MP_FLOATING_POINTER not in bios.firmware_memory(mp=False)
    info = multiboot.build_info(memory.layout(16 * memory.MiB), "")
    assert struct.unpack_from("<I", info[memory.BOOT_INFO_BASE], 4)[0] == 639


# --- the local APIC and the I/O APIC on their own -------------------------------------------------------------

def test_lapic_timer_counts_in_virtual_time():
    clock = Clock()
    apic = LocalApic(clock)
    apic.firmware_setup()
    apic.write(0x3E0, 4, 0x3)                 # divide by 16
    apic.write(0x320, 4, 0x20040)             # periodic, vector 0x40
    apic.write(0x380, 4, 100)
    clock.advance(16 * 10)
    assert apic.read(0x390, 4) == 90
    clock.advance(16 * 100)
    assert apic.pending() and apic.acknowledge() == 0x40
    assert apic.read(0x390, 4) == 100         # reloaded at the expiry: no drift
    clock.advance(16 * 200 + 16 * 50)
    assert apic.read(0x390, 4) == 50
    apic.write(0x320, 4, 0x40)                # one-shot from now on
    apic.write(0x380, 4, 10)
    clock.advance(clock.now + 16 * 10)
    assert apic.read(0x390, 4) == 0 and clock.next_deadline() is None


def test_lapic_priority_eoi_and_ioapic_level_remote_irr():
    apic = LocalApic(Clock())
    apic.firmware_setup()
    io = IoApic(apic)
    apic.on_eoi = io.eoi
    io.write(0, 4, 0x10 + 2 * 9)
    io.write(0x10, 4, 0x8000 | 0x39)          # level triggered, vector 0x39, unmasked
    io.set_irq(9, True)
    assert apic.pending() and apic.acknowledge() == 0x39
    assert io.redirection[9] & (1 << 14)      # remote IRR until the EOI
    apic.write(0x80, 4, 0x30)                 # TPR at the same class: nothing more is taken
    apic.write(0xB0, 4, 0)                    # EOI: the line is still high, so it is delivered again
    assert apic.irr & (1 << 0x39) and not apic.pending()
    apic.write(0x80, 4, 0x20)
    assert apic.pending() and apic.acknowledge() == 0x39
    io.set_irq(9, False)
    apic.write(0xB0, 4, 0)
    assert not apic.pending() and not io.redirection[9] & (1 << 14)
    assert apic.read(0x30, 2) == 0 and apic.read(0x30, 4) == 0x50014      # narrow accesses read 0, as on QEMU


def test_lapic_illegal_vectors_latch_errors_and_never_loop():
    apic = LocalApic(Clock())
    apic.firmware_setup()
    apic.write(0x370, 4, 0x05)                # error LVT unmasked with an illegal vector
    apic.write(0x300, 4, 0x40000 | 0x07)      # a self IPI with an illegal vector
    apic.write(0x280, 4, 0)
    assert apic.read(0x280, 4) == 0x20 and not apic.irr
    apic.write(0x370, 4, 0x33)
    IoApic(apic).lapic.accept(0x02)           # received illegal vector: the error interrupt
    apic.write(0x280, 4, 0)
    assert apic.read(0x280, 4) == 0x40 and apic.acknowledge() == 0x33


def test_ioapic_masked_edge_is_latched_until_unmasked():
    apic = LocalApic(Clock())
    apic.firmware_setup()
    io = IoApic(apic)
    io.write(0, 4, 0x10 + 2 * 4)
    io.write(0x10, 4, 0x10000 | 0x44)
    io.set_irq(4, True)
    io.set_irq(4, False)
    assert not apic.irr
    io.write(0x10, 4, 0x44)
    assert apic.acknowledge() == 0x44


# --- keyboard controller and CGA on their own -----------------------------------------------------------------

def test_i8042_commands_and_keys_in_virtual_time():
    clock = Clock()
    levels = []
    kbd = I8042(clock, IrqLine(lambda _line, level: levels.append(level), 1), keys=b"\x1e\x9e")
    assert kbd.read_port(0x64) == 0x1C
    kbd.write_port(0x64, 0x20)
    assert kbd.read_port(0x64) == 0x1D and kbd.read_port(0x60) == 0x61
    kbd.write_port(0x64, 0xAA)
    assert kbd.read_port(0x60) == 0x55 and kbd.read_port(0x60) == 0x55      # nothing new: the last byte again
    kbd.write_port(0x60, 0xF2)
    assert [kbd.read_port(0x60) for _ in range(3)] == [0xFA, 0xAB, 0x41]
    assert clock.next_deadline() == clock.hz * 10 // 1000
    clock.advance(clock.next_deadline())
    assert kbd.read_port(0x64) & 1 and levels[-1] is True
    assert kbd.read_port(0x60) == 0x1E and levels[-1] is False
    clock.advance(clock.next_deadline())
    assert kbd.read_port(0x60) == 0x9E and clock.next_deadline() is None


def test_cga_cursor_and_screen_text():
    cga = CgaConsole()
    assert cga.read(0x3CC - 0x3C0, 1) == 0x67 and cga.read(0x3DA - 0x3C0, 1) == 0x09
    for index, value in ((0x0E, 0x01), (0x0F, 0x40)):
        cga.write(0x14, 1, index)
        cga.write(0x15, 1, value)
    assert cga.cursor == 0x140
    cells = bytearray(4000)
    cells[0:4] = b"h\x07i\x07"
    cells[160:162] = b"\xdb\x07"
    text = text_screen(lambda addr, size: bytes(cells[:size]))
    assert text.splitlines()[:3] == ["hi", "\u2588", ""] and text.count("\n") == 25


# --- the conformance guest --------------------------------------------------------------------------------------

def test_conformance_guest_on_previrt(conformance, tmp_path):
    screen = tmp_path / "screen.txt"
    done = run_conformance(conformance, tmp_path, "--screen", str(screen))
    assert done.returncode == guestkit.exit_status(0), done.stderr.decode()[-2000:]
    assert done.stdout == GOLDEN.read_bytes()
    assert screen.read_text() == GOLDEN_SCREEN.read_text()
    again = run_conformance(conformance, tmp_path, "--screen", "-")
    assert again.stdout == GOLDEN.read_bytes() + GOLDEN_SCREEN.read_bytes()


@pytest.mark.qemu
@needs_qemu
def test_conformance_guest_same_on_qemu(conformance, tmp_path):
    disk = make_disk(tmp_path / "qemu.img")
    out, status = guestkit.run_on_qemu(conformance, disk=disk)
    assert out == GOLDEN.read_bytes()
    assert status == guestkit.exit_status(0)


def test_mp_off_hides_the_tables(conformance, tmp_path):
    done = run_conformance(conformance, tmp_path, "--mp", "off")
    assert b"FAIL mp floating pointer found" in done.stdout
    assert b"bda: com1 000003f8 base memory 639 KiB" in done.stdout
    assert done.returncode == guestkit.exit_status(1)


@pytest.mark.parametrize("target", ["direct", "shadow"])
def test_conformance_guest_on_a_hypervisor(conformance, tmp_path, target):
    """The same output and screen under both hypervisors (full virtualization): the APICs are emulated devices there,
    every access a trapped exit into the same models; the text buffer is guest memory."""
    screen, stats = tmp_path / "screen.txt", tmp_path / "stats.json"
    done = run_conformance(conformance, tmp_path, "--target", target, "--screen", str(screen), "--stats", str(stats))
    assert done.returncode == guestkit.exit_status(0), done.stderr.decode()[-2000:]
    assert done.stdout == GOLDEN.read_bytes()
    assert screen.read_text() == GOLDEN_SCREEN.read_text()
    report = json.loads(stats.read_text())
    assert report["mode"] == "full"
    assert report["exits"]["mmio:lapic"] > 0 and report["exits"]["mmio:ioapic"] > 0


@pytest.mark.xfail(strict=True, reason="known defect of the build pass: a padded sti site's one-instruction interrupt "
                   "shadow covers its padding, not the hlt after it, so `sti; hlt` is no longer atomic; an interrupt "
                   "taken in between leaves the hlt waiting for the next one, and this guest waits for one-time "
                   "interrupts (the guest kernel's idle loop only waits for its next tick)")
def test_conformance_guest_built_with_previrt_cc_on_bare(tmp_path):
    image = guestkit.build_image(tmp_path, [PC_DIR / "conformance.c"], name="conformance-previrt", crt0=True,
                                 cc=guestkit.previrt_cc())
    done = run_conformance(image, tmp_path)
    assert done.returncode == guestkit.exit_status(0)
    assert done.stdout == GOLDEN.read_bytes()


# --- keys and MMIO exactness ------------------------------------------------------------------------------------

KEYS_GUEST = """#include "guestkit.h"
    .text
    .globl _start
_start:
    movl $3, %ecx
1:  inb $0x64, %al
    testb $1, %al
    jz 1b
    inb $0x60, %al
    movzbl %al, %eax
    puthex %eax
    decl %ecx
    jnz 1b
    exit 0
"""


def test_keys_reach_a_polling_guest(tmp_path):
    keys = tmp_path / "keys.bin"
    keys.write_bytes(b"\x1e\x9e\x1c")
    img = guestkit.build_asm(tmp_path, KEYS_GUEST, name="keys")
    done = guestkit.run_image(img, "--keys", str(keys), "--max-instructions", "10000000")
    assert done.returncode == guestkit.exit_status(0), done.stderr
    assert done.stdout == b"0000001e0000009e0000001c"


MMIO_COUNT_GUEST = """#include "guestkit.h"
    .text
    .globl _start
_start:
    movl $0xB, 0xFEE003E0          /* divide by 1: one tick per instruction */
    movl $0x10000, 0xFEE00320      /* masked */
    movl $1000000, 0xFEE00380
    movl 0xFEE00390, %ebx
    nop
    nop
    nop
    movl 0xFEE00390, %ecx
    subl %ecx, %ebx
    puthex %ebx
    movl $1000, %esi
2:  movl SOURCE, %eax
    decl %esi
    jnz 2b
    exit 0
"""


def test_mmio_accesses_keep_instruction_counts_exact(tmp_path):
    """The engine's instruction counter, which virtual time rests on, counts an MMIO access as one instruction
    (read mid-slice by the device, and in the run's total): the timer read 4 instructions apart differs by 4, and
    1000 loads from the local APIC cost the same instructions as 1000 loads from RAM."""
    import json

    counts = []
    for source in ("0xFEE00390", "0x9000"):
        (tmp_path / source).mkdir()
        img = guestkit.build_asm(tmp_path / source, MMIO_COUNT_GUEST.replace("SOURCE", source), name="mmio")
        stats = tmp_path / source / "stats.json"
        done = guestkit.run_image(img, "--stats", str(stats))
        assert done.stdout == b"00000004"
        counts.append(json.loads(stats.read_text())["instructions"])
    assert counts[0] == counts[1] > 3000


# --- absent devices and the text-mode ports, against QEMU ------------------------------------------------------

PORTS_GOLDEN = PC_DIR / "ports.expected"     # recorded on QEMU 7.2


@pytest.fixture(scope="module")
def ports_guest(tmp_path_factory) -> Path:
    return guestkit.build_image(tmp_path_factory.mktemp("ports"), [PC_DIR / "ports.c"], name="ports", crt0=True)


def test_unassigned_and_text_mode_ports_on_previrt(ports_guest):
    done = guestkit.run_image(ports_guest, "--max-instructions", MAX_INSTRUCTIONS)
    assert done.returncode == guestkit.exit_status(0), done.stderr
    assert done.stdout == PORTS_GOLDEN.read_bytes()


@pytest.mark.qemu
@needs_qemu
def test_unassigned_and_text_mode_ports_same_on_qemu(ports_guest):
    out, status = guestkit.run_on_qemu(ports_guest)
    assert (out, status) == (PORTS_GOLDEN.read_bytes(), guestkit.exit_status(0))
