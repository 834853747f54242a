"""MC146818 CMOS/RTC: reproducible fixed time in BCD and binary, 12/24 h, setting the time, UIP from
virtual time, status C flags with IRQ 8 through the slave PIC, and the BIOS memory-size bytes."""

from __future__ import annotations

from types import SimpleNamespace

from previrt.machine.clock import Clock
from previrt.machine.devices import cmos as cmos_module
from previrt.machine.devices.cmos import Cmos, memory_size_bytes
from tests.machine.devices.conftest import Guest, linux_pic_init, make_board


def rd(g, reg, nmi_off=True):
    g.outb(0x70, reg | (0x80 if nmi_off else 0))
    return g.inb(0x71)


def wr(g, reg, value):
    g.outb(0x70, reg)
    g.outb(0x71, value)


def jump(g, seconds):
    """Let simulated hours pass in one step (the RTC reads virtual time; PIT ticks would only cost time)."""
    g.clock.advance(g.clock.now + seconds * g.clock.hz)


def read_time(g):
    return tuple(rd(g, r) for r in (0x32, 0x09, 0x08, 0x07, 0x06, 0x04, 0x02, 0x00))


def test_fixed_start_in_bcd(guest):
    # century, year, month, day, day of week (Saturday = 7), hours, minutes, seconds
    assert read_time(guest) == (0x20, 0x00, 0x01, 0x01, 0x07, 0x00, 0x00, 0x00)
    assert (rd(guest, 0x0A), rd(guest, 0x0B), rd(guest, 0x0D)) == (0x26, 0x02, 0x80)


def test_time_advances_with_virtual_seconds(guest):
    jump(guest, 86400 + 3600 * 13 + 60 * 59 + 58)
    assert read_time(guest) == (0x20, 0x00, 0x01, 0x02, 0x01, 0x13, 0x59, 0x58)   # Sunday 13:59:58
    wr(guest, 0x0B, 0x04)                  # binary, 12-hour
    assert rd(guest, 0x04) == 0x80 | 1    # 1 PM
    assert (rd(guest, 0x02), rd(guest, 0x00), rd(guest, 0x32)) == (59, 58, 20)


def test_twelve_hour_midnight_and_noon(guest):
    wr(guest, 0x0B, 0x00)                  # BCD, 12-hour
    assert rd(guest, 0x04) == 0x12        # midnight is 12 AM
    jump(guest, 12 * 3600)
    assert rd(guest, 0x04) == 0x92        # noon is 12 PM


