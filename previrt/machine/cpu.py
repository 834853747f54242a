"""The IA-32 CPU: unicorn (UC_MODE_32) plus what unicorn leaves out — interrupt and exception delivery through the IDT.

Owns the start-up probe of unicorn's internals, the hooks (faults, port I/O, bad memory), and `IdtDelivery` (SDM vol. 3 ch. 6)."""

# How the pieces unicorn does not provide are obtained (all checked on unicorn 2.1.4):
#
# * Error codes.  For a fault the CPU itself raises (UC_HOOK_INTR gives only the vector), the error code is the one
#   QEMU computed: env->error_code, read from the saved context at an offset found by the start-up probe.  So a
#   segment load gives #GP/#NP/#SS/#TS(selector) from QEMU's own descriptor checks, and a #PF gets its P/W/U bits
#   from QEMU's page walk (CR2 is set by unicorn too).  `int n` / int3 / into are told apart from faults by
#   env->exception_is_int (same probe); a fault during their delivery points EIP back at the instruction, whose
#   length is read at CS's loaded base (env->segs[].base, probed), never through a descriptor table.
#   Faults found while delivering (IDT limit, gate type/DPL/present, handler CS, TSS ss0:esp0, stack pushes,
#   page faults on IDT/GDT/TSS/stack) get their error codes here, per SDM 6.13 (EXT, IDT, TI bits).
# * #UD arrives through UC_HOOK_INSN_INVALID, not UC_HOOK_INTR.  rdpmc's #UD is turned into #GP(0) (`_on_invalid`).
# * Consecutive faults (unicorn issue #1883): after each fault QEMU's env->old_exception (probed offset) is set
#   back to -1 in one reused context (context_update, write, context_restore).
# * Privilege change: unicorn refuses to load an inner-ring SS while CPL is outer, so the CPL bits of env->hflags
#   (probed) are set first in the same way; SS, ESP, CS, EFLAGS, EIP are then written as registers.
# * With port-I/O hooks installed unicorn skips the I/O permission check: `io_allowed` does it (IOPL, TSS bitmap),
#   and a refused instruction is undone before #GP(0) is delivered (`_io_fault`): registers from the hook, and for
#   an ins, whose zero store comes before the hook, the bytes kept by a code hook at each ins of the image.
# * Exact instruction counts inside a slice come from the engine's own counter (uc->emu_counter, probed), and a
#   slice is stopped from a hook by lowering the engine's budget (uc->emu_count) rather than by emu_stop().
# * Not modelled: the interrupt shadow after sti / mov ss (external interrupts are taken at slice boundaries),
#   RF in the EFLAGS image pushed for faults, task gates, 16-bit gates and virtual-8086 mode (reported clearly);
#   a refused ins outside the image's code (copied or generated at run time) leaves a zero element at ES:EDI.

from __future__ import annotations

import ctypes
import functools
import struct
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from unicorn import (UC_ARCH_X86, UC_HOOK_BLOCK, UC_HOOK_CODE, UC_HOOK_INSN, UC_HOOK_INSN_INVALID, UC_HOOK_INTR, UC_HOOK_MEM_FETCH_PROT,
                     UC_HOOK_MEM_UNMAPPED, UC_HOOK_MEM_WRITE_PROT, UC_MODE_32, UC_PROT_ALL, Uc, UcError)
from unicorn import x86_const as X
from unicorn.unicorn_py3.unicorn import uclib

from previrt.errors import PrevirtError

# ---------------------------------------------------------------------------------------------------------
# Architectural constants (SDM vol. 3 names)

VECTOR_NAMES = {0: "#DE", 1: "#DB", 2: "NMI", 3: "#BP", 4: "#OF", 5: "#BR", 6: "#UD", 7: "#NM", 8: "#DF",
                9: "CSO", 10: "#TS", 11: "#NP", 12: "#SS", 13: "#GP", 14: "#PF", 16: "#MF", 17: "#AC",
                18: "#MC", 19: "#XM", 20: "#VE"}
DE, DB, BP, OF, UD, DF, TS, NP, SS, GP, PF, AC = 0, 1, 3, 4, 6, 8, 10, 11, 12, 13, 14, 17
HAS_ERROR_CODE = frozenset({DF, TS, NP, SS, GP, PF, AC})
CONTRIBUTORY = frozenset({DE, TS, NP, SS, GP})      # SDM Table 6-4

# Error-code bits (SDM 6.13) and page-fault error-code bits (SDM 4.7).
ERR_EXT, ERR_IDT, ERR_TI = 1, 2, 4
PF_P, PF_W, PF_U = 1, 2, 4

# EFLAGS
TF, IF, NT, RF, VM = 1 << 8, 1 << 9, 1 << 14, 1 << 16, 1 << 17
# CR0 / CR4 / page-table entries
CR0_PE, CR0_WP, CR0_PG = 1, 1 << 16, 1 << 31
CR4_PSE = 1 << 4
PTE_P, PTE_W, PTE_U, PTE_A, PTE_D, PDE_PS = 1, 2, 4, 0x20, 0x40, 0x80

# Instruction encoding: the longest instruction, legacy prefixes other than LOCK (F0), the one-byte software
# interrupts (int3, into) and their vectors.
MAX_INSN_LEN = 15
_PREFIXES_BUT_LOCK = frozenset({0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x66, 0x67, 0xF2, 0xF3})
_ONE_BYTE_INT = {0xCC: BP, 0xCE: OF}

# System-descriptor types (S=0) for IDT gates.
GATE_TASK, GATE_INT16, GATE_TRAP16, GATE_INT32, GATE_TRAP32 = 0x5, 0x6, 0x7, 0xE, 0xF
GATE_NAMES = {GATE_TASK: "task gate", GATE_INT16: "16-bit interrupt gate", GATE_TRAP16: "16-bit trap gate",
              GATE_INT32: "interrupt gate", GATE_TRAP32: "trap gate"}

GPRS = (("eax", X.UC_X86_REG_EAX), ("ebx", X.UC_X86_REG_EBX), ("ecx", X.UC_X86_REG_ECX),
        ("edx", X.UC_X86_REG_EDX), ("esi", X.UC_X86_REG_ESI), ("edi", X.UC_X86_REG_EDI),
        ("ebp", X.UC_X86_REG_EBP), ("esp", X.UC_X86_REG_ESP), ("eip", X.UC_X86_REG_EIP),
        ("eflags", X.UC_X86_REG_EFLAGS))
SEGS = (("cs", X.UC_X86_REG_CS), ("ss", X.UC_X86_REG_SS), ("ds", X.UC_X86_REG_DS),
        ("es", X.UC_X86_REG_ES), ("fs", X.UC_X86_REG_FS), ("gs", X.UC_X86_REG_GS))
CRS = (("cr0", X.UC_X86_REG_CR0), ("cr2", X.UC_X86_REG_CR2), ("cr3", X.UC_X86_REG_CR3),
       ("cr4", X.UC_X86_REG_CR4))

NO_UNTIL = 1 << 48       # an emu_start stop address no 32-bit EIP can reach
_TABLE_REGS = frozenset({X.UC_X86_REG_GDTR, X.UC_X86_REG_IDTR, X.UC_X86_REG_LDTR, X.UC_X86_REG_TR})
_uc_reg_read = uclib.uc_reg_read
_uc_mem_read = uclib.uc_mem_read
_uc_reg_read_batch = uclib.uc_reg_read_batch
_uc_mem_write = uclib.uc_mem_write


class _UcX86Mmr(ctypes.Structure):
    """unicorn's uc_x86_mmr: a descriptor-table register."""
    _fields_ = [("selector", ctypes.c_uint16), ("base", ctypes.c_uint64), ("limit", ctypes.c_uint32),
                ("flags", ctypes.c_uint32)]
_uc_reg_write = uclib.uc_reg_write


