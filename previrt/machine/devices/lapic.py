"""The local APIC of the PC's one CPU, at 0xFEE00000 (MMIO; the device sees offsets into its 4 KiB page).

Registers as the Intel SDM vol. 3 chapter 10 (xAPIC) and QEMU's apic.c, the differential reference: ID, version
(0x00050014: version 0x14, six LVT entries), TPR, APR, PPR, EOI, LDR, DFR, SVR, ISR/TMR/IRR, ESR, ICR, the LVT
(timer, thermal, performance, LINT0, LINT1, error) and the timer (initial count, current count, divide
configuration).  Only aligned 32-bit accesses reach a register; narrower ones read 0 and are ignored, as on QEMU.

The CPU's view (the same interface the 8259A pair offers, see Board.intr/acknowledge): `pending()` — whether a fixed
interrupt in IRR outranks the processor priority (PPR, from TPR and the highest in-service vector, SDM 10.8.3.1) while
the APIC is software-enabled (SVR bit 8); `acknowledge()` — the vector moves from IRR to ISR; an EOI write retires the
highest in-service vector and, for a level-triggered one (TMR), tells the I/O APIC (`on_eoi`).  The 8259A pair reaches
the CPU through LINT0 while LINT0 is unmasked with delivery mode ExtINT (how the firmware leaves it: virtual wire).

The timer counts in virtual time: its bus clock runs at the machine clock's rate (one tick per guest instruction,
`Clock.hz` ticks per simulated second: 100 MHz by default), divided by the divide configuration register (1..128).
One-shot and periodic modes (the SDM's: a periodic timer reloads the initial count each time it reaches 0); the
TSC-deadline mode is not modelled (treated as one-shot).  Expiry is an event on the clock, never a poll.

The ICR accepts INIT, STARTUP and the other IPIs to CPUs that are not there and drops them (a one-CPU PC); a fixed IPI
to itself (its own ID, or the self / all-including-self shorthands) is accepted into IRR."""

from __future__ import annotations

from typing import Callable

from previrt.machine.clock import Clock, Event

LAPIC_TIMER_LINE = 0x100           # the clock-event tag of the timer (not an ISA line)

VERSION = 0x00050014
LVT_MASKED = 1 << 16
LVT_LEVEL = 1 << 15
LVT_TIMER_PERIODIC = 1 << 17
SVR_ENABLE = 1 << 8
DM_FIXED, DM_LOWEST, DM_SMI, DM_NMI, DM_INIT, DM_STARTUP, DM_EXTINT = 0, 1, 2, 4, 5, 6, 7
ESR_RECEIVE_ILLEGAL = 1 << 6
ESR_SEND_ILLEGAL = 1 << 5

# LVT registers by offset, with the bits each keeps (vector, delivery mode, polarity, trigger, mask, timer mode).
LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR = 0x320, 0x330, 0x340, 0x350, 0x360, 0x370
LVT_BITS = {LVT_TIMER: 0x300FF, LVT_THERMAL: 0x107FF, LVT_PERF: 0x107FF, LVT_LINT0: 0x1A7FF, LVT_LINT1: 0x1A7FF,
            LVT_ERROR: 0x100FF}
DIVIDE = {0b000: 2, 0b001: 4, 0b010: 8, 0b011: 16, 0b100: 32, 0b101: 64, 0b110: 128, 0b111: 1}


def _top(bits: int) -> int:
    """The highest set bit's number, -1 for none."""
    return bits.bit_length() - 1


