"""Deprivileging (ring compression): the shadow GDT the CPU really uses, and segment loads checked with the guest's
own descriptors and privilege, then performed one ring down.

The guest's GDT is never loaded: each code/data descriptor is copied into the shadow (in the window, read-only) with
DPL 0 shown to the CPU as DPL 1 (DPL 1 and 2 as 2) and the accessed bit preset; system descriptors (TSS, LDT, gates) are never loaded by
the CPU under the hypervisor and appear as null entries, so a ring-3 load of one faults as on the bare PC."""

from __future__ import annotations

import struct

from unicorn import x86_const as X

from previrt.machine.cpu import GP, NP, SS, Descriptor, GuestFault, UnsupportedEvent
from previrt.vmm.vcpu import REAL_RING, real_selector
from previrt.vmm.window import PAGE, TABLE_PAGES, Window

SEG_REGS = {"es": X.UC_X86_REG_ES, "cs": X.UC_X86_REG_CS, "ss": X.UC_X86_REG_SS, "ds": X.UC_X86_REG_DS,
            "fs": X.UC_X86_REG_FS, "gs": X.UC_X86_REG_GS}
ACCESSED = 1 << 8          # type bit 0 of the descriptor's high word
BUSY_TSS = 1 << 9          # type 9 (available TSS) -> 11 (busy)
TSS_AVAILABLE = (0x1, 0x9)
LDT_TYPE = 0x2


def compress(lo: int, hi: int) -> tuple[int, int]:
    """The shadow of one guest descriptor (see the module notes)."""
    d = Descriptor(lo, hi)
    if not d.s:
        return 0, 0
    return lo, (hi & ~(3 << 13)) | (REAL_RING[d.dpl] << 13) | ACCESSED


def valid_shadow(lo: int, hi: int) -> bool:
    """What the validators promise of every shadow entry: null, or a code/data descriptor whose DPL is not 0."""
    d = Descriptor(lo, hi)
    return (lo, hi) == (0, 0) or (d.s and d.dpl in (1, 2, 3) and bool(hi & ACCESSED))


class ShadowTable:
    """One shadow descriptor table (the GDT or the LDT) in the window, kept in step with the guest's table: rebuilt
    when the guest loads a new one, refreshed entry by entry at every emulated segment load and compared whole at
    every return to ring 3 (`sync`)."""

    def __init__(self, window: Window, read_guest, frame: int, linear: int):
        self.window, self.read_guest = window, read_guest      # read_guest(linear, size) -> bytes, may GuestFault
        self.frame, self.linear = frame, linear
        self.base, self.limit = 0, -1         # limit -1: no table (a null LDTR)
        self.guest_copy = b""                 # the guest table's bytes the shadow was last built from
        self.entries: list[tuple[int, int]] = []
        self.guest_entries: list[tuple[int, int]] = []      # the guest's own descriptors the shadow was built from

    @property
    def pages(self) -> int:
        return (len(self.entries) * 8 + PAGE - 1) // PAGE

    def load(self, base: int, limit: int) -> None:
        """A new table (limit -1: none).  Entries the guest cannot read yet stay null until a load reads them."""
        self.base, self.limit = base, min(limit, TABLE_PAGES * PAGE - 1)
        count = (self.limit + 1) // 8
        self.entries = [(0, 0)] * count
        self.guest_entries = [(0, 0)] * count
        self.guest_copy = b""
        self.window.uc.mem_write(self.frame, bytes(count * 8))
        self.sync()

    def holds(self, selector: int) -> bool:
        return (selector & 0xFFF8) + 7 <= self.limit

    def sync(self) -> None:
        """Re-read the guest's table and update the shadow entries that changed."""
        size = len(self.entries) * 8
        if not size or self.window.config.holds_linear(self.base) or \
                self.window.config.holds_linear(self.base + size - 1):
            return          # the guest's table in the window: nothing to read (a load from it faults or stops then)
        try:
            data = self.read_guest(self.base, size)
        except GuestFault:
            return
        if data == self.guest_copy:
            return
        for i in range(len(self.entries)):
            if data[i * 8:i * 8 + 8] != self.guest_copy[i * 8:i * 8 + 8]:
                self._set(i, *struct.unpack_from("<II", data, i * 8))
        self.guest_copy = data

    def refresh(self, selector: int) -> Descriptor:
        """Read the guest's descriptor for `selector` (within the limit) and update its shadow."""
        lo, hi = struct.unpack("<II", self.read_guest(self.base + (selector & 0xFFF8), 8))
        self._set(selector >> 3, lo, hi)
        return Descriptor(lo, hi)

    def _set(self, index: int, lo: int, hi: int) -> None:
        if index >= len(self.entries):
            return
        self.guest_entries[index] = (lo, hi)
        shadow = compress(lo, hi)
        if self.entries[index] != shadow:
            self.entries[index] = shadow
            self.window.uc.mem_write(self.frame + index * 8, struct.pack("<II", *shadow))


