"""Shadow paging driven directly: fills from the guest's tables with the processor's accessed and dirty bits, the
guest's own faults with its error code, invlpg and CR3 loads, the cache of address spaces (exact on a switch back),
and hostile guests: random page-table contents with random faults, and under a running guest (hypothesis), never
raise anything but the hypervisor's own stop, and no shadow entry ever maps a frame outside guest memory; after every
hostile guest of tests/vmm/guests/hostile has run, the hypervisor's frames hold only what it put there."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from unicorn import x86_const as X

from hypervisors.shadow import GUEST_BASE
from hypervisors.shadow.paging import FRAME, SHADOW_TABLE
from previrt.machine import memory
from previrt.machine.cpu import CR0_PG, CR0_WP, CR4_PSE, PDE_PS, PF, PF_P, PF_U, PF_W, PTE_A, PTE_D, PTE_P, PTE_U, \
    PTE_W, Event
from previrt.machine.runner import RunConfig, run_machine
from previrt.vmm import registry
from previrt.vmm.machine import HypervisorMachine, HypervisorViolation
from previrt.vmm.segments import valid_shadow
from previrt.vmm.window import PAGE, TABLE_PAGES
from tests.hypervisors.test_direct_hostile import HOSTILE, INCLUDE_DIRS
from tests.machine.guestkit import build_image
from tests.vmm.vmmkit import MEM, halt_image, machine_on

PD, PD2, PT = 0x200000, 0x201000, 0x300000        # guest-physical, in guest RAM
DATA = 0x400000                                   # frames the tables map


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    return halt_image(tmp_path_factory.mktemp("shadow"))


def shadow(image) -> HypervisorMachine:
    return machine_on("shadow", image)


def put(hv, addr: int, *values: int) -> None:
    hv.load_write(addr, struct.pack(f"<{len(values)}I", *values))


def get(hv, addr: int) -> int:
    return struct.unpack("<I", hv.cpu.phys_read(addr, 4))[0]


def paging_on(hv, cr3: int, cr4: int = 0, wp: bool = True) -> None:
    hv.vcpu.cr4 = cr4
    hv.vcpu.cr3 = cr3
    hv.vcpu.cr0 = (hv.vcpu.cr0 | CR0_PG) & ~CR0_WP | (CR0_WP if wp else 0)
    hv.paging.control_register_written(0)


def fault(hv, linear: int, write=False, user=False, present=False) -> Event:
    """The CPU's #PF at `linear` as the hypervisor receives it; returns the event (handled: error_code None)."""
    hv.cpu.set_reg(X.UC_X86_REG_CR2, linear)
    event = Event(PF, (PF_W if write else 0) | (PF_U if user else 0) | (PF_P if present else 0))
    if hv.paging.page_fault(event):
        event.error_code = None
    return event


def shadow_entry(hv, linear: int) -> int:
    """The shadow entry the CPU uses for `linear`: a page-table entry, or a 4 MiB directory entry."""
    space = hv.paging.current
    pde = struct.unpack("<I", hv.cpu.host_read(space.pd + 4 * (linear >> 22), 4))[0]
    if pde & PDE_PS:
        return pde
    pt = space.tables.get(linear >> 22)
    return 0 if pt is None else struct.unpack("<I", hv.cpu.host_read(pt + 4 * ((linear >> 12) & 0x3FF), 4))[0]


def guest_host_ranges(hv) -> list[tuple[int, int]]:
    return ([(GUEST_BASE + r.base, GUEST_BASE + r.end) for r in memory.layout(hv.config.mem_bytes)]
            + [(m.base, m.base + m.length) for m in hv.board.mmio.mappings()])   # device memory: at the identity


def check_shadow(hv) -> None:
    """Every shadow directory: the window's slots the hypervisor's, other entries pool tables; every present shadow
    page-table entry maps a host frame of guest memory."""
    p, w = hv.paging, hv.window
    ranges = guest_host_ranges(hv)
    pool_lo, pool_hi = p.pool
    for space in p.spaces.values():
        pd = struct.unpack("<1024I", hv.cpu.host_read(space.pd, PAGE))
        for i, e in enumerate(pd):
            if i in w.config.slots:
                assert e & ~0x60 == w.pde(i)
            elif e & PDE_PS:
                assert i in space.large and any(a <= e & 0xFFC00000 and (e & 0xFFC00000) + 0x400000 <= b
                                                for a, b in ranges), hex(e)
            elif e:
                assert e & ~0x60 & 0xFFF == SHADOW_TABLE & ~0x60 and pool_lo <= e & FRAME < pool_hi
                assert space.tables[i] == e & FRAME
                for pte in struct.unpack("<1024I", hv.cpu.host_read(e & FRAME, PAGE)):
                    if pte & PTE_P:
                        assert any(a <= pte & FRAME < b for a, b in ranges), hex(pte)


