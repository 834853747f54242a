"""The MC146818 CMOS RTC (index 0x70 with the NMI bit, data 0x71, IRQ 8) and the PC's CMOS memory bytes.

Time of day runs on virtual time from a fixed start (reproducible) or the host's clock; semantics follow QEMU."""

from __future__ import annotations

import calendar
import time
from datetime import datetime, timezone

from previrt.machine.clock import Clock, Event
from previrt.machine.irq import IrqLine, line_of

# register indexes (MC146818 datasheet / PC CMOS map)
SECONDS, SECONDS_ALARM, MINUTES, MINUTES_ALARM, HOURS, HOURS_ALARM = 0x00, 0x01, 0x02, 0x03, 0x04, 0x05
DAY_OF_WEEK, DAY_OF_MONTH, MONTH, YEAR = 0x06, 0x07, 0x08, 0x09
REG_A, REG_B, REG_C, REG_D = 0x0A, 0x0B, 0x0C, 0x0D
BASE_MEM_LO, BASE_MEM_HI = 0x15, 0x16
EXT_MEM_LO, EXT_MEM_HI = 0x17, 0x18
EXT_MEM2_LO, EXT_MEM2_HI = 0x30, 0x31
EQUIPMENT, HARD_DISK_TYPES, HD0_EXT_TYPE, HD1_EXT_TYPE = 0x14, 0x12, 0x19, 0x1A
CENTURY = 0x32
HIGH_MEM_LO, HIGH_MEM_HI = 0x34, 0x35
TIME_REGS = (SECONDS, MINUTES, HOURS, DAY_OF_WEEK, DAY_OF_MONTH, MONTH, YEAR, CENTURY)
ALARM_REGS = ((SECONDS_ALARM, SECONDS), (MINUTES_ALARM, MINUTES), (HOURS_ALARM, HOURS))

REG_A_UIP = 0x80
REG_A_DV_NORMAL = 0x20           # divider 010: 32.768 kHz time base, running
REG_B_SET, REG_B_PIE, REG_B_AIE, REG_B_UIE = 0x80, 0x40, 0x20, 0x10
REG_B_DM_BINARY, REG_B_24H = 0x04, 0x02
REG_C_IRQF, REG_C_PF, REG_C_AF, REG_C_UF = 0x80, 0x40, 0x20, 0x10
REG_D_VRT = 0x80
ALARM_DONT_CARE = 0xC0           # alarm bytes 0xC0..0xFF match any value

FIXED_START = calendar.timegm((2000, 1, 1, 0, 0, 0))  # Saturday 2000-01-01 00:00:00 UTC
UIP_HOLD_US = 244                # UIP is set this long before each update (datasheet: 244 us)
RTC_BASE_HZ = 32768


