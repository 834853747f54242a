"""ATA PIO disks on the primary channel (command block 0x1F0-0x1F7, control 0x3F6, IRQ 14), backed by image files.

Protocol per ATA/ATAPI-6 (PIO data-in / data-out / non-data); where the spec leaves room, QEMU's ide core decides."""

from __future__ import annotations

import os
from typing import Callable

from previrt.errors import UsageError
from previrt.machine.clock import Clock, Event
from previrt.machine.irq import IrqLine, line_of

SECTOR = 512
LBA28_MAX = 0x0FFFFFFF
MAX_MULT_SECTORS = 16
SECTOR_TIME_US = 100      # simulated media time per sector (10,000 instructions at the default 100 M/s)

# command block offsets
DATA, ERROR_FEATURES, SECTOR_COUNT, LBA_LOW, LBA_MID, LBA_HIGH, DEVICE, STATUS_COMMAND = range(8)

# status bits
BSY, DRDY, DF, DSC, DRQ, ERR = 0x80, 0x40, 0x20, 0x10, 0x08, 0x01
READY = DRDY | DSC
# error bits
ABRT, IDNF = 0x04, 0x10
# device register
DEV_LBA, DEV_DEV = 0x40, 0x10
# device control register
CTL_NIEN, CTL_SRST = 0x02, 0x04

# command opcodes (ATA/ATAPI-6 names)
NOP = 0x00
DEVICE_RESET = 0x08
RECALIBRATE = 0x10
READ_SECTORS, READ_SECTORS_NORETRY = 0x20, 0x21
WRITE_SECTORS, WRITE_SECTORS_NORETRY = 0x30, 0x31
READ_VERIFY_SECTORS, READ_VERIFY_SECTORS_NORETRY = 0x40, 0x41
EXECUTE_DEVICE_DIAGNOSTIC = 0x90
INITIALIZE_DEVICE_PARAMETERS = 0x91
IDENTIFY_PACKET_DEVICE = 0xA1
READ_MULTIPLE, WRITE_MULTIPLE, SET_MULTIPLE_MODE = 0xC4, 0xC5, 0xC6
STANDBY_IMMEDIATE, IDLE_IMMEDIATE, STANDBY, IDLE, CHECK_POWER_MODE, SLEEP = 0xE0, 0xE1, 0xE2, 0xE3, 0xE5, 0xE6
FLUSH_CACHE, FLUSH_CACHE_EXT = 0xE7, 0xEA
IDENTIFY_DEVICE = 0xEC
SET_FEATURES = 0xEF
SET_FEATURES_ACCEPTED = frozenset({0x02, 0x03, 0x05, 0x42, 0x55, 0x66, 0x82, 0x85, 0xAA, 0xC2, 0xCC})
POWER_COMMANDS = frozenset({STANDBY_IMMEDIATE, IDLE_IMMEDIATE, STANDBY, IDLE, SLEEP})


def ata_string(text: str, length: int) -> bytes:
    """An IDENTIFY string: space padded, each pair of characters swapped (first character in the high byte)."""
    raw = text.encode("ascii")[:length].ljust(length, b" ")
    return bytes(raw[i ^ 1] for i in range(length))