# --- fills, faults, A/D ------------------------------------------------------------------------------------------

def test_fill_sets_accessed_then_dirty_on_the_first_write(image):
    hv = shadow(image)
    put(hv, PD, PT | PTE_P | PTE_W | PTE_U)
    put(hv, PT + 4 * 5, DATA | PTE_P | PTE_W | PTE_U)
    paging_on(hv, PD)
    linear = 5 << 12
    assert fault(hv, linear).error_code is None
    assert get(hv, PD) & PTE_A and get(hv, PT + 20) & (PTE_A | PTE_D) == PTE_A
    entry = shadow_entry(hv, linear)
    assert entry & FRAME == GUEST_BASE + DATA and entry & PTE_U and not entry & PTE_W     # clean: read-only
    assert fault(hv, linear, write=True, present=True).error_code is None
    assert get(hv, PT + 20) & PTE_D and shadow_entry(hv, linear) & PTE_W
    assert hv.exits["pf:shadow-fill"] == 1 and hv.exits["pf:shadow-dirty"] == 1
    assert hv.paging.counts["write-back:D"] == 1
    check_shadow(hv)


def test_a_fault_the_guest_tables_explain_is_the_guests_with_its_error_code(image):
    hv = shadow(image)
    put(hv, PD, PT | PTE_P | PTE_W)                              # supervisor-only directory entry
    put(hv, PT, DATA | PTE_P | PTE_U)                            # read-only page
    paging_on(hv, PD)
    assert fault(hv, 0, user=True).error_code == PF_P | PF_U      # the CPU said not present; the guest: protection
    assert fault(hv, 0, write=True).error_code == PF_P | PF_W     # WP set: a kernel write to a read-only page
    assert fault(hv, 0x1000).error_code == 0                      # not present in the guest's table
    assert shadow_entry(hv, 0) == 0 and shadow_entry(hv, 0x1000) == 0
    assert get(hv, PD) & PTE_A and not get(hv, PT) & PTE_A        # the walk passed the directory entry only


def test_wp_clear_kernel_write_to_a_read_only_user_page(image):
    hv = shadow(image)
    put(hv, PD, PT | PTE_P | PTE_W | PTE_U)
    put(hv, PT, DATA | PTE_P | PTE_U)
    paging_on(hv, PD, wp=False)
    assert fault(hv, 0, write=True).error_code is None
    entry = shadow_entry(hv, 0)
    assert entry & PTE_W and not entry & PTE_U                    # the kernel writes; user code cannot
    assert fault(hv, 0, user=True, present=True).error_code is None
    entry = shadow_entry(hv, 0)
    assert entry & PTE_U and not entry & PTE_W
    assert fault(hv, 0, write=True, user=True, present=True).error_code == PF_P | PF_W | PF_U


def test_large_guest_page_with_holes_is_shadowed_by_small_pages_and_invlpg_drops_them_all(image):
    hv = shadow(image)
    put(hv, PD + 4, 0 | PTE_P | PTE_W | PDE_PS)                  # linear 0x400000: the first 4 MiB, with holes
    paging_on(hv, PD, CR4_PSE)
    for linear in (0x400000, 0x401000, 0x7FF000):
        assert fault(hv, linear).error_code is None
        assert shadow_entry(hv, linear) & FRAME == GUEST_BASE + (linear & 0x3FF000)
    assert fault(hv, 0x4A0000).error_code is None                # VGA memory: the PC's open-bus window, a device
    assert shadow_entry(hv, 0x4A0000) & FRAME == 0xA0000         # at the same address in the host, not guest RAM
    hv.paging.invlpg(0x401234)
    assert all(shadow_entry(hv, a) == 0 for a in (0x400000, 0x401000, 0x7FF000, 0x4A0000))


def test_large_guest_page_of_ram_is_one_large_shadow_entry_writable_once_dirty(image):
    hv = shadow(image)
    put(hv, PD + 4, DATA | PTE_P | PTE_W | PDE_PS)               # linear 0x400000 -> 4 MiB of RAM
    paging_on(hv, PD, CR4_PSE)
    assert fault(hv, 0x401000).error_code is None
    entry = shadow_entry(hv, 0x7FF000)
    assert entry & PDE_PS and entry & 0xFFC00000 == GUEST_BASE + DATA and not entry & PTE_W
    assert fault(hv, 0x7FF000, write=True, present=True).error_code is None
    assert shadow_entry(hv, 0x400000) & PTE_W and get(hv, PD + 4) & PTE_D
    assert hv.paging.counts["large fills"] == 2
    hv.paging.invlpg(0x500000)
    assert shadow_entry(hv, 0x400000) == 0
    check_shadow(hv)


