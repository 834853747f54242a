"""`direct` in previrt mode: its templates on every site of the guest kernel (each replacement decodes as intended
and fits), a waiting interrupt taken exactly where the guest enables interrupts again, and hypercalls from a hostile
guest (random numbers and registers): never a host exception, never a change to hypervisor memory beyond the
shared page's pending bit."""

from __future__ import annotations

import io
import subprocess
import sys
import re
from pathlib import Path

import capstone
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from unicorn import x86_const as X

from hypervisors.direct import abi
from previrt import patch
from previrt.guestrun import build_guest
from previrt.machine.cpu import MachineStop
from previrt.machine.runner import RunConfig, check_mode
from previrt.vmm import registry
from previrt.vmm.machine import HypervisorMachine
from previrt.vmm.window import PAGE
from tests.machine.guestkit import build_image, previrt_cc, run_image

CPU_GUESTS = Path(__file__).resolve().parents[1] / "machine" / "guests" / "cpu"
DIRECT = registry.load("direct")


@pytest.fixture(scope="module")
def kernel(tmp_path_factory) -> Path:
    return build_guest(tmp_path_factory.mktemp("guest") / "guest_src").image("previrt")


def decoded(data: bytes, address: int) -> str:
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_32)
    insn = next(md.disasm(data, address))
    return f"{insn.mnemonic} {insn.op_str}".strip()


def decoded_all(data: bytes, address: int) -> list[str]:
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_32)
    return [f"{i.mnemonic} {i.op_str}".strip() for i in md.disasm(data, address)]


def cr3_and_invlpg_replacement(site, entry: str, invlpg: str) -> str:
    """What a CR3 load's or an invlpg's site becomes (both hypervisors): the register pushed and an absolute call
    through the wedge's entry word; the page's address in eax for the wedge's invlpg."""
    original = decoded(site.original, site.address)
    text = decoded_all(site.replacement, site.address)
    if site.kind == "mov_to_cr":
        assert original.startswith("mov cr3, "), original
        return text == [f"push {original.split()[-1]}", f"call dword ptr [{entry:#x}]"]
    operand = original.split(None, 1)[1].replace("byte ptr ", "")
    return text == ["push eax", f"lea eax, {operand}", f"call {invlpg:#x}", "pop eax"]


def test_templates_on_every_site_of_the_guest_kernel(kernel):
    sym = DIRECT.symbols()
    plan = patch.plan(str(kernel), DIRECT.templates, sym)
    assert not plan.unhandled
    wanted = {"cli": f"mov byte ptr [{sym['shared_vif']:#x}], 0", "sti": f"call {sym['wedge_sti']:#x}",
              "pushf": f"call {sym['wedge_pushf']:#x}", "popf": f"call {sym['wedge_popf']:#x}",
              "iret": f"call {sym['wedge_iret']:#x}", "pte_store": f"call {sym['wedge_pte_store']:#x}",
              "pte_load": f"call dword ptr [{sym['shared_pte_load_path']:#x}]"}
    seen = set()
    for site in plan.sites:
        assert len(site.final) == site.size
        if site.directive == "replace":
            text = decoded(site.replacement, site.address)
            if site.kind in wanted:
                assert text == wanted[site.kind], site
            elif site.kind == "out":
                port = decoded(site.original, site.address).split()[1].rstrip(",")
                called = {"0x20": "wedge_pic_master", "0xa0": "wedge_pic_slave", "dx": "wedge_outb_dx"}[port]
                assert text == f"call {sym[called]:#x}", site
            elif site.kind in ("in", "ins", "outs"):
                original = decoded(site.original, site.address)
                called = {"in al, dx": "wedge_inb_dx", "rep insw word ptr es:[edi], dx": "wedge_rep_insw",
                          "rep outsw dx, word ptr [esi]": "wedge_rep_outsw",
                          "rep outsb dx, byte ptr [esi]": "wedge_rep_outsb"}[original]
                assert text == f"call {sym[called]:#x}", site
            elif site.kind in ("mov_to_cr", "invlpg"):
                assert cr3_and_invlpg_replacement(site, sym["wedge_load_cr3_entry"], sym["wedge_invlpg"]), site
            else:
                assert site.kind == "mov_from_cr"
                cr = re.search(r"cr(\d)", decoded(site.original, site.address)).group(1)
                assert re.fullmatch(rf"mov \w+, dword ptr \[{sym['shared_cr' + cr]:#x}\]", text), text
            seen.add(site.kind)
        elif site.directive == "trap":
            assert site.final[0] == 0xCC and site.address in plan.traps
    assert seen == set(wanted) | {"mov_from_cr", "mov_to_cr", "invlpg", "out", "in", "ins", "outs"}