def test_same_virtual_time_same_readings():
    def readings():
        g = Guest(make_board())
        seen = []
        for _ in range(50):
            g.run_for(g.clock.hz // 7)
            seen.append((read_time(g), rd(g, 0x0A)))
        return seen
    assert readings() == readings()


def test_uip_is_set_just_before_each_update(guest):
    hz = guest.clock.hz
    guest.run_for(hz - hz * 244 // 1_000_000 - 1)
    assert not rd(guest, 0x0A) & 0x80
    guest.run_for(2)
    assert rd(guest, 0x0A) & 0x80
    assert rd(guest, 0x00) == 0x00         # the update has not happened yet
    guest.run_for(hz * 244 // 1_000_000)
    assert not rd(guest, 0x0A) & 0x80 and rd(guest, 0x00) == 0x01


def test_setting_the_time_with_set_bit(guest):
    wr(guest, 0x0B, 0x82)                  # SET, 24 h, BCD: updates stop
    for reg, value in ((0x32, 0x20), (0x09, 0x24), (0x08, 0x02), (0x07, 0x29), (0x04, 0x23),
                       (0x02, 0x59), (0x00, 0x50)):
        wr(guest, reg, value)
    guest.run_for(guest.clock.hz * 5)
    assert rd(guest, 0x00) == 0x50         # frozen while SET
    wr(guest, 0x0B, 0x02)
    guest.run_for(guest.clock.hz * 10)
    assert read_time(guest) == (0x20, 0x24, 0x03, 0x01, 0x06, 0x00, 0x00, 0x00)  # leap year, Friday


def test_general_cmos_bytes_and_index_port(guest):
    wr(guest, 0x40, 0xA5)
    assert rd(guest, 0x40) == 0xA5
    assert guest.inb(0x70) == 0xFF         # the index register is write-only
    guest.outb(0x70, 0x8F)
    assert guest.board.devices["cmos"].nmi_disabled


def test_memory_size_bytes_for_64_mib(guest):
    word = lambda lo: rd(guest, lo) | rd(guest, lo + 1) << 8
    assert word(0x15) == 640
    assert word(0x17) == word(0x30) == 63 * 1024
    assert word(0x34) == (64 - 16) * 16


def test_memory_size_bytes_cap_and_small():
    big = memory_size_bytes(3 << 30)
    assert (big[0x17], big[0x18], big[0x34], big[0x35]) == (0xFF, 0xFF, 0x00, 0xBF)
    small = memory_size_bytes(512 << 10)
    assert (small[0x15] | small[0x16] << 8, small[0x17], small[0x34]) == (512, 0, 0)


def test_periodic_interrupt_through_slave_pic():
    g = Guest(make_board())
    linux_pic_init(g)
    g.outb(0x21, 0xFB)
    g.outb(0xA1, 0xFE)                     # IRQ 8
    wr(g, 0x0A, 0x26)                      # 1024 Hz
    wr(g, 0x0B, 0x42)                      # PIE
    taken = 0
    end = g.clock.now + g.clock.hz // 10
    while g.clock.next_deadline() <= end:
        g.clock.advance(g.clock.next_deadline())
        if g.board.intr():
            assert g.board.acknowledge() == 0x38
            assert rd(g, 0x0C) == 0xC0     # IRQF | PF; the read re-arms the line
            g.outb(0xA0, 0x20)
            g.outb(0x20, 0x20)
            taken += 1
    assert taken == 102                    # 1024 Hz for 0.1 s


def test_update_flag_without_interrupts_is_seen_by_polling(guest):
    rd(guest, 0x0C)
    guest.run_for(guest.clock.hz // 2)
    assert rd(guest, 0x0C) & 0x10 == 0
    guest.run_for(guest.clock.hz // 2)
    assert rd(guest, 0x0C) == 0x50         # UF, and PF (1024 Hz), no IRQF: none enabled
    assert rd(guest, 0x0C) == 0x00


def test_host_time_source(monkeypatch):
    """rtc="host" starts from the host's clock when the board is built, then runs on virtual time. The host
    clock is injected (cmos reads it as time.time()): 2009-02-13 23:31:30.9 UTC, a Friday."""
    monkeypatch.setattr(cmos_module, "time", SimpleNamespace(time=lambda: 1_234_567_890.9))
    g = Guest(make_board(rtc="host"))
    assert read_time(g) == (0x20, 0x09, 0x02, 0x13, 0x06, 0x23, 0x31, 0x30)
    jump(g, 2)
    assert read_time(g)[-1] == 0x32
    cmos = Cmos(Clock(), 1 << 20, rtc="host")
    assert cmos.epoch() == 1_234_567_890


def test_equipment_and_disk_type_bytes(tmp_path):
    (tmp_path / "d.img").write_bytes(bytes(4096))
    g = Guest(make_board(disk=str(tmp_path / "d.img")))
    assert (rd(g, 0x14), rd(g, 0x12), rd(g, 0x19), rd(g, 0x1A)) == (0x02, 0xF0, 47, 0)


def test_alarm_interrupt_at_the_set_time():
    g = Guest(make_board())
    linux_pic_init(g)
    g.outb(0xA1, 0xFE)                     # IRQ 8
    wr(g, 0x01, 0x05)                      # alarm at hh:mm:05, any hour and minute
    wr(g, 0x03, 0xC0)
    wr(g, 0x05, 0xC0)
    wr(g, 0x0B, 0x22)                      # AIE, 24 h, BCD
    waited = g.run_until(g.board.intr)
    assert waited == 5 * g.clock.hz and rd(g, 0x00) == 0x05
    assert g.board.acknowledge() == 0x38
    assert rd(g, 0x0C) & 0xB0 == 0xB0      # IRQF | AF | UF
