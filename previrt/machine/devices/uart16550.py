"""The 16550A UART (COM1 at 0x3F8, IRQ 4): registers, FIFOs, interrupt identification, loopback.

Register semantics follow the National PC16550D datasheet and QEMU's serial.c (the differential reference)."""

from __future__ import annotations

from collections import deque
from typing import BinaryIO

from previrt.machine.clock import Clock, Event
from previrt.machine.irq import IrqLine, line_of

# register offsets (datasheet names)
RBR_THR_DLL, IER_DLM, IIR_FCR, LCR, MCR, LSR, MSR, SCR = range(8)

IER_ERBFI = 0x01     # received data available
IER_ETBEI = 0x02     # transmitter holding register empty
IER_ELSI = 0x04      # receiver line status
IER_EDSSI = 0x08     # modem status

IIR_NO_INT = 0x01
IIR_RLS = 0x06       # receiver line status: highest priority
IIR_RDA = 0x04       # received data available
IIR_CTI = 0x0C       # character timeout (FIFO mode)
IIR_THRE = 0x02      # transmitter holding register empty
IIR_MS = 0x00        # modem status: lowest priority
IIR_FIFOS_ENABLED = 0xC0

FCR_FIFO_ENABLE = 0x01
FCR_RCVR_RESET = 0x02
FCR_XMIT_RESET = 0x04
FCR_DMA_MODE = 0x08
FCR_TRIGGER = {0x00: 1, 0x40: 4, 0x80: 8, 0xC0: 14}   # RCVR trigger bits 7:6 -> bytes

LCR_DLAB = 0x80

MCR_DTR, MCR_RTS, MCR_OUT1, MCR_OUT2, MCR_LOOP = 0x01, 0x02, 0x04, 0x08, 0x10

LSR_DR, LSR_OE, LSR_PE, LSR_FE, LSR_BI, LSR_THRE, LSR_TEMT = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40
LSR_ERRORS = LSR_OE | LSR_PE | LSR_FE | LSR_BI

MSR_DCTS, MSR_DDSR, MSR_TERI, MSR_DDCD = 0x01, 0x02, 0x04, 0x08
MSR_DELTAS = 0x0F
MSR_CTS, MSR_DSR, MSR_RI, MSR_DCD = 0x10, 0x20, 0x40, 0x80

FIFO_SIZE = 16
UART_CLOCK = 1_843_200   # the PC's crystal: divisor 1 = 115200 baud (clock / 16)


def _is_tty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


