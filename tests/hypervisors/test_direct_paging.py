"""Direct paging's validators under random page directories, page tables and stores (hypothesis): no Python exception
but the hypervisor's own violation report ever escapes, nothing invalid is ever installed, and hypervisor memory is
never changed by the guest."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hypervisors.direct.paging import FRAME
from previrt.machine.cpu import CR0_PG, CR4_PSE, PDE_PS, PTE_P
from previrt.vmm.machine import HypervisorMachine, HypervisorViolation
from tests.vmm.vmmkit import MEM, direct_machine, halt_image

PD, PT_BASE = 0x200000, 0x300000          # where the tests put their tables (guest RAM)


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    return halt_image(tmp_path_factory.mktemp("paging"))


def machine(image) -> HypervisorMachine:
    return direct_machine(image)


def hypervisor_bytes(hv: HypervisorMachine) -> bytes:
    cfg = hv.window.config
    return bytes(hv.cpu.uc.mem_read(cfg.phys_base, cfg.phys_size))


def frames(hv):
    cfg = hv.window.config
    return st.one_of(
        st.sampled_from([PT_BASE + i * 0x1000 for i in range(4)]),       # plausible page tables in RAM
        st.integers(0, MEM // 0x1000 - 1).map(lambda n: n << 12),        # anywhere in RAM
        st.integers(cfg.phys_base >> 12, (cfg.phys_base + cfg.phys_size >> 12) - 1).map(lambda n: n << 12),
        st.integers(0, 0xFFFFF).map(lambda n: n << 12))                   # anywhere at all


entries = st.tuples(st.integers(0, 1023), st.integers(0, 0xFFF))


def check_installed(hv: HypervisorMachine) -> None:
    """What the CPU can walk from the active directory maps no hypervisor frame, and every table it uses is typed
    and write-protected."""
    p = hv.paging
    cfg = hv.window.config
    if p.current is None:
        return
    pd = struct.unpack("<1024I", hv.cpu.phys_read(p.current, 0x1000))
    assert p.current in p.protected
    for i, e in enumerate(pd):
        if i in cfg.slots:
            assert e == hv.window.pde(i)
            continue
        if not e & PTE_P:
            continue
        if e & PDE_PS and hv.vcpu.cr4 & CR4_PSE:
            assert not cfg.holds_frame(e & 0xFFC00000, 0x400000)
            continue
        pt = e & FRAME
        assert pt in p.protected and p.current in p.pt_users[pt]
        for pte in struct.unpack("<1024I", hv.cpu.phys_read(pt, 0x1000)):
            assert not (pte & PTE_P and cfg.holds_frame(pte & FRAME))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data(), pse=st.booleans())
def test_random_tables_are_validated_or_refused(image, data, pse):
    hv = machine(image)
    before = hypervisor_bytes(hv)
    pick = frames(hv)
    uc = hv.cpu.uc
    for _ in range(data.draw(st.integers(0, 12), label="pde count")):
        i, flags = data.draw(entries, label="pde")
        uc.mem_write(PD + 4 * i, struct.pack("<I", data.draw(pick) | flags))
    for t in range(4):
        for _ in range(data.draw(st.integers(0, 6), label="pte count")):
            i, flags = data.draw(entries, label="pte")
            uc.mem_write(PT_BASE + t * 0x1000 + 4 * i, struct.pack("<I", data.draw(pick) | flags))
    hv.vcpu.cr3, hv.vcpu.cr4 = PD, CR4_PSE if pse else 0
    hv.vcpu.cr0 |= CR0_PG
    try:
        hv.paging.activate()
    except HypervisorViolation:
        assert hv.paging.current is None or hv.paging.current != PD
    else:
        check_installed(hv)
    # then random guest stores into the typed frames, as the write-protection hook hands them over
    for _ in range(data.draw(st.integers(0, 10), label="stores")):
        frame = data.draw(st.sampled_from([PD] + [PT_BASE + t * 0x1000 for t in range(4)]))
        offset = data.draw(st.integers(0, 0xFFC))
        size = data.draw(st.sampled_from([1, 2, 4, 8]))
        value = data.draw(pick) | data.draw(st.integers(0, 0xFFF))
        blob = (value | value << 32).to_bytes(8, "little")[:size]
        try:
            if hv.paging.typed(frame + offset):
                hv.paging.store(frame + offset, blob)
            else:
                hv.cpu.phys_write(frame + offset, blob)
        except HypervisorViolation:
            pass
        check_installed(hv)
    assert hypervisor_bytes(hv)[0x5000:] == before[0x5000:]       # the shadow GDT and beyond: never touched


def test_window_entry_in_an_active_directory_is_refused(image):
    hv = machine(image)
    slot = hv.window.config.slots.start
    hv.cpu.uc.mem_write(PD + 4 * slot, struct.pack("<I", 0x00400000 | PTE_P | PDE_PS))
    hv.vcpu.cr3, hv.vcpu.cr4 = PD, CR4_PSE
    hv.vcpu.cr0 |= CR0_PG
    with pytest.raises(HypervisorViolation, match="maps the hypervisor's window"):
        hv.paging.activate()


def test_store_of_a_hypervisor_frame_into_a_live_table_is_refused_and_not_performed(image):
    hv = machine(image)
    hv.cpu.uc.mem_write(PD, struct.pack("<I", PT_BASE | PTE_P | 2))
    hv.vcpu.cr3 = PD
    hv.vcpu.cr0 |= CR0_PG
    hv.paging.activate()
    assert hv.paging.typed(PT_BASE) and hv.paging.typed(PD)
    with pytest.raises(HypervisorViolation, match="maps hypervisor memory"):
        hv.paging.store(PT_BASE + 8, struct.pack("<I", hv.window.config.phys_base | PTE_P | 2))
    assert hv.cpu.phys_read(PT_BASE + 8, 4) == bytes(4)


def test_store_into_an_inactive_directory_untypes_it(image):
    hv = machine(image)
    other = PD + 0x1000
    hv.cpu.uc.mem_write(other, struct.pack("<I", PT_BASE | PTE_P))
    hv.vcpu.cr3, hv.vcpu.cr0 = other, hv.vcpu.cr0 | CR0_PG
    hv.paging.activate()
    hv.vcpu.cr3 = PD
    hv.paging.activate()                          # `other` stays cached and typed
    assert hv.paging.typed(other)
    hv.paging.store(other + 4, struct.pack("<I", 0xDEADB000 | PTE_P))     # a data write into a freed directory
    assert not hv.paging.typed(other)
    assert hv.cpu.phys_read(other + 4, 4) == struct.pack("<I", 0xDEADB001)
