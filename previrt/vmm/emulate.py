"""Trap-and-emulate: the sensitive instructions the guest kernel executes in ring 1, decoded with capstone and emulated
with the SDM's semantics against the virtual CPU, as if they ran in ring 0.

One handler per row name of `previrt.isa.i386`; a handler raises GuestFault for the fault the instruction would
raise on the bare PC (the caller bounces it with EIP still at the instruction) and otherwise moves EIP on."""

from __future__ import annotations

import functools
import struct

import capstone
from capstone import x86_const as CX
from unicorn import UcError
from unicorn import x86_const as X

from previrt.isa import i386
from previrt.machine.cpu import CR0_PE, GP, IF, NP, NT, RF, UD, VM, Descriptor, GuestFault, UnsupportedEvent
from previrt.vmm.segments import BUSY_TSS, LDT_TYPE, SEG_REGS, TSS_AVAILABLE
from previrt.vmm.vcpu import IOPL_MASK, real_selector

MAX_INSN = 15
CR0_NW, CR0_CD, CR0_TS = 1 << 29, 1 << 30, 1 << 3
CR4_PAE = 1 << 5
CR4_KNOWN = 0x7FF                # VME PVI TSD DE PSE PAE MCE PGE PCE OSFXSR OSXMMEXCPT
ZF = 1 << 6
VIF_VIP = 3 << 19
# The EFLAGS bits popf and iret load: CF PF AF ZF SF TF IF DF OF, IOPL, NT, AC, ID.
POPPED = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x800 | 0x3000 | 0x4000 | (1 << 18) | (1 << 21)
PRIVILEGED = frozenset(r.name for r in i386.ROWS if r.category is i386.Category.PRIVILEGED)
LAR_MASK = 0x00F0FF00     # the descriptor's high word without base and limit bits (what the processor returns)
STACK_BASES = (CX.X86_REG_ESP, CX.X86_REG_EBP, CX.X86_REG_SP, CX.X86_REG_BP)


@functools.lru_cache(maxsize=None)
def _uc_reg(name: str) -> int:
    return getattr(X, f"UC_X86_REG_{name.upper()}")


def disassembler() -> capstone.Cs:
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_32)
    md.detail = True
    return md


