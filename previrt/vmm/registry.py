"""The registry of hypervisors: each is an object registered under the entry-point group `previrt.hypervisors`, so a
third party can ship one; `Hypervisor` is what such an object provides.

Owns the lookup by name with an actionable error, and the policy interface a hypervisor folder implements."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from previrt.errors import UsageError
from previrt.vmm.window import WindowConfig

GROUP = "previrt.hypervisors"


@dataclass(frozen=True)
class Hypervisor:
    """A hypervisor's policy: its name and one-line summary, where its window lies, its ABI document, the memory
    virtualization it uses (`memory(hv)` builds it for one machine) and where guest memory lies in the host.

    The memory object provides `typed(phys)`, `store(phys, data)` (a guest store to a typed frame), `activate()`,
    `control_register_written(n)`, `invlpg(linear)`, `ring_changed(cpl)` and `counts`; optionally
    `walk_registers()` (the CR0, CR3, CR4 the hypervisor's own walks of guest memory use; default the real ones) and
    `page_fault(event)` (a #PF the CPU raised: True when the hypervisor handled it, else the event is the guest's,
    its error code possibly changed)."""
    name: str
    summary: str
    memory: object                    # callable(hv) -> the memory-virtualization object
    abi: Path | None = None
    window: WindowConfig = field(default_factory=WindowConfig)
    abi_version: int = 0              # of the para-virtual ABI a patched image is written for
    templates: Path | None = None     # the patcher's templates, one per site kind (previrt mode)
    symbols: object = None            # callable() -> {name: address} the templates may name
    paravirt: object = None           # callable(hv) -> the patched-guest side (shared page, wedge, hypercalls), or
                                      # None: the hypervisor runs images by full virtualization only
    guest_base: int = 0               # host-physical address of guest-physical 0 (0: guest memory at the identity)


@functools.lru_cache(maxsize=None)
def _entry_points() -> dict:
    return {ep.name: ep for ep in metadata.entry_points(group=GROUP)}


def names() -> tuple[str, ...]:
    return tuple(sorted(_entry_points()))


def load(name: str) -> Hypervisor:
    eps = _entry_points()
    if name not in eps:
        known = ", ".join(sorted(eps)) or "none (is previrt installed with `pip install -e .`?)"
        raise UsageError(f"no hypervisor named {name!r} is registered (known: {known})")
    hv = eps[name].load()
    if not isinstance(hv, Hypervisor):
        raise UsageError(f"entry point {name!r} of group {GROUP} is {type(hv).__name__}, not a previrt Hypervisor")
    return hv
