"""The guest's virtual CPU: the privileged state a deprivileged kernel believes it owns, held by the hypervisor.

Owns the virtual control registers, descriptor-table registers, interrupt flag and IOPL, and the maps between the
guest's rings and the real ones (ring compression: guest ring 0 runs in real ring 1, rings 1 and 2 in real ring 2,
ring 3 stays ring 3)."""

from __future__ import annotations

from dataclasses import dataclass, field

from previrt.machine.cpu import IF, RF, VM

IOPL_MASK = 3 << 12
CR0_ET = 1 << 4
REAL_RING = (1, 2, 2, 3)         # the guest's ring -> the real one: 0 -> 1 (ring compression), 1 and 2 -> 2, 3 -> 3
REAL_KERNEL_RING = REAL_RING[0]


def real_ring(virtual_cpl: int) -> int:
    return REAL_RING[virtual_cpl]


def real_selector(virtual: int) -> int:
    """A selector as loaded into CS or SS (or a descriptor's DPL): the guest's RPL mapped to the real ring."""
    return (virtual & ~3) | REAL_RING[virtual & 3] if virtual & 0xFFFC else virtual


@dataclass
class TableRegister:
    """GDTR / IDTR (selector 0) or LDTR / TR (with the selector and the cached base and limit)."""
    base: int = 0
    limit: int = 0xFFFF
    selector: int = 0


@dataclass
class VirtualCpu:
    """What the guest kernel reads and writes through privileged instructions.  In the guest's ring 3 the real EFLAGS
    carry IF and IOPL themselves (user code is never rewritten, so they must be the true ones there); in its rings
    0-2 the real IF is 1 and the real IOPL 0 (so cli/sti/in/out trap) and these fields hold the guest's values."""
    _cr: list[int] = field(default_factory=lambda: [0x11, 0, 0, 0, 0])   # CR0 (PE | ET, as the Multiboot
                                                                          # hand-over leaves it) .. CR4
    dr: list[int] = field(default_factory=lambda: [0, 0, 0, 0, 0, 0, 0xFFFF0FF0, 0x400])
    gdtr: TableRegister = field(default_factory=TableRegister)
    idtr: TableRegister = field(default_factory=lambda: TableRegister(0, 0x3FF))
    ldtr: TableRegister = field(default_factory=lambda: TableRegister(0, 0))
    tr: TableRegister = field(default_factory=lambda: TableRegister(0, 0))
    _if: bool = False
    _iopl: int = 0
    msrs: dict[int, int] = field(default_factory=dict)
    halted: bool = False             # set by an emulated hlt, taken by the run loop
    middle_ring: int = 1             # the guest's ring (1 or 2) while the real CPL is 2
    shared: object = None            # a patched guest's shared page: IF and IOPL live there, CRs are mirrored

    # IF and IOPL: the hypervisor's own fields, or the shared page a patched guest changes without exits
    @property
    def interrupt_flag(self) -> bool:
        return self.shared.interrupt_flag if self.shared is not None else self._if

    @interrupt_flag.setter
    def interrupt_flag(self, on: bool) -> None:
        if self.shared is not None:
            self.shared.interrupt_flag = bool(on)
        else:
            self._if = bool(on)

    @property
    def iopl(self) -> int:
        return self.shared.iopl if self.shared is not None else self._iopl

    @iopl.setter
    def iopl(self, value: int) -> None:
        if self.shared is not None:
            self.shared.iopl = value
        else:
            self._iopl = value

    def _set_cr(self, n: int, value: int) -> None:
        self._cr[n] = value
        if self.shared is not None:
            self.shared.control_register(n, value)

    cr0 = property(lambda self: self._cr[0], lambda self, v: self._set_cr(0, v))
    cr2 = property(lambda self: self._cr[2], lambda self, v: self._set_cr(2, v))
    cr3 = property(lambda self: self._cr[3], lambda self, v: self._set_cr(3, v))
    cr4 = property(lambda self: self._cr[4], lambda self, v: self._set_cr(4, v))

    def virtual_ring(self, real_cpl: int) -> int:
        """The ring the guest believes it runs in."""
        return (0, 0, self.middle_ring, 3)[real_cpl]

    def virtual_selector(self, real: int) -> int:
        """CS or SS as the guest must see it."""
        return (real & ~3) | self.virtual_ring(real & 3) if real & 0xFFFC else real

    def enter_ring(self, virtual_cpl: int) -> None:
        if virtual_cpl in (1, 2):
            self.middle_ring = virtual_cpl

    def eflags(self, real: int, real_cpl: int) -> int:
        """The EFLAGS image the guest must see for the real flags `real` at real ring `real_cpl`."""
        if real_cpl == 3:
            return real
        return (real & ~(IF | IOPL_MASK)) | (IF if self.interrupt_flag else 0) | (self.iopl << 12)

    def interrupts_enabled(self, real: int, real_cpl: int) -> bool:
        return bool(self.eflags(real, real_cpl) & IF)

    def load_eflags(self, value: int, virtual_cpl: int) -> int:
        """Take IF and IOPL of a complete EFLAGS image the guest installs (iret, event delivery) and return the real
        EFLAGS to load for ring `virtual_cpl` (below ring 3: IF 1 and IOPL 0, so cli, sti, in and out trap)."""
        self.interrupt_flag = bool(value & IF)
        self.iopl = (value >> 12) & 3
        value &= ~(VM | RF)
        if virtual_cpl == 3:
            return value | 2
        return (value & ~IOPL_MASK) | IF | 2