class Emulator:
    """Emulation for one hypervisor: `hv` gives the CPU, the virtual CPU, the shadow GDT and segment loader, guest
    memory access (guest view), and the hooks emulation calls back: control-register writes, TLB flushes, the
    interrupt-enable points and halt."""

    def __init__(self, hv):
        self.hv, self.cpu, self.vcpu = hv, hv.cpu, hv.vcpu
        self.md = disassembler()
        self._cache: dict[tuple[int, bytes], object] = {}

    # --- decoding ----------------------------------------------------------------------------------------
    def fetch(self, eip: int) -> bytes:
        """Up to 15 instruction bytes at CS:EIP, stopping at the first page the guest cannot read."""
        linear = (self.cpu.loaded_segment_base(X.UC_X86_REG_CS) + eip) & 0xFFFFFFFF
        try:
            return self.hv.read_guest(linear, MAX_INSN)
        except GuestFault:
            first = 0x1000 - (linear & 0xFFF)
            return self.hv.read_guest(linear, first) if first < MAX_INSN else b""

    def decode(self, data: bytes, address: int):
        key = (address, data)
        insn = self._cache.get(key)
        if insn is None:
            insn = next(self.md.disasm(data, address, 1), None)
            if insn is not None:
                self._cache[key] = insn
        return insn

    @staticmethod
    def row(insn) -> str | None:
        r = i386.classify_capstone(insn)
        return r.name if r is not None else None

    def emulate(self, insn, name: str, cpl: int = 0) -> None:
        """Emulate `insn` (row `name`) as the guest's ring `cpl` (0 or 3) would execute it."""
        handler = getattr(self, f"op_{name}", None)
        if handler is None:
            raise GuestFault(UD)
        if cpl > 0 and name in PRIVILEGED:
            raise GuestFault(GP, 0)
        self.cpl = cpl
        handler(insn)

    def read(self, linear: int, size: int) -> bytes:
        return self.hv.read_guest(linear, size, self.cpl == 3)

    def write(self, linear: int, data: bytes) -> None:
        self.hv.write_guest(linear, data, self.cpl == 3)

    # --- operands ----------------------------------------------------------------------------------------
    def reg(self, creg: int) -> int:
        return self.cpu.reg(_uc_reg(self.md.reg_name(creg)))

    def set_reg(self, creg: int, value: int) -> None:
        name = self.md.reg_name(creg)
        mask = {1: 0xFF, 2: 0xFFFF}.get(self._reg_size(name), 0xFFFFFFFF)
        self.cpu.set_reg(_uc_reg(name), value & mask)

    @staticmethod
    def _reg_size(name: str) -> int:
        if name.startswith("e"):
            return 4
        return 1 if name.endswith(("l", "h")) else 2

    def address(self, insn, op) -> int:
        """Linear address of a memory operand: segment base + base + index * scale + disp."""
        mem = op.mem
        ea = mem.disp
        if mem.base:
            ea += self.reg(mem.base)
        if mem.index and mem.index != CX.X86_REG_EIZ:          # %eiz: GAS's spelling of "no index"
            ea += self.reg(mem.index) * mem.scale
        if insn.addr_size == 2:
            ea &= 0xFFFF
        seg = mem.segment or (CX.X86_REG_SS if mem.base in STACK_BASES else CX.X86_REG_DS)
        return (self.cpu.loaded_segment_base(_uc_reg(self.md.reg_name(seg))) + ea) & 0xFFFFFFFF

    def read_op(self, insn, op, size: int | None = None) -> int:
        size = size or op.size
        if op.type == CX.X86_OP_REG:
            return self.reg(op.reg) & ((1 << (8 * size)) - 1)
        if op.type == CX.X86_OP_IMM:
            return op.imm & ((1 << (8 * size)) - 1)
        return int.from_bytes(self.read(self.address(insn, op), size), "little")

    def write_op(self, insn, op, value: int, size: int | None = None) -> None:
        size = size or op.size
        if op.type == CX.X86_OP_REG:
            self.set_reg(op.reg, value)
        else:
            self.write(self.address(insn, op), (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little"))

    def _store_selector(self, insn, value: int) -> None:
        """sldt/str/smsw/mov from a segment register: a register gets the operand size, memory 16 bits."""
        op = insn.operands[0]
        self.write_op(insn, op, value, op.size if op.type == CX.X86_OP_REG else 2)

    # --- stack -------------------------------------------------------------------------------------------
    def _stack(self) -> tuple[int, int]:
        return self.cpu.loaded_segment_base(X.UC_X86_REG_SS), self.cpu.reg(X.UC_X86_REG_ESP)

    def push(self, values: list[int], size: int = 4) -> None:
        """Push values (first pushed first) in one checked write."""
        base, esp = self._stack()
        new = (esp - size * len(values)) & 0xFFFFFFFF
        data = b"".join((v & ((1 << (8 * size)) - 1)).to_bytes(size, "little") for v in reversed(values))
        self.write((base + new) & 0xFFFFFFFF, data)
        self.cpu.set_reg(X.UC_X86_REG_ESP, new)

    def peek(self, count: int, size: int = 4, offset: int = 0) -> list[int]:
        """`count` stack values from ESP+offset, without popping."""
        base, esp = self._stack()
        data = self.read((base + esp + offset) & 0xFFFFFFFF, count * size)
        return [int.from_bytes(data[i * size:(i + 1) * size], "little") for i in range(count)]

    def drop(self, nbytes: int) -> None:
        self.cpu.set_reg(X.UC_X86_REG_ESP, (self.cpu.reg(X.UC_X86_REG_ESP) + nbytes) & 0xFFFFFFFF)

    def next(self, insn) -> None:
        self.cpu.set_reg(X.UC_X86_REG_EIP, (insn.address + insn.size) & 0xFFFFFFFF)

    @staticmethod
    def opsize(insn) -> int:
        return 2 if 0x66 in insn.prefix else 4

    # --- interrupt flag and halt -----------------------------------------------------------------------------
    def _set_if(self, on: bool) -> None:
        """cli/sti: CPL <= IOPL or #GP(0); in ring 3 the real IF is the guest's, elsewhere the virtual one."""
        flags = self.virtual_eflags()
        if self.cpl > (flags >> 12) & 3:
            raise GuestFault(GP, 0)
        if self.cpu.cpl == 3:
            self.cpu.set_reg(X.UC_X86_REG_EFLAGS, flags | IF if on else flags & ~IF)
        else:
            self.vcpu.interrupt_flag = on

    def op_cli(self, insn) -> None:
        self._set_if(False)
        self.next(insn)

    def op_sti(self, insn) -> None:
        self._set_if(True)
        self.next(insn)
        self.hv.interrupts_enabled_point(shadow=1)

    def op_hlt(self, insn) -> None:
        self.next(insn)
        self.hv.halt()

    def virtual_eflags(self) -> int:
        return self.vcpu.eflags(self.cpu.reg(X.UC_X86_REG_EFLAGS), self.cpu.cpl)

    def flags_after_pop(self, value: int, old: int) -> int:
        """EFLAGS after popf/iret without a ring change (SDM, POPF): the flags a program may write (POPPED), IOPL only
        at CPL 0, IF only at CPL <= IOPL; VM, VIF and VIP keep their values, RF is cleared, reserved bits are fixed."""
        writable = POPPED
        if self.cpl > 0:
            writable &= ~IOPL_MASK
        if self.cpl > (old >> 12) & 3:
            writable &= ~IF
        return (value & writable) | (old & ~writable & (VM | VIF_VIP | IOPL_MASK | IF)) | 2

    def op_pushf(self, insn) -> None:
        size = self.opsize(insn)
        self.push([self.virtual_eflags() & ~(VM | RF)], size)
        self.next(insn)

    def op_popf(self, insn) -> None:
        size = self.opsize(insn)
        value, = self.peek(1, size)
        old = self.virtual_eflags()
        if size == 2:
            value = (old & 0xFFFF0000) | value
        self.drop(size)
        self.cpu.set_reg(X.UC_X86_REG_EFLAGS, self.vcpu.load_eflags(self.flags_after_pop(value, old), self.cpl))
        self.next(insn)
        self.hv.interrupts_enabled_point(shadow=0)

    # --- control and debug registers ---------------------------------------------------------------------
    def op_mov_to_cr(self, insn) -> None:
        cr, src = insn.operands
        self.hv.write_cr(int(self.md.reg_name(cr.reg)[2:]), self.reg(src.reg))
        self.next(insn)

    def op_mov_from_cr(self, insn) -> None:
        dst, cr = insn.operands
        n = int(self.md.reg_name(cr.reg)[2:])
        values = {0: self.vcpu.cr0, 2: self.vcpu.cr2, 3: self.vcpu.cr3, 4: self.vcpu.cr4}
        if n not in values:
            raise GuestFault(UD)
        self.set_reg(dst.reg, values[n])
        self.next(insn)

    def op_lmsw(self, insn) -> None:
        value = self.read_op(insn, insn.operands[0], 2)
        cr0 = self.vcpu.cr0
        self.hv.write_cr(0, (cr0 & ~0xE) | (value & 0xF) | (cr0 & CR0_PE))
        self.next(insn)

    def op_clts(self, insn) -> None:
        self.hv.write_cr(0, self.vcpu.cr0 & ~CR0_TS)
        self.next(insn)

    def op_smsw(self, insn) -> None:
        op = insn.operands[0]
        self._store_selector(insn, self.vcpu.cr0 if op.type == CX.X86_OP_REG and op.size == 4 else self.vcpu.cr0 & 0xFFFF)
        self.next(insn)

    def _dr_index(self, name: str) -> int:
        n = int(name[2:])
        if n in (4, 5):
            if self.vcpu.cr4 & (1 << 3):     # CR4.DE: DR4/DR5 are reserved
                raise GuestFault(UD)
            n += 2
        return n

    def op_mov_to_dr(self, insn) -> None:
        dr, src = insn.operands
        n = self._dr_index(self.md.reg_name(dr.reg))
        value = self.reg(src.reg)
        self.vcpu.dr[n] = value
        self.cpu.set_reg(_uc_reg(f"dr{n}"), value)
        self.next(insn)

    def op_mov_from_dr(self, insn) -> None:
        dst, dr = insn.operands
        self.set_reg(dst.reg, self.vcpu.dr[self._dr_index(self.md.reg_name(dr.reg))])
        self.next(insn)

    # --- caches, TLB, model-specific registers ---------------------------------------------------------------
    def op_invd(self, insn) -> None:
        self.next(insn)

    op_wbinvd = op_invd

    def op_invlpg(self, insn) -> None:
        self.hv.invlpg(self.address(insn, insn.operands[0]))
        self.next(insn)

    def op_rdmsr(self, insn) -> None:
        ecx = self.cpu.reg(X.UC_X86_REG_ECX)
        value = self.vcpu.msrs.get(ecx)
        if value is None:
            try:
                value = self.cpu.uc.msr_read(ecx)
            except UcError:
                raise GuestFault(GP, 0) from None
        self.cpu.set_reg(X.UC_X86_REG_EAX, value & 0xFFFFFFFF)
        self.cpu.set_reg(X.UC_X86_REG_EDX, (value >> 32) & 0xFFFFFFFF)
        self.next(insn)

    def op_wrmsr(self, insn) -> None:
        """Kept in the virtual CPU only: no guest value reaches a real MSR (SYSENTER_CS would open ring 0)."""
        ecx = self.cpu.reg(X.UC_X86_REG_ECX)
        try:
            self.cpu.uc.msr_read(ecx)
        except UcError:
            raise GuestFault(GP, 0) from None
        self.vcpu.msrs[ecx] = (self.cpu.reg(X.UC_X86_REG_EDX) << 32) | self.cpu.reg(X.UC_X86_REG_EAX)
        self.next(insn)

    def op_rdpmc(self, insn) -> None:
        raise GuestFault(GP, 0)         # no performance counters are modelled

    # --- descriptor tables ---------------------------------------------------------------------------------
    def _pseudo_descriptor(self, insn) -> tuple[int, int]:
        linear = self.address(insn, insn.operands[0])
        limit, base = struct.unpack("<HI", self.read(linear, 6))
        return (base & 0xFFFFFF if self.opsize(insn) == 2 else base), limit

    def op_lgdt(self, insn) -> None:
        base, limit = self._pseudo_descriptor(insn)
        self.hv.load_gdt(base, limit)
        self.next(insn)

    def op_lidt(self, insn) -> None:
        self.vcpu.idtr.base, self.vcpu.idtr.limit = self._pseudo_descriptor(insn)
        self.next(insn)

    def _store_table(self, insn, table) -> None:
        self.write(self.address(insn, insn.operands[0]), struct.pack("<HI", table.limit, table.base))
        self.next(insn)

    def op_sgdt(self, insn) -> None:
        self._store_table(insn, self.vcpu.gdtr)

    def op_sidt(self, insn) -> None:
        self._store_table(insn, self.vcpu.idtr)

    def _system_descriptor(self, selector: int, types: tuple[int, ...]) -> Descriptor:
        if selector & 4:
            raise GuestFault(GP, selector & 0xFFFC)
        desc = self.hv.segments.descriptor(selector)
        if desc.s or desc.type not in types:
            raise GuestFault(GP, selector & 0xFFFC)
        if not desc.present:
            raise GuestFault(NP, selector & 0xFFFC)
        return desc

    def op_lldt(self, insn) -> None:
        selector = self.read_op(insn, insn.operands[0], 2)
        if selector & 0xFFFC == 0:
            self.hv.load_ldt(selector, 0, 0)
        else:
            desc = self._system_descriptor(selector, (LDT_TYPE,))
            self.hv.load_ldt(selector, desc.base, desc.limit)
        self.next(insn)

    def op_ltr(self, insn) -> None:
        selector = self.read_op(insn, insn.operands[0], 2)
        if selector & 0xFFFC == 0:
            raise GuestFault(GP, 0)
        desc = self._system_descriptor(selector, TSS_AVAILABLE)
        self.hv.write_guest(self.hv.shadow.base + (selector & 0xFFF8) + 4, struct.pack("<I", desc.hi | BUSY_TSS))
        tr = self.vcpu.tr
        tr.selector, tr.base, tr.limit = selector, desc.base, desc.limit
        self.next(insn)

    def op_sldt(self, insn) -> None:
        self._store_selector(insn, self.vcpu.ldtr.selector)
        self.next(insn)

    def op_str(self, insn) -> None:
        self._store_selector(insn, self.vcpu.tr.selector)
        self.next(insn)

    # --- lar, lsl, verr, verw (SDM vol. 2): the guest's descriptors, the guest's CPL --------------------------
    def _visible(self, selector: int, system_types: tuple[int, ...], check) -> Descriptor | None:
        """The descriptor `selector` names if the instruction may look at it (ZF=1), else None (ZF=0)."""
        if selector & 0xFFFC == 0 or not self.hv.shadow.table(selector).holds(selector):
            return None
        desc = self.hv.segments.descriptor(selector)
        if not desc.s and desc.type not in system_types:
            return None
        if desc.s and desc.conforming:
            return desc if check(desc) else None
        if desc.dpl < max(self.cpl, selector & 3):
            return None
        return desc if check(desc) else None

    def _set_zf(self, on: bool) -> None:
        flags = self.cpu.reg(X.UC_X86_REG_EFLAGS)
        self.cpu.set_reg(X.UC_X86_REG_EFLAGS, flags | ZF if on else flags & ~ZF)

    def op_lar(self, insn) -> None:
        dst, src = insn.operands
        desc = self._visible(self.read_op(insn, src, 2), (1, 2, 3, 4, 5, 9, 0xB, 0xC), lambda d: True)
        if desc is not None:
            self.set_reg(dst.reg, desc.hi & (LAR_MASK if dst.size == 4 else 0xFF00))
        self._set_zf(desc is not None)
        self.next(insn)

    def op_lsl(self, insn) -> None:
        dst, src = insn.operands
        desc = self._visible(self.read_op(insn, src, 2), (1, 2, 3, 9, 0xB), lambda d: True)
        if desc is not None:
            self.set_reg(dst.reg, desc.limit)
        self._set_zf(desc is not None)
        self.next(insn)

    def op_verr(self, insn) -> None:
        desc = self._visible(self.read_op(insn, insn.operands[0], 2), (),
                             lambda d: not d.is_code or bool(d.type & 2))
        self._set_zf(desc is not None)
        self.next(insn)

    def op_verw(self, insn) -> None:
        desc = self._visible(self.read_op(insn, insn.operands[0], 2), (), lambda d: d.writable_data)
        self._set_zf(desc is not None)
        self.next(insn)

    # --- segment registers ---------------------------------------------------------------------------------
    def _seg_name(self, op) -> str:
        return self.md.reg_name(op.reg)

    def seg_value(self, name: str) -> int:
        value = self.cpu.reg(SEG_REGS[name])
        return self.vcpu.virtual_selector(value) if name in ("cs", "ss") else value

    def op_push_seg(self, insn) -> None:
        self.push([self.seg_value(self._seg_name(insn.operands[0]))], self.opsize(insn))
        self.next(insn)

    def op_pop_seg(self, insn) -> None:
        size = self.opsize(insn)
        name = self._seg_name(insn.operands[0])
        selector, = self.peek(1, size)
        self.hv.segments.load(name, selector & 0xFFFF, self.cpl)
        self.drop(size)
        self.next(insn)

    def op_mov_to_seg(self, insn) -> None:
        dst, src = insn.operands
        name = self._seg_name(dst)
        if name == "cs":
            raise GuestFault(UD)
        self.hv.segments.load(name, self.read_op(insn, src, 2), self.cpl)
        self.next(insn)

    def op_mov_from_seg(self, insn) -> None:
        dst, src = insn.operands
        value = self.seg_value(self._seg_name(src))
        self.write_op(insn, dst, value, dst.size if dst.type == CX.X86_OP_REG else 2)
        self.next(insn)

    def _far_load(self, insn, name: str) -> None:
        dst, src = insn.operands
        size = self.opsize(insn)
        linear = self.address(insn, src)
        data = self.read(linear, size + 2)
        offset, selector = int.from_bytes(data[:size], "little"), int.from_bytes(data[size:], "little")
        self.hv.segments.load(name, selector, self.cpl)
        self.set_reg(dst.reg, offset)
        self.next(insn)

    def op_lds(self, insn) -> None:
        self._far_load(insn, "ds")

    def op_les(self, insn) -> None:
        self._far_load(insn, "es")

    def op_lfs(self, insn) -> None:
        self._far_load(insn, "fs")

    def op_lgs(self, insn) -> None:
        self._far_load(insn, "gs")

    def op_lss(self, insn) -> None:
        self._far_load(insn, "ss")

    # --- far transfers ------------------------------------------------------------------------------------
    def _far_target(self, insn) -> tuple[int, int]:
        ops = insn.operands
        if len(ops) == 2 and ops[0].type == ops[1].type == CX.X86_OP_IMM:
            return ops[0].imm & 0xFFFF, ops[1].imm & 0xFFFFFFFF
        size = self.opsize(insn)
        data = self.read(self.address(insn, ops[0]), size + 2)
        return int.from_bytes(data[size:], "little"), int.from_bytes(data[:size], "little")

    def _same_ring_code(self, selector: int) -> None:
        """A far jmp/call target, or a far return / iret target in the same ring (SDM: RPL <= CPL; conforming code:
        DPL <= CPL; non-conforming: DPL == CPL)."""
        cpl = self.cpl

        def ok(d: Descriptor) -> bool:
            return d.dpl <= cpl if d.conforming else d.dpl == cpl
        if selector & 3 > cpl:
            raise GuestFault(GP, selector & 0xFFFC)
        self.hv.segments.check_code(selector, cpl, ok)

    def _load_cs(self, selector: int) -> None:
        self.cpu.set_reg(X.UC_X86_REG_CS, real_selector((selector & 0xFFFC) | self.cpl))

    def op_ljmp(self, insn) -> None:
        selector, offset = self._far_target(insn)
        self._same_ring_code(selector)
        self._load_cs(selector)
        self.cpu.set_reg(X.UC_X86_REG_EIP, offset)

    def op_lcall(self, insn) -> None:
        selector, offset = self._far_target(insn)
        self._same_ring_code(selector)
        self.push([self.seg_value("cs"), insn.address + insn.size], self.opsize(insn))
        self._load_cs(selector)
        self.cpu.set_reg(X.UC_X86_REG_EIP, offset)

    def _return_same_ring(self, cs: int) -> bool:
        """Whether a far return / iret to `cs` stays in this ring (a lower RPL is a #GP)."""
        if cs & 3 < self.cpl:
            raise GuestFault(GP, cs & 0xFFFC)
        return cs & 3 == self.cpl

    def op_lret(self, insn) -> None:
        size = self.opsize(insn)
        extra = insn.operands[0].imm if insn.operands else 0
        eip, cs = self.peek(2, size)
        cs &= 0xFFFF
        if self._return_same_ring(cs):
            self._same_ring_code(cs)
            self.drop(2 * size + extra)
            self._load_cs(cs)
            self.cpu.set_reg(X.UC_X86_REG_EIP, eip)
            return
        esp, ss = self.peek(2, size, 2 * size + extra)
        self.hv.return_outer(eip, cs, self.virtual_eflags(), esp, ss & 0xFFFF)

    def op_iret(self, insn) -> None:
        old = self.virtual_eflags()
        if old & NT:
            raise UnsupportedEvent("iret with EFLAGS.NT set (a task return) is not virtualized", self.cpu.state_report())
        size = self.opsize(insn)
        eip, cs, flags = self.peek(3, size)
        cs &= 0xFFFF
        if size == 2:
            flags = (old & 0xFFFF0000) | flags
        if flags & VM and self.cpl == 0:
            raise UnsupportedEvent("iret to virtual-8086 mode is not virtualized", self.cpu.state_report())
        if self._return_same_ring(cs):
            self._same_ring_code(cs)
            self.drop(3 * size)
            self._load_cs(cs)
            self.cpu.set_reg(X.UC_X86_REG_EFLAGS, self.vcpu.load_eflags(self.flags_after_pop(flags, old), self.cpl))
            self.cpu.set_reg(X.UC_X86_REG_EIP, eip)
            self.hv.interrupts_enabled_point(shadow=0)
            return
        esp, ss = self.peek(2, size, 3 * size)
        self.hv.return_outer(eip, cs, self.flags_after_pop(flags, old), esp, ss & 0xFFFF)
