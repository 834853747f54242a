"""Site sizes derived from the templates of every registered hypervisor (previrt/sitesizes.py): images holding every
kind in every operand form (each spelling the asm pass knows, and the C source pass's page-table accesses) are
patched for each, and no template may outgrow its kind's site size; a template that does fails, naming the kind,
the hypervisor and both sizes."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from previrt import sitesizes
from previrt.annotate.asm import annotate_text
from previrt.isa import i386
from previrt.vmm import registry
from tests.machine.guestkit import build_image, previrt_cc
from previrt.isa.examples import GAS_EXAMPLES, PREFIXED
from tests.toolchain.annotatekit import build

PTE_GUEST = Path(__file__).resolve().parents[1] / "hypervisors" / "guests" / "ptequeue.c"


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> list[Path]:
    work = tmp_path_factory.mktemp("sizes")
    body = "\n".join(f"\t{stmt}" for _, stmt in GAS_EXAMPLES) + "\n" + "\n".join(f"\t{s}" for s, _ in PREFIXED)
    every = build(annotate_text("\t.text\n" + body + "\n", "every.s"), work, name="every")
    pte = build_image(work, [PTE_GUEST], name="pte", crt0=True, cc=previrt_cc())
    return [every, pte]


def hypervisors():
    return [registry.load(name) for name in registry.names()]


def test_every_kind_fits_every_registered_hypervisor(images):
    sizes = sitesizes.measure(images, hypervisors())
    assert set(sizes) == {r.name for r in i386.ROWS + i386.MEMORY_ROWS}     # the images hold every kind
    sitesizes.check(sizes)
    for k in sizes.values():
        assert 0 <= k.slack < k.site_size, k
        assert k.original <= k.site_size
    direct = {k.kind: k.used["direct"][0] for k in sizes.values()}
    assert direct["cli"] == 7                   # movb $0, shared_vif
    assert direct["sti"] == direct["pte_store"] == 5                    # call rel32
    assert direct["pte_load"] == 6             # call *abs32
    table = sitesizes.table(sizes, ["direct"])
    assert len(table) == 2 + len(sizes) and table[2].startswith("| cli | 8 | 1 | 7 | 7 | 1 |")


def test_a_template_that_outgrows_its_kind_is_named(images, tmp_path):
    direct = registry.load("direct")
    folder = tmp_path / "templates"
    shutil.copytree(direct.templates, folder)
    (folder / "cli.s.j2").write_text("    movl $0, shared_vif\n    nop\n")      # 10 + 1 bytes in an 8-byte site
    grown = SimpleNamespace(name="grown", templates=folder, symbols=direct.symbols)
    with pytest.raises(sitesizes.SiteTooSmall) as e:
        sitesizes.measure(images[:1], [grown])
    message = str(e.value)
    assert message.startswith("grown: ") and "cli site" in message and "11 bytes, the site 8 bytes" in message


def test_check_names_kind_hypervisor_and_both_sizes():
    k = sitesizes.KindSizes("invlpg", 16, 7, {"h": (17, 0x1234)})
    with pytest.raises(sitesizes.SiteTooSmall, match=r"invlpg: the h template needs 17 bytes \(site at 0x1234\), "
                                                      r"the kind's sites have 16"):
        sitesizes.check({"invlpg": k})
