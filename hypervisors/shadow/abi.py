"""The para-virtual ABI of `shadow`, host side: the window layout (the wedge with its hypercall page, the vCPU cache
page), the hypercall table, and the wedge's build — what a patched guest (previrt mode) runs against.

It differs from `direct`'s (hypervisors/direct/abi.py) on purpose: a call is known by the hypercall-page entry it
comes from (`int $0x83` there), not by a number in eax; arguments in ecx and edx; an error sets CF with a positive
code in eax; the wedge caches only IF and IOPL (no control-register mirrors, no device mirrors, no page-table
queue); port I/O is one synchronous call per operation."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from unicorn import x86_const as X

from previrt.machine.cpu import GuestFault, MachineStop
from previrt.vmm import wedge as wedge_build
from previrt.vmm.window import PAGE, FieldPage, WindowConfig

ABI_VERSION = 1
HYPERCALL_VECTOR = 0x83                 # int $0x83, from an entry of the hypercall page only
WEDGE_OFFSET = 0x20000                  # the wedge (the hypercall page first), from the window's base
WEDGE_LIMIT = 0xF000
VCPU_OFFSET = 0x2F000                   # the vCPU cache page, right after the wedge's area
HC_STRIDE = 8                           # bytes per hypercall-page entry
VCPU_FIELDS = {                         # name: (offset, size)
    "vflags": (0x00, 4),                # the guest's EFLAGS.IF (bit 9) and IOPL (bits 12-13), in place
    "pending": (0x04, 1),               # 1: an interrupt waits for the guest to enable interrupts
}
IF, IOPL = 0x200, 0x3000
CF = 0x1
EINVAL = 22                             # positive, in eax, with CF set


@dataclass(frozen=True)
class Hypercall:
    name: str
    args: str                           # the registers it reads
    cost: str
    deliver_after: int | None = None    # irq_enable: the instructions that run before the waiting interrupt


# In hypercall-page order: entry i is at the wedge's base + HC_STRIDE * i (wedge.S lists the same names in order).
HYPERCALLS = (
    Hypercall("irq_enable_sti", "", "deliver the waiting interrupt after sti's shadow", deliver_after=4),
    Hypercall("irq_enable_popf", "", "deliver the waiting interrupt after popf", deliver_after=3),
    Hypercall("irq_enable_iret", "", "deliver the waiting interrupt after iret", deliver_after=3),
    Hypercall("iret", "", "emulate an iret the wedge does not take (to ring 1/2, IF=0 or IOPL>0 for ring 3, NT, VM)"),
    Hypercall("in", "ecx = port, edx = size (1, 2, 4)", "read the port now; its value replaces eax's low `size` "
                                                         "bytes"),
    Hypercall("out", "ecx = port, edx = size (1, 2, 4), eax = value", "write eax's low `size` bytes to the port "
                                                                        "now"),
    Hypercall("read_cr", "ecx = n (0, 2, 3, 4)", "eax = the virtual CRn"),
)


def wedge_defines(window: WindowConfig) -> dict[str, int]:
    defines = {f"VCPU_{name.upper()}": window.base + VCPU_OFFSET + off for name, (off, _) in VCPU_FIELDS.items()}
    defines.update(HC_VECTOR=HYPERCALL_VECTOR, HC_STRIDE=HC_STRIDE)
    return defines


def build_wedge(window: WindowConfig) -> wedge_build.Wedge:
    wedge = wedge_build.build([Path(__file__).with_name("wedge") / "wedge.S"], window.base + WEDGE_OFFSET,
                              wedge_defines(window), WEDGE_LIMIT)
    for i, call in enumerate(HYPERCALLS):
        if wedge.symbols.get(f"shadow_hc_{call.name}") != wedge.base + HC_STRIDE * i:
            raise ValueError(f"the wedge's hypercall page does not hold {call.name} at entry {i}")
    return wedge


def symbols(window: WindowConfig) -> dict[str, int]:
    """What the templates may name: the wedge's entry points and the vCPU cache's fields."""
    sym = {name: address for name, address in build_wedge(window).symbols.items() if name.startswith("shadow_")}
    sym.update({f"vcpu_{name}": window.base + VCPU_OFFSET + off for name, (off, _) in VCPU_FIELDS.items()})
    return sym


class VcpuCache(FieldPage):
    """The wedge's vCPU page of one machine: the virtual IF and IOPL the core's vCPU reads and writes
    (`VirtualCpu.shared`); control registers stay the hypervisor's alone."""

    FIELDS = VCPU_FIELDS

    @property
    def interrupt_flag(self) -> bool:
        return bool(self.get("vflags") & IF)

    @interrupt_flag.setter
    def interrupt_flag(self, on: bool) -> None:
        self.put("vflags", (self.get("vflags") & IOPL) | (IF if on else 0))

    @property
    def iopl(self) -> int:
        return (self.get("vflags") >> 12) & 3

    @iopl.setter
    def iopl(self, value: int) -> None:
        self.put("vflags", (self.get("vflags") & IF) | ((value & 3) << 12))

    pending = property(lambda self: bool(self.get("pending") & 1), lambda self, v: self.put("pending", int(v)))

    def control_register(self, n: int, value: int) -> None:
        """No mirrors: a control-register read traps (or is the read_cr hypercall)."""


