"""Shadow paging: a virtual TLB.  The CPU walks shadow page directories and tables that live in the hypervisor's own
frames; the guest's page tables are only read.  A shadow entry is filled when the CPU faults on it, from a walk of the
guest's tables that sets their accessed and dirty bits as the processor does; it maps the guest's frame at its host
address (guest-physical p at host `guest_base + p`, guest memory only).  invlpg drops one entry, a CR3 load the
address space's entries — except that the shadows of the last few address spaces stay cached, and on a switch back
each entry is kept only if the guest entries it was filled from are still bit for bit what they were (then a refill
would give the same entry).  While the guest's paging is off it runs on a shadow of linear = guest-physical.

A para-virtual guest that never reads dirty bits may ask for the eager-dirty assist (abi.py: paging_assist): a read
fill of a page its tables make writable then sets D at once and shadows the page writable.

A guest entry naming memory outside the PC's regions, or a page table there, stops the run (`HypervisorViolation`);
an entry the guest puts in the window's directory slots is never used, and touching the window it maps stops the
run too."""

from __future__ import annotations

import struct
from collections import Counter, OrderedDict

from unicorn import x86_const as X

from previrt.machine.cpu import (CR0_PG, CR0_WP, CR4_PSE, PDE_PS, PF, PF_P, PF_U, PF_W, PTE_A, PTE_D, PTE_P, PTE_U,
                                 PTE_W, Cpu, Event, GuestFault)
from previrt.vmm.machine import HypervisorViolation
from previrt.vmm.window import LARGE_PAGE, PAGE

FRAME = 0xFFFFF000
CR4_PGE = 1 << 7
POOL_PAGES = 4000             # shadow directories and tables: the hypervisor's physical area less the window's frames
CACHED_SPACES = 8             # shadows of address spaces kept (least recently used dropped first)
LARGE = -1                    # a walk's origin: a 4 MiB guest page (no page-table entry)
SHADOW_TABLE = PTE_P | PTE_W | PTE_U | PTE_A        # a shadow directory entry: its table's entries decide


class Space:
    """The shadow of one address space: a shadow page directory (a host frame), its shadow page tables, and for each
    filled linear page the guest entries it was filled from."""

    __slots__ = ("key", "pd", "tables", "filled", "large", "split")

    def __init__(self, key: int | None, pd: int):
        self.key = key                                    # the guest's page directory; None: paging off
        self.pd = pd
        self.tables: dict[int, int] = {}                  # directory index -> shadow page table
        self.filled: dict[int, tuple[int, int]] = {}      # linear page -> (guest pde, guest pte)
        self.large: dict[int, int | None] = {}            # directory index -> the guest pde of a 4 MiB shadow entry
        self.split: dict[int, int | None] = {}            # directory index -> the guest pde of a 4 MiB guest page
                                                          # shadowed by a whole table (None: paging off)


