"""The bare PC's board: the table of standard devices, their port windows and IRQs, port dispatch, the MMIO devices
(local APIC, I/O APIC) and the CPU's view of the interrupt controllers.

A new device is a class in `devices/` plus one row in `BOARD` (port bus) or `MMIO_BOARD`; `build_board` wires every
row.  An ISA interrupt line goes to the 8259A pair and to the I/O APIC (ISA IRQ 0 on its input 2); the CPU takes an
interrupt from the local APIC first, then from the 8259A pair through LINT0 (ExtINT), as QEMU's PC does."""

from __future__ import annotations

import collections
import logging
from dataclasses import dataclass
from typing import BinaryIO, Callable

from previrt.machine.bus import Bus, Device
from previrt.machine.clock import Clock
from previrt.machine.devices import bios
from previrt.machine.devices.ata import AtaChannel, AtaDrive
from previrt.machine.devices.cga import CgaConsole
from previrt.machine.devices.cmos import Cmos
from previrt.machine.devices.debugexit import DebugExit, PostCode
from previrt.machine.devices.i8042 import I8042
from previrt.machine.devices.ioapic import IoApic, gsi_of_isa_irq
from previrt.machine.devices.lapic import LAPIC_TIMER_LINE, LocalApic
from previrt.machine.devices.pic8259 import PicPair
from previrt.machine.devices.pit8254 import Pit
from previrt.machine.devices.uart16550 import Uart16550
from previrt.machine.irq import IrqLine

log = logging.getLogger("previrt.machine.io")

ALL_ONES = {1: 0xFF, 2: 0xFFFF, 4: 0xFFFFFFFF}


@dataclass
class BoardConfig:
    mem_bytes: int                       # guest RAM size (for the CMOS memory-size bytes)
    serial_out: BinaryIO                 # UART TX sink
    serial_in: BinaryIO | None = None    # UART RX source, or None
    disk: str | None = None              # primary master image path
    disk1: str | None = None             # primary slave image path
    rtc: str = "fixed"                   # "fixed" (reproducible, default) or "host"
    trace_io: bool = False
    keys: bytes = b""                    # scancodes (set 1) for the keyboard (--keys)


Factory = Callable[["Board", "IrqLine | None"], Device]


@dataclass(frozen=True)
class Slot:
    """One row of the board table: a device window on the port bus and the IRQ its device drives."""

    name: str
    factory: Factory      # builds the device (or returns another window of one already built)
    base: int
    length: int
    irq: int | None = None


def _pic_master(board: Board, _irq: IrqLine | None) -> Device:
    board.pic = PicPair()
    return board.pic.master


def _pic_slave(board: Board, _irq: IrqLine | None) -> Device:
    return board.pic.slave


def _pit(board: Board, irq: IrqLine | None) -> Device:
    return Pit(board.clock, irq)


def _port61(board: Board, _irq: IrqLine | None) -> Device:
    return board.devices["pit"].port61


def _cmos(board: Board, irq: IrqLine | None) -> Device:
    disks = (board.config.disk is not None, board.config.disk1 is not None)
    return Cmos(board.clock, board.config.mem_bytes, rtc=board.config.rtc, irq=irq, disks=disks)


def _uart(board: Board, irq: IrqLine | None) -> Device:
    return Uart16550(board.clock, irq, board.config.serial_out, board.config.serial_in)


def _ata(board: Board, irq: IrqLine | None) -> Device:
    drives = []
    try:
        for index, path in enumerate((board.config.disk, board.config.disk1)):
            drives.append(AtaDrive.open(path, index) if path else None)
    except BaseException:
        for drive in drives:
            if drive is not None:
                drive.close()
        raise
    return AtaChannel(board.clock, irq, *drives)


def _ata_control(board: Board, _irq: IrqLine | None) -> Device:
    return board.devices["ata"].control


def _keyboard(board: Board, irq: IrqLine | None) -> Device:
    board.keyboard = I8042(board.clock, irq, board.config.keys)
    return board.keyboard.data


def _keyboard_status(board: Board, _irq: IrqLine | None) -> Device:
    return board.keyboard.status


def _cga(board: Board, _irq: IrqLine | None) -> Device:
    return CgaConsole()


def _debug_exit(board: Board, _irq: IrqLine | None) -> Device:
    return DebugExit(board.set_exit_status)


