"""ATA PIO on the primary channel: IDENTIFY data, LBA28 and CHS transfers that reach the image file with an
interrupt per sector (block), nIEN, errors past the end, absent devices, software reset, virtual-time waits."""

from __future__ import annotations

import pytest

from previrt.errors import PrevirtError
from previrt.machine.devices.ata import SECTOR_TIME_US, ata_string
from tests.machine.devices.conftest import Guest, linux_pic_init, make_board

DATA, ERR, COUNT, LBA0, LBA1, LBA2, DEV, CMD, ALT = 0x1F0, 0x1F1, 0x1F2, 0x1F3, 0x1F4, 0x1F5, 0x1F6, 0x1F7, 0x3F6


def image(tmp_path, name, sectors):
    path = tmp_path / name
    path.write_bytes(b"".join(bytes([i & 0xFF]) * 512 for i in range(sectors)))
    return path


def ata_guest(tmp_path, sectors=64, slave_sectors=None):
    disk = image(tmp_path, "disk.img", sectors)
    disk1 = image(tmp_path, "disk1.img", slave_sectors) if slave_sectors else None
    g = Guest(make_board(disk=str(disk), disk1=str(disk1) if disk1 else None))
    linux_pic_init(g)
    g.outb(0xA1, 0xBF)                     # IRQ 14
    return g, disk


def take_irq14(g) -> bool:
    """If IRQ 14 is at the CPU: acknowledge it, read status as the handler does, EOI both PICs."""
    if not g.board.intr():
        return False
    assert g.board.acknowledge() == 0x3E
    g.inb(CMD)
    g.outb(0xA0, 0x20)
    g.outb(0x20, 0x20)
    return True


def wait_irq(g) -> int:
    waited = g.run_until(g.board.intr)
    assert take_irq14(g)
    return waited


def issue(g, command, lba=0, count=1, dev=0xE0):
    g.outb(DEV, dev | (lba >> 24 & 0x0F))
    g.outb(COUNT, count & 0xFF)
    g.outb(LBA0, lba & 0xFF)
    g.outb(LBA1, lba >> 8 & 0xFF)
    g.outb(LBA2, lba >> 16 & 0xFF)
    g.outb(CMD, command)


def read_sector_words(g):
    return b"".join(g.inw(DATA).to_bytes(2, "little") for _ in range(256))


def test_identify_device_data(tmp_path):
    g, _ = ata_guest(tmp_path, sectors=5000)
    issue(g, 0xEC, dev=0xA0)
    assert take_irq14(g)                   # IDENTIFY data is ready at once
    assert g.inb(ALT) == 0x58
    data = read_sector_words(g)
    word = lambda n: int.from_bytes(data[2 * n:2 * n + 2], "little")
    assert word(0) == 0x0040
    assert data[54:94] == ata_string("PREVIRT HARDDISK", 40)
    assert data[54:58] == b"RPVE"          # "PREVIRT": each word holds two characters, swapped
    assert data[20:28] == b"VP0000 1" and data[28:40] == b" " * 12     # serial "PV00001", padded
    assert word(49) & 0x0200 and word(47) == 0x8010
    assert word(60) | word(61) << 16 == 5000
    assert (word(1), word(3), word(6)) == (4, 16, 63)
    assert data[510] == 0xA5 and sum(data) & 0xFF == 0
    assert g.inb(CMD) == 0x50 and not g.board.intr()


def test_multi_sector_write_then_read_round_trip(tmp_path):
    g, disk = ata_guest(tmp_path)
    payload = bytes((i * 7 + 3) & 0xFF for i in range(3 * 512))
    issue(g, 0x30, lba=10, count=3)
    assert g.inb(ALT) == 0x58 and not g.board.intr()   # first DRQ comes without an interrupt
    irqs = 0
    for s in range(3):
        assert g.inb(ALT) & 0x88 == 0x08
        for i in range(0, 512, 2):
            g.outw(DATA, int.from_bytes(payload[s * 512 + i:s * 512 + i + 2], "little"))
        assert g.inb(ALT) & 0x80          # BSY while the sector is committed
        wait_irq(g)
        irqs += 1
    assert irqs == 3 and g.inb(ALT) == 0x50
    assert disk.read_bytes()[10 * 512:13 * 512] == payload     # the image file holds the data
    assert disk.read_bytes()[9 * 512:10 * 512] == bytes([9]) * 512
    assert (g.inb(LBA0), g.inb(COUNT)) == (13, 0)
    issue(g, 0x20, lba=9, count=4)
    got = b""
    for _ in range(4):
        wait_irq(g)                        # one interrupt per sector, each when its data is ready
        got += read_sector_words(g)
    assert got == bytes([9]) * 512 + payload
    assert g.inb(CMD) == 0x50 and not g.board.intr()