def memory_size_bytes(mem_bytes: int) -> dict[int, int]:
    """The BIOS memory-size bytes, as QEMU's pc.c fills them (KiB below 640K, above 1M; 64K above 16M)."""
    base = min(mem_bytes // 1024, 640)
    extended = min(max(mem_bytes - (1 << 20), 0) // 1024, 0xFFFF)
    high = min(max(mem_bytes - (16 << 20), 0) // (64 << 10), 0xFFFF)
    out = {}
    for (lo, hi), value in (((BASE_MEM_LO, BASE_MEM_HI), base), ((EXT_MEM_LO, EXT_MEM_HI), extended),
                            ((EXT_MEM2_LO, EXT_MEM2_HI), extended), ((HIGH_MEM_LO, HIGH_MEM_HI), high)):
        out[lo], out[hi] = value & 0xFF, value >> 8
    return out


def equipment_bytes(disks: tuple[bool, bool]) -> dict[int, int]:
    """Equipment and hard-disk type bytes as QEMU fills them: a math coprocessor, no floppy; an ATA disk
    shows as type 0xF with extended type 47 ("user defined") in 0x19 / 0x1A."""
    out = {EQUIPMENT: 0x02, HARD_DISK_TYPES: (0xF0 if disks[0] else 0) | (0x0F if disks[1] else 0)}
    for present, reg in zip(disks, (HD0_EXT_TYPE, HD1_EXT_TYPE)):
        out[reg] = 47 if present else 0
    return out


def to_bcd(value: int) -> int:
    return (value // 10) << 4 | value % 10


def from_bcd(value: int) -> int:
    return (value >> 4) * 10 + (value & 0x0F)


class Cmos:
    """128 bytes of CMOS; registers 0x00-0x0D are the RTC. The time is seconds since the epoch at virtual
    time `base_at`, advancing one second per clock.hz instructions; SET in status B freezes it for writing.

    UIP is a function of virtual time, so reads are reproducible. Update-ended and periodic flags in
    status C are computed from virtual time when C is read; their interrupts (IRQ 8) and the alarm are
    Clock events, scheduled only while enabled in status B."""

    def __init__(self, clock: Clock, mem_bytes: int, rtc: str = "fixed", irq: IrqLine | None = None,
                 disks: tuple[bool, bool] = (False, False)):
        if rtc not in ("fixed", "host"):
            raise ValueError(f"CMOS RTC: time source must be 'fixed' or 'host', not {rtc!r}")
        self.clock = clock
        self.irq = irq
        self.index = 0
        self.nmi_disabled = False
        self.ram = bytearray(128)
        for reg, value in {**memory_size_bytes(mem_bytes), **equipment_bytes(disks)}.items():
            self.ram[reg] = value
        self.ram[REG_A] = REG_A_DV_NORMAL | 0x06
        self.ram[REG_B] = REG_B_24H
        self.base_epoch = FIXED_START if rtc == "fixed" else int(time.time())
        self.base_at = clock.now
        self.frozen: int | None = None   # epoch seconds held while SET
        self.flags_read_at = clock.now   # when status C was last read
        self.flags = 0                   # flags raised by interrupt events since then
        self._periodic: Event | None = None
        self._update: Event | None = None

    # -- time --------------------------------------------------------------------------------------

    def epoch(self) -> int:
        if self.frozen is not None:
            return self.frozen
        return self.base_epoch + (self.clock.now - self.base_at) // self.clock.hz

    def _next_update_at(self, after: int) -> int:
        """The virtual time of the first seconds update strictly after `after`."""
        elapsed = after - self.base_at
        return self.base_at + (elapsed // self.clock.hz + 1) * self.clock.hz

    def update_in_progress(self) -> bool:
        if self.frozen is not None or self.ram[REG_A] & 0x70 != REG_A_DV_NORMAL:
            return False
        hold = self.clock.hz * UIP_HOLD_US // 1_000_000
        return self._next_update_at(self.clock.now) - self.clock.now <= hold

    def _encode(self, reg: int, tm: datetime) -> int:
        b = self.ram[REG_B]
        if reg == HOURS:
            return self._encode_hours(tm.hour)
        value = {SECONDS: tm.second, MINUTES: tm.minute, DAY_OF_WEEK: (tm.weekday() + 1) % 7 + 1,
                 DAY_OF_MONTH: tm.day, MONTH: tm.month, YEAR: tm.year % 100, CENTURY: tm.year // 100}[reg]
        return value if b & REG_B_DM_BINARY else to_bcd(value)

    def _encode_hours(self, hour: int) -> int:
        b = self.ram[REG_B]
        pm = 0
        if not b & REG_B_24H:
            pm = 0x80 if hour >= 12 else 0
            hour = hour % 12 or 12
        return (hour if b & REG_B_DM_BINARY else to_bcd(hour)) | pm

    def _decode(self, value: int) -> int:
        return value if self.ram[REG_B] & REG_B_DM_BINARY else from_bcd(value)

    def _decode_hours(self, value: int) -> int:
        hour = self._decode(value & 0x7F)
        if not self.ram[REG_B] & REG_B_24H:
            hour = hour % 12 + (12 if value & 0x80 else 0)
        return hour

    def _now_tm(self) -> datetime:
        return datetime.fromtimestamp(self.epoch(), tz=timezone.utc)

    def _write_time(self, reg: int, value: int) -> None:
        """Set one time field; the others keep their current values, the sub-second phase is kept."""
        tm = self._now_tm()
        fields = dict(year=tm.year, month=tm.month, day=tm.day, hour=tm.hour, minute=tm.minute,
                      second=tm.second)
        if reg == HOURS:
            fields["hour"] = self._decode_hours(value)
        elif reg == YEAR:
            fields["year"] = tm.year // 100 * 100 + self._decode(value)
        elif reg == CENTURY:
            fields["year"] = self._decode(value) * 100 + tm.year % 100
        elif reg != DAY_OF_WEEK:   # the day of the week follows from the date
            key = {SECONDS: "second", MINUTES: "minute", DAY_OF_MONTH: "day", MONTH: "month"}[reg]
            fields[key] = self._decode(value)
        try:
            epoch = calendar.timegm(datetime(**fields).timetuple())
        except ValueError:
            return                   # an impossible date (say, day 31 of month 2): the write is dropped
        self._set_epoch(epoch)

    def _set_epoch(self, epoch: int) -> None:
        if self.frozen is not None:
            self.frozen = epoch
            return
        phase = (self.clock.now - self.base_at) % self.clock.hz
        self.base_epoch, self.base_at = epoch, self.clock.now - phase

    # -- ports -------------------------------------------------------------------------------------

    def read(self, offset: int, size: int) -> int:
        if offset == 0:
            return 0xFF                  # the index register is write-only
        return self.read_register(self.index)

    def write(self, offset: int, size: int, value: int) -> None:
        value &= 0xFF
        if offset == 0:
            self.index = value & 0x7F
            self.nmi_disabled = bool(value & 0x80)
        else:
            self.write_register(self.index, value)

    def read_register(self, reg: int) -> int:
        if reg in TIME_REGS:
            return self._encode(reg, self._now_tm())
        if reg == REG_A:
            return self.ram[REG_A] & ~REG_A_UIP | (REG_A_UIP if self.update_in_progress() else 0)
        if reg == REG_C:
            return self._read_c()
        if reg == REG_D:
            return REG_D_VRT
        return self.ram[reg]

    def write_register(self, reg: int, value: int) -> None:
        if reg in TIME_REGS:
            self._write_time(reg, value)
        elif reg == REG_A:
            self.ram[REG_A] = value & ~REG_A_UIP
            self._reschedule()
        elif reg == REG_B:
            self._write_b(value)
        elif reg in (REG_C, REG_D):
            pass                         # read-only
        else:
            self.ram[reg] = value

    def _write_b(self, value: int) -> None:
        if value & REG_B_SET:
            if self.frozen is None:
                self.frozen = self.epoch()
            value &= ~REG_B_UIE          # SET clears UIE (datasheet)
        elif self.frozen is not None:
            epoch, self.frozen = self.frozen, None
            self.base_epoch, self.base_at = epoch, self.clock.now
        self.ram[REG_B] = value
        self._reschedule()

    # -- status C and IRQ 8 ------------------------------------------------------------------------

    def periodic_interval(self) -> int | None:
        """Virtual instructions between periodic-interrupt flags, from the rate select of status A."""
        rate = self.ram[REG_A] & 0x0F
        if rate == 0 or self.ram[REG_A] & 0x70 != REG_A_DV_NORMAL:
            return None
        if rate <= 2:
            rate += 7                    # rates 1 and 2 alias 8 and 9 with a 32.768 kHz time base
        return max(1, self.clock.hz * (1 << (rate - 1)) // RTC_BASE_HZ)

    def _flags_since_read(self) -> int:
        """PF and UF as the chip would have set them since status C was last read."""
        then, now = self.flags_read_at, self.clock.now
        flags = self.flags
        interval = self.periodic_interval()
        if interval is not None and now // interval > then // interval:
            flags |= REG_C_PF
        if self.frozen is None and self._next_update_at(then) <= now:
            flags |= REG_C_UF
        return flags

    def _read_c(self) -> int:
        flags = self._flags_since_read()
        enabled = flags & self.ram[REG_B] & (REG_B_PIE | REG_B_AIE | REG_B_UIE)
        value = flags | (REG_C_IRQF if enabled else 0)
        self.flags, self.flags_read_at = 0, self.clock.now
        if self.irq is not None:
            self.irq.lower()
        return value

    def _raise(self, flag: int) -> None:
        self.flags |= flag
        if self.irq is not None and self.ram[REG_B] & flag:
            self.irq.raise_()           # held until status C is read; the 8259A sees the rising edge

    def _reschedule(self) -> None:
        self.clock.cancel(self._periodic)
        self.clock.cancel(self._update)
        self._periodic = self._update = None
        b = self.ram[REG_B]
        interval = self.periodic_interval()
        if b & REG_B_PIE and interval is not None:
            self._periodic = self.clock.schedule((self.clock.now // interval + 1) * interval,
                                                 self._periodic_tick, line_of(self.irq))
        if b & (REG_B_UIE | REG_B_AIE) and self.frozen is None:
            self._update = self.clock.schedule(self._next_update_at(self.clock.now), self._update_tick,
                                              line_of(self.irq))

    def _periodic_tick(self) -> None:
        self._raise(REG_C_PF)
        self._reschedule()

    def _update_tick(self) -> None:
        self._raise(REG_C_UF)
        if self._alarm_matches():
            self._raise(REG_C_AF)
        self._reschedule()

    def _alarm_matches(self) -> bool:
        tm = self._now_tm()
        for alarm, reg in ALARM_REGS:
            want = self.ram[alarm]
            if want & ALARM_DONT_CARE != ALARM_DONT_CARE and want != self._encode(reg, tm):
                return False
        return True
