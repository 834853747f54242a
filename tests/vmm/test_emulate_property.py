"""Trap-and-emulate under random encodings of every sensitive opcode, random registers and random memory
(hypothesis): an instruction is emulated, turned into the fault the bare PC would raise, or refused with a clear
stop — no other exception ever reaches the host."""

from __future__ import annotations


import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from unicorn import x86_const as X

from previrt.machine.cpu import MachineStop
from previrt.vmm.machine import TRAPPING
from tests.vmm.vmmkit import direct_machine, halt_image

CODE = 0x180000
OPCODES = [b"\x0f\x01", b"\x0f\x00", b"\x8e", b"\x8c", b"\x9c", b"\x9d", b"\xcf", b"\xcb", b"\xca", b"\x1e", b"\x1f",
           b"\x06", b"\x07", b"\x16", b"\x17", b"\x0f\xa0", b"\x0f\xa1", b"\x0f\xa8", b"\x0f\xa9", b"\xc4", b"\xc5",
           b"\x0f\xb2", b"\x0f\xb4", b"\x0f\xb5", b"\xea", b"\x9a", b"\xff", b"\x0f\x20", b"\x0f\x21", b"\x0f\x22",
           b"\x0f\x23", b"\x0f\x02", b"\x0f\x03", b"\xfa", b"\xfb", b"\xf4", b"\x0f\x30", b"\x0f\x32", b"\x0f\x33",
           b"\x0f\x06", b"\x0f\x08", b"\x0f\x09"]
REGS = (X.UC_X86_REG_EAX, X.UC_X86_REG_EBX, X.UC_X86_REG_ECX, X.UC_X86_REG_EDX, X.UC_X86_REG_ESI,
        X.UC_X86_REG_EDI, X.UC_X86_REG_EBP, X.UC_X86_REG_ESP)


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    return halt_image(tmp_path_factory.mktemp("emulate"))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(prefix=st.sampled_from([b"", b"\x66", b"\xf3", b"\x26", b"\x65"]), opcode=st.sampled_from(OPCODES),
       tail=st.binary(min_size=8, max_size=8), regs=st.lists(st.integers(0, 0xFFFFFFFF), min_size=8, max_size=8),
       memory=st.binary(min_size=64, max_size=64), near=st.booleans())
def test_random_sensitive_instructions(image, prefix, opcode, tail, regs, memory, near):
    hv = direct_machine(image)
    hv.cpu.uc.mem_write(CODE, prefix + opcode + tail)
    for i, (reg, value) in enumerate(zip(REGS, regs)):
        if near:        # pointers into RAM, so memory operands often resolve
            value = 0x100000 + (value & 0xFFFF0)
        hv.cpu.set_reg(reg, value)
    hv.cpu.uc.mem_write(0x100000, memory * 16)
    hv.cpu.set_reg(X.UC_X86_REG_EIP, CODE)
    insn = hv.emulator.decode(hv.emulator.fetch(CODE), CODE)
    name = hv.emulator.row(insn) if insn is not None else None
    try:
        if name in TRAPPING:
            hv.run_emulation(insn, name, 0)
        else:
            assert not hv._trap(CODE)
    except MachineStop:
        pass
