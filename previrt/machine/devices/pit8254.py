"""The 8254 programmable interval timer (0x40-0x43, channel 0 on IRQ 0) and port 0x61's timer-2 gate bits.

Counts are computed from virtual time (1.193182 MHz against clock.now / clock.hz); semantics follow QEMU's i8254."""

from __future__ import annotations

from previrt.machine.clock import Clock, Event
from previrt.machine.irq import IrqLine

PIT_HZ = 1_193_182

# read/write states (the access field of the control word, then the byte expected next)
RW_LSB, RW_MSB, RW_WORD0, RW_WORD1 = 1, 2, 3, 4
CONTROL = 3              # offset of the control word register
READ_BACK = 3            # SC1:SC0 = 11 in the control word
RB_NOT_COUNT = 0x20      # read-back: do not latch counts
RB_NOT_STATUS = 0x10     # read-back: do not latch status

PORT61_GATE2 = 0x01      # timer 2 gate
PORT61_SPEAKER = 0x02    # speaker data enable
PORT61_REFRESH = 0x10    # toggles on each read (refresh request, used as a delay by old code)
PORT61_OUT2 = 0x20       # timer 2 output


class PitChannel:
    """One counter. Counting starts when the count is loaded (QEMU's model); modes 6/7 act as 2/3; the BCD
    bit is kept (read-back shows it) but counting is binary, as in QEMU."""

    def __init__(self, pit: "Pit", index: int, gate: bool):
        self.pit = pit
        self.index = index
        self.gate = gate
        self.mode = 3
        self.bcd = 0
        self.rw_mode = RW_WORD0
        self.read_state = self.write_state = RW_WORD0
        self.write_latch = 0
        self.count = 0x10000
        self.load_time = 0
        self.latched_count = 0
        self.count_latched = 0       # the rw state the latched count is read in, 0 when none
        self.status = 0
        self.status_latched = False
        self.armed = True                      # a count is loaded and counting

    @property
    def clock(self) -> Clock:
        return self.pit.clock

    def ticks(self, at: int | None = None) -> int:
        """Input clock periods elapsed since the count was loaded."""
        now = self.clock.now if at is None else at
        return (now - self.load_time) * PIT_HZ // self.clock.hz

    def time_of_tick(self, ticks: int) -> int:
        """The first virtual instant at which `ticks` input periods have elapsed since the load."""
        return self.load_time + -(-ticks * self.clock.hz // PIT_HZ)

    def current_count(self) -> int:
        d = self.ticks()
        if self.mode == 2:
            return self.count - d % self.count
        if self.mode == 3:
            return self.count - (2 * d) % self.count
        return (self.count - d) & 0xFFFF

    def out(self) -> bool:
        """The OUT pin now (as QEMU's pit_get_out)."""
        d, count = self.ticks(), self.count
        if self.mode == 0:
            return d >= count
        if self.mode == 1:
            return d < count
        if self.mode == 2:
            return d % count == 0 and d != 0
        if self.mode == 3:
            return d % count < (count + 1) >> 1
        return d == count                      # modes 4 and 5: a strobe at terminal count

    def next_edge_tick(self) -> int | None:
        """The tick of OUT's next rising edge after now: one per period in modes 2/3, once in mode 0."""
        if not self.armed:
            return None
        d, count = self.ticks(), self.count
        if self.mode in (2, 3):
            return (d // count + 1) * count
        if self.mode in (0, 4, 5):
            return count if d < count else None
        return None

    # -- programming ------------------------------------------------------------------------------

    def control(self, value: int) -> None:
        access = (value >> 4) & 3
        if access == 0:
            self.latch()
            return
        self.rw_mode = self.read_state = self.write_state = access
        mode = (value >> 1) & 7
        self.mode = mode - 4 if mode >= 6 else mode
        self.bcd = value & 1
        self.armed = False                     # a new mode waits for its count (8254: OUT to initial state)
        self.pit.rearm(self)

    def latch(self) -> None:
        """Counter latch command: freezes the count for reading; a second latch before reading is ignored."""
        if not self.count_latched:
            self.latched_count = self.current_count()
            self.count_latched = self.rw_mode

    def latch_status(self) -> None:
        if not self.status_latched:
            self.status = (self.out() << 7) | (self.rw_mode << 4) | (self.mode << 1) | self.bcd
            self.status_latched = True

    def load(self, value: int) -> None:
        self.count = value or 0x10000
        self.load_time = self.clock.now
        self.armed = True
        self.pit.rearm(self)

    def write(self, value: int) -> None:
        if self.write_state == RW_LSB:
            self.load(value)
        elif self.write_state == RW_MSB:
            self.load(value << 8)
        elif self.write_state == RW_WORD0:
            self.write_latch = value
            self.write_state = RW_WORD1
        else:
            self.load(self.write_latch | (value << 8))
            self.write_state = RW_WORD0

    def read(self) -> int:
        if self.status_latched:
            self.status_latched = False
            return self.status
        if self.count_latched:
            return self._read_latched()
        count = self.current_count()
        state = self.read_state
        if state == RW_WORD0:
            self.read_state = RW_WORD1
        elif state == RW_WORD1:
            self.read_state = RW_WORD0
        return count >> 8 & 0xFF if state in (RW_MSB, RW_WORD1) else count & 0xFF

    def _read_latched(self) -> int:
        state = self.count_latched
        if state == RW_WORD0:
            self.count_latched = RW_MSB
            return self.latched_count & 0xFF
        self.count_latched = 0
        return self.latched_count >> 8 & 0xFF if state == RW_MSB else self.latched_count & 0xFF

    def set_gate(self, level: bool) -> None:
        """A rising gate restarts counting in modes 1, 2, 3 and 5 (timer 2's gate is port 0x61 bit 0)."""
        if level and not self.gate and self.mode in (1, 2, 3, 5):
            self.load_time = self.clock.now
            self.pit.rearm(self)
        self.gate = level


class Port61:
    """System control port B, the PIT's part of it: timer 2 gate and speaker enable, OUT2 and refresh toggle."""

    def __init__(self, pit: "Pit"):
        self.pit = pit
        self.speaker = 0
        self.refresh = 0

    def read(self, offset: int, size: int) -> int:
        self.refresh ^= PORT61_REFRESH
        timer2 = self.pit.channels[2]
        return (int(timer2.gate) | self.speaker | self.refresh
                | (PORT61_OUT2 if timer2.out() else 0))

    def write(self, offset: int, size: int, value: int) -> None:
        self.speaker = value & PORT61_SPEAKER
        self.pit.channels[2].set_gate(bool(value & PORT61_GATE2))


class Pit:
    """Three counters; channel 0's rising OUT edges are events on the Clock, each an edge on IRQ 0.

    Power-on state as a PC BIOS leaves it (and as QEMU resets it): channel 0 in mode 3 with count 65536,
    running from virtual time 0 (18.2 Hz); channel 2's gate low."""

    def __init__(self, clock: Clock, irq: IrqLine | None):
        self.clock = clock
        self.irq = irq
        self.channels = [PitChannel(self, i, gate=i != 2) for i in range(3)]
        self.port61 = Port61(self)
        self.ticks_raised = 0
        self._event: Event | None = None
        self.rearm(self.channels[0])

    def rearm(self, channel: PitChannel) -> None:
        """(Re)schedule channel 0's next rising edge after its count, mode or gate changed."""
        if channel.index != 0:
            return
        self.clock.cancel(self._event)
        self._event = None
        tick = channel.next_edge_tick()
        if tick is not None and self.irq is not None:
            self._event = self.clock.schedule(channel.time_of_tick(tick), self._edge, self.irq.line)

    def _edge(self) -> None:
        self._event = None
        self.ticks_raised += 1
        self.irq.pulse()
        self.rearm(self.channels[0])

    def read(self, offset: int, size: int) -> int:
        if offset == CONTROL:
            return 0                     # the control word register is write-only (QEMU reads 0)
        return self.channels[offset].read()

    def write(self, offset: int, size: int, value: int) -> None:
        value &= 0xFF
        if offset != CONTROL:
            self.channels[offset].write(value)
            return
        select = value >> 6
        if select == READ_BACK:
            self._read_back(value)
        else:
            self.channels[select].control(value)

    def _read_back(self, value: int) -> None:
        for channel in self.channels:
            if value & (2 << channel.index):
                if not value & RB_NOT_COUNT:
                    channel.latch()
                if not value & RB_NOT_STATUS:
                    channel.latch_status()
