"""Load-time binary rewriting of an unmodified image: every sensitive instruction that does *not* trap in ring 1 is
replaced by `int3`, and the original is kept in a side table keyed by its address, to be emulated at the trap.

What the scan sees is what `previrt audit` sweeps (`audit.sweep_ranges`): the image's executable sections, by function
symbols and DWARF line rows where the image has them, linearly otherwise, with recorded 16-bit code left out.  What it
cannot see — bytes in code sections that are data (a sweep may mis-decode them), code outside the image's executable
sections, and code the guest writes at run time — is not rewritten: see `Rewriter.unscanned`, and the hypervisor
folder's ABI.md for what the hypervisor does then."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from previrt.isa import i386
from previrt.errors import PrevirtError

INT3 = 0xCC

# The rows rewritten: sensitive-unprivileged instructions whose result in ring 1 would show the real ring, the real
# flags or the real descriptor tables, or that load a segment from a descriptor the shadow may not hold yet.
# Not rewritten: int/int3/into/int1 (they reach the hypervisor anyway and are bounced), cpuid (same answer in every
# mode), arpl (adjusts an RPL operand the guest supplied; shows nothing of the real ring).
REWRITTEN = frozenset({
    "pushf", "popf", "iret", "lret", "sgdt", "sidt", "sldt", "str", "smsw", "lar", "lsl", "verr", "verw",
    "push_seg", "pop_seg", "mov_to_seg", "mov_from_seg", "ljmp", "lcall", "lds", "les", "lfs", "lgs", "lss",
})


@dataclass(frozen=True)
class Original:
    """One rewritten instruction: its physical address (code runs at more than one linear alias: a kernel linked high
    starts at its load address), its original bytes and its row."""
    address: int
    data: bytes
    kind: str


class LoadMap:
    """Link addresses to the physical addresses the loader wrote them at: (p_vaddr, p_paddr, p_memsz) of each
    PT_LOAD segment of an ELF image."""

    def __init__(self, image_path: str):
        from elftools.elf.elffile import ELFFile
        with open(image_path, "rb") as f:
            self.segments = [(h["p_vaddr"], h["p_paddr"], h["p_memsz"]) for h in ELFFile(f).iter_segments()
                             if h["p_type"] == "PT_LOAD"]

    def physical(self, vaddr: int) -> int | None:
        return next((vaddr - v + p for v, p, size in self.segments if v <= vaddr < v + size), None)


def gap_ranges(image, sweep, other_mode) -> list:
    """The code the audit's sweep leaves out (assembly without symbols sizes or line rows: trap stubs, boot code),
    swept too: linearly, restarting at every symbol, so a labelled table cuts a mis-decoded run short."""
    from previrt import audit
    covered = sorted([(r.start, r.end) for r in sweep] + list(other_mode))
    starts = sorted(set(image.symbol_starts))
    ranges = []
    for sec in image.code:
        for a, b in audit._without(sec.address, sec.end, audit._merge_overlapping(covered)):
            cuts = [a] + [x for x in starts if a < x < b] + [b]
            ranges += [audit.SweepRange(x, y, sec.data[x - sec.address:y - sec.address])
                       for x, y in zip(cuts, cuts[1:]) if y > x]
    return ranges


class Rewriter:
    """The side table of one image, and the code ranges the scan covered."""

    def __init__(self):
        self.originals: dict[int, Original] = {}
        self.ranges: list[tuple[int, int]] = []          # scanned [start, end), sorted

    @property
    def by_kind(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for o in self.originals.values():
            counts[o.kind] = counts.get(o.kind, 0) + 1
        return dict(sorted(counts.items()))

    def scan(self, image_path: str, rows=REWRITTEN) -> None:
        """Find the instructions to rewrite in an ELF image (an image without ELF code sections is not scanned)."""
        from previrt import audit, elf
        try:
            image = elf.read_image(image_path)
        except PrevirtError:
            return
        physical = LoadMap(image_path).physical
        _, other_mode = audit.check_code_ranges(image)
        sweep, _ = audit.sweep_ranges(image, other_mode)
        md = audit.disassembler()
        for rng in sweep + gap_ranges(image, sweep, other_mode):
            start = physical(rng.start)
            if start is None:
                continue
            self.ranges.append((start, start + rng.end - rng.start))
            for insn in audit.decode_all(md, rng.data, rng.start):
                row = i386.classify_capstone(insn) if hasattr(insn, "id") else None
                if row is not None and row.name in rows:
                    address = start + insn.address - rng.start
                    self.originals[address] = Original(address, bytes(insn.bytes), row.name)
        self.ranges.sort()

    def apply(self, write) -> None:
        """Replace the first byte of each original by int3 (`write(address, bytes)` writes physical memory)."""
        for o in self.originals.values():
            write(o.address, bytes((INT3,)))

    def at(self, address: int) -> Original | None:
        return self.originals.get(address)

    def scanned(self, address: int) -> bool:
        """Whether physical `address` lies in code the scan covered."""
        i = bisect.bisect_right(self.ranges, (address, 1 << 33)) - 1
        return i >= 0 and self.ranges[i][0] <= address < self.ranges[i][1]
