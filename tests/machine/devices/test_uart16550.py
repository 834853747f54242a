"""16550A UART at 0x3F8: divisor latch, loopback, IIR priorities and FIFO bits, THRE interrupt, RX with IRQ.

Each test drives the UART through the board's port bus; the IRQ is observed at the 8259A pair."""

from __future__ import annotations

import io

from previrt.machine.devices.uart16550 import Uart16550
from previrt.machine.clock import Clock
from tests.machine.devices.conftest import Guest, linux_pic_init, make_board

COM1 = 0x3F8
THR, IER, IIR, FCR, LCR, MCR, LSR, MSR, SCR = COM1, COM1 + 1, COM1 + 2, COM1 + 2, COM1 + 3, COM1 + 4, \
    COM1 + 5, COM1 + 6, COM1 + 7


def setup_line(g, divisor=1, fifo=0xC7, mcr=0x0B):
    """The usual driver setup: 8N1 at 115200/divisor, FIFOs, DTR/RTS/OUT2."""
    g.outb(IER, 0x00)
    g.outb(LCR, 0x80)
    g.outb(THR, divisor & 0xFF)
    g.outb(IER, divisor >> 8)
    g.outb(LCR, 0x03)
    g.outb(FCR, fifo)
    g.outb(MCR, mcr)


def irq4_pending(g) -> bool:
    return bool(g.board.pic.master.irr & 0x10)


def test_reset_state_matches_qemu(guest):
    assert guest.inb(LSR) == 0x60
    assert guest.inb(IIR) == 0x01
    assert guest.inb(MSR) == 0xB0
    assert guest.inb(MCR) == 0x08
    assert guest.inb(LCR) == 0x00


def test_divisor_latch_and_scratch(guest):
    guest.outb(LCR, 0x80)
    guest.outb(THR, 0x34)
    guest.outb(IER, 0x12)
    assert (guest.inb(THR), guest.inb(IER)) == (0x34, 0x12)
    guest.outb(LCR, 0x03)
    assert guest.board.devices["com1"].divisor == 0x1234
    assert guest.inb(IER) == 0x00          # DLAB clear: IER again
    guest.outb(SCR, 0x5A)
    assert guest.inb(SCR) == 0x5A
    assert guest.board.config.serial_out.getvalue() == b""    # divisor writes are not data


def test_tx_reaches_the_sink(guest):
    setup_line(guest)
    for ch in b"hi\n":
        while not guest.inb(LSR) & 0x20:
            pass
        guest.outb(THR, ch)
    assert guest.board.config.serial_out.getvalue() == b"hi\n"
    assert guest.inb(LSR) & 0x60 == 0x60


def test_loopback_returns_tx_and_modem_lines(guest):
    setup_line(guest, mcr=0x1F)            # loopback with DTR, RTS, OUT1, OUT2
    guest.outb(THR, 0xAE)
    assert guest.inb(LSR) & 0x01
    assert guest.inb(THR) == 0xAE
    assert not guest.inb(LSR) & 0x01
    assert guest.inb(MSR) == 0xF0          # CTS<-RTS, DSR<-DTR, RI<-OUT1, DCD<-OUT2
    guest.outb(MCR, 0x11)
    assert guest.inb(MSR) == 0x20
    assert guest.board.config.serial_out.getvalue() == b""    # nothing left on the wire


def test_iir_reports_fifo_bits_and_priority_order(guest):
    setup_line(guest, mcr=0x1B)            # loopback, OUT2
    guest.outb(IER, 0x0F)
    assert guest.inb(IIR) == 0xC2          # THRE (FIFOs enabled: 0xC0)
    assert guest.inb(IIR) == 0xC1          # reading IIR cleared the THRE source
    for ch in range(15):                   # over the 14-byte trigger: RX data available
        guest.outb(THR, ch)
    assert guest.inb(IIR) == 0xC4
    for ch in range(3):                    # overflow the 16-byte FIFO: overrun, line status first
        guest.outb(THR, ch)
    assert guest.inb(IIR) == 0xC6
    assert guest.inb(LSR) & 0x02           # the LSR read clears OE
    assert guest.inb(IIR) == 0xC4
    for _ in range(16):
        guest.inb(THR)
    assert guest.inb(IIR) == 0xC2          # the last THR write left THRE pending
    guest.outb(FCR, 0x00)
    assert guest.inb(IIR) & 0xC0 == 0


