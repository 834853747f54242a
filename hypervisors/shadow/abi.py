"""The para-virtual ABI of `shadow`, host side: the window layout (the wedge with its hypercall page, the vCPU cache
page), the hypercall table, and the wedge's build — what a patched guest (previrt mode) runs against.

It differs from `direct`'s (hypervisors/direct/abi.py) on purpose: a call is known by the hypercall-page entry it
comes from (`int $0x83` there), not by a number in eax; arguments in ecx and edx; an error sets CF with a positive
code in eax; the wedge caches only IF and IOPL (no control-register mirrors, no device mirrors, no page-table
queue); port I/O is one synchronous call per operation.

The hypercalls after `read_cr` serve a kernel ported to this ABI by hand (mode `paravirt`,
guest_src/kernel/arch-shadow/): CR3 loads, invlpg (one or a list), idle, the delivery of a waiting interrupt, console
output and block I/O (through previrt.vmm.pvdevices), and the paging assist.  Buffers they name are guest-physical and
must lie in guest RAM.  Such a kernel also reads CR2 from the vCPU page and defers the PIC's EOIs there."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from unicorn import x86_const as X

from previrt.machine import memory
from previrt.machine.cpu import GuestFault, MachineStop
from previrt.vmm import pvdevices
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
    "cr2": (0x08, 4),                   # the virtual CR2, written by the hypervisor (the address of the last #PF)
    "eoi_exit": (0x0C, 1),              # 1: a request waits at an unmasked PIC input: an EOI goes to the port now
    "eoi_master": (0x0D, 1),            # non-specific EOIs the guest deferred, per PIC (applied before the PICs are
    "eoi_slave": (0x0E, 1),             # next looked at: an exit, a port access, a slice boundary)
}
PIC_COMMAND = {"eoi_master": 0x20, "eoi_slave": 0xA0}
NONSPECIFIC_EOI = 0x20
IF, IOPL = 0x200, 0x3000
CF = 0x1
EINVAL = 22                             # positive, in eax, with CF set
CR3_BITS = 0x18                         # PWT and PCD: the only low bits a CR3 value may carry
INVLPG_MAX = 64                         # linear addresses in one invlpg_many list
CONSOLE_MAX = 4096                      # bytes in one console_write
BLOCK_REQUEST = struct.Struct("<4I")    # block_io's request: op, lba, count, buffer (guest-physical)
ASSIST_EAGER_DIRTY = 0x1                # paging_assist: writable pages are shadowed writable at their first fill
ASSIST_FLAGS = ASSIST_EAGER_DIRTY
SECTOR = 512


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
    # --- for a kernel ported to this ABI by hand (mode paravirt) ---
    Hypercall("set_cr3", "ecx = page directory (guest-physical, in RAM; low bits PWT and PCD only)",
              "load the virtual CR3: the shadow of that address space (a cached one checked entry by entry)"),
    Hypercall("invlpg", "ecx = linear address", "drop the shadow entry of that page"),
    Hypercall("invlpg_many", f"ecx = list of linear addresses (guest-physical, in RAM), edx = count (1..{INVLPG_MAX})",
              "drop the shadow entry of each page, in order: one exit for the lot"),
    Hypercall("idle", "", "IF on, the call returned (the hypervisor takes the entry's ret), then wait for the next "
                          "interrupt: sti; hlt"),
    Hypercall("irq_pending", "", "deliver the waiting interrupt after the entry's ret", deliver_after=1),
    Hypercall("console_write", f"ecx = buffer (guest-physical, in RAM), edx = length (0..{CONSOLE_MAX})",
              "send the bytes out of COM1's transmitter; eax = length"),
    Hypercall("block_io", "ecx = request (guest-physical, in RAM: op 0 read / 1 write, lba, count 1.."
                          f"{pvdevices.BLOCK_MAX_SECTORS}, buffer guest-physical in RAM), edx = drive (0, 1)",
              "move the sectors between the disk image and the buffer now; eax = count"),
    Hypercall("block_info", "ecx = drive (0, 1)", "eax = the drive's sectors (0: no such drive)"),
    Hypercall("paging_assist", "ecx = flags (bit 0: eager dirty)",
              "eager dirty: a page the guest's tables make writable is shadowed writable at its first fill, its "
              "dirty bit set then (for a guest that does not read dirty bits); eax = 0"),
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
        """CR2 only, the address of the last page fault (a para-virtual #PF handler reads it from here); the other
        control registers have no mirror: a read traps (or is the read_cr hypercall)."""
        if n == 2:
            self.put("cr2", value & 0xFFFFFFFF)


class ShadowParavirt:
    """The para-virtual side of one `shadow` machine running a patched image (mode previrt) or a kernel ported to the
    ABI by hand (mode paravirt)."""

    vector = HYPERCALL_VECTOR

    def __init__(self, hv):
        self.hv = hv
        self.wedge = build_wedge(hv.window.config)
        self.hypercalls: dict[str, int] = {}
        self.in_place: dict[str, int] = {}      # operations taken without an exit: a ported kernel's deferred EOIs
        self.mmu: dict[str, int] = {}           # no page-table update passes through the ABI: shadow paging reads
        self.devices = pvdevices.PvDevices(hv.board)
        self.ram = tuple(memory.ram_regions(memory.layout(hv.config.mem_bytes)))   # where a hypercall's buffer may be

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
        self.watch()

    def settle(self, boundary: bool = False) -> None:
        """Apply the EOIs a ported kernel deferred in the vCPU page (`eoi_master`, `eoi_slave`; the patched image's
        templates defer none), slave first as the kernel sends them, before anything looks at the PICs (an exit, a
        port access, a slice boundary).  Every other device operation was an exit of its own."""
        page, board = self.page, self.hv.board
        applied = False
        for field in ("eoi_slave", "eoi_master"):
            count = page.get(field)
            if count:
                page.put(field, 0)
                applied = True
                self.in_place["pic_eoi"] = self.in_place.get("pic_eoi", 0) + count
                for _ in range(count):
                    board.port_write(PIC_COMMAND[field], 1, NONSPECIFIC_EOI)
        if applied:
            self.watch()

    def watch(self) -> None:
        """Whether an EOI must reach the PIC at once: only while a request waits at an unmasked input (an EOI may let
        it through, to be delivered now); otherwise an EOI changes nothing the guest can see before the next exit or
        slice boundary, where `settle` applies it.  Requests are raised only there, so this stays exact."""
        pic = self.hv.board.pic
        waiting = pic is not None and bool((pic.master.irr & ~pic.master.imr) or (pic.slave.irr & ~pic.slave.imr))
        self.page.put("eoi_exit", int(waiting))

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

    # --- for a kernel ported to this ABI by hand --------------------------------------------------------------
    def _ram(self, addr: int, size: int) -> bool:
        """Whether guest-physical [addr, addr + size) lies in one region of guest RAM (where a buffer may be)."""
        return memory.region_of(self.ram, addr, max(size, 1)) is not None

    def _read_ram(self, addr: int, size: int) -> bytes | None:
        if not self._ram(addr, size):
            return None
        return self.hv.cpu.phys_read(addr, size) if size else b""

    def _set_cr3(self) -> None:
        """CR3 := ecx, as `mov %ecx, %cr3` would, for a directory in guest RAM."""
        value = self.hv.cpu.reg(X.UC_X86_REG_ECX)
        if value & 0xFFF & ~CR3_BITS or not self._ram(value & ~0xFFF, PAGE):
            return self._result(error=EINVAL)
        self.hv.write_cr(3, value)
        self._result(0)

    def _invlpg(self) -> None:
        self.hv.invlpg(self.hv.cpu.reg(X.UC_X86_REG_ECX))
        self._result(0)

    def _invlpg_many(self) -> None:
        cpu = self.hv.cpu
        addr, count = cpu.reg(X.UC_X86_REG_ECX), cpu.reg(X.UC_X86_REG_EDX)
        data = self._read_ram(addr, 4 * count) if 1 <= count <= INVLPG_MAX else None
        if data is None:
            return self._result(error=EINVAL)
        for linear in struct.unpack(f"<{count}I", data):
            self.hv.invlpg(linear)
        self._result(count)

    def _idle(self) -> None:
        """sti; hlt for a caller: the entry's ret is taken here (a CPU halted in the wedge could not take the
        interrupt that wakes it), then IF on and the CPU halts until the next interrupt, which returns to the caller."""
        hv, cpu = self.hv, self.hv.cpu
        esp = cpu.reg(X.UC_X86_REG_ESP)
        try:
            ret, = struct.unpack("<I", hv.read_guest(esp, 4))
        except (GuestFault, MachineStop):
            return self._result(error=EINVAL)
        self._result(0)
        cpu.set_reg(X.UC_X86_REG_ESP, (esp + 4) & 0xFFFFFFFF)
        cpu.set_reg(X.UC_X86_REG_EIP, ret)
        hv.vcpu.interrupt_flag = True
        hv.halt()

    def _console_write(self) -> None:
        cpu = self.hv.cpu
        addr, length = cpu.reg(X.UC_X86_REG_ECX), cpu.reg(X.UC_X86_REG_EDX)
        data = self._read_ram(addr, length) if length <= CONSOLE_MAX else None
        if data is None:
            return self._result(error=EINVAL)
        sent = self.devices.console_write(data)
        if sent < 0:
            return self._result(error=-sent)
        self._result(sent)

    def _block_io(self) -> None:
        """One synchronous transfer: the request names the operation, the sectors and the buffer."""
        cpu = self.hv.cpu
        request, drive = self._read_ram(cpu.reg(X.UC_X86_REG_ECX), BLOCK_REQUEST.size), cpu.reg(X.UC_X86_REG_EDX)
        if request is None or drive not in (0, 1):
            return self._result(error=EINVAL)
        op, lba, count, buf = BLOCK_REQUEST.unpack(request)
        if op not in (pvdevices.BLOCK_READ, pvdevices.BLOCK_WRITE) or not 1 <= count <= pvdevices.BLOCK_MAX_SECTORS \
                or not self._ram(buf, count * SECTOR):
            return self._result(error=EINVAL)
        if op == pvdevices.BLOCK_READ:
            data = self.devices.block_read(drive, lba, count)
            if isinstance(data, int):
                return self._result(error=-data)
            cpu.phys_write(buf, data)
        else:
            error = self.devices.block_write(drive, lba, self.hv.cpu.phys_read(buf, count * SECTOR))
            if error:
                return self._result(error=-error)
        self._result(count)

    def _block_info(self) -> None:
        drive = self.hv.cpu.reg(X.UC_X86_REG_ECX)
        if drive not in (0, 1):
            return self._result(error=EINVAL)
        self._result(self.devices.block_sectors(drive))

    def _paging_assist(self) -> None:
        flags = self.hv.cpu.reg(X.UC_X86_REG_ECX)
        if flags & ~ASSIST_FLAGS:
            return self._result(error=EINVAL)
        self.hv.paging.eager_dirty = bool(flags & ASSIST_EAGER_DIRTY)
        self._result(0)
