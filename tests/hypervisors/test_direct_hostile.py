"""After every hostile guest (tests/vmm/guests/hostile) has run on `direct`, whatever it tried, the hypervisor's
memory holds only what the hypervisor itself put there: its identity map as built, window page tables mapping only
its shadow tables, shadow descriptors that are null or without DPL 0, and nothing at all in its unused frames."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest

from previrt.machine.cpu import PDE_PS, PTE_P, PTE_U, PTE_W
from previrt.machine.runner import RunConfig, run_machine
from previrt.vmm import registry
from previrt.vmm.machine import HypervisorMachine
from previrt.vmm.segments import valid_shadow
from previrt.vmm.window import PAGE, TABLE_PAGES
from tests.machine.guestkit import build_image

TESTS = Path(__file__).resolve().parents[1]
HOSTILE = TESTS / "vmm" / "guests" / "hostile"
INCLUDE_DIRS = (TESTS / "machine" / "guests" / "cpu", TESTS / "vmm" / "guests", HOSTILE)


def run_hostile(path: Path, out: Path) -> HypervisorMachine:
    image = build_image(out, [path], name=path.stem, cflags=[f"-I{d}" for d in INCLUDE_DIRS])
    hv = HypervisorMachine(RunConfig(image=str(image), max_instructions=20_000_000), io.BytesIO(),
                           hypervisor=registry.load("direct"))
    run_machine(hv)          # every stop, violation included, ends the run with a report, never an exception
    return hv


def check_hypervisor_memory(hv: HypervisorMachine) -> None:
    w = hv.window
    uc = hv.cpu.uc
    identity = struct.unpack("<1024I", bytes(uc.mem_read(w.identity_pd, PAGE)))
    for i, e in enumerate(identity):
        if i in w.config.slots:
            assert e & ~0x60 == w.pde(i), i
        else:
            assert e & ~0x60 == (i << 22) | PTE_P | PTE_W | PTE_U | PDE_PS, i
    tables = {w.gdt_frame + i * PAGE for i in range(TABLE_PAGES)} | {w.ldt_frame + i * PAGE for i in range(TABLE_PAGES)}
    for pt in w.pt_frames:
        for e in struct.unpack("<1024I", bytes(uc.mem_read(pt, PAGE))):
            assert e == 0 or (e & ~0x60 & ~0xFFF in tables and e & 0xFFF & ~0x60 == PTE_P), hex(e)
    for frame in (w.gdt_frame, w.ldt_frame):
        raw = bytes(uc.mem_read(frame, TABLE_PAGES * PAGE))
        assert all(valid_shadow(*struct.unpack_from("<II", raw, off)) for off in range(0, len(raw), 8))
    end = w.config.phys_base + w.config.phys_size
    assert bytes(uc.mem_read(w.first_free, end - w.first_free)) == bytes(end - w.first_free)


@pytest.mark.parametrize("name", sorted(p.stem for p in HOSTILE.glob("*.S")))
def test_hypervisor_memory_intact_after_hostile_guest(name, tmp_path):
    hv = run_hostile(HOSTILE / f"{name}.S", tmp_path)
    assert hv.end_reason
    check_hypervisor_memory(hv)