def test_thre_interrupt_semantics(guest):
    linux_pic_init(guest)
    guest.outb(0x21, 0xEB)                 # unmask IRQ 4
    setup_line(guest)
    board = guest.board
    assert not board.intr()
    guest.outb(IER, 0x02)                  # ETBEI while THR empty: immediate THRE interrupt
    assert board.intr() and board.acknowledge() == 0x34
    assert guest.inb(IIR) == 0xC2          # identifies, and clears, THRE
    assert guest.inb(IIR) == 0xC1
    guest.outb(0x20, 0x20)
    board.pic.set_irq(4, False)
    guest.outb(THR, ord("x"))              # the byte leaves at once; THRE again: a new edge
    assert board.intr() and board.acknowledge() == 0x34
    guest.outb(0x20, 0x20)
    guest.outb(IER, 0x00)
    guest.outb(IER, 0x02)                  # re-enabling ETBEI re-arms it (QEMU, Bochs, Windows rely on it)
    assert guest.inb(IIR) == 0xC2


def test_out2_gates_the_irq_line(guest):
    setup_line(guest, mcr=0x03)            # no OUT2: the UART interrupts, the ISA line does not
    guest.outb(IER, 0x02)
    assert guest.board.devices["com1"].iir & 0x0F == 0x02
    assert not irq4_pending(guest)
    guest.outb(IER, 0x00)
    guest.outb(MCR, 0x0B)
    guest.outb(IER, 0x02)
    assert irq4_pending(guest)


def rx_board(data: bytes):
    b = make_board(serial_in=io.BytesIO(data))
    return Guest(b)


def test_rx_from_file_with_interrupts_at_character_time():
    g = rx_board(b"ok\n")
    linux_pic_init(g)
    g.outb(0x21, 0xEB)
    uart = g.board.devices["com1"]
    g.run_for(10**7)
    assert not uart.lsr & 0x01             # the line is idle until the guest sets it up
    setup_line(g, divisor=1, fifo=0x07)    # FIFO, trigger level 1
    g.outb(IER, 0x01)
    char_time = 10 * 16 * g.clock.hz // 1_843_200
    assert uart.char_time() == char_time
    start = g.clock.now
    received = []
    while len(received) < 3:
        waited = g.run_until(g.board.intr)
        assert g.board.acknowledge() == 0x34
        assert g.inb(IIR) == 0xC4
        while g.inb(LSR) & 0x01:
            received.append(g.inb(THR))
        g.outb(0x20, 0x20)
        assert waited <= char_time
    assert bytes(received) == b"ok\n"
    assert g.clock.now - start == 3 * char_time           # one character per character time
    g.run_for(10 * char_time)
    assert not g.board.intr() and uart.rx_bytes == 3      # end of file: the line stays idle


def test_rx_without_fifo_holds_off_until_rbr_is_read():
    g = rx_board(b"abc")
    setup_line(g, divisor=12, fifo=0x00)
    uart = g.board.devices["com1"]
    g.run_for(100 * uart.char_time())
    assert g.inb(LSR) & 0x03 == 0x01       # one byte waiting, no overrun
    assert g.inb(THR) == ord("a")
    g.run_for(uart.char_time())
    assert g.inb(THR) == ord("b")
    g.run_for(uart.char_time())
    assert g.inb(THR) == ord("c")


def test_fifo_below_trigger_raises_character_timeout():
    g = rx_board(b"z")
    setup_line(g, fifo=0xC7)               # trigger 14, one byte arrives
    g.outb(IER, 0x01)
    uart = g.board.devices["com1"]
    g.run_for(uart.char_time())
    assert g.inb(IIR) == 0xC1              # below trigger: nothing yet
    g.run_for(4 * uart.char_time())
    assert g.inb(IIR) == 0xCC              # character timeout
    assert g.inb(THR) == ord("z")
    assert g.inb(IIR) == 0xC1


def test_same_input_same_timeline():
    def timeline():
        g = rx_board(bytes(range(40)))
        setup_line(g, divisor=3, fifo=0x87)
        g.outb(IER, 0x01)
        seen = []
        for _ in range(40):
            g.run_until(lambda: g.inb(LSR) & 0x01)
            seen.append((g.clock.now, g.inb(THR)))
        return seen
    assert timeline() == timeline()


def test_standalone_uart_without_irq_line():
    sink = io.BytesIO()
    uart = Uart16550(Clock(), None, sink)
    uart.write(3, 1, 0x03)
    uart.write(1, 1, 0x02)
    uart.write(0, 1, ord("A"))
    assert sink.getvalue() == b"A" and uart.read(2, 1) == 0x02
