"""Direct paging: the CPU walks the guest's own page directory and page tables.  Each is validated before it becomes
active, typed (page directory / page table) and pinned by reference count while a validated directory uses it, and
write-protected in physical memory underneath every guest mapping, so each later store to it traps, is validated and
then performed.  While the guest's paging is off it runs on the hypervisor's identity map.

The rules: no guest entry maps a hypervisor frame; page tables lie in guest RAM; the window's directory slots hold
the hypervisor's entries.  A store that would break them in the active address space stops the guest with a report
(`HypervisorViolation`); in an inactive one it un-types the frame (revalidated when it is next loaded)."""

from __future__ import annotations

import struct
from collections import Counter

from unicorn import UC_PROT_ALL, UC_PROT_EXEC, UC_PROT_READ
from unicorn import x86_const as X

from previrt.machine import memory
from previrt.machine.cpu import CR0_PG, CR4_PSE, PDE_PS, PTE_P
from previrt.vmm.machine import HypervisorViolation
from previrt.vmm.window import LARGE_PAGE, PAGE

FRAME = 0xFFFFF000


class DirectPaging:
    def __init__(self, hv):
        self.hv, self.cpu, self.vcpu, self.window = hv, hv.cpu, hv.vcpu, hv.window
        self.ram = [(r.base, r.end) for r in memory.ram_regions(memory.layout(hv.config.mem_bytes))]
        self.pds: dict[int, dict[int, int]] = {}        # validated page directory -> {index: page-table frame}
        self.pt_users: dict[int, Counter] = {}          # page-table frame -> Counter of directories using it
        self.protected: set[int] = set()
        self.current: int | None = None                 # the active validated directory (paging on)
        self.typed_changed = None                       # called with (frame, typed) when a frame gains or loses a type
        self.counts: Counter[str] = Counter()           # validations, protections, drops; "entries validated":
                                                        # every entry checked (activations, stores), for the cost
                                                        # model (previrt/costs.py)

    # --- what the core asks ------------------------------------------------------------------------------
    def typed(self, phys: int) -> bool:
        return phys & FRAME in self.protected

    def activate(self) -> None:
        """Load the real CR0/CR3/CR4 for the virtual ones."""
        v, cpu = self.vcpu, self.cpu
        cpu.flush_guest_tlb()
        if v.cr0 & CR0_PG:
            self.load_directory(v.cr3)
            cpu.set_reg(X.UC_X86_REG_CR4, v.cr4)
            cpu.set_reg(X.UC_X86_REG_CR3, self.current | (v.cr3 & 0x18))
        else:
            self.current = None
            cpu.set_reg(X.UC_X86_REG_CR4, v.cr4 | CR4_PSE)
            cpu.set_reg(X.UC_X86_REG_CR3, self.window.identity_pd)
        cpu.set_reg(X.UC_X86_REG_CR0, v.cr0 | CR0_PG)

    def control_register_written(self, n: int) -> None:
        if n == 4 and (self.cpu.reg(X.UC_X86_REG_CR4) ^ self.vcpu.cr4) & CR4_PSE and self.vcpu.cr0 & CR0_PG:
            self._drop_all()              # PS bits mean something else now: revalidate from scratch
        if n in (0, 3, 4):
            self.activate()

    def invlpg(self, linear: int) -> None:
        """The CPU walks the guest's tables: flush the real TLB (reloading CR3 flushes it whole: more than invlpg
        must, never less)."""
        self.cpu.flush_guest_tlb()
        self.cpu.set_reg(X.UC_X86_REG_CR3, self.cpu.reg(X.UC_X86_REG_CR3))

    def ring_changed(self, virtual_cpl: int) -> None:
        pass

    # --- validation ----------------------------------------------------------------------------------------
    def _violation(self, what: str) -> HypervisorViolation:
        return HypervisorViolation(what, self.cpu.state_report())

    def _in_ram(self, frame: int) -> bool:
        return any(a <= frame and frame + PAGE <= b for a, b in self.ram)

    def _check_pte(self, pt: int, index: int, entry: int) -> None:
        if entry & PTE_P and self.window.config.holds_frame(entry & FRAME):
            raise self._violation(f"page table {pt:#010x} entry {index} ({entry:#010x}) maps hypervisor memory")

    def _check_pde(self, pd: int, index: int, entry: int) -> int | None:
        """Check one directory entry; return the page table it points to (None: none or a large page)."""
        if index in self.window.config.slots:
            if entry != self.window.pde(index, pd) and entry & PTE_P:
                raise self._violation(f"page directory {pd:#010x} entry {index} ({entry:#010x}) maps the "
                                      f"hypervisor's window {self.window.config.base:#010x}-"
                                      f"{self.window.config.base + self.window.config.size - 1:#010x}")
            return None
        if not entry & PTE_P:
            return None
        if entry & PDE_PS and self.vcpu.cr4 & CR4_PSE:
            if self.window.config.holds_frame(entry & 0xFFC00000, LARGE_PAGE):
                raise self._violation(f"page directory {pd:#010x} entry {index} ({entry:#010x}) maps hypervisor "
                                      "memory with a 4 MiB page")
            return None
        pt = entry & FRAME
        if not self._in_ram(pt):
            raise self._violation(f"page directory {pd:#010x} entry {index} ({entry:#010x}) points to a page "
                                  f"table at {pt:#010x}, outside guest RAM")
        return pt

    def _entries(self, frame: int) -> tuple[int, ...]:
        return struct.unpack("<1024I", self.cpu.phys_read(frame, PAGE))

    def _validate_table(self, pt: int) -> None:
        for i, e in enumerate(self._entries(pt)):
            self._check_pte(pt, i, e)
        self.counts["entries validated"] += PAGE // 4

    def load_directory(self, cr3: int) -> None:
        """CR3 load: validate the directory and its tables unless cached, install the window, make it current."""
        pd = cr3 & FRAME
        if pd not in self.pds:
            if not self._in_ram(pd):
                raise self._violation(f"CR3 {cr3:#010x}: page directory outside guest RAM")
            entries = self._entries(pd)
            tables = {i: pt for i, e in enumerate(entries) if (pt := self._check_pde(pd, i, e)) is not None}
            for pt in set(tables.values()) - set(self.pt_users):
                self._validate_table(pt)
            self.counts["directory validated"] += 1
            self.counts["entries validated"] += PAGE // 4
            self.pds[pd] = tables
            for pt in tables.values():
                self._use(pt, pd)
            self._protect(pd)
            for slot in self.window.config.slots:
                self.cpu.uc.mem_write(pd + 4 * slot, struct.pack("<I", self.window.pde(slot, pd)))
        self.current = pd

    def _use(self, pt: int, pd: int) -> None:
        users = self.pt_users.setdefault(pt, Counter())
        if not users:
            self.counts["table validated"] += 1
            self._protect(pt)
        users[pd] += 1

    def _unuse(self, pt: int, pd: int) -> None:
        users = self.pt_users.get(pt)
        if users is None:
            return
        users[pd] -= 1
        if users[pd] <= 0:
            del users[pd]
        if not users:
            del self.pt_users[pt]
            self._unprotect_if_free(pt)

    def _drop_directory(self, pd: int) -> None:
        self.counts["directory dropped"] += 1
        for pt in self.pds.pop(pd).values():
            self._unuse(pt, pd)
        self._unprotect_if_free(pd)

    def _drop_all(self) -> None:
        for pd in list(self.pds):
            self._drop_directory(pd)

    def _protect(self, frame: int) -> None:
        if frame not in self.protected:
            self.protected.add(frame)
            self.cpu.protect(frame, PAGE, UC_PROT_READ | UC_PROT_EXEC)
            if self.typed_changed:
                self.typed_changed(frame, True)

    def _unprotect_if_free(self, frame: int) -> None:
        if frame in self.protected and frame not in self.pds and frame not in self.pt_users:
            self.protected.discard(frame)
            self.cpu.protect(frame, PAGE, UC_PROT_ALL)
            if self.typed_changed:
                self.typed_changed(frame, False)

    # --- stores to typed frames --------------------------------------------------------------------------------
    def store(self, phys: int, data: bytes) -> None:
        """A guest store to a typed frame (from the write-protection hook or from the hypervisor acting for the
        guest): validate, update the types and references, perform."""
        split = PAGE - (phys & 0xFFF)
        if len(data) > split:
            self.store(phys, data[:split])
            self.store(phys + split, data[split:])
            return
        frame, first = phys & FRAME, phys & 0xFFC
        span = ((phys & 0xFFF) + len(data) + 3 & ~3) - first
        old_bytes = self.cpu.phys_read(frame + first, span)
        new_bytes = bytearray(old_bytes)
        new_bytes[(phys & 0xFFF) - first:(phys & 0xFFF) - first + len(data)] = data
        n = span // 4
        changes = [(first // 4 + i, o, e) for i, (o, e) in enumerate(zip(struct.unpack(f"<{n}I", old_bytes),
                                                                           struct.unpack(f"<{n}I", new_bytes)))]
        self.cpu.flush_guest_tlb()
        self.counts["entries validated"] += len(changes)
        if frame in self.pds:
            self._directory_store(frame, changes)
        if frame in self.pt_users:
            self._table_store(frame, changes)
        self.cpu.uc.mem_write(phys, bytes(data))

    def _directory_store(self, pd: int, changes) -> None:
        if pd != self.current:
            self._drop_directory(pd)
            return
        tables = self.pds[pd]
        checked = [(i, self._check_pde(pd, i, new)) for i, _, new in changes]
        for pt in {pt for _, pt in checked if pt is not None} - set(self.pt_users):
            self._validate_table(pt)
        for i, pt in checked:
            old = tables.pop(i, None)
            if pt is not None:
                tables[i] = pt
                self._use(pt, pd)
            if old is not None:
                self._unuse(old, pd)

    def _table_store(self, pt: int, changes) -> None:
        live = self.current is not None and self.current in self.pt_users[pt]
        try:
            for i, _, new in changes:
                self._check_pte(pt, i, new)
        except HypervisorViolation:
            if live:
                raise
            for pd in list(self.pt_users.get(pt, ())):      # only inactive directories use it: revalidate later
                self._drop_directory(pd)
