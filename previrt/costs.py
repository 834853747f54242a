"""The cost model: one table of constants in cycles (each with its source) and the one function that turns a run's
counts (the `--stats` JSON dict) into estimated cycles with a per-component breakdown.

Only virtualization overhead is charged: what a real device or a guest instruction costs on the bare PC and under a
hypervisor alike (an ATA transfer, a UART byte, the guest's own int $0x80) is outside the model, so the bare PC's
estimate is its instruction count.  The hypervisors charge the same events into virtual time as they happen
(previrt.vmm.machine), so the run's timer interrupts fall where the model says they would."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from previrt.errors import UsageError


@dataclass(frozen=True)
class Constant:
    cycles: int
    source: str


# The unit: one guest instruction is one cycle (the clock's DEFAULT_HZ, 100 M instructions per simulated second, is
# a 100 MHz processor at one instruction per cycle).  Everything else is in that unit.
UNIT = "guest_instruction"

DEFAULT_CONSTANTS: dict[str, Constant] = {
    "guest_instruction": Constant(1, (
        "the unit of virtual time (DEFAULT_HZ at one instruction per cycle); the instructions the wedge (in-place VMM) "
        "runs are guest instructions too. Intel 64 and IA-32 Optimization Reference Manual: simple integer "
        "instructions retire at one or more per cycle, so 1 is a conservative average for kernel code")),
    "world_switch": Constant(1000, (
        "an exception or interrupt taken from the deprivileged guest into the hypervisor and the return to the guest "
        "(fault delivery through the IDT with a ring change, state save, dispatch, restore, iret). Adams & Agesen, "
        "ASPLOS 2006, 'A Comparison of Software and Hardware Techniques for x86 Virtualization', report guest/VMM "
        "transitions costing on the order of a thousand to a few thousand cycles on the Pentium 4 (hardware VM "
        "exit + resume) and trap round trips of hundreds of cycles; assumption: 1000 cycles, between the two")),
    "hypercall": Constant(700, (
        "a para-virtual call into the hypervisor (int $0x82 / the hypercall page): the same ring change in and out "
        "as a world switch but no fault decoding, the arguments in registers. Barham et al., SOSP 2003, 'Xen and "
        "the Art of Virtualization', hypercalls as software traps; LeVasseur et al. 2008, 'Pre-virtualization: "
        "soft layering for virtual machines', calls from the wedge; assumption: 70 % of a world switch")),
    "decode_emulate": Constant(300, (
        "fetching, decoding and emulating the trapped (or int3-rewritten) guest instruction in the hypervisor, on "
        "top of the world switch. Adams & Agesen 2006 name decoding the faulting instruction as a main cost of "
        "trap-and-emulate; assumption: 300 cycles (an x86 decoder walk plus the emulation of one privileged "
        "instruction)")),
    "inject": Constant(400, (
        "bouncing an event into the guest: reading its virtual IDT, building the exception frame on its kernel stack, "
        "switching to its handler (Barham et al. 2003: Xen's exception frames built for the guest). Charged on top "
        "of the exit that took the event, and alone for an interrupt that ends an idle hlt (its exit is the "
        "hlt's); assumption: 400 cycles, a native exception delivery in software")),
    "pt_validate_entry": Constant(20, (
        "validating one page-table entry (direct paging): a trapped store, an entry of an mmu_update batch or "
        "queue, every entry of a directory or table validated when it becomes active (1024 each). Barham et al. "
        "2003 (validated, batched page-table updates); assumption: 20 cycles an entry (a few loads, compares and a "
        "reference count)")),
    "shadow_fill": Constant(800, (
        "filling one shadow entry on a hidden page fault (shadow paging): walking the guest's tables, setting their "
        "accessed/dirty bits, writing the shadow entry; on top of the fault's world switch. Adams & Agesen 2006 "
        "(hidden page faults of the software VMM's shadow page tables); assumption: 800 cycles")),
    "shadow_flush": Constant(2000, (
        "a shadow flush (shadow paging): a CR3 load's new or revalidated shadow, an invlpg, a paging-mode change, "
        "a reclaim of the shadow pool; assumption: 2000 cycles (clearing and reallocating a shadow directory)")),
    "shadow_revalidate_entry": Constant(10, (
        "checking one cached shadow entry against the guest's tables when a cached address space is loaded again "
        "(shadow paging); assumption: 10 cycles (two loads and a compare)")),
    "device_model": Constant(500, (
        "the hypervisor's device model for one emulated port or MMIO access (a trapped in/out, an mmio: exit, an "
        "in/out hypercall, one "
        "entry of the wedge's in-place device log replayed): the software device's dispatch and state update that "
        "a real device does in hardware. Barham et al. 2003 (device access through the hypervisor); assumption: "
        "500 cycles")),
}

# The breakdown's components, in report order: (component, constant).
COMPONENTS = (
    ("guest instructions", "guest_instruction"),
    ("wedge instructions", "guest_instruction"),
    ("world switches", "world_switch"),
    ("hypercalls", "hypercall"),
    ("decode + emulate", "decode_emulate"),
    ("interrupt injection", "inject"),
    ("page-table validation", "pt_validate_entry"),
    ("shadow fills", "shadow_fill"),
    ("shadow flushes", "shadow_flush"),
    ("shadow revalidation", "shadow_revalidate_entry"),
    ("device model", "device_model"),
)
OVERHEAD_COMPONENTS = tuple(name for name, key in COMPONENTS if key != UNIT)
PAGE_TABLE_ENTRIES = 1024      # entries of an i386 page directory or page table

PORT_ROWS = frozenset({"in", "out", "ins", "outs"})
# Hypercalls of the hand-ported kernels that are device requests (console output, a block transfer): the
# hypervisor's device model serves each once, as one emulated access.
DEVICE_HYPERCALLS = frozenset({"console_write", "block_io", "block_info"})
# Shadow paging's flush counts (hypervisors/shadow/paging.py) and its revalidation counts.
SHADOW_FLUSHES = ("cr3:cold", "cr3:cached", "physical:cold", "flush:invlpg", "flush:paging-mode", "pool exhausted")
SHADOW_REVALIDATIONS = ("cached entries kept", "cached entries dropped")
# Direct paging: entries validated (stores, batches and activations).
VALIDATED_ENTRIES = "entries validated"
# The memory virtualizations' other counts: each is a part or a kind of an event charged already, so none is charged
# on its own (a count in no list is reported in the estimate's "unpriced", never silently priced).
PAGING_PART_OF = {
    "directory validated": "its 1024 entries, in entries validated",
    "table validated": "its 1024 entries, in entries validated",
    "directory dropped": "the exit or hypercall whose store or load dropped it",
    "shadow-fill": "its exit, pf:shadow-fill",
    "shadow-dirty": "its exit, pf:shadow-dirty",
    "shadow-refill": "its exit, pf:shadow-refill",
    "large fills": "a kind of fill (its exit)",
    "split fills": "a kind of fill (its exit)",
    "eager-dirty": "a fill made writable at once (its exit)",
    "write-back:A": "the fill that set the accessed bit",
    "write-back:D": "the fill that set the dirty bit",
    "invlpg entries dropped": "its flush, flush:invlpg",
    "evicted": "the cold switch or reclaim that needed the room",
}


@dataclass(frozen=True)
class CostTable:
    name: str                                  # "default", "none", or the file's path
    constants: dict[str, Constant]
    file: str | None = None

    def cycles(self, key: str) -> int:
        return self.constants[key].cycles

    def to_json(self) -> dict:
        return {"name": self.name, "file": self.file,
                "constants": {k: {"cycles": c.cycles, "source": c.source} for k, c in self.constants.items()}}


DEFAULT = CostTable("default", dict(DEFAULT_CONSTANTS))
NONE = CostTable("none", {k: Constant(c.cycles if k == UNIT else 0, "--costs none: no overhead charged")
                          for k, c in DEFAULT_CONSTANTS.items()})
BUILT_IN = {"default": DEFAULT, "none": NONE}


# ---- reading a table ----------------------------------------------------------------------------------------

def load_costs(path: str | Path) -> CostTable:
    """A cost table from a JSON object: each key one of DEFAULT_CONSTANTS', its value a number of cycles or
    {"cycles": N, "source": "..."}; keys not given keep the default.  An unknown key or a bad value is a
    UsageError naming the file and the key."""
    where = str(path)
    try:
        data = json.loads(Path(path).read_text())
    except OSError as e:
        raise UsageError(f"--costs: cannot read the cost table: {e.strerror}", where=where) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UsageError(f"--costs: not a JSON cost table: {e}", where=where) from None
    if not isinstance(data, dict):
        raise UsageError("--costs: a cost table is a JSON object of constants", where=where)
    constants = dict(DEFAULT_CONSTANTS)
    for key, value in data.items():
        if key not in DEFAULT_CONSTANTS:
            raise UsageError(f"--costs: unknown constant {key!r} (known: {', '.join(DEFAULT_CONSTANTS)})", where=where)
        constants[key] = _constant(key, value, where)
    return CostTable(where, constants, file=where)


def _constant(key: str, value, where: str) -> Constant:
    source = f"from {where}"
    if isinstance(value, dict):
        unknown = set(value) - {"cycles", "source"}
        if unknown or "cycles" not in value:
            raise UsageError(f"--costs: constant {key!r}: give a number or {{\"cycles\": N, \"source\": \"...\"}}",
                             where=where)
        source = value.get("source", source)
        if not isinstance(source, str):
            raise UsageError(f"--costs: constant {key!r}: its source is not text", where=where)
        value = value["cycles"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0 \
            or value != int(value):
        raise UsageError(f"--costs: constant {key!r}: {value!r} is not a whole number of cycles (0 or more)",
                         where=where)
    if key == UNIT and value != 1:
        raise UsageError(f"--costs: constant {key!r} is the unit of virtual time: it is 1, not {value!r}", where=where)
    return Constant(int(value), source)


def costs_option(value: str | None) -> CostTable:
    """`--costs`: none given → the default table; "none" or "default" → the built-in one; else a file."""
    if value is None:
        return DEFAULT
    return BUILT_IN.get(value) or load_costs(value)


# ---- counts → events → cycles -------------------------------------------------------------------------------

def exit_events(cause: str) -> tuple[str, ...]:
    """The constants one hypervisor exit of `cause` (the `exits` keys) is charged: each exit once, by its cause."""
    kind, _, what = cause.partition(":")
    if kind == "hypercall":
        return ("hypercall", "device_model") if what in PORT_ROWS | DEVICE_HYPERCALLS else ("hypercall",)
    if kind == "gp" and what in PORT_ROWS or kind == "mmio":   # a trapped port or device-memory access
        return ("world_switch", "decode_emulate", "device_model")
    if kind == "gp" and what == "guest":
        return ("world_switch", "inject")
    if kind in ("gp", "rewrite", "unpatch"):
        return ("world_switch", "decode_emulate")
    if cause == "pf:pt-write":             # the validation of its entry is counted with the others
        return ("world_switch", "decode_emulate")
    if kind == "pf" and what.startswith("shadow-"):
        return ("world_switch", "shadow_fill")
    if cause in ("pf:guest", "interrupt") or kind in ("int", "exc"):
        return ("world_switch", "inject")
    return ("world_switch",)               # pf:queued and any other: the round trip alone


def events(stats: dict) -> Counter:
    """How many times each constant is charged in a run (its `--stats` dict); every counted event once.  The
    `bounced` and `direct_traps` counts are not charged on their own: a bounce is part of the exit (or the wakeup)
    that took the event, and a direct trap is delivered by the processor as on the bare PC."""
    ev: Counter = Counter()
    for cause, n in (stats.get("exits") or {}).items():
        for key in exit_events(cause):
            ev[key] += n
    ev["inject"] += stats.get("injected_at_wakeup") or 0
    paging = stats.get("paging") or {}
    ev["pt_validate_entry"] += paging.get(VALIDATED_ENTRIES, 0)
    ev["shadow_flush"] += sum(paging.get(k, 0) for k in SHADOW_FLUSHES)
    ev["shadow_revalidate_entry"] += sum(paging.get(k, 0) for k in SHADOW_REVALIDATIONS)
    ev["device_model"] += sum((stats.get("device_in_place") or {}).values())
    return +ev


def estimate(stats: dict, table: CostTable = DEFAULT) -> dict:
    """Estimated cycles of a run: {"total", "overhead", "breakdown": {component: cycles}, "events": {constant: n},
    "unpriced": [paging counts the model does not know]}.  `total` is the work (guest and wedge instructions plus
    overhead); idle time is not work."""
    ev = events(stats)
    instructions = int(stats.get("instructions") or 0)
    wedge = int(stats.get("wedge_instructions") or 0)
    unit = table.cycles(UNIT)
    breakdown = {"guest instructions": (instructions - wedge) * unit, "wedge instructions": wedge * unit}
    for name, key in COMPONENTS[2:]:
        breakdown[name] = ev.get(key, 0) * table.cycles(key)
    overhead = sum(breakdown[name] for name in OVERHEAD_COMPONENTS)
    priced = {VALIDATED_ENTRIES, *SHADOW_FLUSHES, *SHADOW_REVALIDATIONS, *PAGING_PART_OF}
    unpriced = sorted(k for k in (stats.get("paging") or {}) if k not in priced)
    return {"total": instructions * unit + overhead, "overhead": overhead, "breakdown": breakdown,
            "events": dict(sorted(ev.items())), "unpriced": unpriced}


def overhead(stats: dict, table: CostTable = DEFAULT) -> int:
    return estimate(stats, table)["overhead"]


@dataclass
class Meter:
    """What a hypervisor charges into virtual time as it runs: each exit by its cause (memoized), and the other
    counts (wakeup injections, validated entries, shadow flushes, replayed device operations) by their growth since
    the last look, so the cycles charged equal `estimate(...)["overhead"]` of the run's statistics."""
    table: CostTable
    _by_cause: dict[str, int] = field(default_factory=dict)
    _counted: int = 0

    def exit_cycles(self, cause: str) -> int:
        c = self._by_cause.get(cause)
        if c is None:
            c = self._by_cause[cause] = sum(self.table.cycles(k) for k in exit_events(cause))
        return c

    def counts_cycles(self, injected: int, paging: dict, in_place: dict) -> int:
        """The cycles of the counts other than exits charged since the last call."""
        t = self.table
        total = (injected * t.cycles("inject") + paging.get(VALIDATED_ENTRIES, 0) * t.cycles("pt_validate_entry")
                 + sum(paging.get(k, 0) for k in SHADOW_FLUSHES) * t.cycles("shadow_flush")
                 + sum(paging.get(k, 0) for k in SHADOW_REVALIDATIONS) * t.cycles("shadow_revalidate_entry")
                 + sum(in_place.values()) * t.cycles("device_model"))
        delta, self._counted = total - self._counted, total
        return delta
