"""The hypervisor's own memory: physical frames outside guest memory, and the virtual window that maps some of them
into every guest address space.

Owns the frame layout (window page tables, the identity page directory used while the guest's paging is off, the
shadow GDT and LDT, then frames a hypervisor allocates for itself) and the page-directory entries every validated
guest page directory receives for the window."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from unicorn import UC_PROT_ALL, UC_PROT_READ

from previrt.machine.cpu import PDE_PS, PTE_A, PTE_P, PTE_U, PTE_W

PAGE = 0x1000
LARGE_PAGE = 0x400000
TABLE_PAGES = 16                    # a GDT or LDT holds at most 8192 descriptors: 64 KiB


@dataclass(frozen=True)
class WindowConfig:
    """Where the hypervisor lives: the linear window reserved in every guest address space, and the host-physical
    frames behind it (never guest memory; the validators refuse any guest mapping of them)."""
    base: int = 0xFC000000
    size: int = 0x01000000
    phys_base: int = 0xFC000000
    phys_size: int = 0x00100000

    def __post_init__(self) -> None:
        for name in ("base", "size"):
            if getattr(self, name) % LARGE_PAGE:
                raise ValueError(f"window {name} {getattr(self, name):#x} is not a multiple of 4 MiB")
        if self.base + self.size > 1 << 32 or self.phys_base + self.phys_size > 1 << 32:
            raise ValueError("the hypervisor window must lie below 4 GiB")

    @property
    def slots(self) -> range:
        """Page-directory indices the window occupies."""
        return range(self.base >> 22, (self.base + self.size) >> 22)

    def holds_linear(self, linear: int) -> bool:
        return self.base <= linear < self.base + self.size

    def holds_frame(self, phys: int, size: int = PAGE) -> bool:
        return phys < self.phys_base + self.phys_size and self.phys_base < phys + size


class Window:
    """The hypervisor's frames in the unicorn machine.  Frame layout from phys_base: one page table per window slot,
    the identity page directory, the shadow GDT and the shadow LDT (TABLE_PAGES frames each); the window maps the two
    tables at its start."""

    def __init__(self, uc, config: WindowConfig):
        self.uc, self.config = uc, config
        nslots = len(config.slots)
        self.pt_frames = [config.phys_base + i * PAGE for i in range(nslots)]
        self.identity_pd = config.phys_base + nslots * PAGE
        self.gdt_frame = self.identity_pd + PAGE
        self.ldt_frame = self.gdt_frame + TABLE_PAGES * PAGE
        self.gdt_linear = config.base
        self.ldt_linear = config.base + TABLE_PAGES * PAGE
        self.first_free = self.ldt_frame + TABLE_PAGES * PAGE
        if self.first_free > config.phys_base + config.phys_size:
            raise ValueError("the hypervisor's physical area is too small for its page tables and shadow tables")
        uc.mem_map(config.phys_base, config.phys_size, UC_PROT_ALL)
        self.shown = (0, 0)             # shadow GDT and LDT pages mapped (present) right now
        self.linear_slot: int | None = None     # a window slot mapping each directory onto itself (`map_linear`)
        self._build_identity_pd()
        # the shadow tables: read-only even to a ring-1 store with CR0.WP=0
        uc.mem_protect(self.gdt_frame, 2 * TABLE_PAGES * PAGE, UC_PROT_READ)

    def alloc(self, pages: int) -> int:
        """Hypervisor frames for a hypervisor's own use (its shared page, its wedge): the first of `pages`."""
        frame = self.first_free
        if frame + pages * PAGE > self.config.phys_base + self.config.phys_size:
            raise ValueError(f"the hypervisor's physical area has no room for {pages} more pages")
        self.first_free += pages * PAGE
        return frame

    def pde(self, slot: int, directory: int | None = None) -> int:
        """The entry the page directory at `directory` (None: the identity directory) holds at window slot `slot`:
        supervisor, writable at the directory level (each page's own entry decides), present; at the linear slot,
        the directory itself, read-only (not present in the identity directory: paging is off there)."""
        if slot == self.linear_slot:
            return 0 if directory is None else directory | PTE_P | PTE_A
        return self.pt_frames[slot - self.config.slots.start] | PTE_P | PTE_W

    def map_linear(self) -> tuple[int, int]:
        """Give the window's last slot to the linear view of the current address space's tables: each validated
        directory maps itself there read-only (supervisor), so code in the window reads the entry of linear address
        `a` at `base + (a >> 12) * 4` and the directory entry at `directory + (a >> 22) * 4`.  Returns (base,
        directory)."""
        self.linear_slot = self.config.slots[-1]
        if self.linear_slot == self.config.slots.start:
            raise ValueError("the window needs a second 4 MiB slot for the linear page-table view")
        self._build_identity_pd()
        base = self.linear_slot << 22
        return base, base + self.linear_slot * PAGE

    def map(self, linear: int, frame: int | None, writable: bool = False) -> None:
        """Map one window page to one hypervisor frame, supervisor only (frame None: not present)."""
        if not self.config.holds_linear(linear) or not (frame is None or self.config.holds_frame(frame)):
            raise ValueError(f"window page {linear:#x} -> {frame} outside the hypervisor's window or frames")
        slot = (linear >> 22) - self.config.slots.start
        entry = self.pt_frames[slot] + ((linear >> 12) & 0x3FF) * 4
        value = 0 if frame is None else frame | PTE_P | (PTE_W if writable else 0)
        self.uc.mem_write(entry, struct.pack("<I", value))

    def show_tables(self, pages: tuple[int, int]) -> bool:
        """Map the first pages of the shadow GDT and LDT (read-only) and unmap the rest; whether anything changed
        (then the caller flushes the TLB)."""
        if pages == self.shown:
            return False
        for (frame, linear), want, had in zip(((self.gdt_frame, self.gdt_linear), (self.ldt_frame, self.ldt_linear)),
                                              pages, self.shown):
            for i in range(max(want, had)):
                self.map(linear + i * PAGE, frame + i * PAGE if i < want else None)
        self.shown = pages
        return True

    def _build_identity_pd(self) -> None:
        """While the guest's paging is off, linear = physical for the guest: 4 MiB pages, user and writable (no
        protection, as with CR0.PG=0), except the window's slots."""
        entries = [(i << 22) | PTE_P | PTE_W | PTE_U | PDE_PS for i in range(1024)]
        for slot in self.config.slots:
            entries[slot] = self.pde(slot)
        self.uc.mem_write(self.identity_pd, struct.pack("<1024I", *entries))


class FieldPage:
    """A page of hypervisor memory the guest's wedge shares, as named little-endian fields: FIELDS maps a name to
    (offset, size) in the page at `frame`."""

    FIELDS: dict[str, tuple[int, int]] = {}

    def __init__(self, uc, frame: int):
        self.uc, self.frame = uc, frame

    def get(self, name: str) -> int:
        offset, size = self.FIELDS[name]
        return int.from_bytes(self.uc.mem_read(self.frame + offset, size), "little")

    def put(self, name: str, value: int) -> None:
        offset, size = self.FIELDS[name]
        self.uc.mem_write(self.frame + offset, (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little"))