class ShadowGdt:
    """The shadow GDT and LDT: the guest's descriptor tables as the CPU really uses them."""

    def __init__(self, window: Window, read_guest):
        self.gdt = ShadowTable(window, read_guest, window.gdt_frame, window.gdt_linear)
        self.ldt = ShadowTable(window, read_guest, window.ldt_frame, window.ldt_linear)

    # the GDT's, for lgdt, ltr and the shadow's register
    @property
    def base(self) -> int:
        return self.gdt.base

    @property
    def limit(self) -> int:
        return self.gdt.limit

    @property
    def linear(self) -> int:
        return self.gdt.linear

    @property
    def pages(self) -> tuple[int, int]:
        return self.gdt.pages or 1, self.ldt.pages

    def load(self, base: int, limit: int) -> None:
        self.gdt.load(base, limit)

    def table(self, selector: int) -> ShadowTable:
        return self.ldt if selector & 4 else self.gdt

    def refresh(self, selector: int) -> Descriptor:
        return self.table(selector).refresh(selector)

    def sync(self) -> None:
        self.gdt.sync()
        self.ldt.sync()

    def guest_descriptor(self, selector: int) -> Descriptor:
        table, index = self.table(selector), selector >> 3
        return Descriptor(*table.guest_entries[index]) if index < len(table.guest_entries) else Descriptor(0, 0)


class SegmentLoader:
    """Segment-register loads the hypervisor performs for the guest (mov/pop to a segment register, lds..lss, far
    transfers, iret): the SDM's checks against the guest's descriptors with the guest's CPL, then the real load."""

    def __init__(self, cpu, shadow: ShadowGdt, write_guest):
        self.cpu, self.shadow, self.write_guest = cpu, shadow, write_guest

    def descriptor(self, selector: int, error: int | None = None) -> Descriptor:
        """The guest's descriptor for a non-null selector (#GP(selector) beyond its table, or naming the LDT while
        LDTR is null); the shadow is refreshed."""
        error = selector & 0xFFFC if error is None else error
        if not self.shadow.table(selector).holds(selector):
            raise GuestFault(GP, error)
        return self.shadow.refresh(selector)

    def set_accessed(self, selector: int, desc: Descriptor) -> None:
        """The processor sets the accessed bit of a descriptor it loads, in the guest's own table."""
        if not desc.hi & ACCESSED:
            try:
                table = self.shadow.table(selector)
                self.write_guest(table.base + (selector & 0xFFF8) + 4, struct.pack("<I", desc.hi | ACCESSED))
            except GuestFault:
                pass

    def check_data(self, name: str, selector: int, cpl: int) -> Descriptor | None:
        """MOV/POP/LDS to DS, ES, FS, GS (SDM vol. 2, MOV: protected-mode checks); None for a null selector."""
        if selector & 0xFFFC == 0:
            return None
        desc = self.descriptor(selector)
        readable_code = desc.is_code and desc.type & 2
        if not desc.s or not (not desc.is_code or readable_code):
            raise GuestFault(GP, selector & 0xFFFC)
        if not desc.conforming and (selector & 3 > desc.dpl or cpl > desc.dpl):
            raise GuestFault(GP, selector & 0xFFFC)
        if not desc.present:
            raise GuestFault(NP, selector & 0xFFFC)
        return desc

    def check_stack(self, selector: int, cpl: int) -> Descriptor:
        """Loads of SS: RPL and DPL equal to CPL, a writable data segment, present (#SS otherwise)."""
        if selector & 0xFFFC == 0:
            raise GuestFault(GP, 0)
        desc = self.descriptor(selector)
        if selector & 3 != cpl or desc.dpl != cpl or not desc.writable_data:
            raise GuestFault(GP, selector & 0xFFFC)
        if not desc.present:
            raise GuestFault(SS, selector & 0xFFFC)
        return desc

    def load(self, name: str, selector: int, cpl: int) -> None:
        """A checked load of DS/ES/FS/GS (cpl: the guest's) or SS, into the real register (SS one ring down)."""
        if name == "ss":
            desc = self.check_stack(selector, cpl)
            self.set_accessed(selector, desc)
            self.cpu.set_reg(SEG_REGS["ss"], real_selector(selector))
            return
        desc = self.check_data(name, selector, cpl)
        if desc is not None:
            self.set_accessed(selector, desc)
        self.cpu.set_reg(SEG_REGS[name], selector)

    def check_code(self, selector: int, cpl: int, rpl_ok) -> Descriptor:
        """The target of a far jmp/call/ret or iret: a present code segment (further rules by the caller)."""
        if selector & 0xFFFC == 0:
            raise GuestFault(GP, 0)
        desc = self.descriptor(selector)
        if not desc.s:
            raise UnsupportedEvent(f"far transfer through system descriptor {selector:#06x} (call gate or task): "
                                   "not virtualized by this hypervisor", self.cpu.state_report())
        if not desc.is_code or not rpl_ok(desc):
            raise GuestFault(GP, selector & 0xFFFC)
        if not desc.present:
            raise GuestFault(NP, selector & 0xFFFC)
        self.set_accessed(selector, desc)
        return desc

    def null_outer_data(self, new_cpl: int) -> None:
        """On a return to an outer ring, data segment registers whose descriptor the new ring may not use are nulled
        (SDM, RET/IRET: DPL < CPL for data and non-conforming code)."""
        for name in ("es", "ds", "fs", "gs"):
            sel = self.cpu.reg(SEG_REGS[name])
            if sel & 0xFFFC == 0:
                continue
            d = self.shadow.guest_descriptor(sel)
            if not d.s or ((not d.is_code or not d.conforming) and d.dpl < new_cpl):
                self.cpu.set_reg(SEG_REGS[name], 0)