def test_waiting_interrupt_is_taken_where_interrupts_are_enabled_again(tmp_path):
    """irq_window.S, built with previrt cc: the timer interrupt waiting while IF=0 is taken after sti's shadow
    instruction (the same return address as on bare) and right after popf (bare returns into the popf site's
    padding, the patched guest after its call to the wedge: no guest instruction runs in between either way)."""
    image = build_image(tmp_path, [CPU_GUESTS / "irq_window.S"], name="irq_window", cc=previrt_cc())
    bare, patched = (run_image(image, *args) for args in ((), ("--target", "direct")))
    assert bare.returncode == patched.returncode == 1, patched.stderr.decode()
    ret = {name: dict(re.findall(r"(ret\d)=([0-9a-f]{8})", run.stdout.decode())) for name, run in
           (("bare", bare), ("patched", patched))}
    assert ret["patched"]["ret1"] == ret["bare"]["ret1"]
    popf = next(s for s in patch.plan(str(image), DIRECT.templates, DIRECT.symbols()).sites if s.kind == "popf")
    assert int(ret["bare"]["ret2"], 16) == popf.address + popf.insn_len
    assert int(ret["patched"]["ret2"], 16) == popf.address + len(popf.replacement)


@pytest.fixture(scope="module")
def machine_image(tmp_path_factory) -> Path:
    return build_image(tmp_path_factory.mktemp("hypercalls"), [CPU_GUESTS / "spin.S"], name="spin", cc=previrt_cc())


@settings(max_examples=80, deadline=None)
@given(regs=st.lists(st.integers(0, 0xFFFFFFFF), min_size=6, max_size=6), vif=st.booleans(),
       small=st.booleans())
def test_hypercalls_with_random_arguments(machine_image, regs, vif, small):
    config = RunConfig(image=str(machine_image), target="direct")
    check_mode(config)
    hv = HypervisorMachine(config, io.BytesIO(), hypervisor=DIRECT)
    assert hv.mode == "previrt"
    cfg = hv.window.config
    before = bytes(hv.cpu.uc.mem_read(cfg.phys_base, cfg.phys_size))
    number = regs[0] % 8 if small else regs[0]
    for reg, value in zip((X.UC_X86_REG_EAX, X.UC_X86_REG_EBX, X.UC_X86_REG_ECX, X.UC_X86_REG_EDX,
                           X.UC_X86_REG_ESI, X.UC_X86_REG_EDI), [number, *regs[1:]]):
        hv.cpu.set_reg(reg, value)
    hv.cpu.set_reg(X.UC_X86_REG_ESP, 0x7000)
    hv.vcpu.interrupt_flag = vif
    try:
        hv.paravirt.hypercall()
    except MachineStop:
        pass
    if number not in abi.HYPERCALLS:
        assert hv.cpu.reg(X.UC_X86_REG_EAX) == abi.EINVAL & 0xFFFFFFFF
    after = bytes(hv.cpu.uc.mem_read(cfg.phys_base, cfg.phys_size))
    shared = hv.paravirt.page.frame - cfg.phys_base
    identity = hv.window.identity_pd - cfg.phys_base
    changed = {i for i in range(len(before)) if before[i] != after[i]}
    window_tables = range(0, len(hv.window.pt_frames) * PAGE)       # the window's page tables: the hypervisor's own
    for i in changed:
        if identity <= i < identity + PAGE:       # the walk's accessed/dirty bits in the hypervisor's identity map
            assert (before[i] ^ after[i]) & ~0x60 == 0 if i % 4 == 0 else False, hex(i)
        else:
            assert i in window_tables or shared <= i < shared + PAGE, hex(i)


