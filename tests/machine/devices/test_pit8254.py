"""8254 PIT: IRQ 0 periods in modes 2 and 3 against virtual time, mode 0 one-shot, latched and live reads.

The run loop's part is played by Guest.run_for: slices to each Clock deadline and fires the due events."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from previrt.machine.clock import Clock
from previrt.machine.devices.pit8254 import PIT_HZ, Pit
from previrt.machine.irq import IrqLine
from tests.machine.devices.conftest import Guest, linux_pic_init, make_board


class EdgeCounter:
    def __init__(self):
        self.edges = 0
        self.level = False

    def set_irq(self, line, level):
        if level and not self.level:
            self.edges += 1
        self.level = level


def program(g, channel, mode, count, access=3):
    g.outb(0x43, (channel << 6) | (access << 4) | (mode << 1))
    if access in (1, 3):
        g.outb(0x40 + channel, count & 0xFF)
    if access in (2, 3):
        g.outb(0x40 + channel, (count >> 8) & 0xFF)


def count_irq0(g, ms):
    """IRQ 0 interrupts the CPU takes in `ms` simulated milliseconds (acknowledge + EOI at each)."""
    taken = 0
    end = g.clock.now + g.clock.hz * ms // 1000
    while True:
        deadline = g.clock.next_deadline()
        if deadline is None or deadline > end:
            break
        g.clock.advance(deadline)
        while g.board.intr():
            assert g.board.acknowledge() == 0x30
            g.outb(0x20, 0x20)
            taken += 1
    g.clock.advance(end)
    return taken


def test_mode2_1khz_gives_one_irq_per_ms(guest):
    linux_pic_init(guest)
    guest.outb(0x21, 0xFA)
    program(guest, 0, 2, 1193)              # 1000.15 Hz, as Linux programs HZ=1000
    assert count_irq0(guest, 100) == 100


def test_mode3_100hz_square_wave(guest):
    linux_pic_init(guest)
    guest.outb(0x21, 0xFA)
    program(guest, 0, 3, 11932)
    assert count_irq0(guest, 1000) == 99    # 11932 / 1193182 s = 10.0001 ms per period
    assert count_irq0(guest, 20) == 2


def test_power_on_rate_is_18_2_hz():
    counter = EdgeCounter()
    clock = Clock(hz=1_000_000)
    Pit(clock, IrqLine(counter.set_irq, 0))
    while clock.next_deadline() is not None and clock.next_deadline() <= 10 * clock.hz:
        clock.advance(clock.next_deadline())
    assert counter.edges == 10 * PIT_HZ // 65536          # 182 edges in 10 s


def test_edges_land_at_exact_virtual_times():
    counter = EdgeCounter()
    clock = Clock(hz=100_000_000)
    pit = Pit(clock, IrqLine(counter.set_irq, 0))
    pit.write(3, 1, 0x34)
    pit.write(0, 1, 100)
    pit.write(0, 1, 0)
    first = clock.next_deadline()
    assert first == -(-100 * clock.hz // PIT_HZ)          # 8381 instructions: ceil(100 ticks)
    clock.advance(first - 1)
    assert counter.edges == 0
    clock.advance(first)
    assert counter.edges == 1 and clock.next_deadline() == -(-200 * clock.hz // PIT_HZ)


def test_mode0_one_shot(guest):
    linux_pic_init(guest)
    guest.outb(0x21, 0xFA)
    program(guest, 0, 0, 5966)              # 5 ms
    assert count_irq0(guest, 4) == 0
    assert count_irq0(guest, 2) == 1
    assert count_irq0(guest, 100) == 0      # one shot: OUT stays high, no more edges
    program(guest, 0, 0, 1193)
    assert count_irq0(guest, 2) == 1        # re-armed by the new count


def test_latch_reads_decrease_and_hold(guest):
    program(guest, 0, 2, 50000)
    reads = []
    for _ in range(5):
        guest.run_for(10_000)
        guest.outb(0x43, 0x00)              # latch channel 0
        guest.run_for(5_000)                # the latched value does not move
        reads.append(guest.inb(0x40) | guest.inb(0x40) << 8)
    assert reads == sorted(reads, reverse=True) and len(set(reads)) == 5
    elapsed = 10_000 * PIT_HZ // guest.clock.hz
    assert reads[0] == 50000 - elapsed
    assert abs((reads[0] - reads[1]) - 15_000 * PIT_HZ // guest.clock.hz) <= 1


def test_lobyte_and_hibyte_access(guest):
    program(guest, 0, 2, 0x40, access=1)    # lobyte only: count 0x0040
    assert guest.board.devices["pit"].channels[0].count == 0x40
    program(guest, 0, 2, 0x1200, access=2)  # hibyte only: count 0x1200
    assert guest.board.devices["pit"].channels[0].count == 0x1200
    assert guest.inb(0x40) == 0x12          # reads in the programmed access mode: hibyte


def test_count_zero_means_65536(guest):
    program(guest, 0, 2, 0)
    guest.run_for(-(-1000 * guest.clock.hz // PIT_HZ))   # just past 1000 ticks
    guest.outb(0x43, 0x00)
    assert guest.inb(0x40) | guest.inb(0x40) << 8 == 65536 - 1000


def test_read_back_status(guest):
    program(guest, 0, 2, 1000)
    guest.outb(0x43, 0xE2)                  # read-back: status only, channel 0
    assert guest.inb(0x40) == 0x34          # rw=3, mode 2, binary, OUT low


def test_port61_gates_channel2_and_shows_out2(guest):
    board = guest.board
    guest.outb(0x61, 0x00)
    program(guest, 2, 0, 1193)              # mode 0, 1 ms
    guest.outb(0x61, 0x01)                  # gate high
    assert not guest.inb(0x61) & 0x20
    guest.run_for(guest.clock.hz // 1000 + 100)
    assert guest.inb(0x61) & 0x21 == 0x21   # OUT2 high: the calibration loop's signal
    a, b = guest.inb(0x61) & 0x10, guest.inb(0x61) & 0x10
    assert a != b                           # the refresh bit toggles
    assert board.unclaimed == {}


@settings(max_examples=100, deadline=None)
@given(count=st.integers(2, 0x10000), mode=st.sampled_from([0, 2, 3]),
       elapsed=st.integers(0, 5_000_000))
def test_counter_reads_follow_virtual_time(count, mode, elapsed):
    g = Guest(make_board())
    g.clock.advance(12345)
    program(g, 0, mode, count & 0xFFFF)
    g.run_for(elapsed)
    g.outb(0x43, 0x00)
    value = g.inb(0x40) | g.inb(0x40) << 8
    d = elapsed * PIT_HZ // g.clock.hz
    expected = {0: (count - d) & 0xFFFF, 2: count - d % count, 3: count - (2 * d) % count}[mode]
    assert value == expected & 0xFFFF
    if mode == 2:
        assert 1 <= (value or 0x10000) <= count
