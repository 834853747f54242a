"""A simulated PC run by a hypervisor: the guest kernel deprivileged to ring 1, its events bounced, its sensitive
instructions trapped (or rewritten to trap) and emulated, its memory virtualized by the hypervisor's policy.

Owns the wiring of the core's parts (virtual CPU, window, shadow GDT, delivery, emulator, rewriter) into the bare
machine's run loop, the exit accounting, and the checks that keep the guest out of hypervisor memory."""

from __future__ import annotations

import bisect
import struct
import sys
from collections import Counter

from unicorn import UC_HOOK_BLOCK
from unicorn import x86_const as X

from previrt import costs
from previrt.costs import Meter
from previrt.elf import read_image
from previrt.isa import i386
from previrt.machine import memory, multiboot
from previrt.machine.cpu import (BP, DB, TF, UD, CR0_PE, CR0_PG, GP, PF, PF_P, Cpu, Event, GuestFault,
                                 InterruptEnableSites, MachineStop, interrupt_enable_sites, UnsupportedEvent, vector_name)
from previrt.machine.runner import Machine, RunConfig, set_multiboot_state
from previrt.machine.stats import by_vector
from previrt.vmm.bounce import VirtualDelivery
from previrt.vmm.emulate import CR0_CD, CR0_NW, CR4_KNOWN, CR4_PAE, PRIVILEGED, Emulator
from previrt.vmm.registry import Hypervisor
from previrt.vmm.rewrite import REWRITTEN, LoadMap, Original, Rewriter
from previrt.vmm.segments import SegmentLoader, ShadowGdt
from previrt.vmm.vcpu import VirtualCpu, real_ring, real_selector
from previrt.vmm.window import Window

RAM_CHUNK = 0x100000     # guest RAM is mapped in 1 MiB pieces: write-protecting one frame splits only its piece
GUEST_TLB_SIZE = 4096    # translations the hypervisor remembers for its own accesses to guest memory

# Rows emulated when they raise #GP in ring 1 (privileged and IOPL-sensitive ones, and every rewritten row: an
# unscanned segment load, iret or lret of the guest kernel can fault on the compressed ring too).
PORT_IO = frozenset({"in", "out", "ins", "outs"})    # these trap in unicorn's port hooks, not as #GP
TRAPPING = PRIVILEGED | frozenset(r.name for r in i386.ROWS if r.category is i386.Category.IOPL_SENSITIVE
                                  and r.name not in PORT_IO) | REWRITTEN
SEGMENT_REGISTERS = frozenset({X.UC_X86_REG_CS, X.UC_X86_REG_SS, X.UC_X86_REG_DS, X.UC_X86_REG_ES,
                               X.UC_X86_REG_FS, X.UC_X86_REG_GS})
STRING_IO = {0x6C: "ins", 0x6D: "ins", 0x6E: "outs", 0x6F: "outs"}
IO_OPCODES = {0xE4: "in", 0xE5: "in", 0xEC: "in", 0xED: "in", 0xE6: "out", 0xE7: "out", 0xEE: "out", 0xEF: "out"}


class HypervisorViolation(MachineStop):
    """The guest broke a rule of the hypervisor where the bare PC would not have faulted."""
    status = 26
    reason = "violation"

    @classmethod
    def window_without_paging(cls, linear: int, state: str) -> "HypervisorViolation":
        """With the guest's paging off nothing can be mapped at `linear`, and the bare PC would reach memory there."""
        return cls(f"guest access to linear {linear:#010x} with paging off: the hypervisor's window is reserved in "
                   "every address space", state)


