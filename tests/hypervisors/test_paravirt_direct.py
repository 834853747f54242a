"""The guest kernel ported by hand to `direct`'s para-virtual ABI (`make PARAVIRT=direct`, kernel/arch-direct/):
every workload gives native-on-bare's output, status and disk bytes on `--target direct` in mode paravirt, with its
console and disk as hypercalls (no port I/O for them) and its page-table updates batched; the image is refused
elsewhere; the port's header agrees with abi.py; and the hypercalls the port added, given random registers by a
hostile guest, never raise in the host nor touch hypervisor memory."""

from __future__ import annotations

import io
import re
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from unicorn import x86_const as X

from hypervisors.direct import abi
from previrt.guestrun import (EXIT_OK, WORKLOADS, GuestBuild, copy_guest, make_variables, run_image, run_workload,
                              workload)
from previrt.machine.cpu import MachineStop
from previrt.machine.runner import RunConfig, check_mode
from previrt.vmm import registry
from previrt.vmm.machine import HypervisorMachine
from previrt.vmm.pvdevices import BLOCK_MAX_SECTORS
from previrt.vmm.window import PAGE
from tests.hypervisors.test_direct_abi import PD, PT, with_paging   # a directory and its one table, made active

DIRECT = registry.load("direct")
VARIANT = "paravirt-direct"
PORT_HYPERCALLS = ("set_cr3", "invlpg", "idle", "irq_pending", "console_write", "console_read", "block_io",
                   "mmu_update_tlb")
PORT_IO = ("gp:in", "gp:out", "gp:ins", "gp:outs")
CONSOLE_DISK_PORTS = set(range(0x1F0, 0x1F8)) | {0x3F6} | set(range(0x3F8, 0x400))
BUF = 0x00300000                                         # guest-physical = linear at hand-over (paging off)


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> GuestBuild:
    """The native kernel and the port, built once in a copy of guest_src/."""
    root = copy_guest(tmp_path_factory.mktemp("paravirt") / "guest_src")
    for extra in ([], ["PARAVIRT=direct"]):
        subprocess.run(["make", "-C", str(root), "-s", "-j4", *make_variables("native"), *extra], check=True,
                       capture_output=True)
    return GuestBuild(root)


@pytest.fixture(scope="module")
def boot_port_io(build, tmp_path_factory) -> dict:
    """The port I/O exits of booting the port and running the smallest workload: the PIC and PIT set-up."""
    result = run_workload(build, VARIANT, "null", 1, tmp_path_factory.mktemp("boot"), target="direct")
    assert result.ok, result.describe()
    return {k: v for k, v in result.stats["exits"].items() if k in PORT_IO}


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_each_workload_runs_as_native_on_bare(build, boot_port_io, tmp_path, name):
    n = WORKLOADS[name].test_size
    bare = run_workload(build, "native", name, n, tmp_path, target="bare")
    port = run_workload(build, VARIANT, name, n, tmp_path, target="direct", options=["--trace-exits"])
    assert bare.ok and bare.status == EXIT_OK, bare.describe()
    assert port.ok, port.describe()
    assert (port.output, port.status) == (bare.output, bare.status)
    assert (tmp_path / f"native-bare-{name}.img").read_bytes() == (tmp_path / f"{VARIANT}-direct-{name}.img"
                                                                    ).read_bytes()
    stats = port.stats
    assert stats["mode"] == "paravirt" and stats["patched_sites"] == {} and stats["rewritten_sites"] == {}
    exits, calls = stats["exits"], stats["hypercalls"]
    assert {f"hypercall:{k}": v for k, v in calls.items()} == {k: v for k, v in exits.items()
                                                                if k.startswith("hypercall:")}
    # booting is the only emulated CR and descriptor-table work; no hlt, no invlpg, nothing rewritten
    assert not {k for k in exits if k.startswith(("rewrite:", "unpatch:")) or k in ("gp:hlt", "gp:invlpg")}
    assert exits.get("gp:mov_to_cr", 0) == 3 and exits.get("gp:lgdt") == 1
    # port I/O only for the PIC and PIT set-up (and the PIC's mask for IRQ 4 when the console is read)
    port_io = {k: v for k, v in exits.items() if k in PORT_IO}
    unmask = 2 if workload(name).reads_console else 0
    assert port_io == {**boot_port_io, "gp:out": boot_port_io["gp:out"] + unmask}
    traced = [int(m.group(1), 16) for m in re.finditer(r"gp:(?:in|out|ins|outs)\s+port (0x[0-9a-f]+)", port.stderr)]
    assert not CONSOLE_DISK_PORTS & set(traced)
    assert calls.get("block_io", 0) >= 1                                         # the disk's size
    expected = {"disk": "block_io", "build": "block_io", "sleep": "idle",
                "input": "console_read",
                "ctxsw": "set_cr3", "pagetouch": "mmu_update_tlb"}
    if name in expected:
        assert calls.get(expected[name], 0) > 1, calls
    if name == "fork":      # each exit's teardown: batched into the deferred queue, applied by the CR3 load after it
        assert stats["page_table_updates"]["queued"] >= n and "mmu_update" not in calls


