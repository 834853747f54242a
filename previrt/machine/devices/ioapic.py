"""The I/O APIC of the PC (an 82093AA as QEMU models it), at 0xFEC00000: IOREGSEL at offset 0x00, IOWIN at 0x10.

Registers: 0x00 ID (bits 24-27), 0x01 version (0x00170020: version 0x20, 24 redirection entries, as QEMU reports),
0x02 arbitration, 0x10 + 2n / 0x11 + 2n the low / high word of redirection entry n: vector, delivery mode,
destination mode, delivery status (read-only, always idle here), polarity, remote IRR (read-only), trigger mode,
mask, destination (bits 56-63).  Every entry starts masked.

Inputs follow QEMU's ioapic.c, the differential reference: a rising edge on an edge-triggered input is latched
(also while the entry is masked, and delivered when it is unmasked); a level-triggered input delivers while it is
high and its remote IRR is clear, sets remote IRR, and the local APIC's EOI of that vector clears it (and delivers
again if the line is still high).  The polarity bit is kept and read back but, as on QEMU, does not invert the
input.  Fixed and lowest-priority entries go to the local APIC when their destination names it; ExtINT, NMI, SMI
and INIT entries are not modelled and deliver nothing.

The PC wires ISA IRQ n to input n, except IRQ 0 (the PIT), which is on input 2 (the MP table says so)."""

from __future__ import annotations

from previrt.machine.devices.lapic import DM_FIXED, DM_LOWEST, LocalApic

PINS = 24
VERSION = 0x00170020
RED_MASKED = 1 << 16
RED_LEVEL = 1 << 15
RED_REMOTE_IRR = 1 << 14
RED_LOGICAL = 1 << 11
RED_WRITABLE = 0xFF00_0000_0001_AFFF     # everything but delivery status and remote IRR


def gsi_of_isa_irq(irq: int) -> int:
    return 2 if irq == 0 else irq


class IoApic:
    def __init__(self, lapic: LocalApic):
        self.lapic = lapic
        self.id = 0
        self.select = 0
        self.redirection = [RED_MASKED] * PINS
        self.irr = 0                 # latched requests (edge) / asserted inputs (level)
        self.levels = 0              # input levels

    # --- inputs --------------------------------------------------------------------------------------------
    def set_irq(self, pin: int, level: bool) -> None:
        if not 0 <= pin < PINS:
            return
        bit = 1 << pin
        entry = self.redirection[pin]
        if entry & RED_LEVEL:
            self.irr = self.irr | bit if level else self.irr & ~bit
        elif level and not self.levels & bit:
            self.irr |= bit
        self.levels = self.levels | bit if level else self.levels & ~bit
        if self.irr & bit:
            self._service()

    def can_raise(self, pin: int) -> bool:
        """Whether a request on `pin` would reach the local APIC now (for a halted CPU's wake-up)."""
        return 0 <= pin < PINS and not self.redirection[pin] & RED_MASKED

    def eoi(self, vector: int) -> None:
        """The local APIC retired a level-triggered `vector`: clear the remote IRR of its entries."""
        for pin, entry in enumerate(self.redirection):
            if entry & RED_LEVEL and entry & RED_REMOTE_IRR and entry & 0xFF == vector:
                self.redirection[pin] = entry & ~RED_REMOTE_IRR
        self._service()

    def _service(self) -> None:
        pending = self.irr
        while pending:
            pin = (pending & -pending).bit_length() - 1
            pending &= pending - 1
            entry = self.redirection[pin]
            if entry & RED_MASKED:
                continue
            if entry & RED_LEVEL:
                if entry & RED_REMOTE_IRR:
                    continue
                self.redirection[pin] = entry | RED_REMOTE_IRR
            else:
                self.irr &= ~(1 << pin)
            self._deliver(entry)

    def _deliver(self, entry: int) -> None:
        mode = (entry >> 8) & 7
        if mode not in (DM_FIXED, DM_LOWEST):
            return
        if self.lapic.matches(entry >> 56, bool(entry & RED_LOGICAL)):
            self.lapic.accept(entry & 0xFF, bool(entry & RED_LEVEL))

    # --- registers -----------------------------------------------------------------------------------------
    def read(self, offset: int, size: int) -> int:
        if offset == 0x00:
            return self.select
        if offset == 0x10:
            return self._read_register(self.select) & ((1 << (8 * size)) - 1)
        return 0

    def write(self, offset: int, size: int, value: int) -> None:
        if offset == 0x00:
            self.select = value & 0xFF
        elif offset == 0x10 and size == 4:
            self._write_register(self.select, value & 0xFFFFFFFF)
        elif offset == 0x40 and size == 4:      # the EOI register of version 0x20
            self.eoi(value & 0xFF)

    def _read_register(self, index: int) -> int:
        if index == 0x00:
            return self.id << 24
        if index == 0x01:
            return VERSION
        if index == 0x02:
            return 0
        if 0x10 <= index < 0x10 + 2 * PINS:
            entry = self.redirection[(index - 0x10) >> 1]
            return entry >> 32 if index & 1 else entry & 0xFFFFFFFF
        return 0

    def _write_register(self, index: int, value: int) -> None:
        if index == 0x00:
            self.id = (value >> 24) & 0xF
        elif 0x10 <= index < 0x10 + 2 * PINS:
            pin = (index - 0x10) >> 1
            entry = self.redirection[pin]
            if index & 1:
                new = (entry & 0xFFFFFFFF) | (value << 32)
            else:
                new = (entry & ~0xFFFFFFFF) | value
            self.redirection[pin] = (new & RED_WRITABLE) | (entry & RED_REMOTE_IRR)
            if not new & RED_LEVEL:
                self.redirection[pin] &= ~RED_REMOTE_IRR
            if self.irr & (1 << pin):
                self._service()
