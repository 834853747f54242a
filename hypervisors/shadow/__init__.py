"""`shadow`: a hypervisor with shadow page tables (a virtual TLB) — the CPU walks tables the hypervisor builds in its
own frames from the guest's, which it only reads — and guest memory away from the identity: guest-physical p lives at
host-physical GUEST_BASE + p.

This module is the registration (`HYPERVISOR`); `paging.py` is its memory virtualization; `abi.py`, `wedge/` and
`templates/` its para-virtual interface; ABI.md what the guest sees."""

from __future__ import annotations

from pathlib import Path

from previrt.vmm.registry import Hypervisor
from previrt.vmm.window import WindowConfig


def _paravirt(hv):
    from hypervisors.shadow.abi import ShadowParavirt

    return ShadowParavirt(hv)


def _symbols():
    from hypervisors.shadow.abi import symbols

    return symbols(WINDOW)


def _memory(hv):
    from hypervisors.shadow.paging import ShadowPaging

    return ShadowPaging(hv)


# The hypervisor's frames: 16 MiB of host memory at 16 MiB (window page tables, shadow GDT and LDT, then the pool of
# shadow page directories and tables); guest memory from 256 MiB up (at most 3 GiB of it: below 4 GiB).
WINDOW = WindowConfig(base=0xFC000000, size=0x01000000, phys_base=0x01000000, phys_size=0x01000000)
GUEST_BASE = 0x10000000


HYPERVISOR = Hypervisor(
    name="shadow",
    summary="shadow page tables (a virtual TLB filled on page faults, guest tables only read), guest memory away from "
            "the identity; full virtualization by trap-and-emulate and load-time binary rewriting; para-virtual "
            "ABI: a hypercall page, a cached virtual IF, synchronous port calls",
    memory=_memory,
    abi=Path(__file__).with_name("ABI.md"),
    window=WINDOW,
    guest_base=GUEST_BASE,
    abi_version=1,                    # hypervisors/shadow/abi.py: ABI_VERSION
    templates=Path(__file__).with_name("templates"),
    symbols=_symbols,
    paravirt=_paravirt,
)
