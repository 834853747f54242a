"""The arch layer is the only place with hand-written instructions: no inline asm in kernel C outside
kernel/arch/, no assembly files elsewhere, and the layer stays small (its size is the para-virtual cost)."""

from __future__ import annotations

import re

from previrt.guestrun import guest_source

GUEST_SRC = guest_source()
KERNEL = GUEST_SRC / "kernel"
ARCH = KERNEL / "arch"
PORTS = sorted(p for p in KERNEL.glob("arch-*") if p.is_dir())    # para-virtual ports: arch layers of their own
ASM_RE = re.compile(r"\b(__asm__|asm)\b\s*(volatile|__volatile__)?\s*\(")
ARCH_MAX_LINES = 400


def in_arch(path) -> bool:
    return any(arch in path.parents for arch in (ARCH, *PORTS))


def test_no_asm_outside_arch():
    offenders = []
    for path in sorted(KERNEL.rglob("*")):
        if path.is_file() and not in_arch(path) and path.suffix in (".c", ".h"):
            for no, line in enumerate(path.read_text().splitlines(), 1):
                if ASM_RE.search(line):
                    offenders.append(f"{path.relative_to(GUEST_SRC)}:{no}: {line.strip()}")
    assert offenders == []


def test_assembly_sources_only_in_arch():
    stray = [p for p in KERNEL.rglob("*") if p.suffix in (".S", ".s") and not in_arch(p)]
    assert stray == []
    assert sorted(p.name for p in ARCH.iterdir()) == ["arch.h", "entry.S", "trap.S"]


def test_grep_catches_inline_asm(tmp_path):
    """The pattern used above does find the forms kernel code would use."""
    for text in ('__asm__ volatile("cli");', 'asm("hlt");', "__asm__ __volatile__ (\"sti\");"):
        assert ASM_RE.search(text), text
    assert not ASM_RE.search("int asmlinkage_count = 0;")


def test_arch_layer_is_small():
    lines = sum(len(p.read_text().splitlines()) for p in ARCH.iterdir())
    assert lines <= ARCH_MAX_LINES, lines