@dataclass
class InterruptEnableSites:
    """Where an instruction may set EFLAGS.IF, found in the image's code (see `interrupt_enable_sites`); and, from the
    same sweep, where a string input instruction is (`Cpu._on_string_input`)."""
    after: dict[int, int] = field(default_factory=dict)   # address after sti / popf -> instructions still to run
    irets: set[int] = field(default_factory=set)           # address of each iret
    string_inputs: dict[int, tuple[int, int]] = field(default_factory=dict)   # address of each ins ->
                                                          # (element size, mask of its address-size EDI/DI)

    def update(self, other: "InterruptEnableSites") -> None:
        self.after.update(other.after)
        self.irets |= other.irets
        self.string_inputs.update(other.string_inputs)


_ADDRESS_SIZE = 0x67


def interrupt_enable_sites(code: bytes, address: int) -> InterruptEnableSites:
    """sti, popf and iret in a block of code (capstone, linear sweep).  After sti one more instruction runs before a
    waiting interrupt is taken (its shadow), after popf none; the engine ends its translation block after both, so
    the address after them starts a block.  iret's successor is not known statically: its own address is kept.
    insb/insw/insd are kept with their element size and whether they address ES:DI (0x67 prefix) or ES:EDI."""
    import capstone
    from capstone import x86_const as CX
    shadow = {CX.X86_INS_STI: 1, CX.X86_INS_POPF: 0, CX.X86_INS_POPFD: 0}
    string_in = {CX.X86_INS_INSB: 1, CX.X86_INS_INSW: 2, CX.X86_INS_INSD: 4}
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_32)
    md.skipdata = True
    sites = InterruptEnableSites()
    for insn in md.disasm(code, address):
        if insn.id in shadow:
            sites.after[insn.address + insn.size] = shadow[insn.id]
        elif insn.id in (CX.X86_INS_IRET, CX.X86_INS_IRETD):
            sites.irets.add(insn.address)
        elif insn.id in string_in:
            prefixes = insn.bytes[:-1]              # ins is one opcode byte after its prefixes
            sites.string_inputs[insn.address] = (string_in[insn.id],
                                                 0xFFFF if _ADDRESS_SIZE in prefixes else 0xFFFFFFFF)
    return sites


def vector_name(vector: int) -> str:
    return VECTOR_NAMES.get(vector, f"INT {vector:#04x}")


def event_text(vector: int, error_code: int | None) -> str:
    return vector_name(vector) + ("" if error_code is None else f"({error_code:#x})")


# ---------------------------------------------------------------------------------------------------------
# Errors the CPU reports


class GuestFault(Exception):
    """A fault found while delivering an event (IDT/GDT/TSS checks, stack pushes): delivered in turn."""

    def __init__(self, vector: int, error_code: int | None = None, cr2: int | None = None):
        super().__init__(event_text(vector, error_code))
        self.vector, self.error_code, self.cr2 = vector, error_code, cr2


class MachineStop(PrevirtError):
    """The guest brought the machine to a stop (triple fault, bad memory access, ...): `reason` is the run's end
    reason, `status` the exit status."""

    status = 1
    reason = "cpu-error"

    def __init__(self, message: str, state: str = ""):
        super().__init__(message + (f"\n{state}" if state else ""))
        self.exit_status = self.status


class TripleFault(MachineStop):
    status = 12
    reason = "triple-fault"


class MemoryAccessError(MachineStop):
    status = 16
    reason = "memory-error"


class UnsupportedEvent(MachineStop):
    status = 18
    reason = "unsupported"


# ---------------------------------------------------------------------------------------------------------
# Start-up probe of unicorn internals (unicorn issue #1883 and friends).  Probe, don't hard-code.


@dataclass(frozen=True)
class UnicornLayout:
    """Byte offsets found at start-up: fields of the CPU state inside a saved context, and the executed-instruction
    counter inside the engine (`emu_start(count=N)` bookkeeping)."""
    error_code: int          # env->error_code: the error code QEMU computed for the fault being reported
    exception_is_int: int    # env->exception_is_int: 1 for `int n`/int3/into, 0 for faults
    old_exception: int       # env->old_exception: -1 when idle; left set by unicorn (issue #1883)
    hflags: int              # env->hflags: bits 0-1 are the CPL
    emu_counter: int         # uc->emu_counter: instructions begun in this emu_start
    emu_count: int           # uc->emu_count: the budget; the engine stops cleanly before instruction budget+1
    segment_bases: tuple[tuple[int, int], ...]   # (unicorn segment register, env->segs[...].base): the base
                                                 # loaded with the selector (the hidden part of the register)


def segment_descriptor(base: int, limit: int, access: int, flags: int = 0xC) -> bytes:
    """An 8-byte GDT/LDT entry (flags 0xC: 4 KiB granularity, 32-bit)."""
    return struct.pack("<HHBBBB", limit & 0xFFFF, base & 0xFFFF, (base >> 16) & 0xFF, access,
                       ((limit >> 16) & 0xF) | (flags << 4), base >> 24)


_PROBE_GDT = (bytes(8) + segment_descriptor(0, 0xFFFFF, 0x9B) + segment_descriptor(0, 0xFFFFF, 0x93)
              + segment_descriptor(0, 0xFFFFF, 0xFB) + segment_descriptor(0, 0xFFFFF, 0xF3))
_PROBE_CODE = {  # name: (code at 0x1000, expected (error_code, exception_is_int, old_exception))
    "gp_ds": (bytes.fromhex("66b8080f8ed8"), (0xF08, 0, GP)),          # mov $0xf08,%ax; mov %ax,%ds
    "gp_es": (bytes.fromhex("66b8100a8ec0"), (0xA10, 0, GP)),          # mov $0xa10,%ax; mov %ax,%es
    "de": (bytes.fromhex("31c9f7f1"), (0, 0, DE)),                     # xor %ecx,%ecx; div %ecx
    "int41": (bytes.fromhex("cd41"), (0, 1, -1)),                       # int $0x41
    "int3": (bytes.fromhex("cc"), (0, 1, -1)),                          # int3
}
# to ring 3 by iret (push ss, esp, eflags, cs, eip), then `cli` there: #GP(0) at CPL 3
_PROBE_RING3 = bytes.fromhex("6a23" "6800800000" "6a02" "6a1b" "6800200000" "cf")


def _probe_cpu() -> Uc:
    uc = Uc(UC_ARCH_X86, UC_MODE_32)
    uc.mem_map(0, 0x10000, UC_PROT_ALL)
    uc.mem_write(0x800, _PROBE_GDT)
    uc.reg_write(X.UC_X86_REG_GDTR, (0, 0x800, len(_PROBE_GDT) - 1, 0))
    for reg, sel in ((X.UC_X86_REG_CS, 0x08), (X.UC_X86_REG_SS, 0x10), (X.UC_X86_REG_DS, 0x10),
                     (X.UC_X86_REG_ES, 0x10)):
        uc.reg_write(reg, sel)
    uc.reg_write(X.UC_X86_REG_ESP, 0x9000)
    return uc


def _context_bytes(uc: Uc, ctx) -> bytes:
    uc.context_update(ctx)
    return ctypes.string_at(ctx._context.value, ctx.size)


def _run_probe(code: bytes, ring3: bytes = b"") -> tuple[bytes, bytes]:
    """Context bytes before running `code` and at the first UC_HOOK_INTR it raises."""
    uc = _probe_cpu()
    ctx = uc.context_save()
    before = _context_bytes(uc, ctx)
    seen: list[bytes] = []

    def on_intr(uc, _intno, _data):
        seen.append(_context_bytes(uc, ctx))
        uc.emu_stop()

    uc.hook_add(UC_HOOK_INTR, on_intr)
    uc.mem_write(0x1000, code + b"\xf4")
    uc.mem_write(0x2000, ring3 + b"\xf4")
    uc.emu_start(0x1000, NO_UNTIL, count=32)
    if not seen:
        raise PrevirtError("unicorn probe: the probe program raised no interrupt hook")
    return before, seen[0]


def _i32(buf: bytes, off: int) -> int:
    return struct.unpack_from("<i", buf, off)[0]