def test_lazy_mode_batches_the_unmaps_of_one_sbrk(build, tmp_path):
    """pagetouch unmaps 16 pages per round: one mmu_update_tlb per round, where native code traps 16 stores and 16
    invlpg."""
    n = 3
    port = run_workload(build, VARIANT, "pagetouch", n, tmp_path, target="direct")
    full = run_workload(build, "native", "pagetouch", n, tmp_path, target="direct")
    assert port.ok and full.ok and port.output == full.output
    assert port.stats["hypercalls"]["mmu_update_tlb"] == n
    assert full.stats["exits"]["gp:invlpg"] == 16 * n
    assert sum(port.stats["exits"].values()) < sum(full.stats["exits"].values()) / 2


@pytest.mark.parametrize("target, virt", [("bare", []), ("shadow", []), ("direct", ["--virt", "full"])])
def test_the_port_runs_only_on_direct(build, tmp_path, target, virt):
    result = run_image(build.image(VARIANT), tmp_path, "run=null n=1", build.fresh_disk(tmp_path, target), target,
                       virt, expect=2)
    assert result.status == 2 and result.output == ""
    assert "direct" in result.stderr and "para-virtual" in result.stderr


def test_the_ports_header_agrees_with_abi_py():
    header = Path(__file__).resolve().parents[2] / "guest_src/kernel/arch-direct/direct_abi.h"
    defines = {m.group(1): int(m.group(2), 0) for m in re.finditer(r"#define (\w+) (0x[0-9A-Fa-f]+|\d+)",
                                                                   header.read_text())}
    base = DIRECT.window.base
    assert defines["DIRECT_ABI_VERSION"] == abi.ABI_VERSION == DIRECT.abi_version
    assert defines["DIRECT_HYPERCALL_VECTOR"] == abi.HYPERCALL_VECTOR
    assert defines["DIRECT_SHARED"] == base + abi.SHARED_OFFSET
    assert defines["DIRECT_TYPED_BITMAP"] == base + abi.TYPED_OFFSET
    assert defines["DIRECT_TYPED_FRAMES"] == 8 * abi.TYPED_SIZE
    for field in ("vif", "pending", "cr0", "cr2", "cr3", "cr4", "eoi_exit", "eoi_master", "eoi_slave", "con_prod",
                  "con_cons", "con_ring", "mmu_count", "mmu_queue"):
        assert defines[f"DIRECT_{field.upper()}"] == abi.SHARED_FIELDS[field][0], field
    for name, value in defines.items():
        if name.startswith("HC_"):
            assert abi.HC[name[3:].lower()] == value, name
    assert defines["DIRECT_MMU_UPDATE_MAX"] == abi.MMU_UPDATE_MAX
    assert defines["DIRECT_MMU_QUEUE_SIZE"] == abi.MMU_QUEUE_SIZE
    assert defines["DIRECT_CONSOLE_WRITE_MAX"] == abi.CONSOLE_WRITE_MAX
    assert defines["DIRECT_BLOCK_MAX_SECTORS"] == BLOCK_MAX_SECTORS
    assert defines["DIRECT_CON_RING_SIZE"] == abi.CON_RING_SIZE == abi.SHARED_FIELDS["con_ring"][1]