def test_cached_address_space_keeps_only_unchanged_entries(image):
    hv = shadow(image)
    for pd in (PD, PD2):
        put(hv, pd, PT | PTE_P | PTE_W)
    put(hv, PT, DATA | PTE_P | PTE_W, (DATA + PAGE) | PTE_P | PTE_W)
    paging_on(hv, PD)
    fault(hv, 0)
    fault(hv, 0x1000)
    hv.vcpu.cr3 = PD2
    hv.paging.control_register_written(3)
    assert hv.paging.counts["cr3:cold"] == 2 and shadow_entry(hv, 0) == 0
    put(hv, PT + 4, (DATA + 2 * PAGE) | PTE_P | PTE_W)          # changed while PD is not current, no invlpg
    hv.vcpu.cr3 = PD
    hv.paging.control_register_written(3)
    p = hv.paging
    assert p.counts["cr3:cached"] == 1 and p.counts["cached entries dropped"] == 1
    assert shadow_entry(hv, 0) & FRAME == GUEST_BASE + DATA and shadow_entry(hv, 0x1000) == 0
    fault(hv, 0x1000)
    assert shadow_entry(hv, 0x1000) & FRAME == GUEST_BASE + DATA + 2 * PAGE
    put(hv, PT, DATA | PTE_P | PTE_W)                            # the guest clears A: a CR3 load drops the entry
    hv.paging.control_register_written(3)
    assert shadow_entry(hv, 0) == 0


# --- hostile -----------------------------------------------------------------------------------------------------

def test_an_entry_outside_guest_memory_stops_the_run(image):
    hv = shadow(image)
    put(hv, PD, PT | PTE_P | PTE_W)
    put(hv, PT, MEM | PTE_P | PTE_W, 0xFC000000 | PTE_P, (hv.window.config.phys_base - GUEST_BASE) & FRAME | PTE_P)
    put(hv, PD + 8, 0xF0000000 | PTE_P)                          # a page table outside guest memory
    paging_on(hv, PD)
    for linear in (0, 0x1000, 0x2000, 0x800000):
        with pytest.raises(HypervisorViolation, match="outside the PC's memory"):
            fault(hv, linear)
    check_shadow(hv)


def test_a_guest_mapping_the_window_is_stopped_when_it_touches_it(image):
    hv = shadow(image)
    slot = hv.window.config.slots.start
    paging_on(hv, PD, CR4_PSE)
    assert fault(hv, slot << 22).error_code == 0                  # not mapped by the guest: its own #PF
    put(hv, PD + 4 * slot, DATA | PTE_P | PTE_W | PDE_PS)
    with pytest.raises(HypervisorViolation, match="hypervisor's window"):
        fault(hv, slot << 22)
    check_shadow(hv)


