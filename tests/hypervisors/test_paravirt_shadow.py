"""The guest kernel ported by hand to `shadow`'s ABI 1 (`make PARAVIRT=shadow`, guest_src/kernel/arch-shadow/): its
note and ABI header agree with hypervisors/shadow/abi.py; the eleven workloads on `--target shadow` (mode paravirt)
give the native kernel's output and status on the bare PC, through hypercalls by name and without a port access to
the disk or to the console's transmitter; the image is refused on the bare PC, on direct and by full
virtualization; and every hypercall added for the port, called with random registers, answers with a result or CF
and an error code, never a host exception, and changes no hypervisor memory beyond the vCPU page and the shadows."""

from __future__ import annotations

import io
import re
import struct
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from unicorn import x86_const as X

from hypervisors.shadow import WINDOW, abi
from previrt.elf import paravirt_target
from previrt.guestrun import EXIT_OK, WORKLOADS, GuestBuild, copy_guest, run_workload
from previrt.machine.runner import RunConfig, check_mode, make_machine
from previrt.vmm import pvdevices
from previrt.vmm.window import PAGE
from tests.machine.guestkit import run_image

VARIANT = "paravirt-shadow"
PORT = "guest_src/kernel/arch-shadow"
NAMES = [call.name for call in abi.HYPERCALLS]
NEW = NAMES[NAMES.index("set_cr3"):]          # the hypercalls added for the port
ATA_PORTS = set(range(0x1F0, 0x1F8)) | {0x3F6}
COM1_PORTS = set(range(0x3F8, 0x400))
COM1_SETUP = 10          # console_init: the receiver's set-up (7 out, 2 in, then IER): nothing is ever transmitted