# ---- the port's hypercalls from the host side ------------------------------------------------------------------

@pytest.fixture(scope="module")
def disk(build, tmp_path_factory) -> Path:
    return build.fresh_disk(tmp_path_factory.mktemp("disk"), "hypercalls")


def machine(build: GuestBuild, disk: Path) -> HypervisorMachine:
    config = RunConfig(image=str(build.image(VARIANT)), target="direct", disk=str(disk))
    check_mode(config)
    hv = HypervisorMachine(config, io.BytesIO(), hypervisor=DIRECT)
    assert hv.mode == "paravirt"
    hv.board.devices["com1"].sink = io.BytesIO()
    return hv


def call(hv, name: str, *args: int) -> int:
    regs = (X.UC_X86_REG_EBX, X.UC_X86_REG_ECX, X.UC_X86_REG_EDX, X.UC_X86_REG_ESI, X.UC_X86_REG_EDI)
    hv.cpu.set_reg(X.UC_X86_REG_EAX, abi.HC[name])
    for reg, value in zip(regs, args):
        hv.cpu.set_reg(reg, value & 0xFFFFFFFF)
    hv.paravirt.hypercall()
    value = hv.cpu.reg(X.UC_X86_REG_EAX)
    return value - (1 << 32) if value >> 31 else value


def test_console_write_sends_the_bytes_out_of_com1(build, disk):
    hv = machine(build, disk)
    hv.cpu.uc.mem_write(BUF, b"hello, console\n")
    assert call(hv, "console_write", BUF, 15) == 15
    assert hv.board.devices["com1"].sink.getvalue() == b"hello, console\n"
    assert call(hv, "console_write", BUF, abi.CONSOLE_WRITE_MAX + 1) == abi.EINVAL
    with_paging(hv)
    assert call(hv, "console_write", 0x00800000, 4) == abi.EFAULT           # not mapped
    assert call(hv, "console_write", DIRECT.window.base, 4) == abi.EFAULT   # the window: nothing there
    assert hv.exits["hypercall:console_write"] == 4


def test_console_read_sets_com1_up_and_takes_what_it_received(build, disk, tmp_path):
    source = tmp_path / "typed.txt"
    source.write_bytes(b"typed at the console\n")
    config = RunConfig(image=str(build.image(VARIANT)), target="direct", disk=str(disk))
    check_mode(config)
    with source.open("rb") as serial_in:
        hv = HypervisorMachine(config, io.BytesIO(), serial_in, hypervisor=DIRECT)
        uart = hv.board.devices["com1"]
        assert not uart.receive_interrupt_enabled
        assert call(hv, "console_read", 0, 0) == 0                  # opens: 8N1, FIFOs, OUT2, receive interrupt
        assert uart.receive_interrupt_enabled and not uart.dlab
        for _ in range(40):                                          # the remote sends one byte per character time
            hv.clock.advance(hv.clock.now + uart.char_time())
        got = call(hv, "console_read", BUF, 64)
        assert 0 < got <= 21 and bytes(hv.cpu.uc.mem_read(BUF, got)) == b"typed at the console\n"[:got]
        assert call(hv, "console_read", BUF, abi.CONSOLE_WRITE_MAX + 1) == abi.EINVAL
        with_paging(hv)
        assert call(hv, "console_read", 0x00800000, 4) == abi.EFAULT


def ring(hv, data: bytes, prod: int, cons: int) -> None:
    page = hv.paravirt.page
    hv.cpu.uc.mem_write(page.frame + abi.SHARED_FIELDS["con_ring"][0], data.ljust(abi.CON_RING_SIZE, b"\0"))
    page.put("con_prod", prod)
    page.put("con_cons", cons)