class LocalApic:
    def __init__(self, clock: Clock, on_eoi: Callable[[int], None] | None = None, apic_id: int = 0):
        self.clock = clock
        self.on_eoi = on_eoi or (lambda vector: None)
        self.id = apic_id
        self.tpr = 0
        self.ldr = 0
        self.dfr = 0xFFFFFFFF
        self.svr = 0xFF
        self.irr = self.isr = self.tmr = 0
        self.esr = self.esr_pending = 0
        self.icr_low = self.icr_high = 0
        self.lvt = {reg: LVT_MASKED for reg in LVT_BITS}
        self.divide_config = 0
        self.initial_count = 0
        self._base_time = 0            # virtual time at which the count was _base_count
        self._base_count = 0
        self._timer: Event | None = None

    def firmware_setup(self) -> None:
        """What SeaBIOS leaves (read on QEMU 7.2): software-enabled with spurious vector 0xFF, LINT0 ExtINT and LINT1
        NMI (both level), and in the ICR the last STARTUP IPI it broadcast to find other CPUs."""
        self.svr = SVR_ENABLE | 0xFF
        self.lvt[LVT_LINT0] = 0x8700
        self.lvt[LVT_LINT1] = 0x8400
        self.icr_low = 0x000C4610

    # --- the CPU's side ------------------------------------------------------------------------------------
    @property
    def enabled(self) -> bool:
        return bool(self.svr & SVR_ENABLE)

    def ppr(self) -> int:
        isrv = max(_top(self.isr), 0)
        return self.tpr & 0xFF if (self.tpr >> 4) >= (isrv >> 4) else isrv & 0xF0

    def pending(self) -> bool:
        """A fixed interrupt the CPU would take now (IF permitting)."""
        if not self.irr or not self.svr & SVR_ENABLE:
            return False
        return (_top(self.irr) & 0xF0) > (self.ppr() & 0xF0)

    def acknowledge(self) -> int:
        """The interrupt-acknowledge cycle: the highest request moves to in-service; the spurious vector if none."""
        if not self.pending():
            return self.svr & 0xFF
        vector = _top(self.irr)
        self.irr &= ~(1 << vector)
        self.isr |= 1 << vector
        return vector

    def passes_extint(self) -> bool:
        """Whether the 8259A pair's INTR reaches the CPU: LINT0 unmasked in ExtINT mode (virtual wire)."""
        lint0 = self.lvt[LVT_LINT0]
        return not lint0 & LVT_MASKED and (lint0 >> 8) & 7 == DM_EXTINT

    def timer_can_raise(self) -> bool:
        return not self.lvt[LVT_TIMER] & LVT_MASKED and self.enabled

    # --- interrupt sources ---------------------------------------------------------------------------------
    def accept(self, vector: int, level: bool = False) -> None:
        """A fixed interrupt arrives (from the I/O APIC, the LVT or an IPI)."""
        vector &= 0xFF
        if vector < 16:
            self._error(ESR_RECEIVE_ILLEGAL)
            return
        bit = 1 << vector
        self.irr |= bit
        self.tmr = self.tmr | bit if level else self.tmr & ~bit

    def matches(self, dest: int, logical: bool) -> bool:
        """Whether an I/O APIC or IPI destination names this APIC (flat or cluster logical model, or physical ID)."""
        if not logical:
            return dest == 0xFF or dest == self.id
        logical_id = self.ldr >> 24
        if (self.dfr >> 28) == 0xF:              # flat model
            return bool(dest & logical_id)
        return (dest >> 4) == (logical_id >> 4) and bool(dest & logical_id & 0xF)   # cluster model

    def _local(self, reg: int) -> None:
        lvt = self.lvt[reg]
        if lvt & LVT_MASKED or not self.enabled:
            return
        if (lvt >> 8) & 7 == DM_FIXED:
            self.accept(lvt & 0xFF, False)

    def _error(self, bit: int) -> None:
        """Latch an error; the error LVT's interrupt follows unless its own vector is illegal (which latches once)."""
        self.esr_pending |= bit
        if self.lvt[LVT_ERROR] & 0xF0:
            self._local(LVT_ERROR)
        else:
            self.esr_pending |= ESR_SEND_ILLEGAL

    # --- the timer -----------------------------------------------------------------------------------------
    @property
    def divisor(self) -> int:
        return DIVIDE[(self.divide_config & 3) | ((self.divide_config >> 1) & 4)]

    @property
    def periodic(self) -> bool:
        return bool(self.lvt[LVT_TIMER] & LVT_TIMER_PERIODIC)

    def current_count(self) -> int:
        if self.initial_count == 0:
            return 0
        ticks = (self.clock.now - self._base_time) // self.divisor
        if ticks < self._base_count:
            return self._base_count - ticks
        return 0

    def _start(self, count: int, at: int | None = None) -> None:
        """Count down from `count` from virtual time `at` (now), and schedule its expiry."""
        Clock.cancel(self._timer)
        self._timer = None
        self._base_time, self._base_count = self.clock.now if at is None else at, count
        if count:
            self._timer = self.clock.schedule(self._base_time + count * self.divisor, self._expire, LAPIC_TIMER_LINE)

    def _expire(self) -> None:
        expired_at = self._timer.at
        self._timer = None
        self._local(LVT_TIMER)
        if self.periodic and self.initial_count:
            self._start(self.initial_count, expired_at)     # the next period from this expiry: no drift
        else:
            self._base_count = 0

    # --- registers -----------------------------------------------------------------------------------------
    def read(self, offset: int, size: int) -> int:
        if size != 4 or offset & 0xF:
            return 0
        return self._read_register(offset & 0xFF0) & 0xFFFFFFFF

    def _read_register(self, reg: int) -> int:
        if reg == 0x20:
            return self.id << 24
        if reg == 0x30:
            return VERSION
        if reg == 0x80:
            return self.tpr
        if reg == 0xA0:
            return self.ppr()
        if reg == 0xD0:
            return self.ldr
        if reg == 0xE0:
            return self.dfr
        if reg == 0xF0:
            return self.svr
        if 0x100 <= reg < 0x280:
            bank = (reg - 0x100) >> 7
            word = ((reg - 0x100) >> 4) & 7
            return ((self.isr, self.tmr, self.irr)[bank] >> (32 * word)) & 0xFFFFFFFF
        if reg == 0x280:
            return self.esr
        if reg == 0x300:
            return self.icr_low
        if reg == 0x310:
            return self.icr_high
        if reg in self.lvt:
            return self.lvt[reg]
        if reg == 0x380:
            return self.initial_count
        if reg == 0x390:
            return self.current_count()
        if reg == 0x3E0:
            return self.divide_config
        return 0

    def write(self, offset: int, size: int, value: int) -> None:
        if size != 4 or offset & 0xF:
            return
        reg = offset & 0xFF0
        if reg == 0x20:
            self.id = (value >> 24) & 0xFF
        elif reg == 0x80:
            self.tpr = value & 0xFF
        elif reg == 0xB0:
            self._eoi()
        elif reg == 0xD0:
            self.ldr = value & 0xFF000000
        elif reg == 0xE0:
            self.dfr = value | 0x0FFFFFFF
        elif reg == 0xF0:
            self.svr = value & 0x1FF
        elif reg == 0x280:
            self.esr, self.esr_pending = self.esr_pending, 0
        elif reg == 0x300:
            self.icr_low = value & 0x000CCFFF
            self._send_ipi()
        elif reg == 0x310:
            self.icr_high = value & 0xFF000000
        elif reg in self.lvt:
            self._write_lvt(reg, value)
        elif reg == 0x380:
            self.initial_count = value & 0xFFFFFFFF
            self._start(self.initial_count)
        elif reg == 0x3E0:
            remaining = self.current_count()
            self.divide_config = value & 0xB
            if remaining:
                self._start(remaining)

    def _write_lvt(self, reg: int, value: int) -> None:
        self.lvt[reg] = value & LVT_BITS[reg]
        if reg == LVT_TIMER and self._timer is None and self.initial_count and self.periodic:
            self._start(self.initial_count)      # a periodic timer whose one-shot count ran out starts again

    def _eoi(self) -> None:
        vector = _top(self.isr)
        if vector < 0:
            return
        bit = 1 << vector
        self.isr &= ~bit
        if self.tmr & bit:
            self.tmr &= ~bit
            self.on_eoi(vector)

    def _send_ipi(self) -> None:
        """Fixed IPIs that reach this CPU are accepted; everything else is for CPUs this PC does not have."""
        low = self.icr_low
        mode, vector, shorthand = (low >> 8) & 7, low & 0xFF, (low >> 18) & 3
        if mode not in (DM_FIXED, DM_LOWEST):
            return                               # INIT, STARTUP, NMI, SMI: no other CPU to receive them
        if shorthand in (1, 2) or (shorthand == 0 and self.matches(self.icr_high >> 24, bool(low & (1 << 11)))):
            if vector < 16:
                self._error(ESR_SEND_ILLEGAL)
            else:
                self.accept(vector, False)