def _unique(name: str, candidates: list[int]) -> int:
    if len(candidates) != 1:
        raise PrevirtError(f"unicorn probe: cannot locate {name} in the saved CPU context "
                           f"({len(candidates)} candidates); this unicorn version is not supported")
    return candidates[0]


def _probe_fields() -> tuple[int, int, int]:
    runs = {name: (_run_probe(code), want) for name, (code, want) in _PROBE_CODE.items()}
    size = min(len(after) for (_, after), _ in runs.values())

    def matching(index: int, idle: int | None = None) -> list[int]:
        return [off for off in range(0, size - 3, 4)
                if all(_i32(after, off) == want[index] and (idle is None or _i32(before, off) == idle)
                       for (before, after), want in runs.values())]

    is_int = _unique("exception_is_int", matching(1))
    error_code = _unique("error_code", [o for o in matching(0) if o + 4 == is_int])
    old_exception = _unique("old_exception", matching(2, idle=-1))
    return error_code, is_int, old_exception


def _probe_hflags() -> int:
    before, after = _run_probe(_PROBE_RING3, b"\xfa")
    cands = [off for off in range(0, min(len(before), len(after)) - 3, 4)
             if struct.unpack_from("<I", before, off)[0] & 3 == 0
             and struct.unpack_from("<I", before, off)[0] ^ struct.unpack_from("<I", after, off)[0] == 3]
    return _unique("hflags (CPL)", cands)


_ENGINE_SCAN = 0x1000    # bytes of the engine's own struct searched for its counters (they sit near the start)


def _probe_counter() -> tuple[int, int]:
    """Offsets of the engine's instruction counter and budget: run a NOP sled with a HLT after 500 / 400
    instructions and with a 300-instruction budget, and find the 64-bit words that counted 501, 401 and 301
    (300 + the one it stopped at) and that held the budgets 1000, 1000, 300."""
    uc = _probe_cpu()
    uc.mem_write(0x1000, b"\x90" * 500 + b"\xf4" + b"\x90" * 600)
    handle = uc._uch.value
    snaps = []
    for begin, count in ((0x1000, 1000), (0x1000 + 100, 1000), (0x1000, 300)):
        uc.emu_start(begin, NO_UNTIL, count=count)
        snaps.append(ctypes.string_at(handle, _ENGINE_SCAN))
    def find(name: str, want: tuple[int, int, int]) -> int:
        return _unique(name, [off for off in range(0, _ENGINE_SCAN - 7, 8)
                              if all(struct.unpack_from("<Q", s, off)[0] == w for s, w in zip(snaps, want))])
    return find("the instruction counter", (501, 401, 301)), find("the instruction budget", (1000, 1000, 300))


_SEGMENT_REGS = (X.UC_X86_REG_ES, X.UC_X86_REG_CS, X.UC_X86_REG_SS, X.UC_X86_REG_DS, X.UC_X86_REG_FS,
                 X.UC_X86_REG_GS)


def _probe_segment_bases() -> tuple[tuple[int, int], ...]:
    """Offsets of the segment bases in the saved context: load each segment register from a descriptor with its own
    base, twice with different bases, and find the 64-bit words that followed."""
    def context_with(bases: list[int]) -> bytes:
        uc = _probe_cpu()
        gdt = _PROBE_GDT + b"".join(segment_descriptor(base, 0xFFFFF, 0x9B if reg == X.UC_X86_REG_CS else 0x93)
                                    for reg, base in zip(_SEGMENT_REGS, bases))
        uc.mem_write(0x800, gdt)
        uc.reg_write(X.UC_X86_REG_GDTR, (0, 0x800, len(gdt) - 1, 0))
        for i, reg in enumerate(_SEGMENT_REGS):
            uc.reg_write(reg, len(_PROBE_GDT) + 8 * i)
        return _context_bytes(uc, uc.context_save())
    runs = []
    for first in (0x11, 0x31):
        bases = [(first + i) << 20 for i in range(len(_SEGMENT_REGS))]
        runs.append((bases, context_with(bases)))
    size = min(len(ctx) for _, ctx in runs)
    return tuple((reg, _unique(f"the base of segment register {i}",
                               [off for off in range(0, size - 7, 4)
                                if all(struct.unpack_from("<Q", ctx, off)[0] == bases[i] for bases, ctx in runs)]))
                 for i, reg in enumerate(_SEGMENT_REGS))


@functools.lru_cache(maxsize=None)
def probe_unicorn() -> UnicornLayout:
    error_code, is_int, old_exception = _probe_fields()
    return UnicornLayout(error_code, is_int, old_exception, _probe_hflags(), *_probe_counter(),
                         _probe_segment_bases())


# ---------------------------------------------------------------------------------------------------------
# Descriptors


@dataclass(frozen=True)
class Descriptor:
    lo: int
    hi: int

    @property
    def base(self) -> int:
        return ((self.lo >> 16) & 0xFFFF) | ((self.hi & 0xFF) << 16) | (self.hi & 0xFF000000)

    @property
    def limit(self) -> int:
        raw = (self.lo & 0xFFFF) | (self.hi & 0xF0000)
        return (raw << 12) | 0xFFF if self.hi & (1 << 23) else raw

    @property
    def type(self) -> int:
        return (self.hi >> 8) & 0xF

    @property
    def s(self) -> bool:            # code/data (1) or system (0)
        return bool(self.hi & (1 << 12))

    @property
    def dpl(self) -> int:
        return (self.hi >> 13) & 3

    @property
    def present(self) -> bool:
        return bool(self.hi & (1 << 15))

    @property
    def is_code(self) -> bool:
        return self.s and bool(self.type & 8)

    @property
    def conforming(self) -> bool:
        return self.is_code and bool(self.type & 4)

    @property
    def writable_data(self) -> bool:
        return self.s and not self.type & 8 and bool(self.type & 2)

    # gate view
    @property
    def gate_selector(self) -> int:
        return (self.lo >> 16) & 0xFFFF

    @property
    def gate_offset(self) -> int:
        return (self.lo & 0xFFFF) | (self.hi & 0xFFFF0000)


# ---------------------------------------------------------------------------------------------------------
# The CPU


@dataclass
class CpuState:
    """The registers event delivery reads, taken in one batch (`Cpu.snapshot`)."""
    eflags: int
    cs: int
    eip: int
    ss: int
    esp: int
    cr0: int
    cr3: int
    cr4: int
    idtr: tuple[int, int, int, int]
    gdtr: tuple[int, int, int, int]
    tr: tuple[int, int, int, int]


_SNAPSHOT_REGS = ((X.UC_X86_REG_EFLAGS, 0xFFFFFFFF), (X.UC_X86_REG_CS, 0xFFFF), (X.UC_X86_REG_EIP, 0xFFFFFFFF),
                  (X.UC_X86_REG_SS, 0xFFFF), (X.UC_X86_REG_ESP, 0xFFFFFFFF), (X.UC_X86_REG_CR0, 0xFFFFFFFF),
                  (X.UC_X86_REG_CR3, 0xFFFFFFFF), (X.UC_X86_REG_CR4, 0xFFFFFFFF))
_SNAPSHOT_TABLES = (X.UC_X86_REG_IDTR, X.UC_X86_REG_GDTR, X.UC_X86_REG_TR)


@dataclass
class Event:
    """One interrupt or exception to deliver."""
    vector: int
    error_code: int | None = None
    software: bool = False        # int n / int3 / into: gate DPL checked against CPL, EXT=0
    external: bool = False        # from the interrupt controller
    insn_len: int = 0             # software: length of the int instruction (EIP is past it; a fault points at it);
                                  # 0: found from the bytes before EIP when needed

    def text(self) -> str:
        return event_text(self.vector, self.error_code)


