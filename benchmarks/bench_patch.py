"""Patcher benchmark: sites per second of `previrt.patch.plan` cold (empty cache: check, render, as, ld) and warm, and

the patch time of a 10,000-site image with a warm cache (target: at most 50 ms, interpreter start-up not counted);
writes benchmarks/patch.md."""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from previrt import patch
from previrt.annotate.asm import annotate_text

HERE = Path(__file__).resolve().parent
TARGET_WARM_MS = 50.0

# The generated image's sensitive instructions (a kernel's arch layer, heavy on the interrupt flag), with weights.
INSTRUCTIONS = [
    ("cli", 6), ("sti", 6), ("pushfl", 4), ("popfl", 4), ("movl %eax, %cr3", 1), ("movl %cr2, %ebx", 1),
    ("movl %ecx, %cr0", 1), ("outb %al, $0x80", 2), ("inb %dx, %al", 2), ("invlpg (%eax)", 1), ("hlt", 1),
    ("int $0x80", 1), ("iret", 1), ("lgdt (%eax)", 1), ("ltr %ax", 1), ("movw %ax, %ds", 1), ("pushl %cs", 1),
    ("ljmp $0x10, $0x100000", 1), ("sgdt 4(%esp)", 1), ("cpuid", 1),
]

# The benchmark's template set: calls into a wedge, inline stores, keep and trap directives (cpuid has none: ud2).
TEMPLATES = {
    "cli": "\tmovb $0, vcpu_if\n",
    "sti": "\tcall wedge_sti\n",
    "pushf": "\tcall wedge_pushf\n",
    "popf": "\tcall wedge_popf\n",
    "mov_to_cr": '{% if insn.ops[1] == "%cr3" %}\n\tmovl {{ insn.ops[0] }}, vcpu_cr3\n\tcall wedge_flush\n'
                 "{% else %}\n# previrt: trap\n{% endif %}\n",
    "mov_from_cr": "\tmovl vcpu_{{ insn.ops[0][1:] }}, {{ insn.ops[1] }}\n",
    "out": '{% if insn.ops[1] == "$0x80" %}\n\tjmp {{ site.end | hex }}\n{% else %}\n# previrt: keep\n{% endif %}\n',
    "in": "# previrt: keep\n",
    "invlpg": "\tpushl %eax\n\tleal {{ insn.ops[0] }}, %eax\n\tcall wedge_invlpg\n\tpopl %eax\n",
    "hlt": "# previrt: keep\n",
    "int": "# previrt: keep\n",
    "iret": '{% if insn.mnemonic == "iretd" %}\n\tjmp wedge_iret\n{% else %}\n# previrt: trap\n{% endif %}\n',
    **{k: "# previrt: trap\n" for k in ("lgdt", "ltr", "mov_to_seg", "push_seg", "ljmp", "sgdt")},
}
SYM = {"vcpu_if": 0xFC020000, "vcpu_cr0": 0xFC020004, "vcpu_cr2": 0xFC020008, "vcpu_cr3": 0xFC02000C,
       "wedge_sti": 0xFC030000, "wedge_pushf": 0xFC030010, "wedge_popf": 0xFC030020, "wedge_flush": 0xFC030030,
       "wedge_invlpg": 0xFC030040, "wedge_iret": 0xFC030050}


def generate_asm(sites: int, seed: int = 1) -> str:
    """Functions of ten sensitive instructions each, between ordinary ones, `sites` in all (deterministic)."""
    rnd = random.Random(seed)
    names = [i for i, w in INSTRUCTIONS for _ in range(w)]
    out, n, f = ["\t.text"], 0, 0
    while n < sites:
        out += [f"\t.globl f{f}", f"\t.type f{f}, @function", f"f{f}:"]
        for _ in range(min(10, sites - n)):
            out += [f"\tmovl {rnd.randint(0, 60) * 4}(%esp), %eax", f"\t{rnd.choice(names)}"]
            n += 1
        out += ["\tret", f"\t.size f{f}, . - f{f}"]
        f += 1
    return "\n".join(out) + "\n"


def build_image(folder: Path, sites: int) -> Path:
    """The generated file through the asm pass (previrt annotate's), `as --32 -g` and `ld`, linked at 0x100000."""
    src = folder / "sites.s"
    src.write_text(annotate_text(generate_asm(sites), str(src)) + '\t.section .note.GNU-stack, "", @progbits\n')
    subprocess.run(["as", "--32", "-g", "-o", str(folder / "sites.o"), str(src)], check=True)
    image = folder / "sites.elf"
    subprocess.run(["ld", "-m", "elf_i386", "-z", "noexecstack", "-e", "0", "-Ttext", "0x100000",
                    str(folder / "sites.o"), "-o", str(image)], check=True)
    return image


def write_templates(folder: Path) -> Path:
    folder.mkdir()
    for name, text in TEMPLATES.items():
        (folder / f"{name}.s.j2").write_text(text)
    return folder


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def measure(image: Path, templates: Path, work: Path, repeats: int) -> dict:
    """Best-of-`repeats` seconds: cold (empty cache), assembly cached (plan files removed), warm; write_image."""
    caches = [work / f"cache{i}" for i in range(repeats)]
    cold = min(timed(lambda c=c: patch.plan(str(image), templates, SYM, cache_dir=c)) for c in caches)
    asm_only = []
    for c in caches:
        for f in c.glob("*.plan"):
            f.unlink()
        asm_only.append(timed(lambda c=c: patch.plan(str(image), templates, SYM, cache_dir=c)))
    warm_patch = {}
    warm = min(timed(lambda: warm_patch.update(p=patch.plan(str(image), templates, SYM, cache_dir=caches[0])))
               for _ in range(max(repeats, 10)))
    assert warm_patch["p"].cached == "plan"
    out = work / "patched.elf"
    write = min(timed(lambda: patch.write_image(str(image), warm_patch["p"], str(out), "bench", 1))
                for _ in range(repeats))
    return {"cold": cold, "assembly_cached": min(asm_only), "warm": warm, "write": write,
            "by_directive": _by_directive(warm_patch["p"]), "fresh": fresh_process(image, templates, caches[0])}