class AtaDrive:
    """An ATA disk on an image file: whole 512-byte sectors (a trailing partial sector is not addressable)."""

    def __init__(self, file, path: str, index: int):
        self.file = file
        self.path = path
        self.index = index
        self.sectors = min(os.fstat(file.fileno()).st_size // SECTOR, LBA28_MAX)
        if self.sectors == 0:
            raise UsageError("disk image holds no whole 512-byte sector", where=path)
        self.heads, self.spt = 16, 63
        self.cylinders = max(1, min(self.sectors // (16 * 63), 16383))
        self.mult_sectors = MAX_MULT_SECTORS
        self.model = "PREVIRT HARDDISK"
        self.serial = f"PV{index + 1:05d}"
        self.firmware = "1.0"

    @classmethod
    def open(cls, path: str, index: int) -> "AtaDrive":
        try:
            file = open(path, "r+b", buffering=0)   # unbuffered: every sector written reaches the file
        except OSError as e:
            raise UsageError(f"cannot open disk image: {e.strerror}", where=path) from None
        try:
            return cls(file, path, index)
        except BaseException:
            file.close()
            raise

    def read_sector(self, lba: int) -> bytes:
        self.file.seek(lba * SECTOR)
        return self.file.read(SECTOR).ljust(SECTOR, b"\0")

    def write_sector(self, lba: int, data: bytes) -> None:
        self.file.seek(lba * SECTOR)
        self.file.write(data)

    def flush(self) -> None:
        self.file.flush()

    def close(self) -> None:
        if not self.file.closed:
            self.file.flush()
            self.file.close()

    def identify(self) -> bytes:
        """The 256 words IDENTIFY DEVICE returns (ATA/ATAPI-6 table 16), with the word-255 checksum."""
        w = [0] * 256
        cur = self.cylinders * self.heads * self.spt
        words = {
            0: 0x0040,                                   # fixed device, not removable
            1: self.cylinders, 3: self.heads, 6: self.spt,
            20: 3, 21: 512, 22: 4,                       # (retired) buffer type and size, ECC bytes
            47: 0x8000 | MAX_MULT_SECTORS,               # READ/WRITE MULTIPLE: up to 16 sectors a block
            48: 1,                                       # 32-bit PIO data transfers
            49: 1 << 9,                                  # LBA supported (no DMA on this channel)
            51: 0x0200,                                  # PIO cycle timing mode 2
            53: 0x0003,                                  # words 54-58 and 64-70 valid
            54: self.cylinders, 55: self.heads, 56: self.spt,
            57: cur & 0xFFFF, 58: cur >> 16,
            59: (0x100 | self.mult_sectors) if self.mult_sectors else 0,
            60: self.sectors & 0xFFFF, 61: self.sectors >> 16,  # LBA28 user-addressable sectors
            64: 0x0003,                                  # PIO modes 3 and 4
            65: 120, 66: 120, 67: 120, 68: 120,
            80: 0x007E,                                  # ATA-1 .. ATA-6
            82: 1 << 14 | 1 << 5, 83: 1 << 14 | 1 << 12,  # NOP, write cache; FLUSH CACHE
            84: 1 << 14, 85: 1 << 14 | 1 << 5, 86: 1 << 12, 87: 1 << 14,
        }
        for index, value in words.items():
            w[index] = value
        data = bytearray(b"".join(v.to_bytes(2, "little") for v in w))
        for word, text, length in ((10, self.serial, 20), (23, self.firmware, 8), (27, self.model, 40)):
            data[2 * word:2 * word + length] = ata_string(text, length)
        data[510] = 0xA5                                 # integrity word: signature, then checksum
        data[511] = -sum(data[:511]) & 0xFF
        return bytes(data)


class DriveRegs:
    """The command block registers as one device holds them (writes reach both devices on the cable)."""

    def __init__(self) -> None:
        self.feature = self.nsector = self.sector = self.lcyl = self.hcyl = 0
        self.select = 0xA0
        self.status = READY
        self.error = 0

    def signature(self) -> None:
        """The reset signature of an ATA (non-packet) device: count 1, LBA 1, cylinder 0."""
        self.nsector, self.sector, self.lcyl, self.hcyl = 1, 1, 0, 0
        self.select &= 0xF0


class AtaControl:
    """The control block window (0x3F6): alternate status on read, device control on write."""

    def __init__(self, channel: "AtaChannel"):
        self.channel = channel

    def read(self, offset: int, size: int) -> int:
        return self.channel.status_value()

    def write(self, offset: int, size: int, value: int) -> None:
        self.channel.write_control(value & 0xFF)


class AtaChannel:
    """One ATA channel with a master and a slave (either may be absent) sharing one INTRQ.

    Timing: IDENTIFY and non-data commands complete at once; each sector of READ/WRITE (SECTORS or
    MULTIPLE) keeps BSY for SECTOR_TIME_US of simulated time before its data is ready (read) or it is
    committed to the file (write). INTRQ is asserted when a read sector (block) is ready, after each
    written sector (block) and on errors; reading the status register (not alternate status) clears it.
    An empty channel reads 0 in every register and a selected absent slave reads status 0, and commands
    to it are ignored: what QEMU 7.2 shows."""

    WIDE_OFFSETS = frozenset({DATA})

    def __init__(self, clock: Clock, irq: IrqLine | None, master: AtaDrive | None, slave: AtaDrive | None):
        self.clock = clock
        self.irq = irq
        self.drives = [master, slave]
        self.regs = [DriveRegs(), DriveRegs()]
        self.unit = 0
        self.devctl = 0
        self.intrq = False
        self.control = AtaControl(self)
        self.buffer = bytearray()
        self.pos = 0
        self.on_transfer_done: Callable[[], None] | None = None
        self.writing = False
        self._event: Event | None = None
        self.sectors_read = self.sectors_written = 0
        self.last_command_at: int | None = None    # virtual time of the last command a drive took
        for unit, regs in enumerate(self.regs):
            regs.select = 0xA0 | (DEV_DEV if unit else 0)
            regs.status = READY if self.drives[unit] else 0

    # -- who answers -------------------------------------------------------------------------------

    @property
    def empty(self) -> bool:
        return self.drives[0] is None and self.drives[1] is None

    @property
    def drive(self) -> AtaDrive | None:
        return self.drives[self.unit]

    @property
    def cur(self) -> DriveRegs:
        return self.regs[self.unit]

    def status_value(self) -> int:
        return 0 if self.drive is None else self.cur.status

    # -- interrupt ---------------------------------------------------------------------------------

    def _set_intrq(self, level: bool) -> None:
        self.intrq = level
        self._drive_line()

    def _drive_line(self) -> None:
        """INTRQ reaches IRQ 14 only while nIEN is clear (the device tri-states it otherwise)."""
        if self.irq is not None:
            level = self.intrq and not self.devctl & CTL_NIEN
            if level != self.irq.level:
                self.irq.set(level)

    # -- command block -----------------------------------------------------------------------------

    def read(self, offset: int, size: int) -> int:
        if offset == DATA:
            return self._read_data(size)
        if offset == STATUS_COMMAND:
            value = self.status_value()
            self._set_intrq(False)
            return value
        if self.empty:
            return 0
        r = self.cur
        if offset == ERROR_FEATURES:
            return 0 if self.drive is None else r.error
        return {SECTOR_COUNT: r.nsector, LBA_LOW: r.sector, LBA_MID: r.lcyl, LBA_HIGH: r.hcyl,
                DEVICE: r.select}[offset] & 0xFF

    def write(self, offset: int, size: int, value: int) -> None:
        if offset == DATA:
            self._write_data(size, value)
            return
        value &= 0xFF
        if offset == STATUS_COMMAND:
            self._set_intrq(False)
            self._command(value)
            return
        for unit, r in enumerate(self.regs):
            if offset == ERROR_FEATURES:
                r.feature = value
            elif offset == SECTOR_COUNT:
                r.nsector = value
            elif offset == LBA_LOW:
                r.sector = value
            elif offset == LBA_MID:
                r.lcyl = value
            elif offset == LBA_HIGH:
                r.hcyl = value
            elif offset == DEVICE:
                r.select = (value | DEV_DEV) if unit else (value & ~DEV_DEV)
        if offset == DEVICE:
            self.unit = 1 if value & DEV_DEV else 0

    # -- data port ---------------------------------------------------------------------------------

    def _read_data(self, size: int) -> int:
        if self.drive is None or not self.cur.status & DRQ or self.writing:
            return 0
        width = max(size, 2)              # a byte read still moves one word (QEMU does the same)
        chunk = self.buffer[self.pos:self.pos + width]
        self.pos += width
        value = int.from_bytes(chunk.ljust(width, b"\0"), "little")
        if self.pos >= len(self.buffer):
            self._transfer_done()
        return value

    def _write_data(self, size: int, value: int) -> None:
        if self.drive is None or not self.cur.status & DRQ or not self.writing:
            return
        width = max(size, 2)
        end = min(self.pos + width, len(self.buffer))
        self.buffer[self.pos:end] = value.to_bytes(width, "little")[:end - self.pos]
        self.pos = end
        if self.pos >= len(self.buffer):
            self._transfer_done()

    def _start_transfer(self, nbytes: int, writing: bool, done: Callable[[], None],
                        data: bytes | None = None) -> None:
        self.buffer = bytearray(data) if data is not None else bytearray(nbytes)
        self.pos = 0
        self.writing = writing
        self.on_transfer_done = done
        self.cur.status = READY | DRQ

    def _transfer_done(self) -> None:
        self.cur.status &= ~DRQ
        done, self.on_transfer_done = self.on_transfer_done, None
        if done is not None:
            done()

    # -- command execution -------------------------------------------------------------------------

    def _command(self, opcode: int) -> None:
        if self.drive is None:
            return                        # no device answers: nothing happens (QEMU, and real buses)
        if self.cur.status & (BSY | DRQ):
            return                        # only DEVICE RESET may interrupt a command, and only for ATAPI
        self.cur.error = 0
        self.last_command_at = self.clock.now
        handler = COMMANDS.get(opcode)
        if handler is None:
            self._abort()
        else:
            handler(self, opcode)

    def _complete(self, status: int = READY) -> None:
        self.cur.status = status
        self._set_intrq(True)

    def _abort(self, error: int = ABRT) -> None:
        self.cur.error = error
        self._complete(DRDY | ERR)

    def _abort_out_of_range(self) -> None:
        """An address past the last sector: ABRT, as QEMU reports it (real drives often say IDNF)."""
        self._abort(ABRT)

    def _cmd_identify(self, opcode: int) -> None:
        self._start_transfer(SECTOR, False, self._finish_pio_in, self.drive.identify())
        self._set_intrq(True)

    def _finish_pio_in(self) -> None:
        self.cur.status = READY

    def _cmd_nondata(self, opcode: int) -> None:
        self._complete()

    def _cmd_flush(self, opcode: int) -> None:
        self.drive.flush()
        self._complete()

    def _cmd_check_power_mode(self, opcode: int) -> None:
        self.cur.nsector = 0xFF           # active or idle
        self._complete()

    def _cmd_set_features(self, opcode: int) -> None:
        if self.cur.feature in SET_FEATURES_ACCEPTED:
            self._complete()
        else:
            self._abort()

    def _cmd_initialize_device_parameters(self, opcode: int) -> None:
        """Sets the CHS translation: heads from the device register, sectors per track from the count."""
        if self.cur.nsector == 0:
            self._abort()
            return
        self.drive.heads = (self.cur.select & 0x0F) + 1
        self.drive.spt = self.cur.nsector
        self._complete()

    def _cmd_set_multiple_mode(self, opcode: int) -> None:
        n = self.cur.nsector
        if n > MAX_MULT_SECTORS or n & (n - 1):
            self._abort()
            return
        self.drive.mult_sectors = n
        self._complete()

    def _cmd_execute_device_diagnostic(self, opcode: int) -> None:
        for unit, regs in enumerate(self.regs):
            regs.signature()
            regs.error = 0x01 if self.drives[unit] else 0x00
            regs.status = READY if self.drives[unit] else 0
        self.unit = 0
        self._set_intrq(True)

    # -- sector addressing -------------------------------------------------------------------------

    def _address(self) -> int | None:
        """The sector the registers name: LBA28, or CHS through the current translation (None: invalid)."""
        r, d = self.cur, self.drive
        if r.select & DEV_LBA:
            return (r.select & 0x0F) << 24 | r.hcyl << 16 | r.lcyl << 8 | r.sector
        cyl, head, sect = r.hcyl << 8 | r.lcyl, r.select & 0x0F, r.sector
        if sect == 0 or sect > d.spt or head >= d.heads:
            return None
        return (cyl * d.heads + head) * d.spt + sect - 1

    def _set_address(self, lba: int) -> None:
        r, d = self.cur, self.drive
        if r.select & DEV_LBA:
            r.select = (r.select & 0xF0) | (lba >> 24 & 0x0F)
            r.hcyl, r.lcyl, r.sector = lba >> 16 & 0xFF, lba >> 8 & 0xFF, lba & 0xFF
            return
        cyl, rest = divmod(lba, d.heads * d.spt)
        head, sect = divmod(rest, d.spt)
        r.select = (r.select & 0xF0) | head
        r.hcyl, r.lcyl, r.sector = cyl >> 8 & 0xFF, cyl & 0xFF, sect + 1

    def _in_range(self, lba: int | None, count: int) -> bool:
        return lba is not None and lba + count <= self.drive.sectors

    def _block_size(self, opcode: int) -> int:
        return self.drive.mult_sectors if opcode in (READ_MULTIPLE, WRITE_MULTIPLE) else 1

    def _after_media_time(self, sectors: int, callback: Callable[[], None]) -> None:
        self.cur.status = READY | BSY
        delay = sectors * self.clock.hz * SECTOR_TIME_US // 1_000_000
        self._event = self.clock.schedule_in(delay, callback, line_of(self.irq))

    # -- READ SECTORS / READ MULTIPLE (PIO data-in) ---------------------------------------------------

    def _cmd_read(self, opcode: int) -> None:
        block = self._block_size(opcode)
        if block == 0:
            self._abort()                 # READ MULTIPLE before SET MULTIPLE MODE
            return
        remaining = self.cur.nsector or 256
        self._read_next(remaining, block)

    def _read_next(self, remaining: int, block: int) -> None:
        n = min(remaining, block)
        self._after_media_time(n, lambda: self._read_ready(remaining, block, n))

    def _read_ready(self, remaining: int, block: int, n: int) -> None:
        self._event = None
        lba = self._address()
        if not self._in_range(lba, n):
            self._abort_out_of_range()
            return
        data = b"".join(self.drive.read_sector(lba + i) for i in range(n))
        self.sectors_read += n
        self._set_address(lba + n)
        self.cur.nsector = (remaining - n) & 0xFF
        left = remaining - n
        done = (lambda: self._read_next(left, block)) if left else self._finish_pio_in
        self._start_transfer(n * SECTOR, False, done, data)
        self._set_intrq(True)

    # -- WRITE SECTORS / WRITE MULTIPLE (PIO data-out) ------------------------------------------------

    def _cmd_write(self, opcode: int) -> None:
        block = self._block_size(opcode)
        if block == 0:
            self._abort()
            return
        remaining = self.cur.nsector or 256
        self._write_next(remaining, block)

    def _write_next(self, remaining: int, block: int) -> None:
        """DRQ for the next block; the first comes without an interrupt, as the protocol says."""
        n = min(remaining, block)
        self._start_transfer(n * SECTOR, True, lambda: self._write_received(remaining, block, n))

    def _write_received(self, remaining: int, block: int, n: int) -> None:
        self._after_media_time(n, lambda: self._write_commit(remaining, block, n))

    def _write_commit(self, remaining: int, block: int, n: int) -> None:
        self._event = None
        lba = self._address()
        if not self._in_range(lba, n):
            self._abort_out_of_range()
            return
        for i in range(n):
            self.drive.write_sector(lba + i, bytes(self.buffer[i * SECTOR:(i + 1) * SECTOR]))
        self.sectors_written += n
        self._set_address(lba + n)
        self.cur.nsector = (remaining - n) & 0xFF
        left = remaining - n
        if left:
            self._write_next(left, block)
            self._set_intrq(True)
        else:
            self._complete()

    def _cmd_read_verify(self, opcode: int) -> None:
        count = self.cur.nsector or 256
        lba = self._address()
        if self._in_range(lba, count):
            self._set_address(lba + count - 1)
            self._complete()
        else:
            self._abort_out_of_range()

    # -- device control: nIEN and software reset ------------------------------------------------------

    def write_control(self, value: int) -> None:
        old, self.devctl = self.devctl, value
        if value & CTL_SRST and not old & CTL_SRST:
            self._reset_begin()
        elif old & CTL_SRST and not value & CTL_SRST:
            self._reset_end()
        self._drive_line()

    def _reset_begin(self) -> None:
        """SRST asserted: any command is abandoned, both devices are busy."""
        self.clock.cancel(self._event)
        self._event = None
        self.on_transfer_done = None
        self.buffer = bytearray()
        for unit, regs in enumerate(self.regs):
            regs.status = BSY | DSC if self.drives[unit] else 0
        self.intrq = False

    def _reset_end(self) -> None:
        """SRST released: the devices post the reset signature, device 0 is selected, no interrupt."""
        for unit, regs in enumerate(self.regs):
            regs.signature()
            regs.select = 0xA0 | (DEV_DEV if unit else 0)
            regs.error = 0x01 if self.drives[unit] else 0x00
            regs.status = READY if self.drives[unit] else 0
            regs.feature = 0
        for drive in self.drives:
            if drive is not None:
                drive.mult_sectors = MAX_MULT_SECTORS
        self.unit = 0

    def close(self) -> None:
        for drive in self.drives:
            if drive is not None:
                drive.close()


COMMANDS: dict[int, Callable[[AtaChannel, int], None]] = {
    IDENTIFY_DEVICE: AtaChannel._cmd_identify,
    READ_SECTORS: AtaChannel._cmd_read,
    READ_SECTORS_NORETRY: AtaChannel._cmd_read,
    READ_MULTIPLE: AtaChannel._cmd_read,
    WRITE_SECTORS: AtaChannel._cmd_write,
    WRITE_SECTORS_NORETRY: AtaChannel._cmd_write,
    WRITE_MULTIPLE: AtaChannel._cmd_write,
    READ_VERIFY_SECTORS: AtaChannel._cmd_read_verify,
    READ_VERIFY_SECTORS_NORETRY: AtaChannel._cmd_read_verify,
    SET_FEATURES: AtaChannel._cmd_set_features,
    SET_MULTIPLE_MODE: AtaChannel._cmd_set_multiple_mode,
    INITIALIZE_DEVICE_PARAMETERS: AtaChannel._cmd_initialize_device_parameters,
    EXECUTE_DEVICE_DIAGNOSTIC: AtaChannel._cmd_execute_device_diagnostic,
    FLUSH_CACHE: AtaChannel._cmd_flush,
    FLUSH_CACHE_EXT: AtaChannel._cmd_flush,
    CHECK_POWER_MODE: AtaChannel._cmd_check_power_mode,
    **{op: AtaChannel._cmd_nondata for op in POWER_COMMANDS},
    **{op: AtaChannel._cmd_nondata for op in range(RECALIBRATE, RECALIBRATE + 16)},
}