def test_the_console_ring_goes_out_before_anything_looks_at_a_device(build, disk):
    hv = machine(build, disk)
    sink = hv.board.devices["com1"].sink
    text = b"ring around the console\n"
    wrapped = text[-5:] + bytes(abi.CON_RING_SIZE - len(text)) + text[:-5]      # written across the ring's end
    ring(hv, wrapped, 5, (5 - len(text)) & 0xFFFFFFFF)
    hv.paravirt.settle()
    assert sink.getvalue() == text and hv.paravirt.page.get("con_cons") == 0x00000005
    hv.paravirt.settle()
    assert sink.getvalue() == text                                               # nothing twice


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=64), prod=st.integers(0, 0xFFFFFFFF), cons=st.integers(0, 0xFFFFFFFF))
def test_a_random_console_ring_never_raises_in_the_host_nor_touches_hypervisor_memory(build, disk, data, prod,
                                                                                       cons):
    hv = machine(build, disk)
    before = hypervisor_memory(hv)
    ring(hv, data, prod, cons)
    hv.paravirt.settle(boundary=True)
    assert len(hv.board.devices["com1"].sink.getvalue()) <= abi.CON_RING_SIZE
    after = hypervisor_memory(hv)
    shared = hv.paravirt.page.frame - hv.window.config.phys_base
    assert all(shared <= i < shared + PAGE for i in range(len(before)) if before[i] != after[i])


def test_block_io_reads_and_writes_the_ata_models_disk(build, disk):
    hv = machine(build, disk)
    sectors = call(hv, "block_io", 2, 0, 0, 0, 0)
    assert sectors == disk.stat().st_size // 512
    hv.cpu.uc.mem_write(BUF, bytes(range(256)) * 4)
    assert call(hv, "block_io", 1, 3000, 2, BUF, 0) == 0
    assert disk.read_bytes()[3000 * 512:3002 * 512] == bytes(range(256)) * 4
    assert call(hv, "block_io", 0, 3000, 1, BUF + 0x1000, 0) == 0
    assert bytes(hv.cpu.uc.mem_read(BUF + 0x1000, 512)) == bytes(range(256)) * 2
    for args, error in [((0, 0, 0, BUF, 0), abi.EINVAL), ((0, 0, BLOCK_MAX_SECTORS + 1, BUF, 0), abi.EINVAL),
                        ((0, sectors, 1, BUF, 0), abi.EINVAL), ((3, 0, 1, BUF, 0), abi.EINVAL),
                        ((0, 0, 1, BUF, 2), abi.EINVAL), ((0, 0, 1, BUF, 1), -19)]:
        assert call(hv, "block_io", *args) == error, args
    with_paging(hv)
    assert call(hv, "block_io", 0, 0, 1, 0x00800000, 0) == abi.EFAULT
    assert call(hv, "block_io", 1, 3000, 1, DIRECT.window.base, 0) == abi.EFAULT
    assert disk.read_bytes()[3000 * 512:3001 * 512] == bytes(range(256)) * 2   # nothing written on EFAULT


def test_set_cr3_validates_and_keeps_cr3_on_refusal(build, disk):
    hv = machine(build, disk)
    with_paging(hv)
    assert call(hv, "set_cr3", 0x7FFF0000) == abi.EINVAL
    bad = 0x00210000
    hv.cpu.uc.mem_write(bad, struct.pack("<I", DIRECT.window.phys_base | 0x83) + bytes(PAGE - 4))
    assert call(hv, "set_cr3", bad) == abi.EPERM
    assert hv.vcpu.cr3 == PD and hv.paging.current == PD
    good = 0x00220000
    hv.cpu.uc.mem_write(good, struct.pack("<I", PT | 3) + bytes(PAGE - 4))
    assert call(hv, "set_cr3", good) == 0
    assert hv.vcpu.cr3 == good and hv.paging.current == good and hv.paravirt.page.get("cr3") == good


