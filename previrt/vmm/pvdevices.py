"""Para-virtual devices, the device side every hypervisor shares: console output and block I/O asked for by a
hypercall instead of driven through emulated device registers, served by the bare PC's own device models.

Owns what a para-virtual console write and block transfer do to the board: the bytes go out through COM1's
transmitter exactly as the UART sends THR writes (the same serial stream, loopback included), and sectors move
synchronously on the same disk image files the ATA channel uses.  A hypervisor validates the guest's registers
and moves the data between guest memory and these calls; nothing here reads guest memory.

API (one `PvDevices` per machine, built on its board):

    dev = PvDevices(board)
    dev.console_write(data: bytes) -> int           bytes sent (len(data)); ENODEV without a COM1
    dev.console_read(limit: int) -> bytes | int     up to `limit` received bytes (b"": none now); ENODEV
    dev.block_sectors(drive: int) -> int            sectors of drive 0 (master) / 1 (slave); 0: no such drive
    dev.block_read(drive, lba, count) -> bytes | int     count * 512 bytes, or a negative error
    dev.block_write(drive, lba, data) -> int        0, or a negative error (data: whole sectors)

Errors are negative errno numbers, as a hypercall returns them: ENODEV (no such device), EINVAL (a count of 0 or
above BLOCK_MAX_SECTORS, data not whole sectors, lba + count beyond the disk), EIO (the image file failed).  No
value raises in the host."""

from __future__ import annotations

from previrt.machine.devices.ata import SECTOR
from previrt.machine.devices.uart16550 import IER_DLM, IER_ERBFI, IIR_FCR, LCR, LSR, LSR_DR, MCR, RBR_THR_DLL

ENODEV, EINVAL, EIO = -19, -22, -5
BLOCK_MAX_SECTORS = 256          # one request moves at most 128 KiB (an ATA command's limit, LBA28 count 0 = 256)
BLOCK_READ, BLOCK_WRITE = 0, 1   # the operations a block hypercall names
# COM1 set up for input as the native driver sets it up (register, value): 115200 baud 8N1, FIFOs with receive trigger
# level 14, DTR RTS OUT2 (IRQ 4 routed to the PIC), the received-data interrupt on
CONSOLE_INPUT_SETUP = ((IER_DLM, 0), (LCR, 0x80), (RBR_THR_DLL, 1), (IER_DLM, 0), (LCR, 0x03), (IIR_FCR, 0xC7),
                       (MCR, 0x0B), (IER_DLM, IER_ERBFI))


class PvDevices:
    """The para-virtual device side of one machine: its board's COM1 and ATA channel, reached without registers."""

    def __init__(self, board):
        self.board = board
        self.counts = {"console_bytes": 0, "console_received": 0, "sectors_read": 0, "sectors_written": 0}
        self.input_open = False

    # --- console ------------------------------------------------------------------------------------------------
    def console_write(self, data: bytes) -> int:
        """Send `data` out of COM1 as its transmitter sends THR bytes (UART `_transmit`: the serial sink, the byte
        counts and the last-transfer time the input-wait rule reads, the loopback path when the guest set it)."""
        uart = self.board.devices.get("com1")
        if uart is None:
            return ENODEV
        for byte in data:
            uart._transmit(byte)
        self.counts["console_bytes"] += len(data)
        return len(data)

    def console_read(self, limit: int) -> bytes | int:
        """Up to `limit` bytes COM1 has received, taken as reads of LSR and RBR take them (its FIFO, its interrupt
        and timeout state, the remote's flow control).  The first call sets COM1 up for input as the native driver
        does (CONSOLE_INPUT_SETUP): from then on IRQ 4 announces received data."""
        uart = self.board.devices.get("com1")
        if uart is None:
            return ENODEV
        if not self.input_open:
            for offset, value in CONSOLE_INPUT_SETUP:
                uart.write(offset, 1, value)
            uart.read(LSR, 1)
            uart.read(RBR_THR_DLL, 1)
            self.input_open = True
        data = bytearray()
        while len(data) < limit and uart.read(LSR, 1) & LSR_DR:
            data.append(uart.read(RBR_THR_DLL, 1))
        self.counts["console_received"] += len(data)
        return bytes(data)

    # --- block --------------------------------------------------------------------------------------------------
    def _drive(self, drive: int):
        ata = self.board.devices.get("ata")
        if ata is None or drive not in (0, 1):
            return None, None
        return ata, ata.drives[drive]

    def block_sectors(self, drive: int) -> int:
        _, d = self._drive(drive)
        return 0 if d is None else d.sectors

    def _check(self, drive: int, lba: int, count: int):
        ata, d = self._drive(drive)
        if d is None:
            return None, None, ENODEV
        if not 0 < count <= BLOCK_MAX_SECTORS or lba < 0 or lba + count > d.sectors:
            return None, None, EINVAL
        return ata, d, 0

    def block_read(self, drive: int, lba: int, count: int) -> bytes | int:
        """`count` sectors from `lba` of the drive's image file, synchronously (the ATA model's own file)."""
        ata, d, error = self._check(drive, lba, count)
        if error:
            return error
        try:
            data = b"".join(d.read_sector(lba + i) for i in range(count))
        except OSError:
            return EIO
        ata.sectors_read += count
        ata.last_command_at = ata.clock.now
        self.counts["sectors_read"] += count
        return data

    def block_write(self, drive: int, lba: int, data: bytes) -> int:
        """Whole sectors of `data` written at `lba`, synchronously, and flushed to the image file."""
        if not data or len(data) % SECTOR:
            return EINVAL
        count = len(data) // SECTOR
        ata, d, error = self._check(drive, lba, count)
        if error:
            return error
        try:
            for i in range(count):
                d.write_sector(lba + i, data[i * SECTOR:(i + 1) * SECTOR])
        except OSError:
            return EIO
        ata.sectors_written += count
        ata.last_command_at = ata.clock.now
        self.counts["sectors_written"] += count
        return 0