class Uart16550:
    """TX is instantaneous: THR is empty again as soon as it is written (the THRE interrupt stays exact).

    RX timing, deterministic: the remote end starts sending once the guest has set the line up (the first
    LCR write with DLAB clear), one character per character time (frame bits x divisor x 16 / 1.8432 MHz,
    in virtual time), and holds off while the receiver has no room (RBR full without FIFO, FIFO full with
    it) or in loopback mode, so no byte is ever lost to overrun. A FIFO holding fewer bytes than the
    trigger level signals a character timeout after four character times, as the 16550A does."""

    def __init__(self, clock: Clock, irq: IrqLine | None, sink: BinaryIO, source: BinaryIO | None = None):
        self.clock = clock
        self.irq = irq
        self.sink = sink
        self.source = source
        self.rbr = 0
        self.ier = 0
        self.lcr = 0
        self.mcr = MCR_OUT2          # QEMU's reset value: OUT2 set, so IRQs pass until a driver says otherwise
        self.lsr = LSR_THRE | LSR_TEMT
        self.msr = MSR_DCD | MSR_DSR | MSR_CTS
        self.scr = 0
        self.fcr = 0
        self.divisor = 12            # 9600 baud
        self.rx_fifo: deque[int] = deque()
        self.thr_ipending = False
        self.timeout_ipending = False
        self.iir = IIR_NO_INT
        self.tx_bytes = 0
        self.rx_bytes = 0
        self._line_up = False        # the guest has programmed LCR with DLAB clear: the remote may send
        self._rx_event: Event | None = None
        self._timeout_event: Event | None = None
        self._source_done = source is None
        self._irq_level = False
        self._interactive = _is_tty(sink)   # a terminal sees every byte at once; files and pipes per line
        # What the run loop reads to tell a guest waiting for input that cannot come (virtual times):
        self.input_ended_at: int | None = None    # when the source reached its end (None: not yet, or no source)
        self.last_transfer = 0                    # the last byte sent or received
        self.last_receiver_read: int | None = None   # the last guest read of RBR or LSR

    # -- interrupt identification -----------------------------------------------------------------

    def _identify(self) -> int:
        """The highest-priority pending, enabled cause: line status > RX data/timeout > THRE > modem."""
        if self.ier & IER_ELSI and self.lsr & LSR_ERRORS:
            return IIR_RLS
        if self.ier & IER_ERBFI and self.timeout_ipending:
            return IIR_CTI
        if self.ier & IER_ERBFI and self.lsr & LSR_DR and (
                not self.fifo_enabled or len(self.rx_fifo) >= self.trigger_level):
            return IIR_RDA
        if self.ier & IER_ETBEI and self.thr_ipending:
            return IIR_THRE
        if self.ier & IER_EDSSI and self.msr & MSR_DELTAS:
            return IIR_MS
        return IIR_NO_INT

    def _update_irq(self) -> None:
        cause = self._identify()
        self.iir = cause | (IIR_FIFOS_ENABLED if self.fifo_enabled else 0)
        # On a PC the UART's INTR pin reaches the ISA IRQ line only through a buffer enabled by OUT2.
        level = cause != IIR_NO_INT and bool(self.mcr & MCR_OUT2)
        if level != self._irq_level:
            self._irq_level = level
            if self.irq is not None:
                self.irq.set(level)

    @property
    def fifo_enabled(self) -> bool:
        return bool(self.fcr & FCR_FIFO_ENABLE)

    @property
    def trigger_level(self) -> int:
        return FCR_TRIGGER[self.fcr & 0xC0]

    @property
    def dlab(self) -> bool:
        return bool(self.lcr & LCR_DLAB)

    @property
    def receive_interrupt_enabled(self) -> bool:
        """Whether received data would raise IRQ 4: IER.ERBFI set, OUT2 routing INTR to the PIC, no loopback."""
        return bool(self.ier & IER_ERBFI and self.mcr & MCR_OUT2 and not self.mcr & MCR_LOOP)

    # -- reads -------------------------------------------------------------------------------------

    def read(self, offset: int, size: int) -> int:
        if offset == RBR_THR_DLL:
            return self.divisor & 0xFF if self.dlab else self._read_rbr()
        if offset == IER_DLM:
            return self.divisor >> 8 if self.dlab else self.ier
        if offset == IIR_FCR:
            return self._read_iir()
        if offset == LCR:
            return self.lcr
        if offset == MCR:
            return self.mcr
        if offset == LSR:
            return self._read_lsr()
        if offset == MSR:
            return self._read_msr()
        return self.scr

    def _read_rbr(self) -> int:
        self.last_receiver_read = self.clock.now
        if self.fifo_enabled:
            value = self.rx_fifo.popleft() if self.rx_fifo else 0
            if not self.rx_fifo:
                self.lsr &= ~(LSR_DR | LSR_BI)
            self.timeout_ipending = False
            self._restart_timeout()
        else:
            value = self.rbr
            self.lsr &= ~(LSR_DR | LSR_BI)
        self._update_irq()
        self._resume_rx()
        return value

    def _read_iir(self) -> int:
        value = self.iir
        if value & 0x0F == IIR_THRE:           # reading IIR clears a THRE interrupt it reports
            self.thr_ipending = False
            self._update_irq()
        return value

    def _read_lsr(self) -> int:
        self.last_receiver_read = self.clock.now
        value = self.lsr
        if self.lsr & (LSR_OE | LSR_BI):       # overrun and break are cleared by the read
            self.lsr &= ~(LSR_OE | LSR_BI)
            self._update_irq()
        return value

    def _read_msr(self) -> int:
        if self.mcr & MCR_LOOP:                # loopback: the modem outputs feed the modem inputs
            m = self.mcr
            return ((m & (MCR_OUT1 | MCR_OUT2)) << 4) | ((m & MCR_RTS) << 3) | ((m & MCR_DTR) << 5)
        value = self.msr
        if self.msr & MSR_DELTAS:
            self.msr &= ~MSR_DELTAS
            self._update_irq()
        return value

    # -- writes ------------------------------------------------------------------------------------

    def write(self, offset: int, size: int, value: int) -> None:
        value &= 0xFF
        if offset == RBR_THR_DLL:
            self._write_divisor(value, high=False) if self.dlab else self._write_thr(value)
        elif offset == IER_DLM:
            self._write_divisor(value, high=True) if self.dlab else self._write_ier(value)
        elif offset == IIR_FCR:
            self._write_fcr(value)
        elif offset == LCR:
            self._write_lcr(value)
        elif offset == MCR:
            self._write_mcr(value)
        elif offset == SCR:
            self.scr = value
        # LSR and MSR are read-only here (factory test writes are ignored, as QEMU does)

    def _write_divisor(self, value: int, high: bool) -> None:
        self.divisor = (self.divisor & 0x00FF) | (value << 8) if high else (self.divisor & 0xFF00) | value

    def _write_thr(self, value: int) -> None:
        self.thr_ipending = False
        self.lsr &= ~(LSR_THRE | LSR_TEMT)
        self._update_irq()
        self._transmit(value)
        self.lsr |= LSR_THRE | LSR_TEMT        # sent at once: the holding register is empty again
        self.thr_ipending = True
        self._update_irq()

    def _transmit(self, value: int) -> None:
        self.tx_bytes += 1
        self.last_transfer = self.clock.now
        if self.mcr & MCR_LOOP:
            self._receive(value)
            return
        self.sink.write(bytes((value,)))
        if value == 0x0A or self._interactive:
            self.sink.flush()

    def _write_ier(self, value: int) -> None:
        changed = (self.ier ^ value) & 0x0F
        self.ier = value & 0x0F
        if changed & IER_ETBEI:
            # Setting ETBEI while THR is empty raises the THRE interrupt (even after an IIR read cleared it).
            self.thr_ipending = bool(self.ier & IER_ETBEI and self.lsr & LSR_THRE)
        if changed:
            self._update_irq()

    def _write_fcr(self, value: int) -> None:
        if (value ^ self.fcr) & FCR_FIFO_ENABLE:          # switching FIFO mode flushes both FIFOs
            value |= FCR_RCVR_RESET | FCR_XMIT_RESET
        if value & FCR_RCVR_RESET:
            self.lsr &= ~(LSR_DR | LSR_BI)
            self.rx_fifo.clear()
            self.timeout_ipending = False
            self.clock.cancel(self._timeout_event)
        if value & FCR_XMIT_RESET:
            self.lsr |= LSR_THRE
            self.thr_ipending = True
        self.fcr = value & (0xC0 | FCR_DMA_MODE | FCR_FIFO_ENABLE)
        self._update_irq()
        self._resume_rx()

    def _write_lcr(self, value: int) -> None:
        self.lcr = value
        if not value & LCR_DLAB and not self._line_up:
            self._line_up = True
            self._resume_rx()

    def _write_mcr(self, value: int) -> None:
        self.mcr = value & 0x1F
        self._update_irq()
        self._resume_rx()

    # -- receiving ---------------------------------------------------------------------------------

    def char_time(self) -> int:
        """Virtual instructions one frame takes on the line at the programmed divisor and format."""
        data_bits = 5 + (self.lcr & 3)
        stop_bits = 2 if self.lcr & 0x04 else 1
        parity = 1 if self.lcr & 0x08 else 0
        bits = 1 + data_bits + parity + stop_bits
        divisor = self.divisor or 0x10000
        return max(1, bits * divisor * 16 * self.clock.hz // UART_CLOCK)

    def _has_room(self) -> bool:
        if self.fifo_enabled:
            return len(self.rx_fifo) < FIFO_SIZE
        return not self.lsr & LSR_DR

    def _resume_rx(self) -> None:
        """Schedule the next byte from the source one character time from now, when it may be sent."""
        if (self._source_done or self._rx_event is not None or not self._line_up
                or self.mcr & MCR_LOOP or not self._has_room()):
            return
        self._rx_event = self.clock.schedule_in(self.char_time(), self._rx_arrives, line_of(self.irq))

    def _rx_arrives(self) -> None:
        self._rx_event = None
        if self.mcr & MCR_LOOP or not self._has_room():
            return                      # the remote end holds off; a later read or MCR write resumes it
        data = self.source.read(1)
        if not data:
            self._source_done = True
            self.input_ended_at = self.clock.now
            return
        self.rx_bytes += 1
        self.last_transfer = self.clock.now
        self._receive(data[0])
        self._resume_rx()

    def _receive(self, value: int) -> None:
        """A character completes in the receiver (from the line, or from TX in loopback)."""
        if self.fifo_enabled:
            if len(self.rx_fifo) < FIFO_SIZE:
                self.rx_fifo.append(value)
            else:
                self.lsr |= LSR_OE
            self._restart_timeout()
        else:
            if self.lsr & LSR_DR:
                self.lsr |= LSR_OE
            self.rbr = value
        self.lsr |= LSR_DR
        self._update_irq()

    def _restart_timeout(self) -> None:
        """The 16550A character timeout: data waiting in the FIFO and no activity for four characters."""
        self.clock.cancel(self._timeout_event)
        self._timeout_event = None
        if self.rx_fifo:
            self._timeout_event = self.clock.schedule_in(4 * self.char_time(), self._timeout, line_of(self.irq))

    def _timeout(self) -> None:
        self._timeout_event = None
        if self.rx_fifo:
            self.timeout_ipending = True
            self._update_irq()

    def close(self) -> None:
        if not getattr(self.sink, "closed", False):
            self.sink.flush()
