"""Site sizes derived from the hypervisors' templates: for each kind, the longest code any registered hypervisor
puts into a site of that kind (its assembled template; the original instruction where it keeps it; `int3` or
`ud2`), measured by patching images that hold every kind in every operand form, against the size the kind table
(`previrt.isa.i386`) gives the build pass.

The table keeps the sizes: an image is built once and must run on hypervisors registered later, so its sites
cannot grow with them (Linux's paravirt patch sites and the Afterburner's are fixed at build time too).  What is
derived here is what they must hold: `check` fails, naming the kind, the hypervisor, the site and both sizes,
when a template outgrows its kind's size, and `table` reports per kind the padding each hypervisor leaves."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from previrt import patch
from previrt.isa import i386


@dataclass
class KindSizes:
    """One kind: its site size, the original instruction lengths seen, and per hypervisor the longest code it puts
    there (with the site it was measured on)."""

    kind: str
    site_size: int
    original: int = 0
    used: dict[str, tuple[int, int]] = field(default_factory=dict)     # hypervisor -> (bytes, site address)

    @property
    def needed(self) -> int:
        """The size this kind's sites must have for every hypervisor measured: the longest code any of them puts
        there, and the longest original instruction (the bare machine runs it in place)."""
        return max([self.original, *(n for n, _ in self.used.values())])

    @property
    def slack(self) -> int:
        return self.site_size - self.needed


class SiteTooSmall(ValueError):
    """A hypervisor's template outgrows its kind's site size."""


def code_length(site: patch.PatchedSite) -> int:
    """The bytes of a site a hypervisor's patch occupies before the padding."""
    return len(site.replacement)


def measure(images: Iterable[str], hypervisors: Iterable) -> dict[str, KindSizes]:
    """Patch every image for every hypervisor that has templates and collect, per kind, the longest code each puts
    into a site.  A template that does not fit raises the patcher's own refusal (naming site and sizes)."""
    sizes: dict[str, KindSizes] = {}
    hypervisors = [h for h in hypervisors if h.templates is not None]
    for image in images:
        for hv in hypervisors:
            try:
                plan = patch.plan(str(image), hv.templates, hv.symbols())
            except patch.PatchError as e:
                raise SiteTooSmall(f"{hv.name}: " + "; ".join(e.refusals)) from None
            for s in plan.sites:
                k = sizes.setdefault(s.kind, KindSizes(s.kind, i386.row_by_name(s.kind).site_size))
                k.original = max(k.original, s.insn_len)
                n = code_length(s)
                if n > k.used.get(hv.name, (-1, 0))[0]:
                    k.used[hv.name] = (n, s.address)
    return dict(sorted(sizes.items(), key=lambda kv: i386.row_by_name(kv[0]).kind))


def check(sizes: dict[str, KindSizes]) -> None:
    """Refuse a kind whose site size is below what a hypervisor puts there (the patcher refuses such a site
    already, in `measure`; this holds for sizes measured some other way too)."""
    bad = [f"{k.kind}: the {hv} template needs {n} bytes (site at {address:#x}), the kind's sites have "
           f"{k.site_size} (previrt/isa/i386.py)"
           for k in sizes.values() for hv, (n, address) in k.used.items() if n > k.site_size]
    if bad:
        raise SiteTooSmall("; ".join(bad))


def table(sizes: dict[str, KindSizes], names: list[str]) -> list[str]:
    """Markdown rows: kind, site size, longest original, per hypervisor the code it puts there, needed, slack."""
    head = ["| kind | site size | original | " + " | ".join(names) + " | needed | slack |",
            "|---|---:|---:|" + "---:|" * len(names) + "---:|---:|"]
    rows = [f"| {k.kind} | {k.site_size} | {k.original} | "
            + " | ".join(str(k.used[n][0]) if n in k.used else "" for n in names)
            + f" | {k.needed} | {k.slack} |" for k in sizes.values()]
    return head + rows
