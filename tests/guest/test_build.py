"""The guest's build: Multiboot layout, higher-half link, the reserved VMM window, user programs kept
out of kernel code, reproducible bytes, and the previrt image's audit and site placement."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

from previrt.guestrun import VARIANTS, GuestBuild, make_variables

MULTIBOOT_MAGIC = 0x1BADB002
MULTIBOOT_FLAGS = 0x3  # page-align + memory information, no a.out kludge
KERNEL_BASE = 0xC0000000
VMM_WINDOW = 0xFC000000


def _elf(path):
    f = open(path, "rb")
    return f, ELFFile(f)


def test_multiboot_header_in_first_8k(guest: GuestBuild):
    for v in VARIANTS:
        data = guest.image(v).read_bytes()[:8192]
        at = next(i for i in range(0, len(data) - 12, 4)
                  if struct.unpack_from("<I", data, i)[0] == MULTIBOOT_MAGIC)
        magic, flags, checksum = struct.unpack_from("<3I", data, at)
        assert flags == MULTIBOOT_FLAGS
        assert (magic + flags + checksum) & 0xFFFFFFFF == 0


def test_higher_half_link_physical_load_and_free_vmm_window(guest: GuestBuild):
    for v in VARIANTS:
        f, elf = _elf(guest.image(v))
        with f:
            loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
            assert loads and min(s["p_paddr"] for s in loads) == 0x100000
            for s in loads:
                assert s["p_vaddr"] - s["p_paddr"] == KERNEL_BASE
                assert s["p_vaddr"] + s["p_memsz"] <= VMM_WINDOW
            assert 0x100000 <= elf["e_entry"] < 0x100000 + 0x100000  # physical entry, paging still off


def test_user_programs_are_data_not_kernel_code(guest: GuestBuild):
    for v in VARIANTS:
        f, elf = _elf(guest.image(v))
        with f:
            progs = elf.get_section_by_name(".user_programs")
            assert progs is not None and progs["sh_size"] > 0
            assert not progs["sh_flags"] & SH_FLAGS.SHF_EXECINSTR
            blob = progs.data()
            assert blob.count(b"\x7fELF") >= 10  # every workload program is embedded
            text = [s for s in elf.iter_sections() if s["sh_flags"] & SH_FLAGS.SHF_EXECINSTR]
            assert [s.name for s in text] == [".text"]


def test_native_has_no_sites_previrt_has_them(guest: GuestBuild):
    sizes = {}
    for v in VARIANTS:
        f, elf = _elf(guest.image(v))
        with f:
            sec = elf.get_section_by_name(".previrt.sites")
            sizes[v] = sec["sh_size"] if sec is not None else 0
    assert sizes["native"] == 0
    assert sizes["previrt"] > 0 and sizes["previrt"] % 12 == 0


def test_previrt_image_audits_clean(guest: GuestBuild):
    done = subprocess.run([sys.executable, "-m", "previrt", "audit", str(guest.image("previrt"))],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_native_image_fails_audit(guest: GuestBuild):
    """The native kernel does contain sensitive instructions (the audit is not vacuous)."""
    done = subprocess.run([sys.executable, "-m", "previrt", "audit", str(guest.image("native"))],
                          capture_output=True, text=True)
    assert done.returncode == 1


def test_every_site_comes_from_the_arch_layer(guest: GuestBuild):
    done = subprocess.run([sys.executable, "-m", "previrt", "sites", str(guest.image("previrt"))],
                          capture_output=True, text=True, check=True)
    rows = [ln.split() for ln in done.stdout.splitlines()[1:] if ln.strip()]
    assert len(rows) > 50
    sources = {r[-1].rsplit(":", 1)[0] for r in rows if int(r[1]) < 128}
    assert sources and all(s.startswith("kernel/arch/") for s in sources), sources
    # the C source pass's page-table accesses: where the kernel's memory management reads and writes its tables
    # (and apic.c maps the APICs into the kernel's directory), named by the line of the access (not the accessor's)
    memory = {(r[2], r[-1]) for r in rows if int(r[1]) >= 128}
    assert {k for k, _ in memory} == {"pte_store", "pte_load"}
    assert all(where.split(":")[0] in ("kernel/mm.c", "kernel/proc.c", "kernel/apic.c") for _, where in memory), memory


def test_build_is_reproducible_across_locations(guest: GuestBuild, tmp_path):
    """Same sources, another folder: the same kernel, programs and disk, byte for byte (native)."""
    other = tmp_path / "elsewhere" / "guest"
    shutil.copytree(guest.root, other, ignore=shutil.ignore_patterns("build"))
    subprocess.run(["make", "-s", "-j2", *make_variables("native")], cwd=other, check=True, capture_output=True)
    for rel in ("build/native/kernel.elf", "build/disk.img", "build/user/ctxsw.elf"):
        assert (other / rel).read_bytes() == (guest.root / rel).read_bytes(), rel


def test_previrt_build_needs_no_previrt_on_path(guest: GuestBuild, tmp_path):
    """make's variables name `previrt cc` through this interpreter: a venv need not be on PATH (nor activated)."""
    other = tmp_path / "guest"
    shutil.copytree(guest.root, other, ignore=shutil.ignore_patterns("build"))
    path = os.pathsep.join(d for d in os.environ["PATH"].split(os.pathsep) if not shutil.which("previrt", path=d))
    assert shutil.which("previrt", path=path) is None
    target = "build/previrt/user_programs.o"        # previrt cc, with the user programs built first
    done = subprocess.run(["make", "-s", *make_variables("previrt"), target], cwd=other, capture_output=True,
                          text=True, env=dict(os.environ, PATH=path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert (other / target).read_bytes()[:4] == b"\x7fELF"