def test_read_waits_sector_time_in_virtual_time(tmp_path):
    g, _ = ata_guest(tmp_path)
    issue(g, 0x20, lba=1, count=2)
    assert g.inb(ALT) & 0x80
    per_sector = g.clock.hz * SECTOR_TIME_US // 1_000_000
    assert wait_irq(g) == per_sector
    read_sector_words(g)
    assert wait_irq(g) == per_sector


def test_count_zero_means_256_sectors(tmp_path):
    g, _ = ata_guest(tmp_path, sectors=300)
    issue(g, 0x20, lba=0, count=0)
    for n in range(256):
        wait_irq(g)
        assert read_sector_words(g)[:1] == bytes([n & 0xFF])
    assert g.inb(CMD) == 0x50


def test_read_and_write_multiple_interrupt_per_block(tmp_path):
    g, disk = ata_guest(tmp_path)
    issue(g, 0xC6, count=4, dev=0xA0)      # SET MULTIPLE MODE: 4 sectors a block
    wait_irq(g)
    issue(g, 0xC5, lba=20, count=6)
    for block in (4, 2):
        for _ in range(block * 128):
            g.outl(DATA, 0xA5A5A5A5)
        wait_irq(g)
    assert disk.read_bytes()[20 * 512:26 * 512] == b"\xA5" * 3072
    issue(g, 0xC4, lba=19, count=6)
    wait_irq(g)
    first = b"".join(g.inl(DATA).to_bytes(4, "little") for _ in range(4 * 128))
    assert first == bytes([19]) * 512 + b"\xA5" * 1536
    wait_irq(g)
    assert read_sector_words(g) + read_sector_words(g) == b"\xA5" * 1024


def test_set_multiple_mode_rejects_non_power_of_two(tmp_path):
    g, _ = ata_guest(tmp_path)
    issue(g, 0xC6, count=3, dev=0xA0)
    wait_irq(g)
    assert (g.inb(CMD), g.inb(ERR)) == (0x41, 0x04)


def test_nien_suppresses_the_interrupt(tmp_path):
    g, _ = ata_guest(tmp_path)
    g.outb(ALT, 0x02)                      # nIEN
    issue(g, 0x20, lba=3)
    g.run_until(lambda: not g.inb(ALT) & 0x80)
    assert g.inb(ALT) == 0x58 and not g.board.intr()
    assert read_sector_words(g) == bytes([3]) * 512
    g.outb(ALT, 0x00)
    issue(g, 0x20, lba=4)
    wait_irq(g)


def test_read_past_end_is_an_ata_error(tmp_path):
    g, _ = ata_guest(tmp_path, sectors=16)
    issue(g, 0x20, lba=15, count=2)        # the first sector exists, the second does not
    wait_irq(g)
    assert read_sector_words(g) == bytes([15]) * 512
    wait_irq(g)
    assert g.inb(CMD) == 0x41 and g.inb(ERR) == 0x04          # DRDY|ERR, ABRT
    issue(g, 0x20, lba=0x0FFFFFFF)
    wait_irq(g)
    assert g.inb(CMD) & 0x01
    issue(g, 0x20, lba=1)                  # the drive is usable again
    wait_irq(g)
    assert g.inb(ALT) == 0x58


def test_write_past_end_errors_after_the_data_and_leaves_the_file_alone(tmp_path):
    g, disk = ata_guest(tmp_path, sectors=16)
    before = disk.read_bytes()
    issue(g, 0x30, lba=16)
    for _ in range(256):
        g.outw(DATA, 0xFFFF)
    wait_irq(g)
    assert (g.inb(CMD), g.inb(ERR)) == (0x41, 0x04)
    assert disk.read_bytes() == before


def test_unknown_command_aborts(tmp_path):
    g, _ = ata_guest(tmp_path)
    issue(g, 0xA1, dev=0xA0)               # IDENTIFY PACKET DEVICE: not a packet device
    wait_irq(g)
    assert (g.inb(CMD), g.inb(ERR)) == (0x41, 0x04)