class GuestCpu(Cpu):
    """The CPU as the guest may use it: linear accesses made for the guest (delivery, emulation) see the guest's view
    (the window is not there), stores reach page-table frames only through the hypervisor's validation, and the I/O
    permission check is the virtual one."""

    def __init__(self, io_read, io_write, hv: "HypervisorMachine"):
        self.hv = hv
        self.guest_tlb: dict[tuple[int, bool, bool], int] = {}
        self.guest_base = hv.hypervisor.guest_base      # host-physical address of guest-physical 0
        self.guest_ranges: list[tuple[int, int]] = []   # guest-physical [start, end) of the PC's memory, sorted
        self.walk_registers = None                      # the memory virtualization's, when it has its own
        self.mmio_ranges: list[tuple[int, int]] = []    # [start, end) of the board's MMIO devices: at the identity
        super().__init__(io_read, io_write)

    def translate(self, linear: int, write: bool, user: bool) -> int:
        """The guest's view of linear memory, remembered until the translation can change: every store to a page
        table in use reaches the hypervisor (`flush_guest_tlb` then), as do CR0/CR3/CR4 writes and invlpg."""
        linear &= 0xFFFFFFFF
        key = (linear >> 12, write, user)
        frame = self.guest_tlb.get(key)
        if frame is not None:
            return frame | (linear & 0xFFF)
        if self.hv.window.config.holds_linear(linear) and not self.hv.shows_guest(linear):
            if not self.hv.vcpu.cr0 & CR0_PG:
                raise HypervisorViolation.window_without_paging(linear, self.state_report())
            raise GuestFault(PF, (2 if write else 0) | (4 if user else 0), linear)
        phys = super().translate(linear, write, user)
        if len(self.guest_tlb) >= GUEST_TLB_SIZE:
            self.guest_tlb.clear()
        self.guest_tlb[key] = phys & 0xFFFFF000
        return phys

    def flush_guest_tlb(self) -> None:
        self.guest_tlb.clear()

    def set_reg(self, reg: int, value) -> None:
        """A segment-register load makes the CPU read the shadow GDT: it is mapped for that (`gdt_visible`)."""
        if reg in SEGMENT_REGISTERS:
            self.hv.gdt_visible(True)
        super().set_reg(reg, value)

    # --- guest-physical memory: at host address guest_base + p ------------------------------------------------
    def host(self, addr: int, size: int = 1) -> int:
        """The host-physical address of guest-physical `addr` (size bytes).  At the identity every address passes
        (what is not memory faults as on the bare PC); otherwise the PC's memory regions are guest memory at
        guest_base, its MMIO devices at their own address, and anything else stops the run: nothing outside them is
        mapped for the guest."""
        if not self.guest_base:
            return addr
        ranges = self.guest_ranges
        i = bisect.bisect_right(ranges, (addr, 1 << 33)) - 1
        end = addr + max(size, 1)
        inside = i >= 0 and addr < ranges[i][1]
        while inside and end > ranges[i][1]:          # on into the next region only where the two touch
            inside = i + 1 < len(ranges) and ranges[i + 1][0] == ranges[i][1]
            i += 1
        if inside:
            return addr + self.guest_base
        if any(start <= addr and end <= stop for start, stop in self.mmio_ranges):
            return addr                                 # device registers and windows: the same address in the host
        raise HypervisorViolation(f"guest-physical {addr:#010x} ({size} bytes) is outside the PC's memory: "
                                  f"{self.hv.hypervisor.name} maps only guest RAM, the text buffer, the BIOS area and "
                                  "the PC's device windows", self.state_report())

    def phys_read(self, addr: int, size: int) -> bytes:
        return super().phys_read(self.host(addr, size) if self.guest_base else addr, size)

    def write_accessed(self, addr: int, data: bytes) -> None:
        Cpu.phys_write(self, self.host(addr, len(data)) if self.guest_base else addr, data)

    def host_write(self, addr: int, data: bytes) -> None:
        """Host-physical memory (the hypervisor's own frames), as it is."""
        Cpu.phys_write(self, addr, data)

    def host_read(self, addr: int, size: int) -> bytes:
        return Cpu.phys_read(self, addr, size)

    def paging_registers(self) -> tuple[int, int, int]:
        return self.walk_registers() if self.walk_registers is not None else super().paging_registers()

    def phys_write(self, addr: int, data: bytes) -> None:
        host = self.host(addr, len(data))
        if self.hv.window.config.holds_frame(host, len(data)):
            raise HypervisorViolation(f"guest store to hypervisor memory at physical {host:#010x}",
                                      self.state_report())
        if self.hv.paging.typed(addr):
            self.hv.paging.store(addr, data)
            return
        super().phys_write(host, data)

    def io_privilege(self) -> tuple[int, int]:
        """The guest's (CPL, IOPL): the virtual ones."""
        return (self.hv.vcpu.virtual_ring(self.cpl),
                (self.hv.vcpu.eflags(self.reg(X.UC_X86_REG_EFLAGS), self.cpl) >> 12) & 3)

    def io_bitmap_tss(self) -> tuple[int, int]:
        """The guest's TSS (its virtual task register), never loaded into the CPU."""
        return self.hv.vcpu.tr.base, self.hv.vcpu.tr.limit

    def io_allowed(self, port: int, size: int) -> bool:
        """The bare PC's check on the virtual CPL, IOPL and TSS; a port access of the guest's rings 0-2 is the trap
        of in/out (ring 1, IOPL 0), an exit; a TSS the guest cannot read refuses the access."""
        if self.io_privilege()[0] < 3:
            self.hv.io_exit()
        try:
            return super().io_allowed(port, size)
        except GuestFault:
            return False

    def _on_rom_write(self, access: int, address: int, size: int, value: int) -> bool:
        if self.hv.paging.typed(address):
            self.hv.exit("pf:pt-write", f"page-table store {address:#010x} <- {value:#x} ({size} bytes)")
            self.hv.paging.store(address, (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little"))
            return True
        if self.hv.window.config.holds_frame(address, size):
            raise HypervisorViolation(f"guest store to hypervisor memory at physical {address:#010x} at eip "
                                      f"{self.reg(X.UC_X86_REG_EIP):#010x}", self.state_report())
        return super()._on_rom_write(access, address, size, value)


class Dispatcher:
    """What the CPU's hooks call for every event (`cpu.delivery`): the hypervisor decides whether it is its own trap
    or the guest's event to bounce."""

    def __init__(self, hv: "HypervisorMachine"):
        self.hv = hv

    def deliver(self, event: Event) -> None:
        self.hv.on_event(event)
        self.hv.leave()

    def deliver_external(self, vector: int) -> None:
        """An external interrupt: an exit while the guest runs; delivered to a guest idle in hlt, it is the entry that
        ends the hlt's exit (one exit, as a processor's hlt exit then an injection on the next entry), counted
        apart as `injected_at_wakeup`."""
        if self.hv.woken:
            if self.hv.paravirt is not None:
                self.hv.paravirt.flush()
            self.hv.injected_at_wakeup += 1
        else:
            self.hv.exit("interrupt", f"inject {vector_name(vector)}")
        self.hv.cpu.interrupts[vector] += 1
        self.hv.delivery.deliver(Event(vector, None, external=True))
        self.hv.leave()


class HypervisorMachine(Machine):
    """The bare machine's run loop and board with a hypervisor between the guest and the CPU."""

    def __init__(self, config: RunConfig, serial_out, serial_in=None, *, hypervisor: Hypervisor,
                 trace_exits=None):
        self.hypervisor = hypervisor
        self.mode = config.virt or "full"            # "full"; "previrt": the image's sites patched at load;
                                                     # "paravirt": a kernel ported by hand to this hypervisor's ABI
        self.cooperative = self.mode in ("previrt", "paravirt")   # the guest knows the para-virtual interface
        self.paravirt = None
        self.unhandled: dict[int, str] = {}
        self.site_spans: list[tuple[int, int]] = []   # (start, end) of every site of the image, linear
        self.replaced: dict[int, tuple] = {}         # physical site -> (original site bytes, kind, insn length)
        self.patched_sites: dict[str, int] = {}
        self.wedge_instructions = 0
        self.direct_traps: Counter[int] = Counter()
        self.injected_at_wakeup = 0                  # interrupts delivered to a guest idle in hlt (not exits)
        self.exits: Counter[str] = Counter()
        self.meter = Meter(config.costs or costs.DEFAULT)   # the overhead charged into virtual time
        self.trace_exits = trace_exits            # a text stream, or None
        self.vcpu = VirtualCpu()
        self.rewriter = Rewriter()
        self._unscanned_reported = False
        self._last_io: tuple[int, int] | None = None
        self._io_kinds: dict[int, tuple[str, bool]] = {}
        super().__init__(config, serial_out, serial_in)

    # --- building ---------------------------------------------------------------------------------------
    def _make_cpu(self) -> Cpu:
        return GuestCpu(self._port_read, self._port_write, self)

    def _load(self, regions) -> None:
        cpu = self.cpu
        plan = multiboot.plan_load(self.config.image)
        multiboot.check_plan(plan, regions, self.config.image)
        base = self.hypervisor.guest_base
        cpu.guest_ranges = sorted((r.base, r.end) for r in regions)
        memory.map_regions(cpu.uc, regions, chunk=RAM_CHUNK, offset=base)
        self.window = Window(cpu.uc, self.hypervisor.window)
        self.shadow = ShadowGdt(self.window, self.read_guest)
        self.segments = SegmentLoader(cpu, self.shadow, self.write_guest)
        self.delivery = VirtualDelivery(cpu, self.vcpu, self.shadow, on_enter=self._entered)
        cpu.delivery = Dispatcher(self)
        self.emulator = Emulator(self)
        self.paging = self.hypervisor.memory(self)
        cpu.walk_registers = getattr(self.paging, "walk_registers", None)
        self._paging_fault = getattr(self.paging, "page_fault", None)
        multiboot.write_plan(plan, self.load_write)
        for addr, data in multiboot.build_info(regions, self.config.cmdline, self.config.mp).items():
            self.load_write(addr, data)
        if self.mode == "previrt":
            self._patch()
        elif self.mode == "paravirt":
            self._install_paravirt()
        else:
            self.rewriter.scan(self.config.image)
            self.rewriter.apply(self.load_write)
        set_multiboot_state(cpu, plan.entry, base)
        self._deprivilege()

    def load_write(self, addr: int, data: bytes) -> None:
        """The hypervisor's own store into guest-physical memory (loading, patching): no checks, the map applied."""
        self.cpu.uc.mem_write(addr + self.hypervisor.guest_base, data)

    def _patch(self) -> None:
        """Previrt mode: the hypervisor's shared page and wedge go into the window, and every recorded site of the
        image is patched in guest memory for this hypervisor (its templates); the sites patched to int3 are emulated
        at the trap like rewritten instructions."""
        from previrt import patch
        self.paravirt = self.hypervisor.paravirt(self)
        self.paravirt.install()
        physical = LoadMap(self.config.image).physical
        sites = read_image(self.config.image).sites
        self.site_spans = sorted((s.address, s.end) for s in sites)
        if self.config.patched is not None:          # previrt patch wrote the image: its bytes are patched
            plan = self.config.patched
            self.patched_sites = dict(Counter(i386.row(s.kind).name for s in sites))
        else:
            plan = patch.plan(self.config.image, self.hypervisor.templates, self.paravirt.symbols())
            for address, data in plan.writes.items():
                self.load_write(physical(address), data)
            self.patched_sites = dict(plan.by_kind)
        for address, (data, kind) in plan.traps.items():
            self.rewriter.originals[physical(address)] = Original(physical(address), data, kind)
        self.unhandled = {physical(a): kind for a, kind in plan.unhandled.items()}
        self.replaced = {physical(a): (data, kind, insn_len) for a, (data, kind, insn_len) in plan.replaced.items()}
        self._rewrite_unannotated([(physical(s.address), physical(s.address) + s.size) for s in sites])
        start, end = self.paravirt.wedge_range()
        self._count_wedge(start, end)

    def _install_paravirt(self) -> None:
        """Paravirt mode: the shared page, the wedge and the hypercall vector, as for a patched guest; nothing to patch
        or rewrite (the port makes hypercalls where the native kernel has sensitive instructions, and what it keeps
        traps and is emulated as it is)."""
        self.paravirt = self.hypervisor.paravirt(self)
        self.paravirt.install()
        start, end = self.paravirt.wedge_range()
        self._count_wedge(start, end)

    def _site_start(self, return_address: int) -> int:
        """The start of the site whose call into the wedge returns to `return_address`."""
        i = bisect.bisect_right(self.site_spans, (return_address - 1, 1 << 33)) - 1
        if i >= 0 and self.site_spans[i][0] < return_address <= self.site_spans[i][1]:
            return self.site_spans[i][0]
        raise HypervisorViolation(f"the wedge was called from {return_address:#010x}, which is not a patched site",
                                  self.cpu.state_report())

    def _rewrite_unannotated(self, sites: list[tuple[int, int]]) -> None:
        """What the build pass did not annotate (code it never saw as instructions: assembler macros, inline blobs)
        falls back to full virtualization: the sensitive instructions the load-time scan finds outside every site
        are rewritten to int3 as for an unprepared image."""
        scan = Rewriter()
        scan.scan(self.config.image)
        starts = sorted(sites)
        for address, original in scan.originals.items():
            i = bisect.bisect_right(starts, (address, 1 << 33)) - 1
            if i >= 0 and starts[i][0] <= address < starts[i][1]:
                continue
            self.rewriter.originals[address] = original
            self.load_write(address, bytes((0xCC,)))
        self.rewriter.ranges = scan.ranges

    def _count_wedge(self, start: int, end: int) -> None:
        """Guest instructions executed in the wedge, counted per translated block (instruction boundaries from
        capstone over the wedge's bytes)."""
        data = self.paravirt.wedge.data
        boundaries = sorted(i.address for i in self.emulator.md.disasm(data, start))

        def on_block(address: int, size: int) -> None:
            lo = bisect.bisect_left(boundaries, address)
            self.wedge_instructions += bisect.bisect_left(boundaries, address + size, lo) - lo
        self.cpu.uc.hook_add(UC_HOOK_BLOCK, self.cpu.guard(on_block), None, start, end - 1)

    def _deprivilege(self) -> None:
        """From the Multiboot hand-over state (ring 0, flat boot GDT, paging off) to the same state as the guest
        sees it, run one ring down: the boot GDT shadowed, CS and SS at RPL 1, the hypervisor's identity map."""
        cpu = self.cpu
        _, base, limit, _ = cpu.reg(X.UC_X86_REG_GDTR)
        self.load_gdt(base - self.hypervisor.guest_base, limit)     # the boot GDT, loaded at its host address
        self.vcpu.cr0 = cpu.reg(X.UC_X86_REG_CR0)
        self.vcpu.cr4 = cpu.reg(X.UC_X86_REG_CR4)
        self.vcpu.interrupt_flag = False
        self.paging.activate()
        cpu.set_cpl(1)
        cpu.set_reg(X.UC_X86_REG_SS, real_selector(cpu.reg(X.UC_X86_REG_SS)))
        cpu.set_reg(X.UC_X86_REG_CS, real_selector(cpu.reg(X.UC_X86_REG_CS)))
        cpu.set_reg(X.UC_X86_REG_EFLAGS, self.vcpu.load_eflags(cpu.reg(X.UC_X86_REG_EFLAGS), 0))
        self.leave()

    def _interrupt_enable_sites(self) -> InterruptEnableSites:
        """Every instruction that can set the guest kernel's IF traps to the hypervisor (or, patched, calls it when an
        interrupt waits), which stops the slice itself where an interrupt must be taken: no site hooks for IF.  The
        image's string input instructions are kept, so a refused one is undone as on the bare PC."""
        sites = InterruptEnableSites()
        for address, code in multiboot.executable_code(self.config.image):
            sites.string_inputs.update(interrupt_enable_sites(code, address).string_inputs)
        return sites

    # --- the run loop's view ------------------------------------------------------------------------------
    def hypervisor_stats(self) -> dict:
        stats = {"mode": self.mode, "exits": dict(sorted(self.exits.items())),
                 "rewritten_sites": self.rewriter.by_kind if self.mode == "full" else {},
                 "bounced": by_vector(self.delivery.bounced), "paging": dict(sorted(self.paging.counts.items())),
                 "injected_at_wakeup": self.injected_at_wakeup}
        if self.cooperative:
            stats.update(patched_sites=dict(sorted(self.patched_sites.items())),
                         hypercalls=dict(sorted(self.paravirt.hypercalls.items())),
                         wedge_instructions=self.wedge_instructions, direct_traps=by_vector(self.direct_traps),
                         page_table_updates=dict(self.paravirt.mmu),
                         device_in_place=dict(sorted(self.paravirt.in_place.items())))
        return stats

    def shows_guest(self, linear: int) -> bool:
        """Whether the window shows the guest something at `linear`: a patched guest's shared page and wedge."""
        return self.paravirt is not None and self.paravirt.shows(linear)

    def gdt_visible(self, on: bool) -> None:
        """The shadow GDT is mapped only while the CPU may read it: in the guest's ring 3 (user code loads segment
        registers itself; the pages are supervisor-only) and during the hypervisor's own segment loads.  In the
        guest's ring 0 the window shows nothing, as the guest's own tables say — in full virtualization; a patched
        guest knows the window (its wedge returns to ring 3 with a native iret) and sees the tables always."""
        if self.cooperative:
            on = True
        if self.window.show_tables(self.shadow.pages if on else (0, 0)):
            self.cpu.set_reg(X.UC_X86_REG_CR3, self.cpu.reg(X.UC_X86_REG_CR3))

    def leave(self) -> None:
        """Back to the guest after an exit."""
        if self.cpu.cpl != 3:
            self.gdt_visible(False)

    def guest_interrupts_enabled(self) -> bool:
        """The guest's IF — and never while a patched guest runs in the wedge: its code is one operation on the
        shared page (the interrupt is taken where the wedge returns, as after the instruction the site replaced)."""
        cpu = self.cpu
        if self.paravirt is not None and self.paravirt.in_wedge(cpu.reg(X.UC_X86_REG_EIP)):
            return False
        return self.vcpu.interrupts_enabled(cpu.reg(X.UC_X86_REG_EFLAGS), cpu.cpl)

    def _slice(self, budget: int) -> bool:
        if self.cooperative:
            self.paravirt.settle(boundary=True)
            self.paravirt.before_slice(self.board.intr())
        return super()._slice(budget)

    def charge_counts(self) -> None:
        """Charge what the counts other than exits gained since the last look (previrt.costs.Meter)."""
        paravirt = self.paravirt
        self.charge(self.meter.counts_cycles(self.injected_at_wakeup, self.paging.counts,
                                             getattr(paravirt, "in_place", None) or {}))

    def _halted_after_slice(self) -> bool:
        if self.cooperative:
            self.paravirt.settle(boundary=True)
        self.charge_counts()
        halted, self.vcpu.halted = self.vcpu.halted, False
        return halted

    def _map_mmio(self, m) -> None:
        """The board's MMIO devices (the APICs, the open-bus VGA and ROM windows) at the host address equal to their
        guest-physical one, for any guest_base (guest RAM elsewhere in the host cannot reach 4 GiB): no guest mapping
        reaches a host device, and every access is a trapped exit into the device model (mmio:<device>)."""
        self.cpu.mmio_ranges.append((m.base, m.base + m.length))
        super()._map_mmio(m)

    def _mmio_exit(self, m, offset: int, what: str) -> None:
        self.exit(f"mmio:{m.name}", f"{what} {m.base + offset:#010x}")
        if self.cooperative:
            self.paravirt.settle()

    def _mmio_read(self, m, offset: int, size: int) -> int:
        self._mmio_exit(m, offset, "read")
        value = super()._mmio_read(m, offset, size)
        if self.cooperative:
            self.paravirt.watch()
        return value

    def _mmio_write(self, m, offset: int, size: int, value: int) -> None:
        self._mmio_exit(m, offset, f"write {value:#x} to")
        super()._mmio_write(m, offset, size, value)
        if self.cooperative:
            self.paravirt.watch()

    def _port_read(self, port: int, size: int) -> int:
        if not self.cooperative:
            return super()._port_read(port, size)
        self.paravirt.settle()
        value = super()._port_read(port, size)
        self.paravirt.watch()
        return value

    def _port_write(self, port: int, size: int, value: int) -> None:
        if not self.cooperative:
            return super()._port_write(port, size, value)
        self.paravirt.settle()
        super()._port_write(port, size, value)
        self.paravirt.watch()

    # --- guest memory, the guest's view ------------------------------------------------------------------------
    def read_guest(self, linear: int, size: int, user: bool = False) -> bytes:
        return self.cpu.read_linear(linear, size, user)

    def write_guest(self, linear: int, data: bytes, user: bool = False) -> None:
        self.cpu.write_linear(linear, data, user)

    # --- exits --------------------------------------------------------------------------------------------------
    def exit(self, cause: str, what: str = "") -> None:
        """Count an exit (and trace it).  A patched guest's queued page-table updates are applied first: from here on
        the hypervisor sees the guest's tables as its stores left them."""
        if self.paravirt is not None:
            self.paravirt.flush()
        self.exits[cause] += 1
        self.charge(self.meter.exit_cycles(cause))
        self.charge_counts()
        if self.trace_exits is not None:
            eip = self.cpu.reg(X.UC_X86_REG_EIP)
            print(f"exit eip={eip:08x} ring={self.vcpu.virtual_ring(self.cpu.cpl)} {cause:<18} {what}",
                  file=self.trace_exits)

    def on_event(self, event: Event) -> None:
        if self.cooperative:
            self.paravirt.settle()
        cpu = self.cpu
        cpl = cpu.cpl
        eip = cpu.reg(X.UC_X86_REG_EIP)
        if event.software and event.vector == BP:
            phys = self._code_address((eip - 1) & 0xFFFFFFFF, cpl == 3)
            original = self.rewriter.at(phys) if phys is not None else None
            if original is not None:
                return self._emulate_original(original, (eip - 1) & 0xFFFFFFFF, self.vcpu.virtual_ring(cpl))
        if (event.vector == PF and not event.software and self._paging_fault is not None
                and self._paging_fault(event)):
            return
        if self.mode == "previrt" and cpl == 3 and not event.software and self._ring3_site(event, eip):
            return
        if event.software and self.cooperative:
            if event.vector == self.paravirt.vector and cpl == 1:
                return self.paravirt.hypercall()
            if cpl == 3 and self.paravirt.direct_trap(event.vector):
                self.direct_traps[event.vector] += 1
                return self.delivery.deliver(event)
        if not event.software and event.vector == UD and cpl != 3:
            self._check_unhandled(eip)
        if cpl != 3:
            self._check_scanned(self._code_address(eip, False), eip)
            if event.vector == GP and not event.software and self._trap(eip):
                return
        if event.vector == PF and not event.software and self.cooperative:
            if self.paravirt.queued():            # the walk may have met an entry whose store is still queued
                self.exit("pf:queued", f"retry after the queued page-table updates {event.text()}")
                return
            site = self.paravirt.fault_in_wedge(eip)
            if site is not None:                  # the wedge's plain access for a site: the site's own fault
                eip = self._site_start(site)
                cpu.set_reg(X.UC_X86_REG_EIP, eip)
        if event.vector == PF and not event.software:
            cr2 = cpu.reg(X.UC_X86_REG_CR2)
            if not self.vcpu.cr0 & CR0_PG:
                raise HypervisorViolation.window_without_paging(cr2, cpu.state_report())
            self.vcpu.cr2 = cr2
            if self.window.config.holds_linear(cr2):     # the guest's view: nothing is there
                event.error_code &= ~PF_P
        self._bounce(event)

    def _bounce(self, event: Event) -> None:
        if event.software:
            cause = f"int:{event.vector:#04x}"
        elif event.vector in (PF, GP):
            cause = f"{vector_name(event.vector)[1:].lower()}:guest"
        else:
            cause = f"exc:{vector_name(event.vector)}"
        self.exit(cause, f"bounce {event.text()}")
        self.delivery.deliver(event)

    def _ring3_site(self, event: Event, eip: int) -> bool:
        """Ring-3 code of the image reached a site patched for the kernel's ring: the inline replacement faulted on the
        window (cli's store, a CR load), or a call into the wedge faulted on fetching it (the return address names
        the site).  Ring 3 needs no patch (its real flags and selectors are the guest's): the site gets its original
        bytes back — with int3 first for a kind that would not trap in ring 1, as for an unprepared image — and the
        instruction runs again from the site's start, so a handler that skips it lands where it would on bare."""
        if event.vector not in (PF, GP):
            return False
        cpu, wedge = self.cpu, self.paravirt.wedge_range()
        site_eip = eip
        if wedge[0] <= eip < wedge[1]:
            try:
                site_eip = (struct.unpack("<I", self.read_guest(cpu.reg(X.UC_X86_REG_ESP), 4, True))[0] - 5)
            except GuestFault:
                return False
            site_eip &= 0xFFFFFFFF
        phys = self._code_address(site_eip, True)
        found = self.replaced.pop(phys, None) if phys is not None else None
        if found is None:
            return False
        data, kind, insn_len = found
        if site_eip != eip:
            cpu.set_reg(X.UC_X86_REG_ESP, (cpu.reg(X.UC_X86_REG_ESP) + 4) & 0xFFFFFFFF)
        if kind in REWRITTEN:
            self.rewriter.originals[phys] = Original(phys, data[:insn_len], kind)
            data = b"\xcc" + data[1:]
        self.load_write(phys, data)
        cpu.remove_cache((site_eip,), len(data))      # the translated code of the old bytes
        cpu.set_reg(X.UC_X86_REG_EIP, site_eip)
        self.exit(f"unpatch:{kind}", f"site {site_eip:#010x} reached from ring 3")
        return True

    def _check_unhandled(self, eip: int) -> None:
        phys = self._code_address(eip, False)
        kind = self.unhandled.get(phys) if phys is not None else None
        if kind is not None:
            raise UnsupportedEvent(f"the guest reached a `{kind}` site at eip {eip:#010x} that the patch for "
                                   f"{self.hypervisor.name} does not handle (patched to ud2)", self.cpu.state_report())

    def _code_address(self, eip: int, user: bool) -> int | None:
        """The physical address of the guest's code at CS:EIP (None if it is not mapped)."""
        linear = (self.cpu.loaded_segment_base(X.UC_X86_REG_CS) + eip) & 0xFFFFFFFF
        try:
            return self.cpu.translate(linear, False, user)
        except GuestFault:
            return None

    def _emulate_original(self, original, eip: int, cpl: int) -> None:
        """A rewritten instruction trapped (in the guest's ring 0, or in ring 3 where the image's own user code was
        rewritten with it): emulate the original as that ring would run it."""
        self.cpu.set_reg(X.UC_X86_REG_EIP, eip)
        insn = self.emulator.decode(original.data, eip)
        self.exit(f"rewrite:{original.kind}", f"{insn.mnemonic} {insn.op_str}")
        self.run_emulation(insn, original.kind, cpl)

    def _trap(self, eip: int) -> bool:
        """A #GP in the guest's rings 0-2: emulate it if it is a sensitive instruction the guest's ring may execute,
        else it is the guest's own #GP."""
        insn = self.emulator.decode(self.emulator.fetch(eip), eip)
        name = self.emulator.row(insn) if insn is not None else None
        if name not in TRAPPING:
            return False
        ring = self.vcpu.virtual_ring(self.cpu.cpl)
        if ring > 0 and (name in PRIVILEGED or (name in ("cli", "sti") and ring > self.vcpu.iopl)):
            return False
        self.exit(f"gp:{name}", f"{insn.mnemonic} {insn.op_str}")
        self.run_emulation(insn, name, ring)
        return True

    def run_emulation(self, insn, name: str, cpl: int = 0) -> None:
        single_step = self.cpu.reg(X.UC_X86_REG_EFLAGS) & TF
        try:
            self.emulator.emulate(insn, name, cpl)
        except (ValueError, IndexError, KeyError, AttributeError, TypeError, struct.error) as e:
            raise UnsupportedEvent(f"cannot emulate `{insn.mnemonic} {insn.op_str}` at eip {insn.address:#010x}: "
                                   f"{e}", self.cpu.state_report()) from e
        except GuestFault as fault:
            self.cpu.exceptions[fault.vector] += 1
            if fault.cr2 is not None:
                self.vcpu.cr2 = fault.cr2
            self._bounce(Event(fault.vector, fault.error_code))
            return
        if single_step and not self.vcpu.halted:     # TF at the instruction's start: the single-step trap follows it
            self.cpu.exceptions[DB] += 1
            self._bounce(Event(DB))

    def _check_scanned(self, phys: int | None, eip: int) -> None:
        if (not self._unscanned_reported and self.rewriter.ranges and phys is not None
                and not self.rewriter.scanned(phys)):
            self._unscanned_reported = True
            print(f"previrt: warning: the guest kernel runs code at {eip:#010x}, outside the code the hypervisor "
                  "scanned at load: sensitive instructions there that do not trap (pushf, popf, push %cs, ...) "
                  "show the real ring and flags", file=sys.stderr)

    def io_exit(self) -> None:
        """A port access by the guest kernel: the trap of in/out (ring 1, IOPL 0).  A `rep ins/outs` is one exit, as
        one emulated string operation; unicorn's port hook is where the trap is taken."""
        cpu = self.cpu
        eip = cpu.reg(X.UC_X86_REG_EIP)
        kind = self._io_kind(eip)
        ecx = cpu.reg(X.UC_X86_REG_ECX)
        if kind[1] and self._last_io is not None and self._last_io == (eip, (ecx + 1) & 0xFFFFFFFF):
            self._last_io = (eip, ecx)
            return
        self._last_io = (eip, ecx) if kind[1] else None
        self.exit(f"gp:{kind[0]}", f"port {cpu.reg(X.UC_X86_REG_EDX) & 0xFFFF:#06x}")

    def _io_kind(self, eip: int) -> tuple[str, bool]:
        kind = self._io_kinds.get(eip)
        if kind is None:
            data = self.emulator.fetch(eip)
            i = 0
            while i < len(data) and data[i] in (0xF2, 0xF3, 0x66, 0x67, 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65):
                i += 1
            op = data[i] if i < len(data) else 0
            kind = (STRING_IO[op], 0xF3 in data[:i]) if op in STRING_IO else (IO_OPCODES.get(op, "in"), False)
            self._io_kinds[eip] = kind
        return kind

    # --- what emulation calls back -------------------------------------------------------------------------------
    def interrupts_enabled_point(self, shadow: int) -> None:
        """The guest kernel set its IF (sti, popf, iret): stop the slice where a waiting interrupt is taken."""
        if self.vcpu.interrupt_flag and self.board.intr():
            self.cpu.request_stop(shadow)

    def halt(self) -> None:
        self.vcpu.halted = True
        self.cpu.request_stop()

    def load_ldt(self, selector: int, base: int, limit: int) -> None:
        """lldt: the guest's LDT (selector 0: none) shadowed like the GDT; the CPU's LDTR names the shadow."""
        ldtr = self.vcpu.ldtr
        ldtr.selector, ldtr.base, ldtr.limit = selector, base, limit
        table = self.shadow.ldt
        table.load(base, limit if selector & 0xFFFC else -1)
        self.cpu.set_reg(X.UC_X86_REG_LDTR, (selector, table.linear, max(table.limit, 0), 0x8200 if table.limit >= 0 else 0))

    def load_gdt(self, base: int, limit: int) -> None:
        self.vcpu.gdtr.base, self.vcpu.gdtr.limit = base, limit
        self.shadow.load(base, limit)
        self.cpu.set_reg(X.UC_X86_REG_GDTR, (0, self.shadow.linear, self.shadow.limit, 0))

    def write_cr(self, n: int, value: int) -> None:
        v = self.vcpu
        if n == 0:
            if (value & CR0_PG and not value & CR0_PE) or (value & CR0_NW and not value & CR0_CD):
                raise GuestFault(GP, 0)
            if not value & CR0_PE:
                raise UnsupportedEvent("the guest leaves protected mode (CR0.PE=0): real mode is not virtualized",
                                       self.cpu.state_report())
            v.cr0 = value | 0x10
        elif n == 2:
            v.cr2 = value
        elif n == 3:
            v.cr3 = value
        elif n == 4:
            if value & ~CR4_KNOWN:
                raise GuestFault(GP, 0)
            if value & CR4_PAE:
                raise UnsupportedEvent("the guest enables PAE paging: only 2-level paging is virtualized",
                                       self.cpu.state_report())
            v.cr4 = value
        else:
            raise GuestFault(6)
        self.paging.control_register_written(n)

    def invlpg(self, linear: int) -> None:
        self.paging.invlpg(linear)

    def return_outer(self, eip: int, cs: int, flags: int, esp: int, ss: int) -> None:
        """iret / lret to an outer ring (cs's RPL, already known to be above the current ring): the target's code and
        stack segments checked first (SDM, IRET / RET: RETURN-TO-OUTER-PRIVILEGE-LEVEL), then the real registers."""
        ring = cs & 3
        self.segments.check_code(cs, ring, lambda d: d.dpl <= ring if d.conforming else d.dpl == ring)
        self.segments.check_stack(ss, ring)
        cpu = self.cpu
        real_flags = self.vcpu.load_eflags(flags, ring)
        self.vcpu.enter_ring(ring)
        cpu.set_cpl(real_ring(ring))
        cpu.set_reg(X.UC_X86_REG_SS, real_selector(ss))
        cpu.set_reg(X.UC_X86_REG_ESP, esp)
        cpu.set_reg(X.UC_X86_REG_CS, real_selector(cs))
        cpu.set_reg(X.UC_X86_REG_EFLAGS, real_flags)
        cpu.set_reg(X.UC_X86_REG_EIP, eip)
        self.segments.null_outer_data(ring)
        self._entered(ring)
        self.interrupts_enabled_point(shadow=0)

    def _entered(self, virtual_cpl: int) -> None:
        """After every change of ring: user code loads segments natively, so the shadow must be current."""
        self.paging.ring_changed(virtual_cpl)
        if virtual_cpl == 3:
            self.shadow.sync()