class Cpu:
    """unicorn plus hooks.  Port I/O goes to `io_read(port, size) -> int` / `io_write(port, size, value)`;
    either may call `request_stop()`.  An exception in any hook is recorded, emulation stopped, and re-raised
    by `run()`."""

    def __init__(self, io_read: Callable[[int, int], int], io_write: Callable[[int, int, int], None],
                 layout: UnicornLayout | None = None):
        self.layout = layout or probe_unicorn()
        self.uc = Uc(UC_ARCH_X86, UC_MODE_32)
        # Exit addresses on, and none given: emu_start's `until` is then ignored.  With a plain `until`, every stop
        # makes the engine look up the code page of until-1 through the guest's page tables; with paging on that
        # is a page fault nobody sees (CR2 := until-1, old_exception := #PF, so the guest's next fault became #DF).
        self.uc.ctl_exits_enabled(True)
        self.uc.ctl_set_exits([])
        self.io_read, self.io_write = io_read, io_write
        self._handle = self.uc._uch
        self._regbuf = ctypes.c_uint64()
        self._regbuf_ref = ctypes.byref(self._regbuf)
        self._mmr = _UcX86Mmr()
        self._mmr_ref = ctypes.byref(self._mmr)
        self._membuf = ctypes.create_string_buffer(64)
        self._init_snapshot()
        self._paging: tuple[int, int, int] | None = None     # (cr0, cr3, cr4) frozen during one delivery
        self._tlb: dict[tuple[int, bool, bool], int] | None = None   # translations made during one delivery
        self._ctx = self.uc.context_save()
        self._ctx_addr = self._ctx._context.value
        self._counter = ctypes.c_uint64.from_address(self.uc._uch.value + self.layout.emu_counter)
        self._budget = ctypes.c_uint64.from_address(self.uc._uch.value + self.layout.emu_count)
        self.delivery = IdtDelivery(self)
        self.exceptions: Counter[int] = Counter()
        self.software_interrupts: Counter[int] = Counter()
        self.interrupts: Counter[int] = Counter()
        self.rom_writes = 0
        self._if_sites = InterruptEnableSites()
        self._if_hooks: list[int] = []
        self._pending: Callable[[], bool] = lambda: False
        self._error: BaseException | None = None
        self.halted = False
        self.last_ran = 0
        self._io_fault_state: tuple[int, int] | None = None     # (eip, eax) of a refused in/out, to deliver #GP at
        self._io_fault_undo: tuple[int, int, int, tuple[int, bytes] | None] | None = None   # its ecx, esi, edi and
                                                                  # (linear, bytes) at ES:EDI before an ins stored
        self._segment_base_at = {reg: self._ctx_addr + off for reg, off in self.layout.segment_bases}
        self._string_inputs: dict[int, tuple[int, int]] = {}
        self._string_input_hooks: dict[int, int] = {}     # site -> its code hook
        self._kernel_string_inputs: set[int] = set()      # sites seen at CPL 0 in this slice: hooks to drop
        self._string_input: tuple[int, int, int, bytes] | None = None   # (eip, edi, linear, bytes) before an ins
        self._add_hooks()

    # --- hooks -------------------------------------------------------------------------------------------
    def _add_hooks(self) -> None:
        uc = self.uc
        uc.hook_add(UC_HOOK_INTR, self.guard(self._on_intr))
        uc.hook_add(UC_HOOK_INSN, self.guard(self._on_in, 0), None, 1, 0, X.UC_X86_INS_IN)
        uc.hook_add(UC_HOOK_INSN, self.guard(self._on_out), None, 1, 0, X.UC_X86_INS_OUT)
        uc.hook_add(UC_HOOK_INSN_INVALID, self.guard(self._on_invalid, False))
        uc.hook_add(UC_HOOK_MEM_UNMAPPED | UC_HOOK_MEM_FETCH_PROT, self.guard(self._on_bad_memory, False))
        uc.hook_add(UC_HOOK_MEM_WRITE_PROT, self.guard(self._on_rom_write, False))

    def guard(self, fn, failed=None):
        """Wrap a hook: an exception is recorded and stops emulation; `run()` re-raises it."""
        def hook(uc, *args):
            try:
                return fn(*args[:-1])
            except BaseException as e:  # noqa: BLE001 - recorded and re-raised after emu_start
                if self._error is None:
                    self._error = e
                uc.emu_stop()
                return failed
        return hook

    def _on_intr(self, intno: int) -> None:
        error_code, is_int = self._take_fault_state()
        software = bool(is_int)
        event = Event(intno, error_code if intno in HAS_ERROR_CODE and not software else None, software)
        (self.software_interrupts if software else self.exceptions)[intno] += 1
        self.delivery.deliver(event)

    def int_insn_len(self, vector: int) -> int:
        """Length of the software-interrupt instruction that ends at EIP, from its last byte: `int imm8` (CD ib) ends
        with the vector, int3 (CC) and into (CE) are one byte (int1, F1, is #UD in the engine).  The byte is read at
        CS's loaded base (the hidden part of CS), as the processor fetched it, not through CS's descriptor: a GDT or
        LDT that is unmapped, or was changed since CS was loaded, does not matter.  Never raises: if even that byte
        cannot be read, or is neither, the usual encoding of the vector is taken (int3 for 3, into for 4, `int imm8`
        otherwise; `int $3` and `int $4` are the rarer spellings)."""
        eip = self.reg(X.UC_X86_REG_EIP)
        try:
            last = self.read_linear((self.loaded_segment_base(X.UC_X86_REG_CS) + eip - 1) & 0xFFFFFFFF, 1)[0]
        except (GuestFault, MachineStop):
            last = None
        if _ONE_BYTE_INT.get(last) == vector:
            return 1
        if last == vector:
            return 2
        return 1 if vector in (BP, OF) else 2

    def loaded_segment_base(self, seg_reg: int) -> int:
        """The base the CPU uses for `seg_reg` (ES, CS, SS, DS, FS, GS): the hidden part of the segment register,
        loaded with the selector.  No descriptor table is read (unlike `segment_base`), so this never faults."""
        self.uc.context_update(self._ctx)
        return ctypes.c_uint64.from_address(self._segment_base_at[seg_reg]).value & 0xFFFFFFFF

    def _on_invalid(self) -> bool:
        """#UD from the engine — except for rdpmc (0F 33), which is #GP(0) here, whatever the CPL and CR4.PCE.

        The SDM: rdpmc at CPL > 0 with CR4.PCE clear is #GP(0); otherwise it reads the counter ECX names, and a
        value naming no counter is #GP(0).  This CPU models no performance-monitoring counters, so every rdpmc
        (without a LOCK prefix, which is #UD) is #GP(0).  The engine (QEMU 5's helper_rdpmc, whose privilege test
        is inverted) raises #GP(0) only at CPL > 0 with PCE set, and #UD in every other case; QEMU 7.2 raises
        #GP(0) at CPL > 0 with PCE clear and #UD otherwise (it does not implement the counters).  So at CPL > 0
        with PCE clear the SDM, QEMU 7.2 and this model agree; at CPL 0, or with PCE set, QEMU 7.2 says #UD where
        this model says #GP(0), as the SDM does for a processor without counters (and as the hypervisors' emulation
        of rdpmc does)."""
        if self._rdpmc_at_eip():
            self.exceptions[GP] += 1
            self.delivery.deliver(Event(GP, 0))
            return True
        self.exceptions[UD] += 1
        self.delivery.deliver(Event(UD))
        return True

    def _rdpmc_at_eip(self) -> bool:
        """Whether the instruction at CS:EIP is rdpmc (0F 33 after legacy prefixes other than LOCK)."""
        linear = self.loaded_segment_base(X.UC_X86_REG_CS) + self.reg(X.UC_X86_REG_EIP)
        try:
            for i in range(MAX_INSN_LEN - 1):
                byte = self.read_linear((linear + i) & 0xFFFFFFFF, 1)[0]
                if byte not in _PREFIXES_BUT_LOCK:
                    return byte == 0x0F and self.read_linear((linear + i + 1) & 0xFFFFFFFF, 1)[0] == 0x33
        except (GuestFault, MachineStop):
            pass
        return False

    def _on_in(self, port: int, size: int) -> int:
        if not self.io_allowed(port, size):
            return self._io_fault()
        return self.io_read(port, size)

    def _on_out(self, port: int, size: int, value: int) -> None:
        if not self.io_allowed(port, size):
            self._io_fault()
            return
        self.io_write(port, size, value)

    def io_allowed(self, port: int, size: int) -> bool:
        """The protected-mode I/O permission check (SDM vol. 1, 19.5), which unicorn skips when port-I/O hooks are
        installed: CPL <= IOPL, or every bit for port..port+size-1 clear in the TSS I/O permission bitmap."""
        cpl, iopl = self.io_privilege()
        if cpl <= iopl:
            return True
        base, limit = self.io_bitmap_tss()
        if limit < 103:
            return False
        offset = struct.unpack("<H", self.read_linear(base + 102, 2))[0] + port // 8
        if offset + 1 > limit:
            return False
        bits = struct.unpack("<H", self.read_linear(base + offset, 2))[0]
        return not bits & (((1 << size) - 1) << (port & 7))

    def io_bitmap_tss(self) -> tuple[int, int]:
        """(base, limit) of the TSS whose I/O permission bitmap the check reads: the task register's."""
        _, base, limit, _ = self.reg(X.UC_X86_REG_TR)
        return base, limit

    def io_privilege(self) -> tuple[int, int]:
        """(CPL, IOPL) as the I/O permission check sees them; IOPL -1 in virtual-8086 mode, where the bitmap decides
        whatever the IOPL."""
        eflags = self.reg(X.UC_X86_REG_EFLAGS)
        return self.cpl, -1 if eflags & VM else (eflags >> 12) & 3

    def _io_fault(self) -> int:
        """An in/out the check refused: the port is not touched; the slice stops after the instruction and `run()`
        puts the registers and memory back and delivers #GP(0) at it (a fault raised from inside the I/O hook itself
        would not stop the instruction).

        The hook runs inside the instruction (or inside one iteration of a rep string instruction): EDI, ESI and
        ECX still hold their values from before it, and EIP points at it; what follows the hook (EAX or ES:EDI
        written, EDI/ESI advanced, ECX decremented) is undone in `_deliver_io_fault`.  A refused string
        instruction is always refused at its first iteration (CPL, IOPL, the bitmap and the port stay the same).
        One store is done before the hook runs: ins writes a zero at ES:EDI first (QEMU's way of keeping ins
        restartable after a page fault), so the bytes that were there are those `_on_string_input` kept just
        before the instruction."""
        eip = self.reg(X.UC_X86_REG_EIP)
        ecx, esi, edi = self.reg(X.UC_X86_REG_ECX), self.reg(X.UC_X86_REG_ESI), self.reg(X.UC_X86_REG_EDI)
        kept = self._string_input
        store = kept[2:] if kept is not None and kept[:2] == (eip, edi) else None
        self._io_fault_state = (eip, self.reg(X.UC_X86_REG_EAX))
        self._io_fault_undo = (ecx, esi, edi, store)
        self.request_stop()
        return 0

    def _deliver_io_fault(self) -> None:
        eip, eax = self._io_fault_state
        self._io_fault_state = None
        self.set_reg(X.UC_X86_REG_EIP, eip)
        self.set_reg(X.UC_X86_REG_EAX, eax)
        if self._io_fault_undo is not None:
            ecx, esi, edi, store = self._io_fault_undo
            self._io_fault_undo = None
            self.set_reg(X.UC_X86_REG_ECX, ecx)
            self.set_reg(X.UC_X86_REG_ESI, esi)
            self.set_reg(X.UC_X86_REG_EDI, edi)
            if store is not None:
                try:
                    self.write_linear(*store)
                except GuestFault:          # the page was written a moment ago; nothing changed it since
                    pass
        self.exceptions[GP] += 1
        self.delivery.deliver(Event(GP, 0))

    def watch_string_inputs(self, sites: dict[int, tuple[int, int]]) -> None:
        """Keep ES:EDI before each ins at `sites` (address -> (element size, EDI mask)), so that one the I/O check
        refuses leaves memory as it was (see `_io_fault`).  A code hook at each site, paid once per iteration of a
        rep ins; a site that runs at CPL 0 is taken for kernel code, which the check never refuses, and its hook is
        dropped (a disk driver's rep insw would pay a call per word): the slice ends after that iteration and
        `run()` removes it.  A refused ins elsewhere (in
        code copied or generated at run time, or at a site that has run at CPL 0) still leaves a zero element at
        ES:EDI; its registers are put back all the same."""
        for h in self._string_input_hooks.values():
            self.uc.hook_del(h)
        self._string_inputs = dict(sites)
        self._kernel_string_inputs = set()
        on_site = self.guard(self._on_string_input)
        self._string_input_hooks = {a: self.uc.hook_add(UC_HOOK_CODE, on_site, None, a, a)
                                    for a in self._string_inputs}
        self.remove_cache(self._string_inputs)

    def _on_string_input(self, address: int, size: int) -> None:
        """Before an ins at a watched site: where the I/O check can refuse it (CPL > IOPL, `io_privilege`), keep EIP,
        EDI and the element at ES:EDI it is about to overwrite."""
        self._string_input = None
        cpl, iopl = self.io_privilege()
        if cpl <= iopl:
            if cpl == 0 and address not in self._kernel_string_inputs:
                self._kernel_string_inputs.add(address)
                self.request_stop()         # drop the hook now, not at the end of a long slice
            return
        element, mask = self._string_inputs[address]
        edi = self.reg(X.UC_X86_REG_EDI)
        linear = (self.loaded_segment_base(X.UC_X86_REG_ES) + (edi & mask)) & 0xFFFFFFFF
        try:
            data = self.read_linear(linear, element)
        except (GuestFault, MachineStop):   # the instruction's own store faults first, before any port access
            return
        self._string_input = (self.reg(X.UC_X86_REG_EIP), edi, linear, data)

    def _drop_kernel_string_inputs(self) -> None:
        """Outside the engine (a hook and the translated code it runs in are not removed from inside)."""
        dropped = []
        for address in self._kernel_string_inputs:
            h = self._string_input_hooks.pop(address, None)
            if h is not None:
                self.uc.hook_del(h)
                dropped.append(address)
        self.remove_cache(dropped)
        self._kernel_string_inputs.clear()

    def watch_interrupt_enables(self, sites: InterruptEnableSites, pending: Callable[[], bool]) -> None:
        """Take a waiting interrupt where the hardware does once IF becomes 1: after sti's shadow, right after popf
        and iret.  Hooks for this are armed only while an interrupt waits with IF=0 (`arm_interrupt_window`), so
        a site that is also a loop head costs nothing in normal running: bounded block hooks at the block starts
        after sti/popf, code hooks at the irets (a code hook is paid on every instruction while armed)."""
        self._pending = pending
        self._if_sites = sites
        self.watch_string_inputs(sites.string_inputs)

    def arm_interrupt_window(self, on: bool) -> None:
        """Add or remove the site hooks; the translated blocks at the sites are dropped so the change takes."""
        if on == bool(self._if_hooks):
            return
        sites = self._if_sites
        if on:
            after, at_iret = self.guard(self._on_if_site), self.guard(self._on_iret)
            self._if_hooks = ([self.uc.hook_add(UC_HOOK_BLOCK, after, None, a, a) for a in sites.after]
                              + [self.uc.hook_add(UC_HOOK_CODE, at_iret, None, a, a) for a in sites.irets])
        else:
            for h in self._if_hooks:
                self.uc.hook_del(h)
            self._if_hooks = []
        self.remove_cache((*sites.after, *sites.irets))

    @property
    def interrupt_window_armed(self) -> bool:
        return bool(self._if_hooks)

    def _on_if_site(self, address: int, size: int) -> None:
        shadow = self._if_sites.after.get(address)
        if shadow is not None and self.interrupts_enabled and self._pending():
            self.request_stop(shadow)       # the block's first instruction is not counted yet

    def _on_iret(self, address: int, size: int) -> None:
        if self._pending():
            self.request_stop()             # the counter already holds the iret: stop right after it

    def _on_rom_write(self, access: int, address: int, size: int, value: int) -> bool:
        """A store to read-only memory (the BIOS area is ROM): dropped, as the PC's ROM ignores it."""
        self.rom_writes += 1
        return True

    def _on_bad_memory(self, access: int, address: int, size: int, value: int) -> bool:
        kinds = {19: "read from unmapped", 20: "write to unmapped", 21: "fetch from unmapped",
                 22: "write to read-only", 23: "read from protected", 24: "fetch from non-executable"}
        raise MemoryAccessError(f"guest {kinds.get(access, 'bad access to')} memory at {address:#010x} "
                                f"(size {size}) at eip {self.reg(X.UC_X86_REG_EIP):#010x}", self.state_report())

    # --- unicorn internals (see UnicornLayout) -----------------------------------------------------------
    def _take_fault_state(self) -> tuple[int, int]:
        """Read the error code and `int n` flag of the event being reported, and reset old_exception to -1 so the
        next fault is not turned into #DF (unicorn issue #1883)."""
        self.uc.context_update(self._ctx)
        base = self._ctx_addr
        lay = self.layout
        error_code = ctypes.c_int32.from_address(base + lay.error_code).value & 0xFFFFFFFF
        is_int = ctypes.c_int32.from_address(base + lay.exception_is_int).value
        self._reset_old_exception()
        return error_code, is_int

    def _reset_old_exception(self) -> None:
        """After a context_update into the reused context: old_exception back to -1, written back if it was not."""
        old = ctypes.c_int32.from_address(self._ctx_addr + self.layout.old_exception)
        if old.value != -1:
            old.value = -1
            self.uc.context_restore(self._ctx)

    def remove_cache(self, addresses, size: int = 1) -> None:
        """Drop the translated code at each linear address (so a hook added or removed there takes, or new bytes run).
        The engine finds the code through the current page tables; where they map nothing its lookup is a page fault
        nobody sees, which leaves old_exception set: back to -1."""
        if not addresses:
            return
        for address in addresses:
            self.uc.ctl_remove_cache(address, address + size)
        self.uc.context_update(self._ctx)
        self._reset_old_exception()

    def protect(self, address: int, size: int, perms: int) -> None:
        """uc.mem_protect, then old_exception back to -1: unicorn's region split leaves it set (checked on 2.1.4: a
        protect after a #PF leaves 14, the next one 8), and the guest's next fault would become #DF or a silent
        shutdown."""
        self.uc.mem_protect(address, size, perms)
        self.uc.context_update(self._ctx)
        self._reset_old_exception()

    def set_cpl(self, cpl: int) -> None:
        """Force CPL (hflags bits 0-1) so that the segment loads that follow pass unicorn's privilege checks."""
        self.uc.context_update(self._ctx)
        hflags = ctypes.c_uint32.from_address(self._ctx_addr + self.layout.hflags)
        hflags.value = (hflags.value & ~3) | cpl
        self.uc.context_restore(self._ctx)

    def counter(self) -> int:
        """Instructions begun in the current emu_start (the current one included, while in a hook)."""
        return self._counter.value

    def uncount(self) -> None:
        """From a fault hook: the faulting instruction is restarted after a fix-up the guest does not see (a
        hypervisor's shadow page-table fill), so it counts once, when it completes, as on a processor without the
        fix-up."""
        self._counter.value -= 1

    # --- running -----------------------------------------------------------------------------------------
    def request_stop(self, after: int = 0) -> None:
        """End the current slice `after` instructions past the one in progress (called from a hook).

        Not with `emu_stop()`: from inside an in/out hook that abandons the current iteration of a `rep ins` /
        `rep outs` (the word read is lost, the word written is written again on resumption).  Instead the engine's
        budget is lowered, so it stops cleanly before the next instruction (or string iteration), exactly as when
        a budget runs out.  A hlt before that point still ends the slice as a hlt."""
        self._budget.value = min(self._budget.value, self.counter() + after)

    def run(self, count: int) -> int:
        """Execute at most `count` instructions from the current EIP; return how many ran.  Sets `halted` when the
        slice ended on `hlt`.  An error recorded in a hook is raised here."""
        self._error, self.halted, self.last_ran = None, False, 0
        self._io_fault_state = self._io_fault_undo = None
        try:
            self.uc.emu_start(self.reg(X.UC_X86_REG_EIP), NO_UNTIL, count=count)
        except UcError as e:
            if self._error is None:
                self._error = MachineStop(f"CPU error: {e}", self.state_report())
        ran, budget = self.counter(), self._budget.value
        if self._kernel_string_inputs:
            self._drop_kernel_string_inputs()
        if ran > budget:                 # the engine began one more instruction and stopped before it
            self.last_ran = budget
        else:
            self.last_ran = ran
            self.halted = self._error is None
        if self._error is not None:
            raise self._error
        if self._io_fault_state is not None:
            self._deliver_io_fault()
        return self.last_ran

    # --- registers and memory ----------------------------------------------------------------------------
    def reg(self, reg: int):
        """A register's value; descriptor-table registers (GDTR, IDTR, LDTR, TR) as (selector, base, limit, flags)
        like unicorn's binding.  Straight to uc_reg_read: the binding's generic path costs 3-5x more."""
        if reg in _TABLE_REGS:
            mmr = self._mmr
            status = _uc_reg_read(self._handle, reg, self._mmr_ref)
            if status:
                raise UcError(status)
            return mmr.selector, mmr.base, mmr.limit, mmr.flags
        buf = self._regbuf
        buf.value = 0
        status = _uc_reg_read(self._handle, reg, self._regbuf_ref)
        if status:
            raise UcError(status)
        return buf.value

    def set_reg(self, reg: int, value) -> None:
        if reg in _TABLE_REGS:
            self.uc.reg_write(reg, value)
            return
        self._regbuf.value = value & 0xFFFFFFFFFFFFFFFF
        status = _uc_reg_write(self._handle, reg, self._regbuf_ref)
        if status:
            raise UcError(status)

    @property
    def cpl(self) -> int:
        return self.reg(X.UC_X86_REG_CS) & 3

    @property
    def interrupts_enabled(self) -> bool:
        return bool(self.reg(X.UC_X86_REG_EFLAGS) & IF)

    def translate(self, linear: int, write: bool, user: bool) -> int:
        """Linear → physical through the guest's 2-level page tables (4 KiB pages, 4 MiB with CR4.PSE), setting
        accessed/dirty bits; a violation raises GuestFault(#PF) with CR2 and the P/W/U error code."""
        linear &= 0xFFFFFFFF
        cr0, cr3, cr4 = self._paging or self.paging_registers()
        if not cr0 & CR0_PG:
            return linear
        key = (linear >> 12, write, user)
        if self._tlb is not None and key in self._tlb:
            return self._tlb[key] | (linear & 0xFFF)
        phys = self._walk(linear, write, user, cr0, cr3, cr4)
        if self._tlb is not None:
            self._tlb[key] = phys & 0xFFFFF000
        return phys

    def _walk(self, linear: int, write: bool, user: bool, cr0: int, cr3: int, cr4: int) -> int:
        err = (PF_W if write else 0) | (PF_U if user else 0)
        pde_addr = (cr3 & 0xFFFFF000) + ((linear >> 22) << 2)
        pde = self._phys_u32(pde_addr)
        if not pde & PTE_P:
            raise GuestFault(PF, err, linear)
        if cr4 & CR4_PSE and pde & PDE_PS:
            self._check_access(pde, pde, write, user, cr0, err, linear)
            self._touch(pde_addr, pde, write)
            return (pde & 0xFFC00000) | (linear & 0x3FFFFF)
        pte_addr = (pde & 0xFFFFF000) + (((linear >> 12) & 0x3FF) << 2)
        pte = self._phys_u32(pte_addr)
        if not pte & PTE_P:
            raise GuestFault(PF, err, linear)
        self._check_access(pde, pte, write, user, cr0, err, linear)
        self._touch(pde_addr, pde, False)
        self._touch(pte_addr, pte, write)
        return (pte & 0xFFFFF000) | (linear & 0xFFF)

    def _init_snapshot(self) -> None:
        n = len(_SNAPSHOT_REGS) + len(_SNAPSHOT_TABLES)
        self._snap_ids = (ctypes.c_int * n)(*[r for r, _ in _SNAPSHOT_REGS], *_SNAPSHOT_TABLES)
        self._snap_vals = [ctypes.c_uint64() for _ in _SNAPSHOT_REGS]
        self._snap_mmrs = [_UcX86Mmr() for _ in _SNAPSHOT_TABLES]
        self._snap_ptrs = (ctypes.c_void_p * n)(*[ctypes.addressof(v) for v in self._snap_vals],
                                                 *[ctypes.addressof(m) for m in self._snap_mmrs])

    def snapshot(self) -> CpuState:
        """EFLAGS, CS, EIP, SS, ESP, CR0/3/4, IDTR, GDTR, TR in one uc_reg_read_batch call."""
        status = _uc_reg_read_batch(self._handle, self._snap_ids, self._snap_ptrs, len(self._snap_ids))
        if status:
            raise UcError(status)
        plain = [v.value & mask for v, (_, mask) in zip(self._snap_vals, _SNAPSHOT_REGS)]
        tables = [(m.selector, m.base, m.limit, m.flags) for m in self._snap_mmrs]
        return CpuState(*plain, *tables)

    def phys_read(self, addr: int, size: int) -> bytes:
        """Physical memory, straight through uc_mem_read into a reused buffer (the binding allocates per call)."""
        buf = self._membuf if size <= len(self._membuf) else ctypes.create_string_buffer(size)
        status = _uc_mem_read(self._handle, addr, buf, size)
        if status:
            raise UcError(status)
        return buf.raw[:size]

    def phys_write(self, addr: int, data: bytes) -> None:
        status = _uc_mem_write(self._handle, addr, data, len(data))
        if status:
            raise UcError(status)

    def paging_enabled(self) -> bool:
        cr0 = (self._paging or self.paging_registers())[0]
        return bool(cr0 & CR0_PG)

    def paging_registers(self) -> tuple[int, int, int]:
        return self.reg(X.UC_X86_REG_CR0), self.reg(X.UC_X86_REG_CR3), self.reg(X.UC_X86_REG_CR4)

    @staticmethod
    def _check_access(pde: int, pte: int, write: bool, user: bool, cr0: int, err: int, linear: int) -> None:
        both = pde & pte
        if user and not both & PTE_U:
            raise GuestFault(PF, err | PF_P, linear)
        if write and not both & PTE_W and (user or cr0 & CR0_WP):
            raise GuestFault(PF, err | PF_P, linear)

    def _touch(self, addr: int, entry: int, write: bool) -> None:
        """The walk's accessed/dirty bits: the processor's own store, past any check a subclass puts on stores the
        guest makes (a hypervisor's page-table validation cannot refuse a change of these bits)."""
        new = entry | PTE_A | (PTE_D if write else 0)
        if new != entry:
            self.write_accessed(addr, struct.pack("<I", new))

    def write_accessed(self, addr: int, data: bytes) -> None:
        """The processor's own store of accessed/dirty bits into a page-table entry at physical `addr`."""
        Cpu.phys_write(self, addr, data)

    def _phys_u32(self, addr: int) -> int:
        try:
            return struct.unpack("<I", self.phys_read(addr, 4))[0]
        except UcError:
            raise MemoryAccessError(f"page-table walk reads unmapped physical memory at {addr:#010x}",
                                    self.state_report()) from None

    def _linear_chunks(self, linear: int, size: int, write: bool, user: bool):
        while size:
            n = min(size, 0x1000 - (linear & 0xFFF))
            yield self.translate(linear, write, user), n
            linear, size = linear + n, size - n

    def read_linear(self, linear: int, size: int, user: bool = False) -> bytes:
        try:
            if (linear & 0xFFF) + size <= 0x1000:       # within one page: one translation, one read
                return self.phys_read(self.translate(linear, False, user), size)
            return b"".join(self.phys_read(p, n) for p, n in self._linear_chunks(linear, size, False, user))
        except UcError:
            raise MemoryAccessError(f"read of unmapped physical memory at linear {linear:#010x}",
                                    self.state_report()) from None

    def write_linear(self, linear: int, data: bytes, user: bool = False) -> None:
        chunks = list(self._linear_chunks(linear, len(data), True, user))   # all checks before any write
        pos = 0
        for phys, n in chunks:
            try:
                self.phys_write(phys, data[pos:pos + n])
            except UcError:
                raise MemoryAccessError(f"write to unmapped physical memory at {phys:#010x}",
                                        self.state_report()) from None
            pos += n

    def state_report(self) -> str:
        """Registers, segments and control registers, for reports that end a run."""
        def line(regs, width):
            return "  " + " ".join(f"{name}={self.reg(r):0{width}x}" for name, r in regs)
        idtr, gdtr, tr = (self.reg(r) for r in (X.UC_X86_REG_IDTR, X.UC_X86_REG_GDTR, X.UC_X86_REG_TR))
        return "\n".join(["CPU state:", line(GPRS[:5], 8), line(GPRS[5:], 8), line(SEGS, 4), line(CRS, 8),
                          f"  gdtr={gdtr[1]:08x}/{gdtr[2]:x} idtr={idtr[1]:08x}/{idtr[2]:x} "
                          f"tr={tr[0]:04x} base={tr[1]:08x} limit={tr[2]:x} cpl={self.cpl}"])