def test_idle_and_mmu_update_tlb(build, disk):
    hv = machine(build, disk)
    hv.vcpu.interrupt_flag = False
    assert call(hv, "idle") == 0 and hv.vcpu.halted and hv.vcpu.interrupt_flag
    with_paging(hv)
    hv.cpu.uc.mem_write(BUF, struct.pack("<IIII", PT + 8, 0x5003, PT + 12, 0))
    assert call(hv, "mmu_update_tlb", BUF, 2) == 0
    assert struct.unpack("<II", hv.cpu.uc.mem_read(PT + 8, 8)) == (0x5003, 0)
    assert call(hv, "invlpg", 0x1234) == 0


def hypervisor_memory(hv) -> bytes:
    cfg = hv.window.config
    return bytes(hv.cpu.uc.mem_read(cfg.phys_base, cfg.phys_size))


@settings(max_examples=80, deadline=None)
@given(name=st.sampled_from(PORT_HYPERCALLS), regs=st.lists(st.integers(0, 0xFFFFFFFF), min_size=5, max_size=5),
       near=st.booleans(), paging=st.booleans())
def test_random_port_hypercalls_never_raise_in_the_host_nor_touch_hypervisor_memory(build, disk, name, regs, near,
                                                                                     paging):
    hv = machine(build, disk)
    if paging:
        with_paging(hv)
    if near:            # values the calls accept or nearly accept: their paths, not their bounds
        regs = [regs[0] % 4, regs[1] % 8192, regs[2] % 10, BUF + regs[3] % 0x20000, regs[4] % 3]
        if name in ("set_cr3", "console_write", "console_read", "mmu_update_tlb", "invlpg"):
            regs = [BUF + regs[1] * 8 if name == "mmu_update_tlb" else PD + (regs[1] & ~0xFFF), regs[2] * 100,
                    *regs[2:]]
    cfg = hv.window.config
    before = hypervisor_memory(hv)
    try:
        call(hv, name, *regs)
    except MachineStop:
        pass
    after = hypervisor_memory(hv)
    shared = hv.paravirt.page.frame - cfg.phys_base
    bitmap = hv.paravirt.typed_bitmap - cfg.phys_base
    for i in (i for i in range(len(before)) if before[i] != after[i]):
        accessed = not (before[i] ^ after[i]) & ~0x60     # a walk of the hypervisor's own tables: A/D bits
        assert accessed or shared <= i < shared + PAGE or bitmap <= i < bitmap + abi.TYPED_SIZE, hex(i)


# ---- the port's cost ---------------------------------------------------------------------------------------------

def test_portcost_counts_lines_against_what_each_file_replaces(tmp_path):
    import importlib.util
    import sys
    guest = Path(__file__).resolve().parents[2] / "guest_src"
    spec = importlib.util.spec_from_file_location("portcost", guest / "tools" / "portcost.py")
    portcost = importlib.util.module_from_spec(spec)
    sys.modules["portcost"] = portcost          # dataclasses look their module up there
    spec.loader.exec_module(portcost)
    assert portcost.line_diff(["a", "b", "c"], ["a", "B", "c", "d"]) == (1, 1, 0)
    assert portcost.line_diff(["a", "b", "c"], ["c"]) == (0, 0, 2)
    costs = {c.path: c for c in portcost.port_costs(guest, guest / "kernel" / "arch-direct")}
    assert costs["kernel/arch-direct/trap.S"].against == "kernel/arch/trap.S"
    assert costs["kernel/arch-direct/console.c"].against == "kernel/console.c"
    assert costs["kernel/arch-direct/mmu.c"].against == "new"
    assert costs["kernel/arch-direct/mmu.c"].added == costs["kernel/arch-direct/mmu.c"].lines
    assert "kernel/arch-direct/PORT.md" not in costs
    in_git = subprocess.run(["git", "-C", str(guest), "cat-file", "-e", "a73d9b0"], capture_output=True).returncode == 0
    if not in_git:
        pytest.skip("the common files' cost needs the repository's history (commit a73d9b0)")
    out = tmp_path / "cost.md"
    assert portcost.main([str(guest / "kernel" / "arch-direct"), "--base", "a73d9b0", "-o", str(out)]) == 0
    text = out.read_text()
    assert "| common | `kernel/mm.c` |" in text and f"**inside the port folder** | {len(costs)} files" in text