# Guests built with previrt cc whose output on direct, patched, is known to differ from bare (strict: a fix shows).
PATCHED_KNOWN_DIFFERENCES = {
    "ring1": "code in the guest's ring 1 runs the kernel ring's patches (the wedge assumes the guest's ring 0)",
    "tf_nt": "single-stepping (TF) through a patched site steps through the wedge's instructions",
    "irq_window": "an interrupt after popf returns after the patched site's call, not into its padding "
                  "(test_waiting_interrupt_is_taken_where_interrupts_are_enabled_again checks it)",
}
# Guests whose output depends on where a timer tick lands: the wedge's instructions move virtual time, so a patched
# run's ticks fall elsewhere (the unpatched runs compare them with bare instruction for instruction).
TIMING_DEPENDENT = {"irq_ring3": "prints the ring of the instruction a tick interrupts"}
PROBES = Path(__file__).resolve().parents[1] / "vmm" / "guests"
PROBE_INCLUDES = (CPU_GUESTS, PROBES)


def patched_case(path: Path):
    reason = PATCHED_KNOWN_DIFFERENCES.get(path.stem)
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    if path.stem in TIMING_DEPENDENT:
        marks = [pytest.mark.skip(reason=f"timing-dependent output: {TIMING_DEPENDENT[path.stem]}")]
    return pytest.param(path, marks=marks, id=f"{path.parent.name}/{path.stem}")


@pytest.mark.parametrize("source", [patched_case(p) for p in sorted(CPU_GUESTS.glob("*.S"))]
                         + [patched_case(p) for p in sorted((PROBES / "probe").glob("*.S"))
                            if p.stem != "paging"])     # A/D bits: ABI.md, known difference
def test_guest_built_with_previrt_cc_patched_on_direct_equals_bare(source, tmp_path):
    """The CPU test guests and the probe guests built with previrt cc: patched at load on direct, the bare PC's
    output and status (ring-3 code of these images reaches kernel-ring patches, which are put back for it)."""
    image = build_image(tmp_path, [source], name=source.stem, cc=previrt_cc(),
                        cflags=[f"-I{d}" for d in PROBE_INCLUDES])
    bare = run_image(image, "--max-instructions", "20000000")
    patched = run_image(image, "--max-instructions", "20000000", "--target", "direct")
    assert (patched.returncode, patched.stdout) == (bare.returncode, bare.stdout), patched.stderr.decode()[-1500:]


def test_patched_file_runs_only_on_its_target_and_is_not_audited(kernel, tmp_path):
    out = tmp_path / "kernel.direct"
    done = subprocess.run([sys.executable, "-m", "previrt", "patch", str(kernel), "--target", "direct", "-o", str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 0 and "patched for direct (ABI 2)" in done.stdout
    assert patch.patched_note(str(out)).target == "direct"
    cmdline = ("--cmdline", "run=null n=5")
    bare = run_image(out, *cmdline)
    assert bare.returncode == 2 and b"patched for direct" in bare.stderr
    full = run_image(out, *cmdline, "--target", "direct", "--virt", "full")
    assert full.returncode == 2 and b"cannot run by full virtualization" in full.stderr
    ran = run_image(out, *cmdline, "--target", "direct")
    assert ran.returncode == 1 and b"null: calls=5" in ran.stdout
    assert run_image(kernel, *cmdline, "--target", "direct").stdout == ran.stdout
    audit = subprocess.run([sys.executable, "-m", "previrt", "audit", str(out)], capture_output=True, text=True)
    assert audit.returncode == 2 and "audit the image it was patched from" in audit.stderr