def test_flush_set_features_and_initialize_device_parameters(tmp_path):
    g, _ = ata_guest(tmp_path)
    g.outb(ERR, 0x03)                      # SET FEATURES: transfer mode
    issue(g, 0xEF, count=0x0C, dev=0xA0)
    wait_irq(g)
    assert g.inb(CMD) == 0x50
    issue(g, 0x91, count=32, dev=0xA7)     # 8 heads, 32 sectors per track
    wait_irq(g)
    assert g.inb(CMD) == 0x50
    issue(g, 0xE7, dev=0xA0)
    wait_irq(g)
    assert g.inb(CMD) == 0x50


def test_chs_addressing_uses_the_translation(tmp_path):
    g, _ = ata_guest(tmp_path, sectors=100)
    g.outb(DEV, 0xA1)                      # CHS, head 1
    g.outb(COUNT, 1)
    g.outb(LBA0, 2)                        # sector 2 (1-based)
    g.outb(LBA1, 0)
    g.outb(LBA2, 0)
    g.outb(CMD, 0x20)
    wait_irq(g)
    assert read_sector_words(g) == bytes([64]) * 512    # (0 * 16 + 1) * 63 + 2 - 1


def test_absent_slave_reads_status_zero_and_ignores_commands(tmp_path):
    g, _ = ata_guest(tmp_path)
    g.outb(DEV, 0xB0)
    assert g.inb(CMD) == 0x00 and g.inb(ALT) == 0x00 and g.inb(ERR) == 0x00
    g.outb(CMD, 0xEC)
    g.run_for(10**6)
    assert g.inb(CMD) == 0x00 and not g.board.intr()
    assert g.inw(DATA) == 0
    g.outb(DEV, 0xA0)
    assert g.inb(CMD) == 0x50              # the master was not disturbed


def test_slave_drive_has_its_own_image(tmp_path):
    g, _ = ata_guest(tmp_path, sectors=8, slave_sectors=40)
    issue(g, 0x20, lba=30, dev=0xF0)
    wait_irq(g)
    assert read_sector_words(g) == bytes([30]) * 512
    issue(g, 0xEC, dev=0xB0)
    take_irq14(g)
    data = read_sector_words(g)
    assert int.from_bytes(data[120:124], "little") == 40 and data[20:40] == ata_string("PV00002", 20)


def test_empty_channel_reads_zero(board):
    g = Guest(board)
    for port in (CMD, ALT, ERR, COUNT, LBA0, DEV):
        assert g.inb(port) == 0
    g.outb(CMD, 0xEC)
    assert g.inb(CMD) == 0 and not board.unclaimed


def test_software_reset_posts_signature(tmp_path):
    g, _ = ata_guest(tmp_path)
    issue(g, 0x20, lba=7, count=5)
    g.outb(ALT, 0x04)                      # SRST: the read is abandoned
    assert g.inb(ALT) & 0x80
    g.outb(DEV, 0xF0)                      # the absent slave selected during reset ...
    g.outb(ALT, 0x00)                      # ... device 0 answers after it
    assert g.inb(ALT) == 0x50 and not g.board.intr()
    assert [g.inb(p) for p in (COUNT, LBA0, LBA1, LBA2, ERR)] == [1, 1, 0, 0, 0x01]
    assert g.inb(DEV) & 0x10 == 0          # device 0 selected
    g.run_for(10**6)
    assert not g.board.intr() and g.inb(ALT) == 0x50
    issue(g, 0x20, lba=2)
    wait_irq(g)
    assert read_sector_words(g) == bytes([2]) * 512


def test_status_read_clears_irq_but_alternate_status_does_not(tmp_path):
    g, _ = ata_guest(tmp_path)
    issue(g, 0x20, lba=1)
    g.run_until(g.board.intr)
    assert g.board.acknowledge() == 0x3E
    g.inb(ALT)
    assert g.board.devices["ata"].intrq
    g.inb(CMD)
    assert not g.board.devices["ata"].intrq


def test_bad_images_are_clear_errors(tmp_path):
    with pytest.raises(PrevirtError, match="missing.img: cannot open disk image"):
        make_board(disk=str(tmp_path / "missing.img"))
    (tmp_path / "tiny.img").write_bytes(b"x" * 100)
    with pytest.raises(PrevirtError, match="tiny.img: disk image holds no whole 512-byte sector"):
        make_board(disk=str(tmp_path / "tiny.img"))
