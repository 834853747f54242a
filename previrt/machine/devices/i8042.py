"""The 8042 keyboard controller of the PC: data at 0x60, status (read) / command (write) at 0x64; the keyboard on IRQ 1.

As QEMU's i8042 and PS/2 keyboard answer after SeaBIOS (read on QEMU 7.2): status 0x1C at rest (system flag, last
write a command — QEMU never clears that bit again, nor does this model —, keyboard not inhibited), command byte 0x61 (keyboard interrupt on, mouse port off, translation to
scancode set 1).  Controller commands: 0x20 read / 0x60 write the command byte, 0xA7 / 0xA8 disable / enable the
mouse port, 0xA9 mouse interface test (0x00), 0xAA self-test (0x55), 0xAB keyboard interface test (0x00), 0xAD /
0xAE disable / enable the keyboard, 0xC0 read input port, 0xD0 read output port (0xCF), 0xD1 write output port,
0xD2 write the keyboard's output buffer, 0xD4 write to the mouse (this PC has none: no answer); others are ignored
(0xFE, the reset pulse, included: the run goes on).  Keyboard commands on 0x60 answer 0xFA (ack), reset 0xFF also
0xAA, identify 0xF2 also 0xAB 0x41, echo 0xEE 0xEE; the argument bytes of 0xED, 0xF0, 0xF3 are acknowledged.
A read of 0x60 with nothing pending returns the last byte read again, as on QEMU.  IRQ 1 is high while a byte is
in the output buffer and the command byte enables the keyboard interrupt.

Key input (`previrt run --keys FILE`): the file's bytes are scancodes of set 1, offered one at a time in virtual
time: the first KEYS_START_MS simulated milliseconds after start, each next KEY_INTERVAL_MS after the guest read the
previous one, while the keyboard is enabled (command byte bit 4 clear); never while a reply of the controller or
the keyboard waits."""

from __future__ import annotations

from collections import deque

from previrt.machine.clock import Clock, Event
from previrt.machine.irq import IrqLine, line_of

STATUS_OBF = 0x01
STATUS_SYS = 0x04
STATUS_CMD = 0x08
STATUS_UNLOCKED = 0x10
CCB_KBD_INT = 0x01
CCB_KBD_DISABLED = 0x10
FIRMWARE_CCB = 0x61
OUTPUT_PORT = 0xCF
KEYS_START_MS = 10
KEY_INTERVAL_MS = 1
ACK = 0xFA


class _Window:
    """One port of the controller (0x60 or 0x64) as a bus device."""

    def __init__(self, controller: "I8042", port: int):
        self.controller, self.port = controller, port

    def read(self, offset: int, size: int) -> int:
        return self.controller.read_port(self.port)

    def write(self, offset: int, size: int, value: int) -> None:
        self.controller.write_port(self.port, value & 0xFF)


class I8042:
    def __init__(self, clock: Clock, irq: IrqLine | None, keys: bytes = b""):
        self.clock, self.irq = clock, irq
        self.ccb = FIRMWARE_CCB
        self.last_was_command = True
        self.output: deque[int] = deque()       # controller and keyboard replies, before any key
        self.last = 0
        self.pending_command: int | None = None  # a controller command waiting for its data byte
        self.keyboard_arg: int | None = None     # a keyboard command waiting for its argument
        self.keys = deque(keys)
        self.key_byte: int | None = None         # a scancode in the output buffer
        self._key_event: Event | None = None
        self.data = _Window(self, 0x60)
        self.status = _Window(self, 0x64)
        if self.keys:
            self._offer_key_in(clock.hz * KEYS_START_MS // 1000)

    # --- output buffer -------------------------------------------------------------------------------------
    def _full(self) -> bool:
        return bool(self.output) or self.key_byte is not None

    def _update_irq(self) -> None:
        if self.irq is not None:
            self.irq.set(self._full() and bool(self.ccb & CCB_KBD_INT))

    def _reply(self, *values: int) -> None:
        self.output.extend(values)
        self._update_irq()

    def _offer_key_in(self, delay: int) -> None:
        if self._key_event is None and self.keys:
            self._key_event = self.clock.schedule_in(delay, self._offer_key, line_of(self.irq))

    def _offer_key(self) -> None:
        self._key_event = None
        if self._full() or self.ccb & CCB_KBD_DISABLED:
            self._offer_key_in(self.clock.hz * KEY_INTERVAL_MS // 1000)
            return
        self.key_byte = self.keys.popleft()
        self._update_irq()

    # --- ports ---------------------------------------------------------------------------------------------
    def read_port(self, port: int) -> int:
        if port == 0x64:
            return (STATUS_OBF if self._full() else 0) | STATUS_SYS | STATUS_UNLOCKED | (
                STATUS_CMD if self.last_was_command else 0)
        if self.output:
            self.last = self.output.popleft()
        elif self.key_byte is not None:
            self.last, self.key_byte = self.key_byte, None
            self._offer_key_in(self.clock.hz * KEY_INTERVAL_MS // 1000)
        self._update_irq()
        return self.last

    def write_port(self, port: int, value: int) -> None:
        if port == 0x64:
            self.last_was_command = True
            self._command(value)
            return
        command, self.pending_command = self.pending_command, None
        if command == 0x60:
            self.ccb = value
            self._update_irq()
        elif command == 0xD2:
            self._reply(value)
        elif command in (0xD1, 0xD4):
            pass                                 # output port (A20, reset line) / a mouse this PC does not have
        else:
            self._keyboard(value)

    def _command(self, value: int) -> None:
        if value in (0x60, 0xD1, 0xD2, 0xD4):
            self.pending_command = value
        elif value == 0x20:
            self._reply(self.ccb)
        elif value == 0xA7:
            self.ccb |= 0x20
        elif value == 0xA8:
            self.ccb &= ~0x20
        elif value in (0xA9, 0xAB):
            self._reply(0x00)
        elif value == 0xAA:
            self._reply(0x55)
        elif value == 0xAD:
            self.ccb |= CCB_KBD_DISABLED
        elif value == 0xAE:
            self.ccb &= ~CCB_KBD_DISABLED
        elif value == 0xC0:
            self._reply(0x00)
        elif value == 0xD0:
            self._reply(OUTPUT_PORT)

    def _keyboard(self, value: int) -> None:
        if self.keyboard_arg is not None:
            self.keyboard_arg = None
            self._reply(ACK)
        elif value in (0xED, 0xF0, 0xF3):
            self.keyboard_arg = value
            self._reply(ACK)
        elif value == 0xFF:
            self._reply(ACK, 0xAA)
        elif value == 0xF2:
            self._reply(ACK, 0xAB, 0x41)
        elif value == 0xEE:
            self._reply(0xEE)
        else:
            self._reply(ACK)