@pytest.fixture(scope="module")
def guest(tmp_path_factory) -> GuestBuild:
    """The guest tree copied and built twice: the native kernel (for the bare PC) and the port."""
    root = copy_guest(tmp_path_factory.mktemp("guest") / "guest_src")
    for extra in ([], ["PARAVIRT=shadow"]):
        done = subprocess.run(["make", "-C", str(root), "-s", "-j4", f"PYTHON={sys.executable}", *extra],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    return GuestBuild(root)


def header_defines(guest: GuestBuild) -> dict[str, int]:
    """The numbers shadow_abi.h defines (a vCPU field as its offset added to SHADOW_VCPU)."""
    text = (guest.root / "kernel/arch-shadow/shadow_abi.h").read_text()
    found = {m[1]: int(m[2], 0) for m in re.finditer(r"#define (\w+) (0x[0-9A-Fa-f]+|\d+)\b", text)}
    for m in re.finditer(r"#define (VCPU_\w+) \(SHADOW_VCPU \+ (0x[0-9A-Fa-f]+)\)", text):
        found[m[1]] = found["SHADOW_VCPU"] + int(m[2], 16)
    return found


def test_the_port_names_shadow_abi_1_and_its_header_agrees_with_abi_py(guest):
    assert paravirt_target(str(guest.image(VARIANT))) == ("shadow", abi.ABI_VERSION)
    d = header_defines(guest)
    assert d["SHADOW_HC_PAGE"] == WINDOW.base + abi.WEDGE_OFFSET and abi.HC_STRIDE == 8
    assert d["SHADOW_VCPU"] == WINDOW.base + abi.VCPU_OFFSET
    numbered = {name[3:].lower(): value for name, value in d.items() if name.startswith("HC_")}
    assert numbered and all(NAMES[value] == name for name, value in numbered.items()), numbered
    assert set(NEW) <= set(numbered)
    assert {f: d[f"VCPU_{f.upper()}"] - d["SHADOW_VCPU"] for f in abi.VCPU_FIELDS} == \
        {f: off for f, (off, _) in abi.VCPU_FIELDS.items()}
    assert (d["INVLPG_BATCH"], d["CONSOLE_CHUNK"], d["ASSIST_EAGER_DIRTY"]) == \
        (abi.INVLPG_MAX, abi.CONSOLE_MAX, abi.ASSIST_EAGER_DIRTY)
    assert (d["BLOCK_READ"], d["BLOCK_WRITE"]) == (pvdevices.BLOCK_READ, pvdevices.BLOCK_WRITE)


def port_accesses(stderr: str) -> list[int]:
    """The ports of every port exit in an --trace-exits log: the in/out hypercalls (ecx) and trapped instructions."""
    ports = []
    for line in stderr.splitlines():
        m = re.match(r"exit eip=\S+ ring=\d (\S+)\s+(.*)", line)
        if m is None:
            continue
        cause, what = m.groups()
        if cause in ("hypercall:in", "hypercall:out"):
            ports.append(int(re.search(r"ecx=(0x[0-9a-f]+)", what)[1], 16) & 0xFFFF)
        elif cause in ("gp:in", "gp:out", "gp:ins", "gp:outs"):
            ports.append(int(re.search(r"port (0x[0-9a-f]+)", what)[1], 16))
    return ports


# What each workload must have asked for by name (every one of them: set_cr3, console_write, block_info, idle-free
# boot aside, the calls its work is made of).
EXPECTED_CALLS = {"disk": {"block_io"}, "build": {"block_io"}, "sleep": {"idle"}, "pagetouch": {"invlpg_many"},
                  "input": {"idle"}}


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_workload_ported_kernel_on_shadow_equals_native_on_bare(guest, name, tmp_path):
    n = WORKLOADS[name].test_size
    bare = run_workload(guest, "native", name, n, tmp_path, expect=EXIT_OK)
    port = run_workload(guest, VARIANT, name, n, tmp_path, target="shadow", options=("--trace-exits",),
                        expect=EXIT_OK)
    assert bare.ok and port.ok, (bare.describe(), port.describe())
    assert (port.status, port.output) == (bare.status, bare.output)
    stats = port.stats
    assert stats["target"] == "shadow" and stats["mode"] == "paravirt" and stats["patched_sites"] == {}
    calls, exits = stats["hypercalls"], stats["exits"]
    assert {"set_cr3", "console_write", "block_info", "paging_assist"} | EXPECTED_CALLS.get(name, set()) <= set(calls)
    assert "invalid" not in calls and sum(calls.values()) == sum(v for k, v in exits.items()
                                                                  if k.startswith("hypercall:"))
    # what traps is boot's alone: the descriptor tables and CR4/CR0; no cli/sti/pushf/popf/iret/hlt, CR read, invlpg
    traps = {k: v for k, v in exits.items() if k.startswith(("gp:", "rewrite:")) and k != "gp:guest"}
    assert traps == {"gp:lgdt": 1, "gp:lidt": 1, "gp:ltr": 1, "gp:mov_to_cr": 2,
                     **({"gp:ins": traps.get("gp:ins", 0)} if name == "input" else {})}, traps
    ports = port_accesses(port.stderr)
    assert not ATA_PORTS & set(ports)                                # the disk is block_io alone
    com1 = [p for p in ports if p in COM1_PORTS]
    assert len(com1) == COM1_SETUP if name != "input" else len(com1) > COM1_SETUP     # input: the receiver
    if name == "sleep":                                            # timer ticks: their EOIs deferred, no exit
        assert stats["device_in_place"]["pic_eoi"] >= n
    if name == "pagetouch":                                        # the paging assist: no dirty-bit faults
        assert stats["paging"]["eager-dirty"] >= 16 * n and stats["paging"].get("shadow-dirty", 0) <= 1
        assert calls["invlpg_many"] == n and stats["paging"]["flush:invlpg"] == 16 * n


@pytest.mark.parametrize("where, words", [
    (("--target", "bare"), "cannot run on the bare PC; use --target shadow"),
    (("--target", "direct"), "cannot run on direct; use --target shadow"),
    (("--target", "shadow", "--virt", "full"), "cannot run by full virtualization"),
])
def test_the_port_is_refused_anywhere_else(guest, where, words):
    image = guest.image(VARIANT)
    done = run_image(image, "--cmdline", "run=null n=5", *where)
    assert done.returncode == 2 and done.stdout == b""
    err = done.stderr.decode()
    assert str(image) in err and words in err, err


# --- hostile hypercalls ---------------------------------------------------------------------------------------

RAM_END = 64 << 20                 # the default --mem: extended RAM is [1 MiB, 64 MiB)
REQUEST = 0x200000                 # where a test writes a block request (guest RAM)
BUFFER = 0x300000
DISK_SECTORS = 64
POINTERS = [0, 4, 0x9FFF0, 0xA0000 - 8, 0xA0000, 0xB8000, 0xF0000, 0xFFFFC, 0x100000, REQUEST, BUFFER,
            RAM_END - 16, RAM_END - 4, RAM_END, 0xFC02F000, 0xFFFFFFF0]
COUNTS = [0, 1, 2, 7, 8, 63, 64, 65, 256, 257, 4096, 4097, 0xFFFFFFFF]


@pytest.fixture(scope="module")
def disk(tmp_path_factory):
    path = tmp_path_factory.mktemp("disk") / "disk.img"
    path.write_bytes(bytes(range(256)) * (DISK_SECTORS * 2))
    return path


def ported_machine(image, disk):
    config = RunConfig(image=str(image), target="shadow", disk=str(disk))
    check_mode(config)
    return make_machine(config, io.BytesIO(), None)


def hypervisor_memory(hv) -> bytes:
    return bytes(hv.cpu.uc.mem_read(hv.window.config.phys_base, hv.window.config.phys_size))


def in_ram(addr: int, size: int) -> bool:
    return any(lo <= addr and addr + max(size, 1) <= hi for lo, hi in ((0, 0xA0000), (0x100000, RAM_END)))


def acceptable(call: str, ecx: int, edx: int, request: tuple[int, int, int, int]) -> bool:
    """Whether the arguments are valid (the call then succeeds; the one exception is block_io's own errors)."""
    if call == "set_cr3":
        return not ecx & 0xFE7 and in_ram(ecx & ~0xFFF, PAGE)
    if call == "invlpg_many":
        return 1 <= edx <= abi.INVLPG_MAX and in_ram(ecx, 4 * edx)
    if call == "console_write":
        return edx <= abi.CONSOLE_MAX and in_ram(ecx, edx)
    if call == "block_info":
        return ecx in (0, 1)
    if call == "paging_assist":
        return not ecx & ~abi.ASSIST_FLAGS
    if call == "block_io":
        op, lba, count, buf = request
        return (ecx == REQUEST and edx == 0 and op in (0, 1) and 1 <= count <= pvdevices.BLOCK_MAX_SECTORS
                and lba + count <= DISK_SECTORS and in_ram(buf, 512 * count))
    return True                                     # invlpg, idle (with a readable stack), irq_pending


@settings(max_examples=80, deadline=None)
@given(call=st.sampled_from(NEW), ecx=st.one_of(st.sampled_from(POINTERS + COUNTS), st.integers(0, 0xFFFFFFFF)),
       edx=st.one_of(st.sampled_from(COUNTS), st.integers(0, 0xFFFFFFFF)),
       request=st.tuples(st.sampled_from([0, 1, 2, 0xFFFFFFFF]), st.sampled_from([0, 1, 60, 63, 64, 0xFFFFFFFF]),
                         st.sampled_from(COUNTS), st.sampled_from(POINTERS)),
       esp=st.sampled_from([0x80000, 0x9FFFC, RAM_END - 4, RAM_END - 2, 0xFC000000, 0xFFFFFFFE]),
       vif=st.booleans())
def test_new_hypercalls_with_random_arguments(guest, disk, call, ecx, edx, request, esp, vif):
    hv = ported_machine(guest.image(VARIANT), disk)
    assert hv.mode == "paravirt"
    hv.cpu.phys_write(REQUEST, struct.pack("<4I", *request))
    hv.cpu.phys_write(0x80000, struct.pack("<I", 0x00101234))          # a return address for idle's ret
    before = hypervisor_memory(hv)
    entry = hv.paravirt.wedge.base + abi.HC_STRIDE * NAMES.index(call)
    for reg, value in dict(ECX=ecx, EDX=edx, EAX=0x5A5A5A5A, ESP=esp, EIP=entry + 2).items():
        hv.cpu.set_reg(getattr(X, f"UC_X86_REG_{reg}"), value)
    hv.vcpu.interrupt_flag = vif
    hv.paravirt.hypercall()                                               # nothing may raise, not even a stop
    assert hv.paravirt.hypercalls == {call: 1}
    eax, cf = hv.cpu.reg(X.UC_X86_REG_EAX), bool(hv.cpu.reg(X.UC_X86_REG_EFLAGS) & abi.CF)
    if call == "idle":                      # a readable stack: the entry's ret taken, IF on, halted
        good = esp in (0x80000, 0x9FFFC, RAM_END - 4)
        assert cf != good
        if good:
            assert hv.vcpu.halted and hv.vcpu.interrupt_flag and hv.cpu.reg(X.UC_X86_REG_ESP) == esp + 4
            assert esp != 0x80000 or hv.cpu.reg(X.UC_X86_REG_EIP) == 0x00101234
    elif call == "block_io" and acceptable(call, ecx, edx, request):
        assert not cf and eax == request[2]
        if request[0] == 0:
            data = hv.cpu.phys_read(request[3], 512 * request[2])
            assert data == disk.read_bytes()[512 * request[1]:512 * (request[1] + request[2])]
    else:
        assert cf != acceptable(call, ecx, edx, request), (eax, cf)
    if cf:
        assert eax in (abi.EINVAL, -pvdevices.ENODEV, -pvdevices.EIO)
    base = hv.window.config.phys_base                                     # pages that may change: all page-aligned
    allowed = [range(base, base + len(hv.window.pt_frames) * PAGE),        # the window's own page tables
               range(*hv.paging.pool),                                     # the shadow tables
               range(hv.paravirt.page.frame, hv.paravirt.page.frame + PAGE)]
    after = hypervisor_memory(hv)
    changed = [base + i for i in range(0, len(before), PAGE) if before[i:i + PAGE] != after[i:i + PAGE]]
    assert all(any(page in r for r in allowed) for page in changed), [hex(page) for page in changed[:8]]


@settings(max_examples=40, deadline=None)
@given(master=st.integers(0, 255), slave=st.integers(0, 255), exit_flag=st.integers(0, 255),
       boundary=st.booleans())
def test_deferred_eois_from_a_hostile_vcpu_page(guest, disk, master, slave, exit_flag, boundary):
    """Whatever counts the guest leaves in the vCPU page: each is applied as that many non-specific EOIs to its PIC
    (never an exception), the counts are cleared, and eoi_exit says again whether a request waits."""
    hv = ported_machine(guest.image(VARIANT), disk)
    page = hv.paravirt.page
    page.put("eoi_master", master), page.put("eoi_slave", slave), page.put("eoi_exit", exit_flag)
    hv.paravirt.settle(boundary=boundary)
    assert page.get("eoi_master") == page.get("eoi_slave") == 0
    assert hv.paravirt.in_place.get("pic_eoi", 0) == master + slave
    pic = hv.board.pic
    waiting = (pic.master.irr & ~pic.master.imr) or (pic.slave.irr & ~pic.slave.imr)
    assert page.get("eoi_exit") == (int(bool(waiting)) if master or slave else exit_flag)
