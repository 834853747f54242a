"""`direct`'s para-virtual ABI from the host side: the batched page-table updates (the mmu_update hypercall,
validated one by one with partial progress on a bad request; the wedge's queue in the shared page, applied in order
at the next exit, a corrupt queue stopping the guest, never a host exception; the typed-frame bitmap the wedge reads)
and the device log the wedge appends to (replayed through the device models in order; the mirrors it answers
from)."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from unicorn import x86_const as X

from hypervisors.direct import abi
from previrt.machine.cpu import MachineStop
from previrt.machine.runner import RunConfig, check_mode
from previrt.vmm import registry
from previrt.vmm.machine import HypervisorMachine, HypervisorViolation
from previrt.vmm.window import PAGE
from tests.machine.guestkit import build_image, previrt_cc

CPU_GUESTS = Path(__file__).resolve().parents[1] / "machine" / "guests" / "cpu"
DIRECT = registry.load("direct")
REQUESTS = 0x00300000           # guest-physical = linear (the guest's paging is off at hand-over)
PD, PT = 0x00200000, 0x00201000


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> Path:
    return build_image(tmp_path_factory.mktemp("mmu"), [CPU_GUESTS / "spin.S"], name="spin", cc=previrt_cc())


def machine(image: Path) -> HypervisorMachine:
    config = RunConfig(image=str(image), target="direct")
    check_mode(config)
    hv = HypervisorMachine(config, io.BytesIO(), hypervisor=DIRECT)
    assert hv.mode == "previrt"
    return hv


def word(hv, phys: int) -> int:
    return struct.unpack("<I", hv.cpu.uc.mem_read(phys, 4))[0]


def with_paging(hv) -> None:
    """A directory with one page table (mapping its own frames) made active: both typed and write-protected."""
    uc = hv.cpu.uc
    uc.mem_write(PD, struct.pack("<I", PT | 3) + bytes(PAGE - 4))
    uc.mem_write(PT, b"".join(struct.pack("<I", (i << 12) | 3) for i in range(1024)))
    hv.vcpu.cr3 = PD
    hv.vcpu.cr0 |= 0x80000001
    hv.paging.activate()
    assert hv.paging.typed(PD) and hv.paging.typed(PT)


def mmu_update(hv, pairs: list[tuple[int, int]], count: int | None = None) -> tuple[int, int]:
    hv.cpu.uc.mem_write(REQUESTS, b"".join(struct.pack("<II", a, v) for a, v in pairs))
    for reg, value in ((X.UC_X86_REG_EAX, abi.HC["mmu_update"]), (X.UC_X86_REG_EBX, REQUESTS),
                       (X.UC_X86_REG_ECX, len(pairs) if count is None else count)):
        hv.cpu.set_reg(reg, value)
    hv.paravirt.hypercall()
    return hv.cpu.reg(X.UC_X86_REG_EAX), hv.cpu.reg(X.UC_X86_REG_EDX)


def test_typed_frames_are_in_the_wedges_bitmap(image):
    hv = machine(image)
    with_paging(hv)
    bitmap = hv.paravirt.typed_bitmap
    for frame in (PD, PT):
        assert hv.cpu.uc.mem_read(bitmap + (frame >> 15), 1)[0] >> ((frame >> 12) % 8) & 1
    assert not hv.cpu.uc.mem_read(bitmap + (REQUESTS >> 15), 1)[0] >> ((REQUESTS >> 12) % 8) & 1
    # the linear view: the directory maps itself read-only at the window's last slot
    slot = hv.window.config.slots[-1]
    assert word(hv, PD + 4 * slot) == PD | 0x21


def test_mmu_update_performs_valid_requests_in_order(image):
    hv = machine(image)
    with_paging(hv)
    assert mmu_update(hv, [(PT + 8, 0x5003), (PT + 8, 0x6003), (REQUESTS + 0x800, 0x1234)]) == (0, 3)
    assert word(hv, PT + 8) == 0x6003 and word(hv, REQUESTS + 0x800) == 0x1234
    assert hv.exits["hypercall:mmu_update"] == 1


@pytest.mark.parametrize("bad, error", [
    ((PT + 2, 0), abi.EINVAL),                                   # not aligned
    ((0x7FFF0000, 0), abi.EINVAL),                               # outside guest RAM
    ((PT + 12, DIRECT.window.phys_base | 1), abi.EPERM),         # maps the hypervisor
    ((PD + 4 * 0x3F0, 0x00400083), abi.EPERM),                   # the window's directory slot
])
def test_mmu_update_stops_at_a_bad_request_and_reports_progress(image, bad, error):
    hv = machine(image)
    with_paging(hv)
    result, done = mmu_update(hv, [(PT + 4, 0x7003), bad, (PT + 16, 0x8003)])
    assert (result, done) == (error & 0xFFFFFFFF, 1)
    assert word(hv, PT + 4) == 0x7003 and word(hv, PT + 16) == (4 << 12) | 3


def test_mmu_update_refuses_a_count_beyond_its_limit_and_an_unreadable_list(image):
    hv = machine(image)
    assert mmu_update(hv, [], count=abi.MMU_UPDATE_MAX + 1) == (abi.EINVAL & 0xFFFFFFFF, 0)
    with_paging(hv)                                              # the page table maps the first 4 MiB only
    for unreadable in (0x00800000, DIRECT.window.base):          # not mapped; the window (nothing there for it)
        hv.cpu.set_reg(X.UC_X86_REG_EBX, unreadable)
        hv.cpu.set_reg(X.UC_X86_REG_ECX, 1)
        hv.cpu.set_reg(X.UC_X86_REG_EAX, abi.HC["mmu_update"])
        hv.paravirt.hypercall()
        assert (hv.cpu.reg(X.UC_X86_REG_EAX), hv.cpu.reg(X.UC_X86_REG_EDX)) == (abi.EFAULT & 0xFFFFFFFF, 0)


def queue(hv, pairs: list[tuple[int, int]], count: int | None = None) -> None:
    page = hv.paravirt.page
    offset = abi.SHARED_FIELDS["mmu_queue"][0]
    hv.cpu.uc.mem_write(page.frame + offset, b"".join(struct.pack("<II", a, v) for a, v in pairs))
    page.put("mmu_count", len(pairs) if count is None else count)
    page.put("pte_load_path", hv.paravirt.slow_load)


def test_the_queue_is_applied_in_order_at_the_next_exit(image):
    hv = machine(image)
    with_paging(hv)
    queue(hv, [(PT + 20, 0x9003), (PT + 20, 0), (PD + 8, PT | 7)])
    hv.exit("gp:test")
    assert word(hv, PT + 20) == 0 and word(hv, PD + 8) == PT | 7
    assert hv.paravirt.page.get("mmu_count") == 0
    assert hv.paravirt.page.get("pte_load_path") == hv.paravirt.fast_load
    assert hv.paravirt.mmu == {"queued": 3, "flushes": 1, "invlpg": 0}


def test_a_queued_invlpg_flushes_in_queue_order(image):
    """(INVLPG_MARK, linear) — the wedge's invlpg behind an unmapping store — is a TLB flush of that address when the
    queue is applied, after the stores before it; it is no update and no violation, whatever the address."""
    hv = machine(image)
    with_paging(hv)
    flushed = []
    hv.invlpg = lambda linear: flushed.append((linear, word(hv, PT + 20)))
    queue(hv, [(PT + 20, 0), (abi.INVLPG_MARK, 0x5000), (abi.INVLPG_MARK, 0xFFFFFFFF)])
    hv.exit("gp:test")
    assert flushed == [(0x5000, 0), (0xFFFFFFFF, 0)]        # after the store it follows
    assert hv.paravirt.mmu == {"queued": 1, "flushes": 1, "invlpg": 2}


@pytest.mark.parametrize("pairs, count", [
    ([(PT, 0)], abi.MMU_QUEUE_SIZE + 1),                         # a count beyond the queue
    ([(PT + 4, DIRECT.window.phys_base | 1)], None),             # maps the hypervisor in the active tables
    ([(0x7FFF0000, 0)], None),                                   # outside guest RAM
])
def test_a_corrupt_queue_stops_the_guest(image, pairs, count):
    hv = machine(image)
    with_paging(hv)
    queue(hv, pairs, count)
    with pytest.raises(HypervisorViolation):
        hv.exit("gp:test")


@settings(max_examples=60, deadline=None)
@given(pairs=st.lists(st.tuples(st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFFFFFFFF)), max_size=8),
       count=st.integers(0, 0xFFFFFFFF), near=st.booleans())
def test_random_queues_never_raise_in_the_host_nor_touch_hypervisor_memory(image, pairs, count, near):
    hv = machine(image)
    with_paging(hv)
    if near:            # addresses in the typed tables, counts within the queue: the validation paths, not the bounds
        pairs = [(PD + (a & 0x1FFC), v) for a, v in pairs]
        count = len(pairs)
    cfg = hv.window.config
    before = bytes(hv.cpu.uc.mem_read(cfg.phys_base, cfg.phys_size))
    queue(hv, pairs, count)
    try:
        hv.exit("gp:test")
    except MachineStop:
        pass
    after = bytes(hv.cpu.uc.mem_read(cfg.phys_base, cfg.phys_size))
    shared = hv.paravirt.page.frame - cfg.phys_base
    bitmap = hv.paravirt.typed_bitmap - cfg.phys_base
    for i in (i for i in range(len(before)) if before[i] != after[i]):
        assert shared <= i < shared + PAGE or bitmap <= i < bitmap + abi.TYPED_SIZE, hex(i)


def log(hv, entries: list[tuple[int, int, int, int]], count: int | None = None, out: bytes = b"") -> None:
    page, uc = hv.paravirt.page, hv.cpu.uc
    uc.mem_write(page.frame + abi.SHARED_FIELDS["dev_log"][0],
                 b"".join(struct.pack("<HBBI", *e) for e in entries))
    uc.mem_write(page.frame + abi.SHARED_FIELDS["out_data"][0], out)
    page.put("dev_count", len(entries) if count is None else count)


def test_the_device_log_is_replayed_in_order_through_the_devices(image):
    hv = machine(image)
    ata = hv.board.devices["ata"]
    # the command block as the guest kernel writes it before a command, then COM1 bytes
    log(hv, [(0x1F2, 2, 1, 8), (0x1F3, 2, 1, 0x34), (0x1F4, 2, 1, 0x12), (0x3F8, 4, 1, 3)], out=b"ok\n")
    out = io.BytesIO()
    hv.board.devices["com1"].sink = out
    hv.paravirt.settle()
    assert (ata.cur.nsector, ata.cur.sector, ata.cur.lcyl) == (8, 0x34, 0x12)
    assert out.getvalue() == b"ok\n"
    assert hv.paravirt.page.get("dev_count") == 0
    assert hv.paravirt.in_place == {"out": 3, "outs": 1}


def test_mirrors_follow_the_devices(image):
    hv = machine(image)
    uart, ata, page = hv.board.devices["com1"], hv.board.devices["ata"], hv.paravirt.page
    hv.paravirt.watch()
    assert page.get("uart_iir") == uart.iir
    assert ata.empty and page.get("ata_flags") == 0      # no disk: status reads go to the channel
    assert page.get("uart_flags") == abi.UART_VALID | abi.UART_TX
    log(hv, [(0x1F6, 2, 1, 0xF0)])                     # a write not yet replayed: the mirror is left as it is
    hv.paravirt.watch()
    assert page.get("dev_count") == 1


@settings(max_examples=60, deadline=None)
@given(entries=st.lists(st.tuples(st.integers(0, 0xFFFF), st.integers(0, 255), st.integers(0, 255),
                                  st.integers(0, 0xFFFFFFFF)), max_size=6),
       count=st.integers(0, 0xFFFFFFFF), out=st.binary(max_size=64), near=st.booleans())
def test_random_device_logs_never_raise_in_the_host_nor_touch_hypervisor_memory(image, entries, count, out, near):
    hv = machine(image)
    if near:            # the devices the wedge serves, sizes and counts in range: the replay paths, not the bounds
        entries = [(port % 8 + 0x1F0 if p % 2 else port % 8 + 0x3F8, kind % 5, 1 << (size % 3), value % 600)
                   for p, (port, kind, size, value) in enumerate(entries)]
        count = len(entries)
    cfg = hv.window.config
    hv.board.devices["com1"].sink = io.BytesIO()
    before = bytes(hv.cpu.uc.mem_read(cfg.phys_base, cfg.phys_size))
    log(hv, entries, count, out)
    try:
        hv.paravirt.settle()
    except MachineStop:
        pass
    after = bytes(hv.cpu.uc.mem_read(cfg.phys_base, cfg.phys_size))
    shared = hv.paravirt.page.frame - cfg.phys_base
    for i in (i for i in range(len(before)) if before[i] != after[i]):
        assert shared <= i < shared + PAGE, hex(i)
