"""`shadow` in previrt mode: the same previrt image patched at load by shadow's own templates (hypercall page,
vCPU cache, synchronous port calls) runs the eleven workloads and the CPU and probe guests as on the bare PC; the
file `previrt patch --target shadow` writes runs as the image patched at load; and hypercalls from a hostile guest
(random entries and registers) never raise in the host and change no hypervisor memory beyond the vCPU page."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from unicorn import x86_const as X

from hypervisors.shadow import abi
from previrt import patch
from previrt.guestrun import EXIT_OK, WORKLOADS, run_image as run_guest_image, run_workload
from previrt.guestrun import workload
from previrt.machine.cpu import MachineStop
from previrt.machine.runner import RunConfig, check_mode, make_machine
from previrt.vmm import registry
from previrt.vmm.machine import HypervisorMachine
from previrt.vmm.window import PAGE
from tests.hypervisors.test_direct_abi import image  # noqa: F401 (the fixture: spin.S built with previrt cc)
from tests.hypervisors.test_direct_guests import guest  # noqa: F401 (the fixture)
from tests.hypervisors.test_direct_previrt import (CPU_GUESTS, PROBE_INCLUDES, PROBES, cr3_and_invlpg_replacement,
                                                   decoded, patched_case)
from tests.machine.guestkit import build_image, previrt_cc, run_image

SHADOW = registry.load("shadow")


def test_templates_on_every_site_of_the_guest_kernel(guest):  # noqa: F811 (the fixture)
    sym = SHADOW.symbols()
    plan = patch.plan(str(guest.image("previrt")), SHADOW.templates, sym)
    assert not plan.unhandled
    wanted = {"cli": f"and byte ptr [{sym['vcpu_vflags'] + 1:#x}], 0xfd", "sti": f"call {sym['shadow_sti']:#x}",
              "pushf": f"call {sym['shadow_pushf']:#x}", "popf": f"call {sym['shadow_popf']:#x}",
              "iret": f"call {sym['shadow_iret']:#x}"}
    seen = set()
    for site in plan.sites:
        assert len(site.final) == site.size
        if site.kind in ("pte_store", "pte_load", "mov_from_cr", "ins", "outs"):
            assert site.directive == "keep" and site.final[:site.insn_len] == site.original[:site.insn_len], site
        elif site.kind in ("mov_to_cr", "invlpg"):
            if site.directive == "keep":             # CR0 and CR4 writes (boot) trap as they are
                assert site.kind == "mov_to_cr" and "cr3" not in decoded(site.original, site.address), site
            else:
                assert cr3_and_invlpg_replacement(site, sym["shadow_load_cr3_entry"], sym["shadow_invlpg"]), site
                seen.add(site.kind)
        elif site.directive == "replace":
            text = decoded(site.replacement, site.address)
            if site.kind in wanted:
                assert text == wanted[site.kind], site
            else:
                original = decoded(site.original, site.address)
                entry = {"in al, dx": "inb_dx", "in ax, dx": "inw_dx", "in eax, dx": "inl_dx",
                         "out dx, al": "outb_dx", "out dx, ax": "outw_dx", "out dx, eax": "outl_dx"}[original]
                assert text == f"call {sym['shadow_' + entry]:#x}", site
            seen.add(site.kind)
    assert set(wanted) | {"in", "out", "mov_to_cr", "invlpg"} <= seen


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_workload_previrt_build_patched_on_shadow_equals_bare(guest, name, tmp_path):
    """Patched at load for shadow (mode previrt): bare's output and status, fewer exits than full virtualization
    (cli, sti, pushf, popf and iret are the wedge's), every port access a synchronous call or a trap."""
    n = WORKLOADS[name].test_size
    bare = run_workload(guest, "previrt", name, n, tmp_path, expect=EXIT_OK)
    full = run_workload(guest, "previrt", name, n, tmp_path, target="shadow", options=("--virt", "full"),
                        expect=EXIT_OK)
    patched = run_workload(guest, "previrt", name, n, tmp_path, target="shadow", expect=EXIT_OK)
    assert bare.ok and patched.ok and full.ok, (bare.describe(), patched.describe(), full.describe())
    assert (patched.status, patched.output) == (bare.status, bare.output)
    stats = patched.stats
    assert stats["target"] == "shadow" and stats["mode"] == "previrt" and stats["wedge_instructions"] > 0
    assert sum(stats["exits"].values()) < sum(full.stats["exits"].values())
    assert not any(k in ("gp:cli", "gp:sti") or k.startswith("rewrite:popf") for k in stats["exits"])
    assert stats["hypercalls"]["in"] > 0 and stats["hypercalls"]["out"] > 0 and "invalid" not in stats["hypercalls"]
    assert stats["page_table_updates"] == {} and stats["device_in_place"] == {}
    assert stats["paging"]["shadow-fill"] > 0


def test_patched_file_runs_only_on_shadow_as_patched_at_load(guest, tmp_path):
    out = tmp_path / "kernel.shadow"
    done = subprocess.run([sys.executable, "-m", "previrt", "patch", str(guest.image("previrt")), "--target", "shadow",
                           "-o", str(out)], capture_output=True, text=True)
    assert done.returncode == 0 and "patched for shadow (ABI 1)" in done.stdout, done.stderr
    assert patch.patched_note(str(out)).target == "shadow"
    w, n = workload("ctxsw"), WORKLOADS["ctxsw"].test_size
    at_load = run_workload(guest, "previrt", "ctxsw", n, tmp_path, target="shadow", expect=EXIT_OK)
    from_file = run_guest_image(out, tmp_path, w.cmdline(n), guest.fresh_disk(tmp_path, "file"), "shadow", (),
                                w.serial_input(n), EXIT_OK, "file")
    assert at_load.ok and from_file.ok, (at_load.describe(), from_file.describe())
    assert (from_file.output, from_file.instructions) == (at_load.output, at_load.instructions)
    on_direct = run_image(out, "--cmdline", "run=null n=5", "--target", "direct")
    assert on_direct.returncode == 2 and b"patched for shadow" in on_direct.stderr


@pytest.mark.parametrize("source", [patched_case(p) for p in sorted(CPU_GUESTS.glob("*.S"))]
                         + [patched_case(p) for p in sorted((PROBES / "probe").glob("*.S"))])
def test_guest_built_with_previrt_cc_patched_on_shadow_equals_bare(source, tmp_path):
    """The CPU and probe guests built with previrt cc, patched at load on shadow: the bare PC's output and status
    (the known differences are direct's, of patched sites in general; the paging probe passes: shadow sets A/D)."""
    image = build_image(tmp_path, [source], name=source.stem, cc=previrt_cc(),
                        cflags=[f"-I{d}" for d in PROBE_INCLUDES])
    bare, patched = (run_image(image, "--max-instructions", "20000000", *on) for on in ((), ("--target", "shadow")))
    assert (patched.returncode, patched.stdout) == (bare.returncode, bare.stdout), patched.stderr.decode()[-1500:]


def previrt_machine(image: Path) -> HypervisorMachine:
    """A shadow machine with the image patched at load, not yet run."""
    config = RunConfig(image=str(image), target="shadow")
    check_mode(config)
    return make_machine(config, io.BytesIO(), None)


def hypervisor_memory(hv) -> bytes:
    return bytes(hv.cpu.uc.mem_read(hv.window.config.phys_base, hv.window.config.phys_size))


def refused(hv) -> bool:
    return hv.cpu.reg(X.UC_X86_REG_EAX) == abi.EINVAL and bool(hv.cpu.reg(X.UC_X86_REG_EFLAGS) & abi.CF)


@settings(max_examples=60, deadline=None)
@given(regs=st.lists(st.integers(0, 0xFFFFFFFF), min_size=6, max_size=6), entry=st.integers(-2, 12),
       anywhere=st.booleans(), vif=st.booleans())
def test_hypercalls_with_random_arguments(image, regs, entry, anywhere, vif):
    """A hypercall from any hypercall-page entry (or any address) with any registers: a result or CF with EINVAL,
    never a host exception; hypervisor memory changes only in the vCPU page, the shadow tables and the window's own
    tables."""
    hv = previrt_machine(image)
    assert hv.mode == "previrt"
    before = hypervisor_memory(hv)
    origin = regs[0] if anywhere else hv.paravirt.wedge.base + abi.HC_STRIDE * entry
    registers = dict(zip(("EAX", "EBX", "ECX", "EDX", "ESI"), regs[1:]), EIP=(origin + 2) & 0xFFFFFFFF, ESP=0x7000)
    for name, value in registers.items():
        hv.cpu.set_reg(getattr(X, f"UC_X86_REG_{name}"), value)
    hv.vcpu.interrupt_flag = vif
    with contextlib.suppress(MachineStop):
        hv.paravirt.hypercall()
    call = abi.HYPERCALLS[entry].name if not anywhere and 0 <= entry < len(abi.HYPERCALLS) else None
    if call is None:
        assert hv.paravirt.hypercalls == {"invalid": 1} and refused(hv)
    elif call in ("in", "out", "read_cr"):
        bad = registers["EDX"] not in (1, 2, 4) or registers["ECX"] > 0xFFFF if call != "read_cr" else \
            registers["ECX"] not in (0, 2, 3, 4)
        assert refused(hv) == bad
    base = hv.window.config.phys_base
    allowed = [range(base, base + len(hv.window.pt_frames) * PAGE),        # the window's own page tables
               range(*hv.paging.pool),                                     # the shadow tables
               range(hv.paravirt.page.frame, hv.paravirt.page.frame + PAGE)]
    after = hypervisor_memory(hv)
    changed = [base + p + i for p in range(0, len(before), PAGE) if before[p:p + PAGE] != after[p:p + PAGE]
               for i, (a, b) in enumerate(zip(before[p:p + PAGE], after[p:p + PAGE])) if a != b]   # page by page
    assert all(any(i in r for r in allowed) for i in changed), [hex(i) for i in changed[:8]]
