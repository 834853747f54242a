"""The CGA text console of the PC: the colour VGA ports at 0x3C0-0x3DF as a VGA card in text mode 3 answers them, with
the 6845-style CRT controller at 0x3D4 (index) / 0x3D5 (data), and the text screen in memory at 0xB8000.

Values as QEMU's standard VGA leaves them after SeaBIOS set mode 3 (read on QEMU 7.2): sequencer, graphics and
attribute controller registers of mode 3, misc output 0x67, the CRTC registers 0x00-0x18 of mode 3 (cursor scan lines
13-14); input status 1 (0x3DA) toggles its retrace and display-enable bits on every read (QEMU's way of looking busy)
and resets the attribute controller's index/data flip-flop; ports of this range without a register read 0.  The
monochrome ports (0x3B0-0x3BF) are not decoded in colour mode: nothing claims them (they read all ones).  The screen
memory itself is plain memory (memory.LOW_REGIONS); `text_screen` renders it for `previrt run --screen`.
The cursor starts at the top left, on a screen of blanks (devices/bios.py clears it as a BIOS does)."""

from __future__ import annotations

from typing import Callable

BASE = 0x3C0
LENGTH = 0x20
TEXT_BASE = 0xB8000
COLUMNS, ROWS = 80, 25

CRTC_MODE3 = (0x5F, 0x4F, 0x50, 0x82, 0x55, 0x81, 0xBF, 0x1F, 0x00, 0x4F, 0x0D, 0x0E, 0x00, 0x00, 0x00, 0x00,
              0x9C, 0x8E, 0x8F, 0x28, 0x1F, 0x96, 0xB9, 0xA3, 0xFF)
SEQ_MODE3 = (0x03, 0x00, 0x03, 0x00, 0x02)
GR_MODE3 = (0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0E, 0x00, 0xFF)
AR_MODE3 = (0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0x3E, 0x3F,
            0x0C, 0x00, 0x0F, 0x08, 0x00)
MISC_OUTPUT = 0x67
ST01_TOGGLE = 0x09                 # vertical retrace | display enable
CURSOR_HIGH, CURSOR_LOW = 0x0E, 0x0F
START_HIGH, START_LOW = 0x0C, 0x0D


class CgaConsole:
    def __init__(self) -> None:
        self.crtc = bytearray(256)
        self.crtc[:len(CRTC_MODE3)] = bytes(CRTC_MODE3)
        self.crtc_index = CURSOR_LOW         # the indices SeaBIOS leaves selected
        self.seq = bytearray(256)
        self.seq[:len(SEQ_MODE3)] = bytes(SEQ_MODE3)
        self.seq_index = 0
        self.gr = bytearray(256)
        self.gr[:len(GR_MODE3)] = bytes(GR_MODE3)
        self.gr_index = 5
        self.ar = bytearray(0x20)
        self.ar[:len(AR_MODE3)] = bytes(AR_MODE3)
        self.ar_index = 0
        self.ar_flip = False               # False: the next write to 0x3C0 is an index
        self.misc = MISC_OUTPUT
        self.feature = 0
        self.st01 = 0
        self.dac_mask = 0
        self.dac_read = self.dac_write = self.dac_sub = 0
        self.dac_state = 0
        self.palette = bytearray(768)

    @property
    def cursor(self) -> int:
        """The cursor's character offset from the start of the screen memory (CRTC 0x0E:0x0F)."""
        return (self.crtc[CURSOR_HIGH] << 8) | self.crtc[CURSOR_LOW]

    @property
    def start(self) -> int:
        return (self.crtc[START_HIGH] << 8) | self.crtc[START_LOW]

    def read(self, offset: int, size: int) -> int:
        port = BASE + offset
        if port == 0x3C0:
            return self.ar_index
        if port == 0x3C1:
            return self.ar[self.ar_index & 0x1F]
        if port == 0x3C4:
            return self.seq_index
        if port == 0x3C5:
            return self.seq[self.seq_index]
        if port == 0x3C6:
            return self.dac_mask
        if port == 0x3C7:
            return self.dac_state
        if port == 0x3C8:
            return self.dac_write
        if port == 0x3C9:
            value = self.palette[(self.dac_read * 3 + self.dac_sub) % 768]
            self.dac_sub += 1
            if self.dac_sub == 3:
                self.dac_sub, self.dac_read = 0, (self.dac_read + 1) & 0xFF
            return value
        if port == 0x3CA:
            return self.feature
        if port == 0x3CC:
            return self.misc
        if port == 0x3CE:
            return self.gr_index
        if port == 0x3CF:
            return self.gr[self.gr_index]
        if port == 0x3D4:
            return self.crtc_index
        if port == 0x3D5:
            return self.crtc[self.crtc_index]
        if port == 0x3DA:
            self.ar_flip = False
            self.st01 ^= ST01_TOGGLE
            return self.st01
        return 0

    def write(self, offset: int, size: int, value: int) -> None:
        port, value = BASE + offset, value & 0xFF
        if port == 0x3C0:
            if self.ar_flip:
                self.ar[self.ar_index & 0x1F] = value
            else:
                self.ar_index = value & 0x3F
            self.ar_flip = not self.ar_flip
        elif port == 0x3C2:
            self.misc = value
        elif port == 0x3C4:
            self.seq_index = value
        elif port == 0x3C5:
            self.seq[self.seq_index] = value
        elif port == 0x3C6:
            self.dac_mask = value
        elif port == 0x3C7:
            self.dac_read, self.dac_sub, self.dac_state = value, 0, 3
        elif port == 0x3C8:
            self.dac_write, self.dac_sub, self.dac_state = value, 0, 0
        elif port == 0x3C9:
            self.palette[(self.dac_write * 3 + self.dac_sub) % 768] = value
            self.dac_sub += 1
            if self.dac_sub == 3:
                self.dac_sub, self.dac_write = 0, (self.dac_write + 1) & 0xFF
        elif port == 0x3CE:
            self.gr_index = value
        elif port == 0x3CF:
            self.gr[self.gr_index] = value
        elif port == 0x3D4:
            self.crtc_index = value
        elif port == 0x3D5:
            if self.crtc_index <= 7 and self.crtc[0x11] & 0x80 and self.crtc_index != 7:
                return                              # CRTC 0-6 write-protected (vertical retrace end bit 7)
            self.crtc[self.crtc_index] = value
        elif port == 0x3DA:
            self.feature = value


def text_screen(read_memory: Callable[[int, int], bytes], start: int = 0) -> str:
    """The 80x25 text screen as lines of text (code page 437; NUL as a blank; trailing blanks dropped)."""
    cells = read_memory(TEXT_BASE + 2 * start, 2 * COLUMNS * ROWS)
    chars = bytes(b if b else 0x20 for b in cells[0::2]).decode("cp437")
    lines = [chars[r * COLUMNS:(r + 1) * COLUMNS].rstrip() for r in range(ROWS)]
    return "\n".join(lines) + "\n"
