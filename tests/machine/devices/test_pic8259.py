"""8259A pair: initialization, masking, priority, cascade, EOI forms, IRR/ISR reads, spurious IR7/IR15.

Driven through the board's ports as a guest driver would; the CPU's part is `intr()` and `acknowledge()`."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from previrt.machine.devices.pic8259 import PicPair
from tests.machine.devices.conftest import linux_pic_init

EOI, READ_IRR, READ_ISR = 0x20, 0x0A, 0x0B


def unmask_all(g):
    g.outb(0x21, 0x00)
    g.outb(0xA1, 0x00)


def test_linux_init_sequence_sets_vector_bases_and_masks(guest):
    guest.outb(0x20, 0x11)
    guest.outb(0x21, 0x30)
    assert guest.inb(0x21) == 0x00         # ICW1 cleared the mask
    guest.outb(0x21, 0x04)
    guest.outb(0x21, 0x01)
    linux_pic_init(guest)
    pic = guest.board.pic
    assert (pic.master.vector_base, pic.slave.vector_base) == (0x30, 0x38)
    assert guest.inb(0x21) == 0xFB and guest.inb(0xA1) == 0xFF      # OCW1 reads back
    assert pic.master.init_step == 0 and pic.slave.init_step == 0


def test_masked_request_waits_in_irr_and_fires_when_unmasked(guest):
    linux_pic_init(guest)
    board = guest.board
    board.pic.set_irq(3, True)
    assert not board.intr()
    guest.outb(0x20, READ_IRR)
    assert guest.inb(0x20) == 0x08
    guest.outb(0x21, 0xF3)                 # unmask IRQ3 (and the cascade)
    assert board.intr()
    assert board.acknowledge() == 0x33
    guest.outb(0x20, READ_ISR)
    assert guest.inb(0x20) == 0x08
    guest.outb(0x20, READ_IRR)
    assert guest.inb(0x20) == 0x00


def test_edge_triggering_latches_once_per_rising_edge(guest):
    linux_pic_init(guest)
    unmask_all(guest)
    board = guest.board
    board.pic.set_irq(1, True)
    assert board.acknowledge() == 0x31
    guest.outb(0x20, EOI)
    board.pic.set_irq(1, True)              # still high: no new edge, no new request
    assert not board.intr()
    board.pic.set_irq(1, False)
    board.pic.set_irq(1, True)
    assert board.intr() and board.acknowledge() == 0x31


def test_in_service_interrupt_blocks_lower_priority_until_eoi(guest):
    linux_pic_init(guest)
    unmask_all(guest)
    board = guest.board
    board.pic.set_irq(4, True)
    assert board.acknowledge() == 0x34
    board.pic.set_irq(6, True)
    assert not board.intr()                # IRQ 6 is below IRQ 4 in service
    board.pic.set_irq(0, True)
    assert board.intr() and board.acknowledge() == 0x30     # IRQ 0 nests
    guest.outb(0x20, EOI)                  # non-specific: clears the highest in service, IRQ 0
    guest.outb(0x20, READ_ISR)
    assert guest.inb(0x20) == 0x10
    assert not board.intr()
    guest.outb(0x20, EOI)
    assert board.acknowledge() == 0x36


def test_specific_eoi_clears_the_named_level(guest):
    linux_pic_init(guest)
    unmask_all(guest)
    board = guest.board
    board.pic.set_irq(5, True)
    board.acknowledge()
    board.pic.set_irq(3, True)
    board.acknowledge()
    guest.outb(0x20, 0x60 | 5)             # specific EOI for IR5
    guest.outb(0x20, READ_ISR)
    assert guest.inb(0x20) == 0x08


def test_cascade_vector_comes_from_the_slave(guest):
    linux_pic_init(guest)
    unmask_all(guest)
    board = guest.board
    board.pic.set_irq(14, True)
    assert board.intr()
    assert board.acknowledge() == 0x3E
    guest.outb(0xA0, READ_ISR)
    guest.outb(0x20, READ_ISR)
    assert guest.inb(0xA0) == 0x40 and guest.inb(0x20) == 0x04
    board.pic.set_irq(12, True)            # lower than 14 on the slave: waits for its EOI
    assert not board.intr()
    guest.outb(0xA0, EOI)
    assert not board.intr()                # the master's IR2 is still in service
    guest.outb(0x20, EOI)
    assert board.acknowledge() == 0x3C


def test_slave_masked_line_does_not_reach_master(guest):
    linux_pic_init(guest)
    guest.outb(0x21, 0xFB)                 # only the cascade open on the master
    guest.outb(0xA1, 0xFF)
    guest.board.pic.set_irq(9, True)
    assert not guest.board.intr()
    guest.outb(0xA1, 0xFD)
    assert guest.board.acknowledge() == 0x39


def test_spurious_master_irq7_sets_no_isr(guest):
    linux_pic_init(guest)
    unmask_all(guest)
    board = guest.board
    board.pic.set_irq(5, True)
    assert board.intr()
    guest.outb(0x21, 0x20)                 # the request vanishes (masked) before INTA
    assert board.acknowledge() == 0x37
    guest.outb(0x20, READ_ISR)
    assert guest.inb(0x20) == 0x00


def test_spurious_slave_irq15_sets_master_ir2_only(guest):
    linux_pic_init(guest)
    unmask_all(guest)
    board = guest.board
    board.pic.set_irq(10, True)
    assert board.intr()
    guest.outb(0xA1, 0x04)                 # masked on the slave only: the master's IR2 edge stays latched
    assert board.acknowledge() == 0x3F
    guest.outb(0x20, READ_ISR)
    guest.outb(0xA0, READ_ISR)
    assert guest.inb(0x20) == 0x04 and guest.inb(0xA0) == 0x00


def test_auto_eoi_leaves_isr_clear(guest):
    guest.outb(0x20, 0x11)
    guest.outb(0x21, 0x20)
    guest.outb(0x21, 0x04)
    guest.outb(0x21, 0x03)                 # ICW4: 8086 mode + AEOI
    guest.outb(0x21, 0x00)
    guest.board.pic.set_irq(0, True)
    assert guest.board.acknowledge() == 0x20
    guest.outb(0x20, READ_ISR)
    assert guest.inb(0x20) == 0


def test_poll_command_acknowledges(guest):
    linux_pic_init(guest)
    unmask_all(guest)
    guest.board.pic.set_irq(6, True)
    guest.outb(0x20, 0x0C)                 # OCW3 poll
    assert guest.inb(0x20) == 0x86
    guest.outb(0x20, 0x0C)
    assert guest.inb(0x20) == 0x00


def test_rotate_on_nonspecific_eoi_makes_served_line_lowest(guest):
    linux_pic_init(guest)
    unmask_all(guest)
    board = guest.board
    board.pic.set_irq(1, True)
    assert board.acknowledge() == 0x31
    guest.outb(0x20, 0xA0)                 # rotate on non-specific EOI: IR1 becomes lowest
    board.pic.set_irq(0, True)
    board.pic.set_irq(3, True)
    assert board.acknowledge() == 0x33     # IR2 highest now, then IR3 ...
    guest.outb(0x20, EOI)
    assert board.acknowledge() == 0x30


# Fully nested priority on a PC: IRQ 0, 1, then the slave's 8..15 (through IR2), then 3..7.
PC_PRIORITY = [0, 1, *range(8, 16), *range(3, 8)]


@settings(max_examples=200, deadline=None)
@given(raised=st.sets(st.sampled_from([n for n in range(16) if n != 2]), min_size=1),
       mask=st.integers(0, 0xFFFF))
def test_priority_resolution_serves_requests_in_pc_order(raised, mask):
    pair = PicPair()
    for chip, base in ((pair.master, 0x20), (pair.slave, 0x28)):
        for i, v in enumerate((0x11, base, 0x04 if chip is pair.master else 0x02, 0x01)):
            chip.write(0 if i == 0 else 1, 1, v)
    mask &= ~0x0004                        # keep the cascade open
    pair.master.write(1, 1, mask & 0xFF)
    pair.slave.write(1, 1, mask >> 8)
    for line in raised:
        pair.set_irq(line, True)
    served = []
    while pair.intr():
        vector = pair.acknowledge()
        served.append(vector - 0x20)
        line = vector - 0x20
        if line >= 8:
            pair.slave.write(0, 1, 0x60 | (line - 8))
            pair.master.write(0, 1, 0x62)
        else:
            pair.master.write(0, 1, 0x60 | line)
    expected = [n for n in PC_PRIORITY if n in raised and not mask & (1 << n)]
    assert served == expected


def test_can_raise_follows_the_masks_and_the_cascade():
    from previrt.machine.devices.pic8259 import PicPair
    pic = PicPair()
    pic.master.imr, pic.slave.imr = 0b1111_1010, 0b1111_1110     # IRQ 0 and 2 (cascade) open; IRQ 8 open
    assert [line for line in range(16) if pic.can_raise(line)] == [0, 2, 8]
    pic.master.imr |= 1 << 2                                     # cascade closed: no slave line gets through
    assert [line for line in range(16) if pic.can_raise(line)] == [0]
    assert not pic.can_raise(-1)                                 # an event that raises no line