def _post_code(board: Board, _irq: IrqLine | None) -> Device:
    return PostCode()


# The board table. Order matters only in that a row may use devices of earlier rows (the PIC first).
BOARD: tuple[Slot, ...] = (
    Slot("pic-master", _pic_master, 0x20, 2),
    Slot("pic-slave", _pic_slave, 0xA0, 2),
    Slot("pit", _pit, 0x40, 4, irq=0),
    Slot("kbd", _keyboard, 0x60, 1, irq=1),
    Slot("port61", _port61, 0x61, 1),
    Slot("kbd-ctl", _keyboard_status, 0x64, 1),
    Slot("cmos", _cmos, 0x70, 2, irq=8),
    Slot("post", _post_code, 0x80, 1),
    Slot("debug-exit", _debug_exit, 0xF4, 4),
    Slot("ata", _ata, 0x1F0, 8, irq=14),
    Slot("vga", _cga, 0x3C0, 0x20),
    Slot("ata-ctl", _ata_control, 0x3F6, 1),
    Slot("com1", _uart, 0x3F8, 8, irq=4),
)

class OpenBus:
    """A window of the ISA memory space with no memory behind it: reads give `value` in every byte, writes are
    dropped.  The VGA window outside text mode's (0xA0000-0xB7FFF: a VGA in mode 3 decodes only 0xB8000-0xBFFFF and
    QEMU reads 0xFF there) and the option-ROM area (0xC0000-0xDFFFF: this PC has no option ROM)."""

    def __init__(self, value: int):
        self.value = value

    def read(self, offset: int, size: int) -> int:
        return int.from_bytes(bytes([self.value]) * size, "little")

    def write(self, offset: int, size: int, value: int) -> None:
        pass


# The MMIO rows: name, base, length, the device (an attribute of the board, built with it).
MMIO_BOARD: tuple[tuple[str, int, int, str], ...] = (
    ("vga-window", 0xA0000, 0x18000, "vga_window"),
    ("option-roms", 0xC0000, 0x20000, "option_roms"),
    ("ioapic", bios.IOAPIC_BASE, 0x1000, "ioapic"),
    ("lapic", bios.LAPIC_BASE, 0x1000, "lapic"),
)

# What the PC's firmware leaves behind when it hands over to a Multiboot loader, as measured on QEMU 7.2 with
# SeaBIOS: the 8259A pair initialized at vectors 0x08 / 0x70 (cascade on IR2) with IMR 0xB8 / 0x8E. (The
# PIT's channel 0 already runs in mode 3 at 18.2 Hz from its own power-on state.) Not counted as guest I/O.
FIRMWARE_PORT_WRITES: tuple[tuple[int, int], ...] = (
    (0x20, 0x11), (0xA0, 0x11),      # ICW1: edge triggered, cascade, ICW4 follows
    (0x21, 0x08), (0xA1, 0x70),      # ICW2: vector bases
    (0x21, 0x04), (0xA1, 0x02),      # ICW3: slave on IR2, slave identity 2
    (0x21, 0x01), (0xA1, 0x01),      # ICW4: 8086 mode
    (0x21, 0xB8), (0xA1, 0x8E),      # OCW1: the masks SeaBIOS leaves
)


