"""CPU core units: the start-up probe of unicorn, hook errors re-raised, the double/triple-fault rules, descriptors."""

from __future__ import annotations

import struct

import pytest
from unicorn import UC_PROT_ALL
from unicorn import x86_const as X

from previrt.machine import cpu as cpumod
from previrt.machine.cpu import (DF, GP, NP, PF, TS, UD, Cpu, Descriptor, Event, GuestFault, segment_descriptor,
                                 combine, probe_unicorn)


def test_probe_finds_distinct_offsets():
    lay = probe_unicorn()
    ctx_fields = {lay.error_code, lay.exception_is_int, lay.old_exception, lay.hflags}
    assert len(ctx_fields) == 4
    assert lay.exception_is_int == lay.error_code + 4


def flat_cpu(code: bytes, io_write=lambda p, s, v: None) -> Cpu:
    c = Cpu(lambda port, size: 0xFF, io_write)
    c.uc.mem_map(0, 0x100000, UC_PROT_ALL)
    gdt = bytes(8) + segment_descriptor(0, 0xFFFFF, 0x9B) + segment_descriptor(0, 0xFFFFF, 0x93)
    c.uc.mem_write(0x800, gdt)
    c.set_reg(X.UC_X86_REG_GDTR, (0, 0x800, len(gdt) - 1, 0))
    c.set_reg(X.UC_X86_REG_CS, 8)
    for reg in (X.UC_X86_REG_SS, X.UC_X86_REG_DS, X.UC_X86_REG_ES):
        c.set_reg(reg, 0x10)
    c.set_reg(X.UC_X86_REG_ESP, 0x9000)
    c.uc.mem_write(0x1000, code)
    c.set_reg(X.UC_X86_REG_EIP, 0x1000)
    return c


def test_exception_in_a_hook_is_reraised_not_swallowed():
    def broken(port, size, value):
        raise ZeroDivisionError("device model bug")
    c = flat_cpu(bytes.fromhex("b041" "e6f0" "90" "f4"), io_write=broken)    # mov $0x41,%al; out %al,$0xf0
    with pytest.raises(ZeroDivisionError, match="device model bug"):
        c.run(100)


def test_run_counts_exactly_and_reports_hlt():
    c = flat_cpu(b"\x90" * 10 + b"\xf4")
    assert c.run(4) == 4 and not c.halted
    assert c.run(100) == 7 and c.halted                   # 6 nops + hlt
    assert c.reg(X.UC_X86_REG_EIP) == 0x100b


def test_request_stop_from_port_write_ends_slice_after_the_out():
    c = flat_cpu(bytes.fromhex("90" "e6f0" "90" "90" "f4"), io_write=lambda p, s, v: c.request_stop())
    assert c.run(100) == 2 and not c.halted
    assert c.reg(X.UC_X86_REG_EIP) == 0x1003


def test_double_fault_rules_sdm_table_6_5():
    assert combine(Event(GP, 0), GuestFault(NP, 0x10)).vector == DF          # contributory + contributory
    assert combine(Event(PF, 2), GuestFault(PF, 0)).vector == DF             # page fault + page fault
    assert combine(Event(PF, 2), GuestFault(TS, 0)).vector == DF             # page fault + contributory
    assert combine(Event(UD), GuestFault(GP, 0x33)).vector == GP             # benign: handled serially
    assert combine(Event(GP, 0), GuestFault(PF, 0)).vector == PF             # contributory + page fault: serial
    assert combine(Event(0x80, software=True), GuestFault(GP, 0x402)).vector == GP
    with pytest.raises(cpumod._Triple):
        combine(Event(DF, 0), GuestFault(GP, 0))


def test_descriptor_fields():
    d = Descriptor(*struct.unpack("<II", segment_descriptor(0x12345678, 0xFFFFF, 0xFB)))
    assert d.base == 0x12345678 and d.limit == 0xFFFFFFFF and d.dpl == 3 and d.is_code and d.present
    gate = Descriptor(0x0008_5678, 0x1234_EE00)
    assert gate.gate_selector == 8 and gate.gate_offset == 0x12345678 and gate.dpl == 3 and gate.type == 0xE


def test_ud_delivery_without_idt_escalates_to_triple_fault():
    c = flat_cpu(b"\x0f\x0b")
    c.set_reg(X.UC_X86_REG_IDTR, (0, 0, 0, 0))
    with pytest.raises(cpumod.TripleFault, match=r"#DF\(0x0\) during delivery of #GP\(0x33\) during delivery of #UD"):
        c.run(10)
    assert c.exceptions[UD] == 1


def test_stop_inside_rep_ins_and_outs_keeps_every_word():
    """A slice stopped from the in/out hook in the middle of `rep insw` / `rep outsw` neither loses nor repeats
    an element: each iteration is an instruction boundary."""
    words = iter(range(0x1001, 0x1100))
    written: list[int] = []
    calls = {"n": 0}

    def io_read(port, size):
        calls["n"] += 1
        if calls["n"] in (1, 4):
            c.request_stop()
        return next(words)

    def io_write(port, size, value):
        written.append(value)
        if len(written) in (2, 5):
            c.request_stop()

    code = (bytes.fromhex("66baf001" "bf00300000" "b908000000" "f3666d")        # rep insw x8 to 0x3000
            + bytes.fromhex("be00300000" "b908000000" "f3666f" "f4"))         # rep outsw x8 from 0x3000
    c = Cpu(io_read, io_write)
    c.uc.mem_map(0, 0x100000, UC_PROT_ALL)
    c.uc.mem_write(0x1000, code)
    c.set_reg(X.UC_X86_REG_EIP, 0x1000)
    total = 0
    while not c.halted:
        total += c.run(1000)
    assert bytes(c.uc.mem_read(0x3000, 16)) == struct.pack("<8H", *range(0x1001, 0x1009))
    assert written == list(range(0x1001, 0x1009))
    # each string iteration counts as one instruction, plus the final ECX=0 check the engine re-enters the rep for
    assert total == 3 + (8 + 1) + 2 + (8 + 1) + 1



def test_interrupt_enable_sites_after_sti_and_popf_and_at_iret():
    from previrt.machine.cpu import interrupt_enable_sites
    code = bytes.fromhex("90" "fb" "90" "9c" "9d" "669d" "cf" "c3")   # nop sti nop pushf popf popfw iret ret
    sites = interrupt_enable_sites(code, 0x1000)
    assert sites.after == {0x1002: 1, 0x1005: 0, 0x1007: 0} and sites.irets == {0x1007}