class ShadowParavirt:
    """The para-virtual side of one `shadow` machine running a patched image."""

    vector = HYPERCALL_VECTOR

    def __init__(self, hv):
        self.hv = hv
        self.wedge = build_wedge(hv.window.config)
        self.hypercalls: dict[str, int] = {}
        self.in_place: dict[str, int] = {}      # no device operation is taken without an exit
        self.mmu: dict[str, int] = {}           # no page-table update passes through the ABI: shadow paging reads

    def install(self) -> None:
        """Map the wedge (supervisor, read-only) and the vCPU cache page (supervisor, writable) into the window, and
        move the virtual IF and IOPL into the cache."""
        w, vcpu = self.hv.window, self.hv.vcpu
        pages = (len(self.wedge.data) + PAGE - 1) // PAGE
        code = w.alloc(pages)
        w.uc.mem_write(code, self.wedge.data)
        for i in range(pages):
            w.map(self.wedge.base + i * PAGE, code + i * PAGE)
        frame = w.alloc(1)
        w.uc.mem_write(frame, bytes(PAGE))
        w.map(w.config.base + VCPU_OFFSET, frame, writable=True)
        self.page = VcpuCache(w.uc, frame)
        interrupt_flag, iopl = vcpu.interrupt_flag, vcpu.iopl
        vcpu.shared = self.page
        vcpu.interrupt_flag, vcpu.iopl = interrupt_flag, iopl

    # --- what the core calls ------------------------------------------------------------------------------------
    def symbols(self) -> dict[str, int]:
        return symbols(self.hv.window.config)

    def wedge_range(self) -> tuple[int, int]:
        return self.wedge.base, self.wedge.base + len(self.wedge.data)

    def in_wedge(self, eip: int) -> bool:
        start, end = self.wedge_range()
        return start <= eip < end

    def shows(self, linear: int) -> bool:
        """The window pages a patched guest uses: the wedge and the vCPU cache page."""
        start, end = self.wedge_range()
        page = self.hv.window.config.base + VCPU_OFFSET
        return start <= linear < end or page <= linear < page + PAGE

    def before_slice(self, interrupt_waiting: bool) -> None:
        """The pending bit the wedge reads: an interrupt waits while the guest has interrupts disabled."""
        self.page.pending = interrupt_waiting and not self.page.interrupt_flag

    def settle(self, boundary: bool = False) -> None:
        """Nothing is deferred: every device operation was an exit of its own."""

    def watch(self) -> None:
        """No device mirrors to keep."""

    def flush(self) -> int:
        return 0

    def queued(self) -> int:
        return 0

    def fault_in_wedge(self, eip: int) -> int | None:
        return None

    def direct_trap(self, vector: int) -> bool:
        """No direct system-call trap: every `int` from ring 3 is an exit, bounced by the hypervisor."""
        return False

    def hypercall(self) -> None:
        """int $0x83 from the guest's ring 0: the call is the hypercall-page entry it came from.  Any other origin, or
        invalid arguments: CF set, eax = EINVAL."""
        cpu = self.hv.cpu
        entry = (cpu.reg(X.UC_X86_REG_EIP) - 2 - self.wedge.base) & 0xFFFFFFFF
        index, rest = divmod(entry, HC_STRIDE)
        call = HYPERCALLS[index] if not rest and index < len(HYPERCALLS) else None
        name = call.name if call else "invalid"
        self.hypercalls[name] = self.hypercalls.get(name, 0) + 1
        self.hv.exit(f"hypercall:{name}", f"ecx={cpu.reg(X.UC_X86_REG_ECX):#x} edx={cpu.reg(X.UC_X86_REG_EDX):#x}")
        if call is None:
            return self._result(error=EINVAL)
        if call.deliver_after is not None:
            self._result(0, keep_eax=True)
            return self.hv.interrupts_enabled_point(call.deliver_after)
        getattr(self, f"_{call.name}")()

    def _result(self, value: int = 0, error: int | None = None, keep_eax: bool = False) -> None:
        cpu = self.hv.cpu
        flags = cpu.reg(X.UC_X86_REG_EFLAGS)
        if error is not None:
            cpu.set_reg(X.UC_X86_REG_EAX, error)
            cpu.set_reg(X.UC_X86_REG_EFLAGS, flags | CF)
            return
        if not keep_eax:
            cpu.set_reg(X.UC_X86_REG_EAX, value & 0xFFFFFFFF)
        cpu.set_reg(X.UC_X86_REG_EFLAGS, flags & ~CF)

    def _port_args(self) -> tuple[int, int] | None:
        cpu = self.hv.cpu
        port, size = cpu.reg(X.UC_X86_REG_ECX), cpu.reg(X.UC_X86_REG_EDX)
        return (port, size) if port <= 0xFFFF and size in (1, 2, 4) else None

    def _in(self) -> None:
        args = self._port_args()
        if args is None:
            return self._result(error=EINVAL)
        port, size = args
        mask = (1 << (8 * size)) - 1
        value = self.hv._port_read(port, size) & mask
        self._result((self.hv.cpu.reg(X.UC_X86_REG_EAX) & ~mask) | value)

    def _out(self) -> None:
        args = self._port_args()
        if args is None:
            return self._result(error=EINVAL)
        port, size = args
        self.hv._port_write(port, size, self.hv.cpu.reg(X.UC_X86_REG_EAX) & ((1 << (8 * size)) - 1))
        self._result(keep_eax=True)

    def _read_cr(self) -> None:
        n = self.hv.cpu.reg(X.UC_X86_REG_ECX)
        if n not in (0, 2, 3, 4):
            return self._result(error=EINVAL)
        self._result(getattr(self.hv.vcpu, f"cr{n}"))

    def _iret(self) -> None:
        """The wedge's slow path: the guest's eax is on top of its stack, the iret frame under it."""
        hv, cpu = self.hv, self.hv.cpu
        esp = cpu.reg(X.UC_X86_REG_ESP)
        try:
            eax, = struct.unpack("<I", hv.read_guest(esp, 4))
        except (GuestFault, MachineStop):
            return self._result(error=EINVAL)
        cpu.set_reg(X.UC_X86_REG_EAX, eax)
        cpu.set_reg(X.UC_X86_REG_ESP, (esp + 4) & 0xFFFFFFFF)
        hv.run_emulation(hv.emulator.decode(b"\xcf", cpu.reg(X.UC_X86_REG_EIP)), "iret", 0)
