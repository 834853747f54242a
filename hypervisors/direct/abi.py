"""The para-virtual ABI of `direct`, host side: the window layout (shared page, wedge), the shared page's fields, the
hypercall mechanism and table, and the wedge's build — what a patched guest (previrt mode) runs against.

The numbers here are the one source: the wedge is built with them as -D definitions, the templates get them as
symbols, ABI.md describes them."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from unicorn import x86_const as X

from previrt.machine.cpu import GATE_INT32, GATE_TRAP32, Descriptor, GuestFault, MachineStop
from previrt.machine.devices.ata import DRQ as ATA_DRQ
from previrt.machine.devices.uart16550 import MCR_LOOP
from previrt.vmm import wedge as wedge_build
from previrt.vmm.machine import HypervisorViolation
from previrt.vmm.pvdevices import BLOCK_MAX_SECTORS, ENODEV, PvDevices
from previrt.vmm.window import PAGE, FieldPage, WindowConfig

FRAME = 0xFFFFF000

ABI_VERSION = 2
HYPERCALL_VECTOR = 0x82                 # int $0x82 from the guest's ring 0; eax = number; result in eax
SHARED_OFFSET = 0x20000                 # the shared page, from the window's base (after the shadow GDT and LDT)
WEDGE_OFFSET = 0x30000                  # the wedge's code and data
WEDGE_LIMIT = 0x10000
TYPED_OFFSET = 0x40000                  # the typed-frame bitmap (read-only): bit f set while frame f is a page table
TYPED_SIZE = 0x10000
DEV_LOG_SIZE = 64                       # device operations the wedge takes before the guest's instruction must exit
OUT_DATA_SIZE = 0x400
MMU_QUEUE_SIZE = 64                     # page-table updates the wedge queues before it must flush
INVLPG_MARK = 0xFFFFFFFF                # a queue entry (INVLPG_MARK, linear): flush that TLB entry, in queue order

# The shared page: what the guest and the wedge read and write without an exit.
SHARED_FIELDS = {               # name: (offset, size)
    "vif": (0x00, 1),           # the guest's EFLAGS.IF (1: interrupts enabled)
    "pending": (0x01, 1),       # 1: an interrupt waits for the guest to enable interrupts
    "iopl": (0x02, 1),          # the guest's EFLAGS.IOPL
    "cr0": (0x04, 4),           # mirrors of the virtual control registers (the hypervisor writes them)
    "cr2": (0x08, 4),
    "cr3": (0x0C, 4),
    "cr4": (0x10, 4),
    "scratch": (0x14, 4),       # the wedge's
    "eoi_exit": (0x18, 1),      # 1: a PIC has an unmasked request, so an EOI may let it through: EOIs go to the port
    "eoi_master": (0x19, 1),    # non-specific EOIs the wedge deferred, per PIC (the hypervisor applies them
    "eoi_slave": (0x1A, 1),     # before the PIC is next looked at)
    "mmu_count": (0x1C, 4),     # page-table updates queued in mmu_queue (the wedge appends; any exit applies them)
    "pte_load_path": (0x20, 4), # where a page-table-entry load goes: the plain load while nothing is queued, else
                                # the queue lookup (the wedge sets it when it queues; the hypervisor when it flushes)
    "mmu_queue": (0x100, 8 * MMU_QUEUE_SIZE),   # (physical address of the entry, value) pairs, in program order
    # device fast paths (wedge/devices.c): mirrors the hypervisor writes, and the operations the wedge took
    "dev_count": (0x24, 4),     # operations in dev_log
    "ata_flags": (0x28, 1),     # ATA_VALID, ATA_INTRQ, ATA_READ, ATA_WRITE (devices.c)
    "ata_status": (0x29, 1),    # what a read of the ATA status register returns now
    "uart_flags": (0x2A, 1),    # UART_VALID, UART_TX
    "uart_iir": (0x2B, 1),      # what a read of COM1's IIR returns now
    "uart_iir_no_thre": (0x2C, 1),  # ... once the THRE interrupt it reports is cleared
    "uart_iir_thre": (0x2D, 1),     # ... after THR writes (each byte goes out at once: THRE pending again)
    "ata_words": (0x30, 4),     # words of read data in ata_data, or words the drive takes for a write
    "ata_taken": (0x34, 4),     # of those, the words the wedge moved
    "out_used": (0x38, 4),      # bytes in out_data
    "dev_log": (0x300, 8 * DEV_LOG_SIZE),   # (port u16, kind u8, size u8, value u32): in, out, ins, outs
    "ata_data": (0x500, 512),   # the read data the drive has ready, from its current position
    "out_data": (0x700, OUT_DATA_SIZE),     # the bytes of the wedge's outs, in log order
    # the console ring of a kernel ported to this ABI (mode paravirt): the guest appends and advances con_prod, the
    # hypervisor sends [con_cons, con_prod) out of COM1 before anything looks at a device and advances con_cons
    "con_prod": (0x3C, 4),      # free-running byte counts (the ring index is the count modulo CON_RING_SIZE)
    "con_cons": (0x40, 4),
    "con_ring": (0xC00, 0x400),
}
CON_RING_SIZE = 0x400
DEV_OPS = {1: "in", 2: "out", 3: "ins", 4: "outs"}
ATA_VALID, ATA_INTRQ, ATA_READ, ATA_WRITE = 0x01, 0x02, 0x04, 0x08
UART_VALID, UART_TX = 0x01, 0x02
ATA_BASE, ATA_DATA_BYTES, COM1 = 0x1F0, 512, 0x3F8
PIC_COMMAND = {"eoi_master": 0x20, "eoi_slave": 0xA0}
NONSPECIFIC_EOI = 0x20

@dataclass(frozen=True)
class Hypercall:
    number: int
    name: str
    args: tuple[str, ...]       # in ebx, ecx, edx, esi, edi
    cost: str                   # what the hypervisor does (the cost model charges by name)
    deliver_after: int | None = None    # an irq_enable call: the instructions that still run before the waiting
                                        # interrupt is delivered (the wedge's epilogue; sti: + its shadow)


HYPERCALLS = {h.number: h for h in (
    Hypercall(0, "irq_enable_sti", (), "deliver the waiting interrupt after sti's shadow", deliver_after=4),
    Hypercall(1, "irq_enable_popf", (), "deliver the waiting interrupt after popf", deliver_after=3),
    Hypercall(2, "irq_enable_iret", (), "deliver the waiting interrupt after iret", deliver_after=2),
    Hypercall(3, "iret", (), "emulate an iret the wedge does not take (to ring 1/2, IF=0 or IOPL>0 for ring 3, "
                             "NT, VM)"),
    Hypercall(4, "mmu_update", ("requests", "count"),
              "validate and perform `count` page-table updates, (physical address of the entry, value) pairs at linear "
              "`requests`; eax = 0 or an error, edx = updates done"),
    Hypercall(5, "mmu_flush", (), "apply the updates queued in the shared page (every exit does; this call does "
                                  "nothing else)"),
    # the calls of a kernel ported by hand to this ABI (mode "paravirt": guest_src/kernel/arch-direct/)
    Hypercall(6, "set_cr3", ("cr3",), "load CR3 as `mov %cr3` does: validate the directory (unless cached) and "
                                      "activate it; eax = 0, EINVAL (outside guest RAM) or EPERM (refused)"),
    Hypercall(7, "invlpg", ("linear",), "flush the TLB entry of `linear` (as invlpg: the whole real TLB here)"),
    Hypercall(8, "idle", (), "enable interrupts and wait for one (sti; hlt): an interrupt already waiting is "
                             "delivered at once"),
    Hypercall(9, "irq_pending", (), "the guest set vif and found `pending`: deliver the waiting interrupt now (after "
                                    "the int)", deliver_after=0),
    Hypercall(10, "console_write", ("buf", "len"),
              "send `len` bytes at linear `buf` out of COM1, as its transmitter sends THR writes; eax = len, or "
              "EINVAL (len above CONSOLE_WRITE_MAX), EFAULT (unreadable), ENODEV (no COM1)"),
    Hypercall(11, "block_io", ("op", "lba", "count", "buf", "drive"),
              "op 0 read / 1 write `count` sectors at `lba` of ATA drive `drive` (0 master, 1 slave) into / from "
              "linear `buf`, synchronously; op 2: eax = the drive's sectors; eax = 0 or EINVAL, EFAULT, ENODEV, EIO"),
    Hypercall(12, "mmu_update_tlb", ("requests", "count"),
              "mmu_update, then flush the TLB (one call for a batch of unmaps: Xen's mmu_update + mmuext_op "
              "TLB_FLUSH_LOCAL); eax and edx as mmu_update"),
    Hypercall(13, "console_read", ("buf", "len"),
              "up to `len` bytes COM1 has received into linear `buf` (at most CONSOLE_WRITE_MAX); the first call sets "
              "COM1 up for input (IRQ 4 then announces received data); eax = bytes (0: none now), or EINVAL, EFAULT, "
              "ENODEV"),
)}
HC = {h.name: h.number for h in HYPERCALLS.values()}
EINVAL, EFAULT, EPERM = -22, -14, -1
MMU_UPDATE_MAX = 1024                   # requests one mmu_update call takes; more is EINVAL
CONSOLE_WRITE_MAX = 4096                # bytes one console_write takes; more is EINVAL
BLOCK_OPS = {0: "read", 1: "write", 2: "size"}


def shared_address(window: WindowConfig, field: str) -> int:
    return window.base + SHARED_OFFSET + SHARED_FIELDS[field][0]


def linear_view(window: WindowConfig) -> tuple[int, int]:
    """(page tables, page directory): where the window's last slot shows the current address space's tables."""
    slot = window.slots[-1]
    return slot << 22, (slot << 22) + slot * PAGE


def wedge_defines(window: WindowConfig) -> dict[str, int]:
    defines = {f"SHARED_{name.upper()}": shared_address(window, name) for name in SHARED_FIELDS}
    defines.update({f"HC_{name.upper()}": number for name, number in HC.items()})
    defines["HYPERCALL_VECTOR"] = HYPERCALL_VECTOR
    defines["LINEAR_PT"], defines["LINEAR_PD"] = linear_view(window)
    defines["TYPED_BITMAP"] = window.base + TYPED_OFFSET
    defines["TYPED_FRAMES"] = 8 * TYPED_SIZE            # frames the bitmap describes (2 GiB; above: never typed)
    defines["MMU_QUEUE_SIZE"] = MMU_QUEUE_SIZE
    defines["INVLPG_MARK"] = INVLPG_MARK
    defines.update(DEV_LOG_SIZE=DEV_LOG_SIZE, OUT_DATA_SIZE=OUT_DATA_SIZE, WINDOW_BASE=window.base,
                   WINDOW_SIZE=window.size)
    return defines


def build_wedge(window: WindowConfig) -> wedge_build.Wedge:
    sources = sorted((Path(__file__).parent / "wedge").glob("*.S")) + sorted(
        (Path(__file__).parent / "wedge").glob("*.c"))
    return wedge_build.build(sources, window.base + WEDGE_OFFSET, wedge_defines(window), WEDGE_LIMIT)


def symbols(window: WindowConfig) -> dict[str, int]:
    """What the templates may name: the wedge's entry points and the shared page's fields."""
    sym = {name: address for name, address in build_wedge(window).symbols.items() if name.startswith("wedge_")}
    sym.update({f"shared_{name}": shared_address(window, name) for name in SHARED_FIELDS})
    return sym


class SharedPage(FieldPage):
    """The shared page of one machine, read and written in its frame."""

    FIELDS = SHARED_FIELDS

    interrupt_flag = property(lambda self: bool(self.get("vif") & 1), lambda self, v: self.put("vif", int(v)))
    iopl = property(lambda self: self.get("iopl") & 3, lambda self, v: self.put("iopl", v & 3))
    pending = property(lambda self: bool(self.get("pending") & 1), lambda self, v: self.put("pending", int(v)))

    def control_register(self, n: int, value: int) -> None:
        if n in (0, 2, 3, 4):
            self.put(f"cr{n}", value)


class DirectParavirt:
    """The para-virtual side of one `direct` machine running a patched image."""

    vector = HYPERCALL_VECTOR

    def __init__(self, hv):
        self.hv = hv
        self.wedge = build_wedge(hv.window.config)
        self.hypercalls: dict[str, int] = {}
        self.mmu = {"queued": 0, "flushes": 0, "invlpg": 0}   # updates applied from the queue, the flushes that did
                                                               # it, and the TLB flushes queued behind updates
        self.in_place: dict[str, int] = {}          # device operations the wedge took without an exit, by kind
        self.devices = PvDevices(hv.board)          # console and block hypercalls (a para-virtual kernel's drivers)
        self.console_ring = hv.mode == "paravirt"   # the shared page's console ring is a hand-ported kernel's
        self.console_ring_bytes = 0

    def install(self) -> None:
        """Map the shared page (supervisor, writable) and the wedge (supervisor, read-only) into the window, and
        move the virtual IF and IOPL into the shared page."""
        w, vcpu = self.hv.window, self.hv.vcpu
        shared = w.alloc(1)
        w.map(w.config.base + SHARED_OFFSET, shared, writable=True)
        pages = (len(self.wedge.data) + PAGE - 1) // PAGE
        code = w.alloc(pages)
        w.uc.mem_write(code, self.wedge.data)
        for i in range(pages):
            w.map(self.wedge.base + i * PAGE, code + i * PAGE)
        page = SharedPage(w.uc, shared)
        interrupt_flag, iopl = vcpu.interrupt_flag, vcpu.iopl
        vcpu.shared = page
        vcpu.interrupt_flag, vcpu.iopl = interrupt_flag, iopl
        for n in (0, 2, 3, 4):
            page.control_register(n, getattr(vcpu, f"cr{n}"))
        self.page = page
        self.typed_bitmap = w.alloc(TYPED_SIZE // PAGE)
        w.uc.mem_write(self.typed_bitmap, bytes(TYPED_SIZE))
        for i in range(TYPED_SIZE // PAGE):
            w.map(w.config.base + TYPED_OFFSET + i * PAGE, self.typed_bitmap + i * PAGE)
        w.map_linear()
        self.fast_load = self.wedge.symbols["wedge_pte_load_plain"]
        self.slow_load = self.wedge.symbols["wedge_pte_load_queued"]
        page.put("pte_load_path", self.fast_load)
        self.plain_access = {self.wedge.symbols["wedge_pte_load_plain"], self.wedge.symbols["wedge_pte_store_plain"]}
        paging = self.hv.paging
        paging.typed_changed = self._typed_changed
        for frame in paging.protected:
            self._typed_changed(frame, True)

    def _typed_changed(self, frame: int, typed: bool) -> None:
        """Keep the wedge's bitmap of page-table frames: it queues updates of those and stores to any other frame."""
        n = frame >> 12
        if n >= 8 * TYPED_SIZE:
            return
        at = self.typed_bitmap + n // 8
        byte = self.hv.cpu.uc.mem_read(at, 1)[0]
        byte = byte | (1 << (n % 8)) if typed else byte & ~(1 << (n % 8))
        self.hv.cpu.uc.mem_write(at, bytes((byte,)))

    # --- page-table updates ----------------------------------------------------------------------------------
    def queued(self) -> int:
        return self.page.get("mmu_count")

    def flush(self) -> int:
        """Apply the updates the wedge queued, in order (at every exit, before the hypervisor looks at anything): the
        guest's page tables are then as its stores left them.  A queue the guest corrupted (a count beyond the queue,
        an entry outside its RAM, a value that breaks the rules in the active address space) stops it."""
        count = self.page.get("mmu_count")
        if not count:
            return 0
        self.page.put("mmu_count", 0)
        self.page.put("pte_load_path", self.fast_load)
        if count > MMU_QUEUE_SIZE:
            raise HypervisorViolation(f"page-table update queue holds {count} entries, more than its "
                                      f"{MMU_QUEUE_SIZE}", self.hv.cpu.state_report())
        offset = SHARED_FIELDS["mmu_queue"][0]
        pairs = struct.unpack(f"<{2 * count}I", self.hv.cpu.uc.mem_read(self.page.frame + offset, 8 * count))
        for i in range(count):
            if pairs[2 * i] == INVLPG_MARK:       # the wedge's deferred invlpg (any linear address is valid)
                self.hv.invlpg(pairs[2 * i + 1])
                self.mmu["invlpg"] += 1
                continue
            refused = self._update(pairs[2 * i], pairs[2 * i + 1])
            if refused:
                raise HypervisorViolation(f"queued page-table update {i} of {count}: {refused[1]}",
                                          self.hv.cpu.state_report())
        self.mmu["queued"] += count - sum(1 for i in range(count) if pairs[2 * i] == INVLPG_MARK)
        self.mmu["flushes"] += 1
        return count

    def _update(self, phys: int, value: int) -> tuple[int, str] | None:
        """One (entry, value) update: validated, then performed (a typed frame through direct paging's checks, any
        other frame of guest RAM as a plain store).  None, or (error code, reason) when it is refused."""
        paging = self.hv.paging
        if phys & 3:
            return EINVAL, f"entry address {phys:#010x} is not 4-byte aligned"
        if not paging._in_ram(phys & FRAME):
            return EINVAL, f"entry address {phys:#010x} is outside guest RAM"
        try:
            if paging.typed(phys):
                paging.store(phys, struct.pack("<I", value))
            else:
                self.hv.cpu.uc.mem_write(phys, struct.pack("<I", value))
        except HypervisorViolation as refused:
            return EPERM, refused.args[0] if refused.args else "refused by direct paging"
        return None

    def _mmu_update(self) -> None:
        """mmu_update(ebx = requests, ecx = count): eax = 0, or EINVAL/EFAULT/EPERM at the first refused request;
        edx = the requests performed before it (partial progress)."""
        hv, cpu = self.hv, self.hv.cpu
        requests, count = cpu.reg(X.UC_X86_REG_EBX), cpu.reg(X.UC_X86_REG_ECX)
        done, result = 0, EINVAL if count > MMU_UPDATE_MAX else 0
        while not result and done < count:
            try:
                phys, value = struct.unpack("<II", hv.read_guest(requests + 8 * done, 8))
            except (GuestFault, MachineStop):
                result = EFAULT
                break
            refused = self._update(phys, value)
            if refused:
                result = refused[0]
                break
            done += 1
        cpu.set_reg(X.UC_X86_REG_EAX, result & 0xFFFFFFFF)
        cpu.set_reg(X.UC_X86_REG_EDX, done)

    def fault_in_wedge(self, eip: int) -> int | None:
        """A fault of the wedge's plain page-table access (the pointer the guest gave faults as the guest's own mov
        would): where the site's own instruction would have faulted — the call's return address is on top of the
        stack, popped here.  None for any other address."""
        if eip not in self.plain_access:
            return None
        cpu = self.hv.cpu
        esp = cpu.reg(X.UC_X86_REG_ESP)
        ret, = struct.unpack("<I", self.hv.read_guest(esp, 4))
        cpu.set_reg(X.UC_X86_REG_ESP, (esp + 4) & 0xFFFFFFFF)
        return ret

    def symbols(self) -> dict[str, int]:
        return symbols(self.hv.window.config)

    def shows(self, linear: int) -> bool:
        """The window pages a patched guest uses: its shared page, the wedge, the typed-frame bitmap and the linear
        view of its page tables."""
        base = self.hv.window.config.base
        start, end = self.wedge_range()
        return (base + SHARED_OFFSET <= linear < base + SHARED_OFFSET + PAGE or start <= linear < end
                or base + TYPED_OFFSET <= linear < base + TYPED_OFFSET + TYPED_SIZE
                or linear >> 22 == self.hv.window.linear_slot)

    def wedge_range(self) -> tuple[int, int]:
        return self.wedge.base, self.wedge.base + len(self.wedge.data)

    def before_slice(self, interrupt_waiting: bool) -> None:
        """The pending bit the wedge reads: an interrupt waits while the guest has interrupts disabled."""
        self.page.pending = interrupt_waiting and not self.page.interrupt_flag
        self.watch()

    def in_wedge(self, eip: int) -> bool:
        start, end = self.wedge_range()
        return start <= eip < end

    def settle(self, boundary: bool = False) -> None:
        """Replay the device operations the wedge took, in order, then apply the EOIs it deferred — before anything
        looks at the devices or the PICs (an exit, a port access, a slice boundary): they are then as the guest's
        accesses left them.  Afterwards the mirrors are current again (`watch`).  A slice boundary inside the wedge
        (the slice's budget ran out there) leaves them for the next: the wedge may be half way through appending."""
        if boundary and self.in_wedge(self.hv.cpu.reg(X.UC_X86_REG_EIP)):
            return
        if self.console_ring:
            self._drain_console()
        page, board = self.page, self.hv.board
        changed = page.get("dev_count")
        if changed:
            self._replay(min(changed, DEV_LOG_SIZE))
        for field, port in PIC_COMMAND.items():
            count = page.get(field)
            if count:
                page.put(field, 0)
                changed = True
                for _ in range(count):
                    board.port_write(port, 1, NONSPECIFIC_EOI)
        if changed:
            self.watch()

    def _replay(self, count: int) -> None:
        """The wedge's log through the board, as the guest's instructions would have made the accesses.  The log is
        the guest's to write: an entry that names another port or kind is replayed as what it says (a port
        access the guest kernel could make itself), an impossible one is dropped."""
        page, board, uc = self.page, self.hv.board, self.hv.cpu.uc
        log = bytes(uc.mem_read(page.frame + SHARED_FIELDS["dev_log"][0], 8 * count))
        out = bytes(uc.mem_read(page.frame + SHARED_FIELDS["out_data"][0], OUT_DATA_SIZE))
        used = 0
        page.put("dev_count", 0)
        page.put("out_used", 0)
        page.put("ata_taken", 0)
        for i in range(count):
            port, kind, size, value = struct.unpack_from("<HBBI", log, 8 * i)
            name = DEV_OPS.get(kind)
            if name is None or size not in (1, 2, 4):
                continue
            self.in_place[name] = self.in_place.get(name, 0) + 1
            if name == "in":
                board.port_read(port, size)
            elif name == "out":
                board.port_write(port, size, value)
            elif name == "ins":
                for _ in range(min(value, OUT_DATA_SIZE)):
                    board.port_read(port, size)
            else:
                n = min(value, (OUT_DATA_SIZE - used) // size)
                for k in range(n):
                    board.port_write(port, size, int.from_bytes(out[used + k * size:used + (k + 1) * size], "little"))
                used += n * size

    def watch(self) -> None:
        """Whether an EOI must reach the PIC now: only if a request waits at an unmasked input (then an EOI may let
        it through, to be delivered at once); with none, an EOI changes nothing the guest can see until the next
        exit or slice boundary, where `settle` applies it.  Requests are raised only there, so this stays exact.
        And the device mirrors the wedge answers from: valid only with the log empty (after `settle`)."""
        pic = self.hv.board.pic
        waiting = (pic.master.irr & ~pic.master.imr) or (pic.slave.irr & ~pic.slave.imr)
        self.page.put("eoi_exit", 1 if waiting else 0)
        if self.page.get("dev_count"):
            return
        self._mirror_ata()
        self._mirror_uart()

    def _mirror_ata(self) -> None:
        page, ata = self.page, self.hv.board.devices.get("ata")
        flags, words = 0, 0
        if ata is not None and not ata.empty:
            flags = ATA_VALID | (ATA_INTRQ if ata.intrq else 0)
            page.put("ata_status", ata.status_value())
            if ata.drive is not None and ata.cur.status & ATA_DRQ and ata.on_transfer_done is not None:
                left = len(ata.buffer) - ata.pos
                words = min(left, ATA_DATA_BYTES) // 2
                if ata.writing:
                    flags |= ATA_WRITE
                else:
                    flags |= ATA_READ
                    self.hv.cpu.uc.mem_write(page.frame + SHARED_FIELDS["ata_data"][0],
                                             bytes(ata.buffer[ata.pos:ata.pos + 2 * words]))
        page.put("ata_words", words)
        page.put("ata_flags", flags)

    def _mirror_uart(self) -> None:
        page, uart = self.page, self.hv.board.devices.get("com1")
        if uart is None:
            page.put("uart_flags", 0)
            return
        page.put("uart_iir", uart.iir)
        page.put("uart_iir_no_thre", self._iir(uart, thre=False))
        page.put("uart_iir_thre", self._iir(uart, thre=True))
        direct = not uart.dlab and not uart.mcr & MCR_LOOP     # DLAB clear, no loopback: THR bytes go out
        page.put("uart_flags", UART_VALID | (UART_TX if direct else 0))

    @staticmethod
    def _iir(uart, thre: bool) -> int:
        """COM1's IIR with the THRE interrupt pending or not, everything else as it is."""
        saved = uart.thr_ipending
        uart.thr_ipending = thre
        try:
            return uart._identify() | (uart.iir & 0xC0)
        finally:
            uart.thr_ipending = saved

    def direct_trap(self, vector: int) -> bool:
        """Whether `int vector` from ring 3 reaches the guest kernel as a direct trap (Xen's fast system-call trap):
        its gate in the guest's IDT is a present 32-bit interrupt or trap gate of DPL 3 into a ring-0 code segment.
        A processor delivers such a gate through the hypervisor's copy of the IDT into ring 1 without entering the
        hypervisor; here the bare PC's delivery code does it, and it is not counted as an exit."""
        hv = self.hv
        idtr = hv.vcpu.idtr
        if vector * 8 + 7 > idtr.limit:
            return False
        try:
            lo, hi = struct.unpack("<II", hv.read_guest(idtr.base + vector * 8, 8))
            gate = Descriptor(lo, hi)
            if gate.s or gate.type not in (GATE_INT32, GATE_TRAP32) or not gate.present or gate.dpl != 3:
                return False
            code = hv.shadow.guest_descriptor(gate.gate_selector) if hv.shadow.table(
                gate.gate_selector).holds(gate.gate_selector) else None
        except (GuestFault, MachineStop):
            return False
        return code is not None and code.is_code and code.present and code.dpl == 0 and not code.conforming

    def hypercall(self) -> None:
        """int $0x82 from the guest's ring 0: eax names the call; an unknown number returns EINVAL in eax."""
        hv, cpu = self.hv, self.hv.cpu
        number = cpu.reg(X.UC_X86_REG_EAX)
        call = HYPERCALLS.get(number)
        name = call.name if call else "invalid"
        self.hypercalls[name] = self.hypercalls.get(name, 0) + 1
        hv.exit(f"hypercall:{name}", f"eax={number:#x}")
        if call is None:
            cpu.set_reg(X.UC_X86_REG_EAX, EINVAL & 0xFFFFFFFF)
        elif call.deliver_after is not None:
            hv.interrupts_enabled_point(call.deliver_after)
        elif call.name == "iret":
            self._iret()
        elif call.name != "mmu_flush":          # mmu_flush: the exit applied the queue
            getattr(self, f"_{call.name}")()

    def _iret(self) -> None:
        """The wedge's slow path: the guest's eax is on top of its stack, the iret frame under it."""
        hv, cpu = self.hv, self.hv.cpu
        esp = cpu.reg(X.UC_X86_REG_ESP)
        eax, = struct.unpack("<I", hv.read_guest(esp, 4))
        cpu.set_reg(X.UC_X86_REG_EAX, eax)
        cpu.set_reg(X.UC_X86_REG_ESP, (esp + 4) & 0xFFFFFFFF)
        insn = hv.emulator.decode(b"\xcf", cpu.reg(X.UC_X86_REG_EIP))
        hv.run_emulation(insn, "iret", 0)

    # --- the calls of a para-virtual kernel (mode "paravirt") ---------------------------------------------------
    def _args(self, n: int) -> list[int]:
        cpu = self.hv.cpu
        return [cpu.reg(r) for r in (X.UC_X86_REG_EBX, X.UC_X86_REG_ECX, X.UC_X86_REG_EDX, X.UC_X86_REG_ESI,
                                     X.UC_X86_REG_EDI)[:n]]

    def _result(self, value: int) -> None:
        self.hv.cpu.set_reg(X.UC_X86_REG_EAX, value & 0xFFFFFFFF)

    def _set_cr3(self) -> None:
        """set_cr3(ebx): CR3 loaded as the emulated `mov %cr3` loads it.  A directory outside guest RAM is EINVAL and
        one that breaks direct paging's rules EPERM — CR3 then stays as it was (validation changes nothing before it
        has accepted the directory and its tables)."""
        hv = self.hv
        cr3, = self._args(1)
        if not hv.paging._in_ram(cr3 & FRAME):
            return self._result(EINVAL)
        old = hv.vcpu.cr3
        hv.vcpu.cr3 = cr3
        try:
            hv.paging.control_register_written(3)
        except HypervisorViolation:
            hv.vcpu.cr3 = old
            hv.paging.activate()
            return self._result(EPERM)
        self._result(0)

    def _invlpg(self) -> None:
        linear, = self._args(1)
        self.hv.invlpg(linear)
        self._result(0)

    def _mmu_update_tlb(self) -> None:
        """mmu_update, then a TLB flush (also after a refused request: the updates before it were made)."""
        self._mmu_update()
        self.hv.invlpg(0)

    def _idle(self) -> None:
        """sti; hlt: the guest's IF set, the virtual CPU halted until the next interrupt (the run loop delivers one
        that waits already at once, as after a real sti; hlt)."""
        self.hv.vcpu.interrupt_flag = True
        self._result(0)
        self.hv.halt()

    def _guest_bytes(self, linear: int, size: int) -> bytes | None:
        try:
            return self.hv.read_guest(linear, size)
        except (GuestFault, MachineStop):
            return None

    def _device_time(self) -> None:
        """Virtual time exact at the device access, as at a port access (after it, `_maybe_stop` ends the slice where
        the device now has an event due before the slice's end, or raises an interrupt)."""
        self.hv._sync_clock()

    def _console_write(self) -> None:
        """console_write(ebx = buf, ecx = len): the bytes out of COM1 as the UART sends them."""
        buf, length = self._args(2)
        if length > CONSOLE_WRITE_MAX:
            return self._result(EINVAL)
        data = self._guest_bytes(buf, length) if length else b""
        if data is None:
            return self._result(EFAULT)
        self._device_time()
        self._result(self.devices.console_write(data))
        self.hv._maybe_stop()

    def _drain_console(self) -> None:
        """The console ring: the bytes between con_cons and con_prod out of COM1, in order (a producer count more
        than a ring ahead of the consumer's is the guest's to answer for: the last CON_RING_SIZE bytes go out)."""
        page = self.page
        prod, cons = page.get("con_prod"), page.get("con_cons")
        if prod == cons:
            return
        count = min((prod - cons) & 0xFFFFFFFF, CON_RING_SIZE)
        start = (prod - count) & (CON_RING_SIZE - 1)
        ring = bytes(self.hv.cpu.uc.mem_read(page.frame + SHARED_FIELDS["con_ring"][0], CON_RING_SIZE))
        data = (ring[start:] + ring[:start])[:count]
        page.put("con_cons", prod)
        self.console_ring_bytes += count
        self.in_place["console_ring"] = self.in_place.get("console_ring", 0) + 1   # one device-model pass a drain
        self.devices.console_write(data)

    def _console_read(self) -> None:
        """console_read(ebx = buf, ecx = len): the bytes COM1 has received.  The buffer is checked whole (writable)
        before a byte is taken from the UART, so a bad buffer loses no input."""
        buf, length = self._args(2)
        if length > CONSOLE_WRITE_MAX:
            return self._result(EINVAL)
        if length:
            try:
                self.hv.cpu.write_linear(buf, self.hv.read_guest(buf, length))   # checked: mapped and writable
            except (GuestFault, MachineStop):
                return self._result(EFAULT)
        self._device_time()
        data = self.devices.console_read(length)
        if isinstance(data, int):
            return self._result(data)
        try:
            self.hv.write_guest(buf, data)
        except (GuestFault, MachineStop):     # not after the check above; were it so, the bytes are lost
            return self._result(EFAULT)
        self._result(len(data))
        self.hv._maybe_stop()

    def _block_io(self) -> None:
        """block_io(ebx = op, ecx = lba, edx = count, esi = buf, edi = drive): synchronous sector transfers on the
        disk images of the ATA model (pvdevices).  The buffer is checked whole before a write reaches the disk; a read
        that cannot be stored whole into the buffer is EFAULT (what it did store stays)."""
        op, lba, count, buf, drive = self._args(5)
        if op not in BLOCK_OPS or drive > 1:
            return self._result(EINVAL)
        dev = self.devices
        self._device_time()
        if op == 2:
            sectors = dev.block_sectors(drive)
            return self._result(sectors if sectors else ENODEV)
        if not 0 < count <= BLOCK_MAX_SECTORS:
            return self._result(EINVAL)
        if op == 1:
            data = self._guest_bytes(buf, count * 512)
            return self._result(EFAULT if data is None else dev.block_write(drive, lba, data))
        data = dev.block_read(drive, lba, count)
        if isinstance(data, int):
            return self._result(data)
        try:
            self.hv.write_guest(buf, data)
        except (GuestFault, MachineStop):
            return self._result(EFAULT)
        self._result(0)