def _by_directive(p: patch.Patch) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in p.sites:
        counts[s.directive] = counts.get(s.directive, 0) + 1
    return counts


FRESH = """
import json, sys, time
t0 = time.perf_counter()
from previrt import patch
t1 = time.perf_counter()
p = patch.plan(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), cache_dir=sys.argv[4])
t2 = time.perf_counter()
assert p.cached == "plan"
print(json.dumps({"import": t1 - t0, "plan": t2 - t1}))
"""


def fresh_process(image: Path, templates: Path, cache: Path) -> dict:
    """A warm patch in a new interpreter: `import previrt.patch`, then the first plan() (with its lazy imports)."""
    runs = [json.loads(subprocess.run([sys.executable, "-c", FRESH, str(image), str(templates), json.dumps(SYM),
                                       str(cache)], check=True, capture_output=True, text=True).stdout)
            for _ in range(3)]
    return {k: min(r[k] for r in runs) for k in ("import", "plan")}


def report(args, sites: int, r: dict, image_bytes: int) -> list[str]:
    ms = lambda s: f"{s * 1e3:.1f} ms"  # noqa: E731
    verdict = "met" if r["warm"] * 1e3 <= TARGET_WARM_MS else "NOT met"
    counts = ", ".join(f"{v} {k}" for k, v in sorted(r["by_directive"].items()))
    return [
        "# Patcher benchmark",
        "",
        f"Produced by `python benchmarks/bench_patch.py` (best of {args.repeats} runs of each step, one machine, "
        "one run of the script; the warm figure is the best of at least 10).",
        "",
        f"Input: a generated assembly file of {sites} sensitive instructions (functions of ten, between ordinary "
        "instructions; the interrupt flag most often, then control registers, port I/O, invlpg, descriptor tables, "
        "segment loads, far jumps, cpuid) through the asm pass, `as --32 -g` and `ld`: one image of "
        f"{image_bytes} bytes. Templates: the benchmark's own set in `bench_patch.py` (calls into a wedge, inline "
        f"stores, keep and trap directives; cpuid has no template). Result: {counts}.",
        "",
        "| step | time | sites per second | / cold |",
        "|---|---|---|---|",
        f"| cold: empty cache (read, capstone check of every site, render, one `as` + `ld` batch, fill) | "
        f"{ms(r['cold'])} | {sites / r['cold']:,.0f} | 1 |",
        f"| batch cached, plan not (read, check, render, fill; no `as`/`ld`) | {ms(r['assembly_cached'])} | "
        f"{sites / r['assembly_cached']:,.0f} | {r['assembly_cached'] / r['cold']:.3f} |",
        f"| warm: the plan cached (read header, records and code; hash; decode) | {ms(r['warm'])} | "
        f"{sites / r['warm']:,.0f} | {r['warm'] / r['cold']:.3f} |",
        f"| write_image of the patched copy | {ms(r['write'])} | {sites / r['write']:,.0f} | "
        f"{r['write'] / r['cold']:.3f} |",
        f"| warm, first plan() in a new interpreter (its lazy imports included) | {ms(r['fresh']['plan'])} | "
        f"{sites / r['fresh']['plan']:,.0f} | {r['fresh']['plan'] / r['cold']:.3f} |",
        f"| `import previrt.patch` in a new interpreter (start-up, not counted) | {ms(r['fresh']['import'])} | | "
        f"{r['fresh']['import'] / r['cold']:.3f} |",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {_tool_version('as')}, {_tool_version('ld')}.",
        "",
        f"Target (issue 10): patch time for 10,000 sites with a warm cache at most {TARGET_WARM_MS:.0f} ms, "
        f"interpreter start-up not counted: {ms(r['warm'])} here, {verdict}"
        + (f" ({sites} sites measured, not 10,000)." if sites != 10000 else "."),
        "",
        "What a warm patch still does: reads the ELF header, the site records, the 16/64-bit code ranges and the "
        "executable sections (pyelftools), checks every record's kind, lengths, bounds and overlaps, hashes the "
        "records, the bytes of every site, the templates folder, the symbols and the identity of the tools and of "
        "the checking code, and decodes the cached result. The capstone check is not repeated: a cached plan is "
        "keyed by every byte it checked. The cold path's cost is mostly the capstone check and the rendering "
        "(compare the first two rows); `as` and `ld` take the rest.",
        "",
    ]


def _tool_version(tool: str) -> str:
    return subprocess.run([tool, "--version"], capture_output=True, text=True).stdout.splitlines()[0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, default=10000, help="sensitive instructions in the generated image")
    ap.add_argument("--repeats", type=int, default=3, help="runs of each step; the fastest is reported")
    ap.add_argument("--report", default=str(HERE / "patch.md"))
    ap.add_argument("--quick", action="store_true", help="1,000 sites, one run each; print, write no report")
    args = ap.parse_args(argv)
    if args.quick:
        args.sites, args.repeats = 1000, 1
    work = Path(tempfile.mkdtemp(prefix="previrt-bench-patch-"))
    try:
        image = build_image(work, args.sites)
        result = measure(image, write_templates(work / "templates"), work, args.repeats)
        lines = report(args, args.sites, result, os.path.getsize(image))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n".join(lines))
    if not args.quick:
        Path(args.report).write_text("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
