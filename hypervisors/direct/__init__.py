"""`direct`: a hypervisor with direct paging — the CPU walks the guest's own page tables, which the hypervisor
validates before they become active and write-protects underneath the guest while they are in use.

This module is the registration (`HYPERVISOR`); `paging.py` is its memory virtualization; ABI.md what the guest sees."""

from __future__ import annotations

from pathlib import Path

from previrt.vmm.registry import Hypervisor
from previrt.vmm.window import WindowConfig


def _memory(hv):
    from hypervisors.direct.paging import DirectPaging

    return DirectPaging(hv)


def _paravirt(hv):
    from hypervisors.direct.abi import DirectParavirt

    return DirectParavirt(hv)


def _symbols():
    from hypervisors.direct.abi import symbols

    return symbols(WINDOW)


WINDOW = WindowConfig(base=0xFC000000, size=0x01000000, phys_base=0xFC000000, phys_size=0x00100000)


HYPERVISOR = Hypervisor(
    name="direct",
    summary="direct paging (validated guest page tables, write-protected underneath); full virtualization by "
            "trap-and-emulate and load-time binary rewriting",
    memory=_memory,
    abi=Path(__file__).with_name("ABI.md"),
    window=WINDOW,
    abi_version=2,                    # hypervisors/direct/abi.py: ABI_VERSION
    templates=Path(__file__).with_name("templates"),
    symbols=_symbols,
    paravirt=_paravirt,
)
