"""Ring compression under random descriptors and selectors (hypothesis): every shadow entry is null or a code/data
descriptor with a DPL the guest's kernel ring cannot use as ring 0; a segment load either faults as the SDM says
(GuestFault), is refused clearly, or loads what the guest asked, never raising anything else."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from previrt.machine.cpu import Descriptor, GuestFault, UnsupportedEvent
from previrt.vmm.segments import SEG_REGS, compress, valid_shadow
from previrt.vmm.vcpu import REAL_RING, real_selector
from tests.vmm.vmmkit import direct_machine, halt_image

GDT = 0x200000
descriptors = st.tuples(st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFFFFFFFF))


@given(descriptors)
def test_shadow_descriptor_never_has_dpl_0(d):
    lo, hi = compress(*d)
    assert valid_shadow(lo, hi)
    guest, shadow = Descriptor(*d), Descriptor(lo, hi)
    if guest.s:
        assert shadow.dpl == REAL_RING[guest.dpl] and shadow.base == guest.base and shadow.limit == guest.limit
    else:
        assert (lo, hi) == (0, 0)


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    return halt_image(tmp_path_factory.mktemp("segments"))


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(table=st.lists(descriptors, min_size=1, max_size=8), selector=st.integers(0, 0xFFFF),
       name=st.sampled_from(["ds", "es", "fs", "gs", "ss"]), cpl=st.sampled_from([0, 3]))
def test_random_segment_loads(image, table, selector, name, cpl):
    hv = direct_machine(image)
    hv.cpu.uc.mem_write(GDT, bytes(8) + b"".join(struct.pack("<II", *d) for d in table))
    hv.load_gdt(GDT, 8 * (len(table) + 1) - 1)
    if cpl == 3:
        hv.cpu.set_cpl(3)
    try:
        hv.segments.load(name, selector, cpl)
    except (GuestFault, UnsupportedEvent):
        return
    finally:
        assert all(valid_shadow(*e) for e in hv.shadow.gdt.entries + hv.shadow.ldt.entries)
    loaded = hv.cpu.reg(SEG_REGS[name])
    assert loaded == (real_selector(selector) if name == "ss" else selector)
    if selector & 0xFFFC:
        guest = Descriptor(*table[(selector >> 3) - 1])
        assert guest.s and guest.present and guest.dpl >= cpl
