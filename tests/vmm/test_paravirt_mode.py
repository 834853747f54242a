"""Mode "paravirt": a kernel ported by hand to a hypervisor's ABI names it in `.previrt.paravirt`, runs there with the
para-virtual interface installed and nothing patched, and is refused, with a message naming the hypervisor, anywhere
else."""

from __future__ import annotations

import json

import pytest

from tests.machine.guestkit import build_asm, exit_status, run_image

# A ported kernel in miniature: an unknown hypercall of direct's ABI (eax = 99) answers -22 (EINVAL) in eax.
GUEST = r"""
#include "guestkit.h"
    .section .previrt.paravirt, "", @progbits
    .ascii "%s"
    .text
    .globl _start
_start:
    movl $0x80000, %%esp
    movl $99, %%eax
    int $0x82
    puthex %%eax
    putc '\n'
    exit 0
"""


def image(tmp_path, note: str, name: str = "pv"):
    return build_asm(tmp_path, GUEST % note.replace("\n", "\\n"), name=name)


@pytest.fixture(scope="module")
def ported(tmp_path_factory):
    return image(tmp_path_factory.mktemp("pv"), "target=direct\nabi=2\n")


def test_runs_on_its_hypervisor_in_mode_paravirt(ported, tmp_path):
    stats = tmp_path / "stats.json"
    done = run_image(ported, "--target", "direct", "--stats", str(stats))
    assert done.returncode == exit_status(0), done.stderr
    assert done.stdout == b"ffffffea\n"                 # -22: the hypercall reached direct's ABI, not the IDT
    report = json.loads(stats.read_text())
    assert report["mode"] == "paravirt"
    assert report["patched_sites"] == {}
    assert report["hypercalls"] == {"invalid": 1}
    assert report["exits"] == {"gp:out": 10, "hypercall:invalid": 1}   # 9 output bytes, the exit port


@pytest.mark.parametrize("where, words", [
    (("--target", "bare"), "cannot run on the bare PC; use --target direct"),
    (("--target", "shadow"), "cannot run on shadow; use --target direct"),
    (("--target", "direct", "--virt", "full"), "cannot run by full virtualization"),
])
def test_refused_anywhere_else(ported, where, words):
    done = run_image(ported, *where)
    assert done.returncode == 2
    assert done.stdout == b""
    err = done.stderr.decode()
    assert str(ported) in err and words in err


def test_refused_for_another_abi_version(tmp_path):
    done = run_image(image(tmp_path, "target=direct\nabi=1\n"), "--target", "direct")
    assert done.returncode == 2
    assert "speaks direct ABI 1; direct here speaks ABI 2" in done.stderr.decode()


def test_malformed_section_is_an_error_naming_the_file(tmp_path):
    bad = image(tmp_path, "hello")
    done = run_image(bad, "--target", "direct")
    assert done.returncode == 2
    err = done.stderr.decode()
    assert str(bad) in err and ".previrt.paravirt must hold `target=NAME` and `abi=N`" in err
