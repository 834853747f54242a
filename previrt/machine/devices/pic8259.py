"""The 8259A programmable interrupt controller pair of a PC: master at 0x20/0x21, slave at 0xA0/0xA1 on IR2.

Register semantics follow the Intel 8259A datasheet and QEMU's i8259 (the differential reference)."""

from __future__ import annotations

# ICW1 / OCW2 / OCW3 bits (8259A datasheet names)
ICW1_IC4 = 0x01      # ICW4 needed
ICW1_SNGL = 0x02     # single (no ICW3)
ICW1_LTIM = 0x08     # level-triggered mode (accepted, treated as edge: the PC's ISA lines are edge)
ICW1 = 0x10          # marks a write to the command port as ICW1
OCW3 = 0x08          # marks a command-port write (without ICW1) as OCW3
OCW3_RIS = 0x01      # read ISR (else IRR)
OCW3_RR = 0x02       # read-register command valid
OCW3_P = 0x04        # poll command
OCW3_SMM = 0x20      # special mask mode value
OCW3_ESMM = 0x40     # special mask mode write enable
ICW4_AEOI = 0x02
ICW4_SFNM = 0x10
CASCADE_IR = 2       # the PC wires the slave's INT to the master's IR2
SPURIOUS_IR = 7

# OCW2: R SL EOI (bits 7..5) -> what to do
OCW2_ROTATE_AEOI_CLEAR = 0b000
OCW2_NONSPECIFIC_EOI = 0b001
OCW2_NOP = 0b010
OCW2_SPECIFIC_EOI = 0b011
OCW2_ROTATE_AEOI_SET = 0b100
OCW2_ROTATE_NONSPECIFIC_EOI = 0b101
OCW2_SET_PRIORITY = 0b110
OCW2_ROTATE_SPECIFIC_EOI = 0b111


class Pic8259:
    """One 8259A. `on_int(level)` is its INT output pin, called whenever the level may have changed."""

    def __init__(self, name: str, is_master: bool, on_int=None):
        self.name = name
        self.is_master = is_master
        self.on_int = on_int or (lambda level: None)
        self.irr = self.isr = self.imr = 0
        self.last_input = 0          # input levels seen, for rising-edge detection
        self.vector_base = 0
        self.priority_add = 0        # lowest-priority rotation: IR (priority_add) is served first
        self.init_step = 0           # 0: operational; 2..4: which ICW the data port expects next
        self.needs_icw4 = self.single = False
        self.auto_eoi = self.rotate_on_aeoi = self.special_fully_nested = False
        self.read_isr = self.poll = self.special_mask = False

    # -- priority resolution -----------------------------------------------------------------------

    def _priority(self, mask: int) -> int:
        """0 = highest; 8 = none. IR (priority_add + p) & 7 has priority p: rotate, take the lowest bit."""
        pa = self.priority_add
        rotated = ((mask >> pa) | (mask << (8 - pa))) & 0xFF
        return (rotated & -rotated).bit_length() - 1 if rotated else 8

    def pending(self) -> int:
        """The IR line this chip would signal now, or -1 (higher than any in service, unmasked)."""
        request = self._priority(self.irr & ~self.imr)
        if request == 8:
            return -1
        in_service = self.isr & ~self.imr if self.special_mask else self.isr
        if self.special_fully_nested and self.is_master:
            in_service &= ~(1 << CASCADE_IR)
        if request < self._priority(in_service):
            return (request + self.priority_add) & 7
        return -1

    def update(self) -> None:
        self.on_int(self.pending() >= 0)

    # -- inputs ------------------------------------------------------------------------------------

    def set_input(self, ir: int, level: bool) -> None:
        """Edge triggered: a rising edge latches the request in IRR; the falling edge only re-arms."""
        bit = 1 << ir
        if level:
            if not self.last_input & bit:
                self.irr |= bit
            self.last_input |= bit
        else:
            self.last_input &= ~bit
        self.update()

    def intack(self, ir: int) -> None:
        """The INTA cycle moves the request from IRR to ISR (not with automatic EOI)."""
        if self.auto_eoi:
            if self.rotate_on_aeoi:
                self.priority_add = (ir + 1) & 7
        else:
            self.isr |= 1 << ir
        self.irr &= ~(1 << ir)
        self.update()

    # -- the two ports -----------------------------------------------------------------------------

    def read(self, offset: int, size: int) -> int:
        if self.poll:
            return self._poll_read()
        if offset == 0:
            return self.isr if self.read_isr else self.irr
        return self.imr

    def _poll_read(self) -> int:
        self.poll = False
        ir = self.pending()
        if ir < 0:
            return 0
        self.intack(ir)
        return 0x80 | ir

    def write(self, offset: int, size: int, value: int) -> None:
        value &= 0xFF
        if offset == 0:
            self._write_command(value)
        else:
            self._write_data(value)

    def _write_command(self, value: int) -> None:
        if value & ICW1:
            self._icw1(value)
        elif value & OCW3:
            self._ocw3(value)
        else:
            self._ocw2(value)

    def _icw1(self, value: int) -> None:
        """Starts initialization: clears IMR, ISR, edge latches and rotation; ICW2 comes next."""
        self.irr = self.isr = self.imr = self.last_input = 0
        self.priority_add = self.vector_base = 0
        self.auto_eoi = self.rotate_on_aeoi = self.special_fully_nested = False
        self.read_isr = self.poll = self.special_mask = False
        self.needs_icw4 = bool(value & ICW1_IC4)
        self.single = bool(value & ICW1_SNGL)
        self.init_step = 2
        self.update()

    def _ocw3(self, value: int) -> None:
        if value & OCW3_P:
            self.poll = True
        if value & OCW3_RR:
            self.read_isr = bool(value & OCW3_RIS)
        if value & OCW3_ESMM:
            self.special_mask = bool(value & OCW3_SMM)
        self.update()

    def _ocw2(self, value: int) -> None:
        command, level = value >> 5, value & 7
        if command in (OCW2_ROTATE_AEOI_CLEAR, OCW2_ROTATE_AEOI_SET):
            self.rotate_on_aeoi = command == OCW2_ROTATE_AEOI_SET
        elif command in (OCW2_NONSPECIFIC_EOI, OCW2_ROTATE_NONSPECIFIC_EOI):
            self._nonspecific_eoi(rotate=command == OCW2_ROTATE_NONSPECIFIC_EOI)
        elif command in (OCW2_SPECIFIC_EOI, OCW2_ROTATE_SPECIFIC_EOI):
            self.isr &= ~(1 << level)
            if command == OCW2_ROTATE_SPECIFIC_EOI:
                self.priority_add = (level + 1) & 7
        elif command == OCW2_SET_PRIORITY:
            self.priority_add = (level + 1) & 7
        self.update()

    def _nonspecific_eoi(self, rotate: bool) -> None:
        """Clears the highest-priority ISR bit (the interrupt being served under fully nested mode)."""
        p = self._priority(self.isr)
        if p == 8:
            return
        ir = (p + self.priority_add) & 7
        self.isr &= ~(1 << ir)
        if rotate:
            self.priority_add = (ir + 1) & 7

    def _write_data(self, value: int) -> None:
        step = self.init_step
        if step == 0:                      # OCW1: the interrupt mask
            self.imr = value
            self.update()
        elif step == 2:                    # ICW2: vector base (T7..T3)
            self.vector_base = value & 0xF8
            self.init_step = (4 if self.needs_icw4 else 0) if self.single else 3
        elif step == 3:                    # ICW3: cascade wiring (the PC's is fixed: slave on IR2)
            self.init_step = 4 if self.needs_icw4 else 0
        elif step == 4:                    # ICW4: 8086 mode, AEOI, special fully nested
            self.auto_eoi = bool(value & ICW4_AEOI)
            self.special_fully_nested = bool(value & ICW4_SFNM)
            self.init_step = 0