class ShadowPaging:
    def __init__(self, hv):
        self.hv, self.cpu, self.vcpu, self.window = hv, hv.cpu, hv.vcpu, hv.window
        first = self.window.alloc(POOL_PAGES)
        self.pool = (first, first + POOL_PAGES * PAGE)
        self.free = [first + i * PAGE for i in reversed(range(POOL_PAGES))]
        self.spaces: OrderedDict[int | None, Space] = OrderedDict()     # least recently used first
        self.current: Space | None = None
        self.rules: tuple[int, int] | None = None         # CR0.PG|WP and CR4.PSE|PGE the paged shadows were filled by
        self.counts: Counter[str] = Counter()
        self.eager_dirty = False        # the paging assist a para-virtual guest asks for (abi.py: paging_assist)

    # --- what the core asks --------------------------------------------------------------------------------
    def typed(self, phys: int) -> bool:
        return False                   # no guest frame is write-protected

    def store(self, phys: int, data: bytes) -> None:          # never called: nothing is typed
        self.cpu.phys_write(phys, data)

    def ring_changed(self, virtual_cpl: int) -> None:
        pass

    def walk_registers(self) -> tuple[int, int, int]:
        """The hypervisor's own walks (delivery, emulation) read the guest's tables."""
        v = self.vcpu
        return v.cr0, v.cr3, v.cr4

    def activate(self, flush: bool = False) -> None:
        """Load the real CR0/CR3/CR4 for the virtual ones: the shadow of the guest's address space (`flush`: a CR3
        load, which flushes it), CR4.PSE always set for the shadow's 4 MiB entries and PGE clear, CR0.WP always set (a
        guest with WP clear is given supervisor-only writable entries where its kernel writes a read-only page).  A
        change of the rules the shadows were filled by (CR0.PG or WP, CR4.PSE or PGE) drops every paged shadow."""
        v, cpu = self.vcpu, self.cpu
        cpu.flush_guest_tlb()
        rules = (v.cr0 & (CR0_PG | CR0_WP), v.cr4 & (CR4_PSE | CR4_PGE))
        if rules != self.rules:
            if self.rules is not None:
                self.counts["flush:paging-mode"] += 1
                for space in [s for s in self.spaces.values() if s.key is not None]:
                    self._free_space(space)
            self.rules, flush = rules, True
        self._switch(v.cr3 & FRAME if v.cr0 & CR0_PG else None, flush)
        cpu.set_reg(X.UC_X86_REG_CR4, (v.cr4 | CR4_PSE) & ~CR4_PGE)
        cpu.set_reg(X.UC_X86_REG_CR3, self.current.pd)
        cpu.set_reg(X.UC_X86_REG_CR0, v.cr0 | CR0_PG | CR0_WP)

    def control_register_written(self, n: int) -> None:
        if n in (0, 3, 4):
            self.activate(flush=n == 3)

    def invlpg(self, linear: int) -> None:
        """Drop the shadow entry of one page (every entry of a 4 MiB guest page)."""
        self.cpu.flush_guest_tlb()
        self.counts["flush:invlpg"] += 1
        space, page = self.current, (linear & 0xFFFFFFFF) >> 12
        if page >> 10 in space.large:
            self._clear_large(space, page >> 10)
        elif page >> 10 in space.split:
            self._drop_table(space, page >> 10)
        elif page in space.filled:
            self._clear(space, page)
        else:
            return
        self.counts["invlpg entries dropped"] += 1
        self._flush_cpu_tlb()

    # --- faults --------------------------------------------------------------------------------------------
    def page_fault(self, event: Event) -> bool:
        """A #PF on the shadow: fill the entry from the guest's tables (True: the instruction runs again), or the
        guest's own fault (False, with the error code the guest's tables give)."""
        cpu = self.cpu
        linear = cpu.reg(X.UC_X86_REG_CR2)
        write, user = bool(event.error_code & PF_W), bool(event.error_code & PF_U)
        if self.window.config.holds_linear(linear):
            self._check_window(linear)
            return False
        try:
            frame, flags, origin = self._guest_walk(linear, write, user)
        except GuestFault as fault:
            event.error_code = fault.error_code
            return False
        if self.eager_dirty and not write and flags & PTE_W and not flags & PTE_D:
            frame, flags, origin = self._guest_walk(linear, True, user)      # allowed: the walk as a write sets D
            self.counts["eager-dirty"] += 1
        if not self.vcpu.cr0 & CR0_WP and write and not user and not flags & PTE_W:
            bits = PTE_W                     # WP clear: the kernel writes a read-only page; user code still cannot
        else:
            bits = (flags & PTE_U) | (flags & PTE_W if flags & PTE_D else 0)    # writable once dirty
        if origin is None or origin[1] == LARGE:
            base = frame & ~(LARGE_PAGE - 1)
            if self._all_memory(base):
                host = cpu.host(base, LARGE_PAGE)
                self._install_large(linear >> 22, host | PTE_P | PTE_A | PTE_D | PDE_PS | bits,
                                    None if origin is None else origin[0])
                host |= frame & (LARGE_PAGE - 1)
            else:
                host = cpu.host(frame, PAGE)
                self._install_split(linear >> 22, base, PTE_P | PTE_A | PTE_D | bits, origin)
        else:
            host = cpu.host(frame, PAGE)
            self._install(linear >> 12, host | PTE_P | PTE_A | PTE_D | bits, origin)
        if not event.error_code & PF_P:
            cause = "pf:shadow-fill"
        else:
            cause = "pf:shadow-dirty" if write else "pf:shadow-refill"
        self.counts[cause[3:]] += 1
        self.hv.exit(cause, f"{linear:#010x} -> guest-physical {frame:#010x} (host {host:#010x})")
        if not self._fetch_fault(linear, write):
            cpu.uncount()                   # the instruction runs again: it counts once, as on the bare PC
        return True

    def _all_memory(self, base: int, size: int = LARGE_PAGE) -> bool:
        """Whether guest-physical [base, base + size) is all guest memory."""
        try:
            self.cpu.host(base, size)
        except HypervisorViolation:
            return False
        return True

    def _fetch_fault(self, linear: int, write: bool) -> bool:
        """Whether the fault is the fetch of the instruction at CS:EIP (the engine has not begun it yet): a read of
        its first page, or of the start of the next page when it crosses one."""
        if write:
            return False
        eip = (self.cpu.loaded_segment_base(X.UC_X86_REG_CS) + self.cpu.reg(X.UC_X86_REG_EIP)) & 0xFFFFFFFF
        return linear >> 12 == eip >> 12 or (linear & 0xFFF == 0 and eip < linear < eip + 15)

    def _check_window(self, linear: int) -> None:
        """The window shows the guest nothing; a guest whose own tables map something there expects memory: stop."""
        v = self.vcpu
        if not v.cr0 & CR0_PG:
            return                          # the core stops it: nothing can be mapped there with paging off
        pde = self._read((v.cr3 & FRAME) + (linear >> 22) * 4)
        mapped = pde & PTE_P and ((pde & PDE_PS and v.cr4 & CR4_PSE)
                                  or self._read((pde & FRAME) + ((linear >> 12) & 0x3FF) * 4) & PTE_P)
        if mapped:
            raise HypervisorViolation(f"the guest's page tables map linear {linear:#010x} (directory entry "
                                      f"{linear >> 22}: {pde:#010x}), in the hypervisor's window "
                                      f"{self.window.config.base:#010x}-"
                                      f"{self.window.config.base + self.window.config.size - 1:#010x}",
                                      self.cpu.state_report())

    # --- the guest's tables, as the processor walks them -------------------------------------------------
    def _read(self, addr: int) -> int:
        return struct.unpack("<I", self.cpu.phys_read(addr, 4))[0]

    def _set(self, addr: int, entry: int, bits: int) -> int:
        new = entry | bits
        if new != entry:
            self.cpu.write_accessed(addr, struct.pack("<I", new))
            self.counts["write-back:A"] += bool(new & ~entry & PTE_A)
            self.counts["write-back:D"] += bool(new & ~entry & PTE_D)
        return new

    def _guest_walk(self, linear: int, write: bool, user: bool) -> tuple[int, int, tuple[int, int] | None]:
        """(guest frame, U/W/D of the translation, origin) for an access the guest's tables allow (else GuestFault
        with the guest's error code), setting A and D in its entries in the processor's order: A in a directory
        entry as soon as the walk passes it, A and D in the last entry once the access is allowed."""
        v = self.vcpu
        if not v.cr0 & CR0_PG:
            return linear & FRAME, PTE_U | PTE_W | PTE_D, None
        err = (PF_W if write else 0) | (PF_U if user else 0)
        pde_addr = (v.cr3 & FRAME) + (linear >> 22) * 4
        pde = self._read(pde_addr)
        if not pde & PTE_P:
            raise GuestFault(PF, err, linear)
        if pde & PDE_PS and v.cr4 & CR4_PSE:
            Cpu._check_access(pde, pde, write, user, v.cr0, err, linear)
            pde = self._set(pde_addr, pde, PTE_A | (PTE_D if write else 0))
            return (pde & 0xFFC00000) | (linear & 0x3FF000), pde, (pde, LARGE)
        pde = self._set(pde_addr, pde, PTE_A)
        pte_addr = (pde & FRAME) + ((linear >> 12) & 0x3FF) * 4
        pte = self._read(pte_addr)
        if not pte & PTE_P:
            raise GuestFault(PF, err, linear)
        Cpu._check_access(pde, pte, write, user, v.cr0, err, linear)
        pte = self._set(pte_addr, pte, PTE_A | (PTE_D if write else 0))
        return pte & FRAME, (pde & pte & (PTE_U | PTE_W)) | (pte & PTE_D), (pde, pte)

    # --- the shadow ------------------------------------------------------------------------------------------
    def _install_large(self, index: int, entry: int, origin: int | None) -> None:
        """A 4 MiB shadow entry, for a 4 MiB guest page (or 4 MiB of guest memory with paging off) wholly in guest
        memory: one fill for the lot; writable once the guest's entry is dirty, as for a small page."""
        space = self.current
        old = struct.unpack("<I", self.cpu.host_read(space.pd + 4 * index, 4))[0]
        flush = index in space.tables or (old & PTE_P and old & ~entry & (PTE_W | PTE_U))
        if index in space.tables:
            self._drop_table(space, index)
        self.cpu.host_write(space.pd + 4 * index, struct.pack("<I", entry))
        space.large[index] = origin
        self.counts["large fills"] += 1
        if flush:
            self._flush_cpu_tlb()

    def _install_split(self, index: int, base: int, bits: int, origin) -> None:
        """A 4 MiB guest page (or 4 MiB with paging off) that covers a hole: a whole shadow table at once, every 4 KiB
        page of guest memory in it filled (the guest's one entry gives them all), the holes not present."""
        space = self.current
        flush = index in space.large or index in space.tables
        if index in space.large:
            self._clear_large(space, index)
        if index in space.tables:
            self._drop_table(space, index)
        pt = self._alloc()
        space.tables[index] = pt
        space.split[index] = None if origin is None else origin[0]
        entries = [self.cpu.host(base + i * PAGE, PAGE) | bits if self._all_memory(base + i * PAGE, PAGE) else 0
                   for i in range(1024)]
        self.cpu.host_write(pt, struct.pack("<1024I", *entries))
        self.cpu.host_write(space.pd + 4 * index, struct.pack("<I", pt | SHADOW_TABLE))
        self.counts["split fills"] += 1
        if flush:
            self._flush_cpu_tlb()

    def _clear_large(self, space: Space, index: int) -> None:
        del space.large[index]
        self.cpu.host_write(space.pd + 4 * index, bytes(4))

    def _drop_table(self, space: Space, index: int) -> None:
        for page in [p for p in space.filled if p >> 10 == index]:
            del space.filled[page]
        space.split.pop(index, None)
        self.free.append(space.tables.pop(index))
        self.cpu.host_write(space.pd + 4 * index, bytes(4))

    def _install(self, page: int, entry: int, origin) -> None:
        space = self.current
        index = page >> 10
        if index in space.large:            # the guest's directory entry changed from a 4 MiB page without invlpg
            self._clear_large(space, index)
            self._flush_cpu_tlb()
        elif index in space.split:
            self._drop_table(space, index)
            self._flush_cpu_tlb()
        pt = space.tables.get(index)
        if pt is None:
            pt = self._alloc()              # may empty the current shadow when the pool runs dry
            space.tables[index] = pt
            self.cpu.host_write(space.pd + 4 * index, struct.pack("<I", pt | SHADOW_TABLE))
        addr = pt + 4 * (page & 0x3FF)
        old = struct.unpack("<I", self.cpu.host_read(addr, 4))[0]
        self.cpu.host_write(addr, struct.pack("<I", entry))
        space.filled[page] = origin
        if old & PTE_P and old & ~entry & (PTE_W | PTE_U):
            self._flush_cpu_tlb()           # a permission taken away: the CPU may hold the old one

    def _clear(self, space: Space, page: int) -> None:
        del space.filled[page]
        self.cpu.host_write(space.tables[page >> 10] + 4 * (page & 0x3FF), bytes(4))

    def _flush_cpu_tlb(self) -> None:
        self.cpu.set_reg(X.UC_X86_REG_CR3, self.cpu.reg(X.UC_X86_REG_CR3))

    def _switch(self, key: int | None, flush: bool) -> None:
        """Make the shadow of `key` current: a new one, or a cached one revalidated (a CR3 load flushes the TLB)."""
        space = self.spaces.get(key)
        if space is not None and space is self.current and not flush:
            return
        if space is None:
            self.counts["cr3:cold" if key is not None else "physical:cold"] += 1
            space = Space(key, self._alloc())
            for slot in self.window.config.slots:
                self.cpu.host_write(space.pd + 4 * slot, struct.pack("<I", self.window.pde(slot)))
            self.spaces[key] = space
            while len(self.spaces) > CACHED_SPACES:
                self._free_space(next(s for s in self.spaces.values() if s is not space and s is not self.current))
        else:
            self.spaces.move_to_end(key)
            if key is not None:
                self.counts["cr3:cached"] += 1
                self._revalidate(space)
        self.current = space

    def _revalidate(self, space: Space) -> None:
        """Keep each filled entry whose guest directory entry (and page-table entry) are unchanged since the fill, each
        4 MiB entry and whole table made for a 4 MiB guest page whose directory entry is."""
        directory = struct.unpack("<1024I", self.cpu.phys_read(space.key, PAGE))
        tables: dict[int, tuple[int, ...]] = {}
        stale = []
        for page, (pde, pte) in space.filled.items():
            index = page >> 10
            if directory[index] != pde:
                stale.append(page)
                continue
            table = tables.get(index)
            if table is None:
                table = tables[index] = struct.unpack("<1024I", self.cpu.phys_read(pde & FRAME, PAGE))
            if table[page & 0x3FF] != pte:
                stale.append(page)
        for page in stale:
            self._clear(space, page)
        stale_large = [i for i, pde in space.large.items() if directory[i] != pde]
        for index in stale_large:
            self._clear_large(space, index)
        stale_split = [i for i, pde in space.split.items() if directory[i] != pde]
        for index in stale_split:
            self._drop_table(space, index)
        self.counts["cached entries kept"] += len(space.filled) + len(space.large) + len(space.split)
        self.counts["cached entries dropped"] += len(stale) + len(stale_large) + len(stale_split)

    def _alloc(self) -> int:
        if not self.free:
            self._reclaim()
        frame = self.free.pop()
        self.cpu.host_write(frame, bytes(PAGE))
        return frame

    def _reclaim(self) -> None:
        """The pool is empty: drop the least recently used shadows; at worst empty the current one's tables."""
        self.counts["pool exhausted"] += 1
        for space in list(self.spaces.values()):
            if space is not self.current:
                self._free_space(space)
                if self.free:
                    return
        space = self.current
        for index, pt in space.tables.items():
            self.cpu.host_write(space.pd + 4 * index, bytes(4))
            self.free.append(pt)
        space.tables.clear()
        space.filled.clear()
        space.split.clear()
        for index in list(space.large):
            self._clear_large(space, index)
        self._flush_cpu_tlb()

    def _free_space(self, space: Space) -> None:
        self.counts["evicted"] += 1
        self.free.extend(space.tables.values())
        self.free.append(space.pd)
        del self.spaces[space.key]
        if space is self.current:
            self.current = None