def frames():
    return st.one_of(st.sampled_from([PT + i * PAGE for i in range(4)]),
                     st.integers(0, MEM // PAGE - 1).map(lambda n: n << 12),
                     st.integers(0, 0xFFFFF).map(lambda n: n << 12))


def random_tables(hv, data, first_pde: int) -> None:
    """Random entries (any frame, any flags) in the directory at PD from index `first_pde` and in 4 tables at PT."""
    for _ in range(data.draw(st.integers(0, 12), label="pdes")):
        put(hv, PD + 4 * data.draw(st.integers(first_pde, 1023)),
            data.draw(frames()) | data.draw(st.integers(0, 0xFFF)))
    for t in range(4):
        for _ in range(data.draw(st.integers(0, 8), label="ptes")):
            put(hv, PT + t * PAGE + 4 * data.draw(st.integers(0, 1023)),
                data.draw(frames()) | data.draw(st.integers(0, 0xFFF)))


@settings(max_examples=25)
@given(data=st.data(), pse=st.booleans(), wp=st.booleans())
def test_random_tables_and_faults_never_expose_a_host_frame(image, data, pse, wp):
    hv = shadow(image)
    before = bytes(hv.cpu.uc.mem_read(hv.window.gdt_frame, 2 * TABLE_PAGES * PAGE))
    random_tables(hv, data, first_pde=0)
    paging_on(hv, data.draw(st.sampled_from([PD, PD2])), CR4_PSE if pse else 0, wp)
    for _ in range(data.draw(st.integers(1, 20), label="events")):
        what = data.draw(st.sampled_from(["fault", "fault", "fault", "invlpg", "cr3"]))
        linear = data.draw(st.one_of(st.integers(0, 0xFFFFFFFF), st.integers(0, 15).map(lambda n: n << 22)))
        try:
            if what == "fault":
                fault(hv, linear, data.draw(st.booleans()), data.draw(st.booleans()), data.draw(st.booleans()))
            elif what == "invlpg":
                hv.paging.invlpg(linear)
            else:
                hv.vcpu.cr3 = data.draw(st.sampled_from([PD, PD2, PT]))
                hv.paging.control_register_written(3)
        except HypervisorViolation:
            pass
        check_shadow(hv)
    assert bytes(hv.cpu.uc.mem_read(hv.window.gdt_frame, 2 * TABLE_PAGES * PAGE)) == before


@pytest.mark.parametrize("name", sorted(p.stem for p in HOSTILE.glob("*.S")))
def test_hypervisor_memory_intact_after_hostile_guest(name, tmp_path):
    image = build_image(tmp_path, [HOSTILE / f"{name}.S"], name=name, cflags=[f"-I{d}" for d in INCLUDE_DIRS])
    hv = HypervisorMachine(RunConfig(image=str(image), max_instructions=20_000_000), io.BytesIO(),
                           hypervisor=registry.load("shadow"))
    run_machine(hv)          # every stop, violation included, ends the run with a report, never an exception
    assert hv.end_reason
    check_shadow(hv)
    w = hv.window
    for pt in w.pt_frames:
        tables = {w.gdt_frame + i * PAGE for i in range(2 * TABLE_PAGES)}
        for e in struct.unpack("<1024I", hv.cpu.host_read(pt, PAGE)):
            assert e == 0 or (e & FRAME in tables and e & 0xFFF & ~0x60 == PTE_P), hex(e)
    for frame in (w.gdt_frame, w.ldt_frame):
        raw = hv.cpu.host_read(frame, TABLE_PAGES * PAGE)
        assert all(valid_shadow(*struct.unpack_from("<II", raw, off)) for off in range(0, len(raw), 8))


def test_shadow_is_registered_with_its_abi():
    hv = registry.load("shadow")
    assert hv.guest_base == GUEST_BASE and hv.paravirt is not None and hv.abi_version == 1
    assert Path(hv.abi).read_text().startswith("# `shadow`") and hv.templates.is_dir()


def test_table_for_a_large_guest_page_is_kept_while_its_directory_entry_is(image):
    hv = shadow(image)
    put(hv, PD, 0 | PTE_P | PTE_W | PDE_PS)                      # the first 4 MiB: shadowed by one whole table
    paging_on(hv, PD, CR4_PSE)
    fault(hv, 0x1000)
    assert shadow_entry(hv, 0x2000) & FRAME == GUEST_BASE + 0x2000
    assert shadow_entry(hv, 0xA0000) & FRAME == 0xA0000          # VGA memory's open-bus window: the device, at the identity
    hv.paging.control_register_written(3)
    assert shadow_entry(hv, 0x2000) and hv.paging.counts["cached entries kept"] == 1
    put(hv, PD, get(hv, PD) & ~PTE_W)
    hv.paging.control_register_written(3)
    assert shadow_entry(hv, 0x2000) == 0 and hv.paging.counts["cached entries dropped"] == 1


def guest_code(accesses) -> bytes:
    """Paging on with the tables at PD (4 MiB pages allowed), then a load or store at each (linear, write), then
    cli; hlt: machine code put at the halting guest's entry."""
    code = (b"\xb8" + struct.pack("<I", PD) + b"\x0f\x22\xd8"            # mov $PD, %eax; mov %eax, %cr3
            + b"\x0f\x20\xe0\x83\xc8\x10\x0f\x22\xe0"                    # CR4.PSE
            + b"\x0f\x20\xc0\x0d\x00\x00\x00\x80\x0f\x22\xc0")           # CR0.PG
    for linear, write in accesses:
        code += b"\xbe" + struct.pack("<I", linear) + (b"\x89\x06" if write else b"\x8b\x06")
    return code + b"\xfa\xf4"


@settings(max_examples=15)
@given(data=st.data())
def test_random_tables_under_a_running_guest_never_expose_a_host_frame(image, data):
    """The CPU itself on random guest tables (the code's own 4 MiB identity-mapped): every run ends with a report —
    the guest's fault delivered, a triple fault, the hypervisor's stop — never an exception, and the shadows it
    leaves map guest memory only."""
    hv = shadow(image)
    put(hv, PD, 0 | PTE_P | PTE_W | PDE_PS)
    random_tables(hv, data, first_pde=1)
    accesses = data.draw(st.lists(st.tuples(st.one_of(st.integers(0, 0xFFFFFFFC),
                                                      st.integers(0, 63).map(lambda n: n << 22 | 0x1000)),
                                            st.booleans()), max_size=6), label="accesses")
    hv.load_write(hv.cpu.reg(X.UC_X86_REG_EIP), guest_code(accesses))
    hv.config.max_instructions = 10_000
    run_machine(hv)
    assert hv.end_reason
    check_shadow(hv)
