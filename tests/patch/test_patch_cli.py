"""`previrt patch IMAGE --target NAME -o OUT [--dump]`: 0 written (with the dump), 1 a site refused, 2 unusable
input; never a traceback, and nothing written unless the status is 0. The target is the test hypervisor (its
templates and symbols), put in place of the registry's lookup."""

from __future__ import annotations

import types

import pytest

from previrt import patch
from previrt.elf import read_image
from previrt.vmm import registry
from tests.clikit import cli
from tests.patch.patchkit import SYM, TEMPLATES, build_image, copy_image, poke, template_set
from tests.toolchain.projects import asm_image


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_image(tmp_path_factory.mktemp("patch-cli-image"))


@pytest.fixture
def image(built, tmp_path):
    return copy_image(built, tmp_path / "image")


def make_hypervisor(templates=TEMPLATES, symbols=lambda: SYM, name="test"):
    return types.SimpleNamespace(name=name, summary="the patcher tests' hypervisor", templates=templates,
                                 symbols=symbols)


@pytest.fixture
def targets(monkeypatch):
    """Target names the CLI finds: `test` (the test templates), `bare-only` (no templates), then the registry's."""
    table = {"test": make_hypervisor(), "bare-only": make_hypervisor(templates=None)}
    real = registry.load
    monkeypatch.setattr(registry, "load", lambda name: table[name] if name in table else real(name))
    return table


def test_patch_writes_the_image_and_says_what_it_did(image, tmp_path, targets):
    out = tmp_path / "out.elf"
    status, stdout, _ = cli("patch", image, "--target", "test", "-o", out)
    assert status == 0
    assert patch.patched_target(str(out)) == ("test", 1)
    assert stdout.strip() == (f"{out}: 17 sites patched for test (ABI 1): 9 replaced, 2 kept, 4 to int3, 2 to ud2 "
                              f"(no template for: lgdt, popf)")


def test_dump_shows_every_site(image, tmp_path, targets):
    status, stdout, _ = cli("patch", image, "--target", "test", "-o", tmp_path / "out.elf", "--dump")
    assert status == 0
    lines = stdout.splitlines()
    assert len(lines) == 4 * 17 + 1
    head = next(i for i, ln in enumerate(lines) if " cli (replace) " in ln)
    assert lines[head].startswith("0x00100070 cli (replace) enter+0x0 (") and lines[head].endswith("irq.c:7)")
    assert lines[head + 1] == "  original:    fa 0f 1f 80 00 00 00 00"
    assert lines[head + 2] == "  replacement: c6 05 00 00 02 fc 00"
    assert lines[head + 3] == "  final:       c6 05 00 00 02 fc 00 90"


def test_a_changed_site_is_status_1_and_nothing_is_written(image, tmp_path, targets):
    address = next(s.address for s in read_image(str(image)).sites if s.kind == 2)
    poke(image, address, b"\x90")
    out = tmp_path / "out.elf"
    status, stdout, stderr = cli("patch", image, "--target", "test", "-o", out)
    assert status == 1 and stdout == ""
    assert stderr.startswith(f"previrt: error: {image}: {address:#010x} leave+0x")
    assert "sti site: the bytes are not what the build pass recorded" in stderr
    assert not out.exists()


def test_a_template_too_long_is_status_1(image, tmp_path, targets):
    targets["test"] = make_hypervisor(templates=template_set(tmp_path / "t", sti="\tcall wedge_sti\n" * 3))
    status, _, stderr = cli("patch", image, "--target", "test", "-o", tmp_path / "out.elf")
    assert status == 1 and "is 15 bytes, the site 12 bytes" in stderr
    assert not (tmp_path / "out.elf").exists()


def test_an_existing_output_is_kept_when_a_site_is_refused(image, tmp_path, targets):
    out = tmp_path / "out.elf"
    out.write_bytes(b"before")
    targets["test"] = make_hypervisor(templates=template_set(tmp_path / "t", cli="\tbogus\n"))
    status, _, stderr = cli("patch", image, "--target", "test", "-o", out)
    assert status == 1 and "template cli.s.j2 does not assemble" in stderr
    assert out.read_bytes() == b"before"


def test_unusable_input_is_status_2(image, tmp_path, targets):
    text = tmp_path / "text"
    text.write_text("not an image\n")
    plain = asm_image(tmp_path, "\t.text\n\t.globl _start\n_start:\n\tret\n", "plain")
    out = tmp_path / "out.elf"
    cases = [
        ((tmp_path / "missing", "--target", "test", "-o", out), "cannot read"),
        ((text, "--target", "test", "-o", out), "not an ELF file"),
        ((plain, "--target", "test", "-o", out), "nothing to patch"),
        ((image, "--target", "no-such-hypervisor", "-o", out), "no hypervisor named 'no-such-hypervisor'"),
        ((image, "--target", "bare-only", "-o", out), "hypervisor 'bare-only' has no patch templates"),
        ((image, "--target", "test", "-o", image), "overwrite the image"),
        ((image, "--target", "test", "-o", tmp_path / "no" / "out.elf"), "cannot write"),
        ((image, "--target", "test"), "required: -o/--output"),
        ((image, "-o", out), "required: --target"),
    ]
    for argv, words in cases:
        status, stdout, stderr = cli("patch", *argv)
        assert status == 2 and words in stderr, (argv, stderr)
        assert not out.exists()


def test_a_patched_image_is_not_patched_again(image, tmp_path, targets):
    out = tmp_path / "out.elf"
    assert cli("patch", image, "--target", "test", "-o", out)[0] == 0
    status, _, stderr = cli("patch", out, "--target", "test", "-o", tmp_path / "again.elf")
    assert status == 2 and "already patched for target 'test' (ABI 1)" in stderr


def test_help_names_the_statuses():
    status, stdout, _ = cli("patch", "--help")
    assert status == 0 and "--target NAME" in stdout and "0 written; 1 a site refused" in stdout
