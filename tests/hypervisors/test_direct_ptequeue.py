"""The C source pass and `direct`'s page-table queue end to end: a guest built with previrt cc whose page tables are
pte_t prints the same on the bare PC, on direct by full virtualization and on direct patched at load (where its
stores to page tables are queued by the wedge, its loads look in the queue, a fault on a mapping still queued is
retried after the queue is applied, and a full queue is flushed); and a guest with page-table-entry sites written
by hand (guests/ptesites.S) whose stores and loads fault on not-present and read-only pages: each fault is the
site's own, at the site, on every target (patched on direct, the wedge's access faults and the hypervisor unwinds
its call)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from previrt.guestrun import QEMU, qemu_available
from tests.machine.guestkit import build_image, previrt_cc, run_image, run_on_qemu

TARGETS = [("bare", []), ("direct", ["--virt", "full"]), ("direct", [])]

GUESTS = Path(__file__).resolve().parent / "guests"
GUEST = GUESTS / "ptequeue.c"
SITES_GUEST = GUESTS / "ptesites.S"
INCLUDES = [Path(__file__).resolve().parents[1] / "machine" / "guests" / "cpu", Path(__file__).resolve().parents[1]
            / "vmm" / "guests"]
EXPECTED = """\
entry 00300003
through it 00001234
written 0000abcd
remapped 00005678
or 00301103
sum {sum:08x}
cleared 00000000
still 00302003
plain 0000000c
"""


def expected() -> str:
    total = sum(((0x300000 + (i << 12)) | 3) + i * 3 for i in range(70))   # each entry, and what it maps
    return EXPECTED.format(sum=total & 0xFFFFFFFF)


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> Path:
    return build_image(tmp_path_factory.mktemp("ptequeue"), [GUEST], name="ptequeue", crt0=True, cc=previrt_cc())


@pytest.mark.parametrize("target, options", TARGETS)
def test_pte_accesses_print_the_same_everywhere(image, tmp_path, target, options):
    stats = tmp_path / "stats.json"
    run = run_image(image, "--target", target, *options, "--stats", str(stats))
    assert run.returncode == 1, run.stderr.decode()
    assert run.stdout.decode() == expected()
    if target == "direct" and not options:
        st = json.loads(stats.read_text())
        assert st["mode"] == "previrt"
        assert st["patched_sites"]["pte_store"] >= 4 and st["patched_sites"]["pte_load"] >= 4
        assert st["page_table_updates"]["queued"] >= 70
        assert st["hypercalls"].get("mmu_flush", 0) >= 1          # the queue filled up once
        assert st["exits"].get("pf:queued", 0) >= 1                # the first access through a queued mapping


@pytest.mark.qemu
@pytest.mark.skipif(not qemu_available(), reason=f"needs {QEMU}")
def test_the_unpatched_image_prints_the_same_on_qemu(image):
    out, status = run_on_qemu(image)
    assert (out.decode(), status) == (expected(), 1)


@pytest.fixture(scope="module")
def sites_image(tmp_path_factory) -> Path:
    return build_image(tmp_path_factory.mktemp("ptesites"), [SITES_GUEST], name="ptesites",
                       cflags=[f"-I{d}" for d in INCLUDES])


def sites_expected() -> tuple[str, int]:
    first, _, output = (GUESTS / "ptesites.expected").read_text().partition("\n")
    return output, int(first.split()[1])


@pytest.mark.parametrize("target, options", TARGETS)
def test_faults_of_pte_sites_are_the_sites_own(sites_image, tmp_path, target, options):
    stats = tmp_path / "stats.json"
    run = run_image(sites_image, "--target", target, *options, "--mem", "64", "--stats", str(stats))
    assert (run.stdout.decode(), run.returncode) == sites_expected(), run.stderr.decode()
    if target == "direct" and not options:
        st = json.loads(stats.read_text())
        assert st["patched_sites"] == {"pte_load": 4, "pte_store": 5}
        assert st["page_table_updates"]["queued"] == 2             # the two stores into the page table


@pytest.mark.qemu
@pytest.mark.skipif(not qemu_available(), reason=f"needs {QEMU}")
def test_pte_sites_print_the_same_on_qemu(sites_image):
    out, status = run_on_qemu(sites_image)
    assert (out.decode(), status) == sites_expected()