# ---------------------------------------------------------------------------------------------------------
# IA-32 interrupt and exception delivery through the IDT (SDM vol. 3, 6.10-6.14), written once.


def combine(first: Event, second: GuestFault) -> Event:
    """What the CPU does when `second` faults while delivering `first` (SDM Table 6-5)."""
    if first.vector == DF and not first.software and not first.external:
        raise _Triple(first, second)
    first_class = None if (first.software or first.external) else (
        "contributory" if first.vector in CONTRIBUTORY else "page fault" if first.vector == PF else None)
    second_contrib = second.vector in CONTRIBUTORY
    if (first_class == "contributory" and second_contrib) or (
            first_class == "page fault" and (second_contrib or second.vector == PF)):
        return Event(DF, 0)
    return Event(second.vector, second.error_code)


class _Triple(Exception):
    def __init__(self, first: Event, second: GuestFault):
        super().__init__()
        self.first, self.second = first, second


class IdtDelivery:
    """Deliver an event through the guest IDT of `cpu`: gate checks, privilege change through the TSS's ss0:esp0,
    the frame (ss, esp, eflags, cs, eip, error code), EFLAGS updates.  Faults during delivery are combined per
    SDM Table 6-5 (#DF, then triple fault → TripleFault with a CPU state report)."""

    def __init__(self, cpu: Cpu):
        self.cpu = cpu

    def deliver(self, event: Event) -> None:
        cpu = self.cpu
        st = self.state()
        cpu._paging = (st.cr0, st.cr3, st.cr4)      # constant during delivery (CR2 aside), and so are the
        cpu._tlb = {}                               # translations made during it
        try:
            self._deliver(event, st)
        finally:
            cpu._paging = cpu._tlb = None

    def _deliver(self, event: Event, st: CpuState) -> None:
        chain = [event]
        while True:
            try:
                return self._deliver_once(event, st)
            except GuestFault as fault:     # nothing was written yet: st still holds the state
                if event.software:      # the fault belongs to the int instruction: point EIP back at it
                    st.eip -= event.insn_len or self.cpu.int_insn_len(event.vector)
                    self.cpu.set_reg(X.UC_X86_REG_EIP, st.eip)
                if fault.cr2 is not None:
                    self.set_cr2(fault.cr2)
                self.cpu.exceptions[fault.vector] += 1      # every exception raised counts, delivered or not
                try:
                    event = combine(event, fault)
                except _Triple:
                    chain.append(Event(fault.vector, fault.error_code))
                    raise TripleFault("triple fault: " + " during delivery of ".join(
                        e.text() for e in reversed(chain)) + "; the processor shuts down",
                        self.cpu.state_report()) from None
                if event.vector != fault.vector:
                    self.cpu.exceptions[event.vector] += 1   # the #DF it became
                chain.append(event)

    # --- the steps ---------------------------------------------------------------------------------------
    def _deliver_once(self, ev: Event, st: CpuState) -> None:
        cpu = self.cpu
        ext = 0 if ev.software else ERR_EXT
        cpl, eflags = st.cs & 3, st.eflags
        if eflags & VM:
            raise UnsupportedEvent(f"{ev.text()} in virtual-8086 mode is not supported", cpu.state_report())
        gate = self._gate(ev, ext, cpl, st)
        code = self._handler_segment(gate.gate_selector, ext, cpl, st)
        new_cpl = cpl if code.conforming else code.dpl
        frame = [eflags, st.cs, st.eip]
        if ev.error_code is not None:
            frame.append(ev.error_code)
        cs = (gate.gate_selector & 0xFFFC) | new_cpl
        new_flags = eflags & ~(TF | NT | RF | VM) & ~(IF if gate.type in (GATE_INT32, GATE_INT16) else 0)
        if new_cpl < cpl:
            ss, esp, ss_desc = self._inner_stack(new_cpl, ext, st)
            esp = self._push(ss_desc, ss, esp, [st.ss, st.esp] + frame, new_cpl, (ss & 0xFFFC) + ext)
        else:
            ss, ss_desc = None, self.descriptor(st.ss, (st.ss & 0xFFFC) + ext, st)
            esp = self._push(ss_desc, st.ss, st.esp, frame, cpl, 0)
        self.commit(st, new_cpl, ss, esp, cs, new_flags, gate.gate_offset)

    # --- where the state comes from and goes to (a hypervisor delivers through its virtual CPU state) ----
    def state(self) -> CpuState:
        """The state delivery starts from: the CPU's own registers."""
        return self.cpu.snapshot()

    def commit(self, st: CpuState, new_cpl: int, ss: int | None, esp: int, cs: int, eflags: int,
               eip: int) -> None:
        """Enter the handler: ring `new_cpl`, a new stack segment `ss` (None: same stack), esp, cs, eflags, eip."""
        cpu = self.cpu
        if ss is not None:
            cpu.set_cpl(new_cpl)
            cpu.set_reg(X.UC_X86_REG_SS, ss)
        cpu.set_reg(X.UC_X86_REG_ESP, esp)
        if cs != st.cs:
            cpu.set_reg(X.UC_X86_REG_CS, cs)
        cpu.set_reg(X.UC_X86_REG_EFLAGS, eflags)
        cpu.set_reg(X.UC_X86_REG_EIP, eip)

    def set_cr2(self, linear: int) -> None:
        self.cpu.set_reg(X.UC_X86_REG_CR2, linear)

    def ldtr(self) -> tuple[int, int, int, int]:
        return self.cpu.reg(X.UC_X86_REG_LDTR)

    def _gate(self, ev: Event, ext: int, cpl: int, st: CpuState) -> Descriptor:
        """Read and check IDT entry `ev.vector` (SDM 6.12.1.1, 6.12.1.2)."""
        _, base, limit, _ = st.idtr
        idt_err = ev.vector * 8 + ERR_IDT + ext
        if ev.vector * 8 + 7 > limit:
            raise GuestFault(GP, idt_err)
        gate = Descriptor(*struct.unpack("<II", self.cpu.read_linear(base + ev.vector * 8, 8)))
        if gate.s or gate.type not in GATE_NAMES:
            raise GuestFault(GP, idt_err)
        if ev.software and gate.dpl < cpl:
            raise GuestFault(GP, ev.vector * 8 + ERR_IDT)
        if not gate.present:
            raise GuestFault(NP, idt_err)
        if gate.type not in (GATE_INT32, GATE_TRAP32):
            raise UnsupportedEvent(f"{ev.text()}: IDT entry {ev.vector:#x} is a {GATE_NAMES[gate.type]}, "
                                   "which this CPU model does not deliver through", self.cpu.state_report())
        return gate

    def descriptor(self, selector: int, error: int, st: CpuState | None = None) -> Descriptor:
        """GDT/LDT entry for `selector`; beyond the table limit → #GP(error)."""
        cpu = self.cpu
        if selector & ERR_TI:
            table = self.ldtr()
        else:
            table = st.gdtr if st is not None else cpu.reg(X.UC_X86_REG_GDTR)
        index = selector & 0xFFF8
        if index + 7 > table[2]:
            raise GuestFault(GP, error)
        return Descriptor(*struct.unpack("<II", cpu.read_linear(table[1] + index, 8)))

    def _handler_segment(self, selector: int, ext: int, cpl: int, st: CpuState) -> Descriptor:
        if selector & 0xFFFC == 0:
            raise GuestFault(GP, ext)
        err = (selector & 0xFFFC) + ext
        code = self.descriptor(selector, err, st)
        if not code.is_code or code.dpl > cpl:
            raise GuestFault(GP, err)
        if not code.present:
            raise GuestFault(NP, err)
        return code

    def _inner_stack(self, new_cpl: int, ext: int, st: CpuState) -> tuple[int, int, Descriptor]:
        """ss:esp (and the SS descriptor) for ring `new_cpl` from the current 32-bit TSS, checked (SDM 6.12.1,
        Table 7-1)."""
        tr_sel, tr_base, tr_limit, _ = st.tr
        esp_off = 4 + 8 * new_cpl
        if esp_off + 7 > tr_limit:
            raise GuestFault(TS, (tr_sel & 0xFFFC) + ext)
        esp, ss = struct.unpack("<II", self.cpu.read_linear(tr_base + esp_off, 8))
        ss &= 0xFFFF
        if ss & 0xFFFC == 0:
            raise GuestFault(TS, ext)
        err = (ss & 0xFFFC) + ext
        if ss & 3 != new_cpl:
            raise GuestFault(TS, err)
        desc = self.descriptor(ss, err, st)
        if desc.dpl != new_cpl or not desc.writable_data:
            raise GuestFault(TS, err)
        if not desc.present:
            raise GuestFault(SS, err)
        return ss, esp, desc

    def _push(self, desc: Descriptor, ss: int, esp: int, frame: list[int], cpl: int, ss_error: int) -> int:
        """Write `frame` (first element pushed first) below ss:esp; return the new esp.  Past the limit → #SS."""
        size = 4 * len(frame)
        new_esp = (esp - size) & 0xFFFFFFFF
        if esp < size or new_esp + size - 1 > desc.limit:
            raise GuestFault(SS, ss_error)
        user = cpl == 3
        self._check_pushes(desc.base + esp, len(frame), user)
        data = struct.pack(f"<{len(frame)}I", *reversed([v & 0xFFFFFFFF for v in frame]))
        self.cpu.write_linear(desc.base + new_esp, data, user=user)
        return new_esp

    def _check_pushes(self, top: int, count: int, user: bool) -> None:
        """With paging on, translate the stack pages in push order (highest address first), so a #PF names the
        first push that cannot be written (CR2), as the processor pushing one value after another does."""
        if not self.cpu.paging_enabled():
            return
        checked: set[int] = set()
        for i in range(1, count + 1):
            a = (top - 4 * i) & 0xFFFFFFFF
            for b in ((a,) if a >> 12 == (a + 3) >> 12 else (a, (a + 3) & 0xFFFFF000)):
                if b >> 12 not in checked:
                    self.cpu.translate(b, True, user)
                    checked.add(b >> 12)

    def deliver_external(self, vector: int) -> None:
        """A maskable interrupt from the interrupt controller (the caller checked EFLAGS.IF)."""
        self.cpu.interrupts[vector] += 1
        self.deliver(Event(vector, None, external=True))