class Board:
    """The devices of one machine on one port bus, sharing one Clock with the run loop."""

    def __init__(self, clock: Clock, config: BoardConfig):
        self.clock = clock
        self.config = config
        self.ports = Bus("port")
        self.mmio = Bus("mmio")
        self.pic: PicPair | None = None
        self.lapic = LocalApic(clock)
        self.ioapic = IoApic(self.lapic)
        self.lapic.on_eoi = self.ioapic.eoi
        self.vga_window = OpenBus(0xFF)
        self.option_roms = OpenBus(0x00)
        self.keyboard: I8042 | None = None
        self.devices: dict[str, Device] = {}
        self.exit_status: int | None = None
        self.io_counts: dict[str, int] = {}
        self.unclaimed: collections.Counter = collections.Counter()

    def install(self, slot: Slot) -> None:
        """Build one row's device and attach it; the bus rejects a window overlapping another."""
        irq = IrqLine(self.set_irq, slot.irq) if slot.irq is not None and self.pic else None
        device = slot.factory(self, irq)
        self.ports.attach(slot.base, slot.length, device, slot.name)
        self.devices[slot.name] = device
        self.io_counts.setdefault(slot.name, 0)

    def set_irq(self, line: int, level: bool) -> None:
        """An ISA interrupt line: to the 8259A pair and to the I/O APIC."""
        self.pic.set_irq(line, level)
        self.ioapic.set_irq(gsi_of_isa_irq(line), level)

    def set_exit_status(self, value: int) -> None:
        self.exit_status = value

    # -- port I/O, as the CPU's in/out instructions see it ------------------------------------------

    def port_read(self, port: int, size: int) -> int:
        hit = self.ports.find(port)
        if hit is None:
            return self._unclaimed(port, size, "r")
        mapping, offset = hit
        if size > 1 and not _takes_wide(mapping.device, offset):
            return self._split_read(port, size)
        self.io_counts[mapping.name] += 1
        return mapping.device.read(offset, size) & ALL_ONES[size]

    def port_write(self, port: int, size: int, value: int) -> None:
        value &= ALL_ONES[size]
        hit = self.ports.find(port)
        if hit is None:
            self._unclaimed(port, size, "w", value)
            return
        mapping, offset = hit
        if size > 1 and not _takes_wide(mapping.device, offset):
            self._split_write(port, size, value)
            return
        self.io_counts[mapping.name] += 1
        mapping.device.write(offset, size, value)

    def _split_read(self, port: int, size: int) -> int:
        """A wide access to a byte-wide ISA device: the bus cycles it into byte accesses, low first."""
        return sum(self.port_read((port + i) & 0xFFFF, 1) << (8 * i) for i in range(size))

    def _split_write(self, port: int, size: int, value: int) -> None:
        for i in range(size):
            self.port_write((port + i) & 0xFFFF, 1, (value >> (8 * i)) & 0xFF)

    def _unclaimed(self, port: int, size: int, kind: str, value: int | None = None) -> int:
        self.unclaimed[(port, kind)] += 1
        if self.config.trace_io:
            shown = "" if value is None else f" value {value:#x}"
            log.warning("unclaimed port %s %#06x size %d%s at instruction %d",
                        "read" if kind == "r" else "write", port, size, shown, self.clock.now)
        return ALL_ONES[size]

    # -- the CPU's view of the interrupt controller --------------------------------------------------

    def intr(self) -> bool:
        """The CPU's INTR: a local APIC interrupt above the processor priority, or the 8259A pair's request through
        LINT0 in ExtINT mode."""
        return self.lapic.pending() or (self.pic.intr() and self.lapic.passes_extint())

    def acknowledge(self) -> int:
        """The interrupt-acknowledge cycle: the local APIC's vector if it has one, else the 8259A pair's."""
        if self.lapic.pending():
            return self.lapic.acknowledge()
        return self.pic.acknowledge()

    def can_wake(self) -> bool:
        """Whether some pending timer or device event could still raise an interrupt request the interrupt
        controllers pass on (the masks cannot change while the CPU is halted: only guest code writes them)."""
        return any(self._can_raise(line) for line in self.clock.pending_lines())

    def _can_raise(self, line: int | None) -> bool:
        if line is None:
            return True
        if line == LAPIC_TIMER_LINE:
            return self.lapic.timer_can_raise()
        return ((self.pic.can_raise(line) and self.lapic.passes_extint())
                or (line >= 0 and self.ioapic.can_raise(gsi_of_isa_irq(line)) and self.lapic.enabled))

    def close(self) -> None:
        for device in self.devices.values():
            close = getattr(device, "close", None)
            if close is not None:
                close()


def _takes_wide(device: Device, offset: int) -> bool:
    """Whether the device decodes 16/32-bit accesses at `offset` itself (the ATA data port does)."""
    wide = getattr(device, "WIDE_OFFSETS", None)
    return wide is not None and offset in wide


def build_board(clock: Clock, config: BoardConfig, table: tuple[Slot, ...] = BOARD) -> Board:
    board = Board(clock, config)
    board.lapic.firmware_setup()
    for name, base, length, attribute in MMIO_BOARD:
        board.mmio.attach(base, length, getattr(board, attribute), name)
    for slot in table:
        board.install(slot)
    for port, value in FIRMWARE_PORT_WRITES:
        board.port_write(port, 1, value)
    board.io_counts = dict.fromkeys(board.io_counts, 0)
    return board