class PicPair:
    """Master and slave wired as on a PC. IRQ n < 8 goes to master IR n, IRQ n >= 8 to slave IR n-8."""

    def __init__(self) -> None:
        self.master = Pic8259("pic-master", is_master=True)
        self.slave = Pic8259("pic-slave", is_master=False,
                             on_int=lambda level: self.master.set_input(CASCADE_IR, level))

    def set_irq(self, line: int, level: bool) -> None:
        if not 0 <= line < 16:
            raise ValueError(f"8259A pair: no IRQ line {line}")
        if line < 8:
            self.master.set_input(line, level)
        else:
            self.slave.set_input(line - 8, level)

    def can_raise(self, line: int) -> bool:
        """Whether a request on IRQ `line` could reach the INT output with the masks as they are now (a slave line
        through the master's cascade input); a negative line is no line."""
        if line < 0:
            return False
        if line < 8:
            return not self.master.imr & (1 << line)
        return not self.slave.imr & (1 << (line - 8)) and not self.master.imr & (1 << CASCADE_IR)

    def intr(self) -> bool:
        """The master's INT output: an unmasked request beats everything in service."""
        return self.master.pending() >= 0

    def acknowledge(self) -> int:
        """The two INTA cycles: the vector of the request served, or the spurious IR7 / IR15 vector.

        A request that vanished before INTA gives IR7 of the chip asked, without setting its ISR bit;
        when that chip is the slave, the master still takes IR2 into service (it did see the cascade)."""
        master, slave = self.master, self.slave
        ir = master.pending()
        if ir < 0:
            return master.vector_base + SPURIOUS_IR
        if ir == CASCADE_IR and not master.single:
            ir2 = slave.pending()
            if ir2 >= 0:
                slave.intack(ir2)
            vector = slave.vector_base + (ir2 if ir2 >= 0 else SPURIOUS_IR)
        else:
            vector = master.vector_base + ir
        master.intack(ir)
        return vector
