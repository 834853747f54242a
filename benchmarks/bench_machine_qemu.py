"""Benchmark: wall-time ratio `previrt run` / QEMU on the same Multiboot images (an empty guest for start-up
cost, a compute loop, the acceptance image); median of several runs; writes benchmarks/machine_qemu.md."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from previrt.guestrun import QEMU, previrt_argv, qemu_argv  # noqa: E402
from tests.machine import guestkit  # noqa: E402
from tests.machine.acceptance import SUCCESS, build_acceptance, make_acceptance_disk  # noqa: E402

REPORT = Path(__file__).resolve().parent / "machine_qemu.md"
COMPUTE_ITERATIONS = 60_000_000     # 6 instructions an iteration (360 M guest instructions)
RATE_MIN = 10_000_000               # below this many instructions a rate measures start-up, not execution

EMPTY_S = """\
#include "guestkit.h"
    .section .text.start, "ax"
    .globl _start
_start:
    putc 'E'
    putc '\\n'
    exit 0
"""

COMPUTE_S = f"""\
#include "guestkit.h"
    .section .text.start, "ax"
    .globl _start
_start:
    movl $stack_top, %esp
    movl ${COMPUTE_ITERATIONS}, %ecx
    xorl %eax, %eax
    movl $1, %ebx
1:  imull $1103515245, %ebx, %ebx       /* a linear congruential step folded into a checksum */
    addl $12345, %ebx
    addl %ebx, %eax
    roll $3, %eax
    decl %ecx
    jnz 1b
    puthex %eax
    putc '\\n'
    exit 0
    .section .bss
    .space 4096
stack_top:
"""

GP_FAULTS = 60_000

# Ring 3 runs `cli` GP_FAULTS times; each raises #GP(0), whose ring-0 handler steps over it (trap-and-emulate's
# basic cost); `int $0x30` through a DPL-3 gate ends the run.
GP_LOOP_S = f"""\
#include "guestkit.h"
    .section .text.start, "ax"
    .globl _start
_start:
    movl $kstack, %esp
    movl $tss, %eax                         /* TSS descriptor: base = tss, limit 103 */
    movw %ax, gdt + 0x2A
    shrl $16, %eax
    movb %al, gdt + 0x2C
    movb %ah, gdt + 0x2F
    movl $kstack, tss + 4
    movl $0x10, tss + 8
    lgdt gdtr
    ljmp $0x08, $1f
1:  movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw $0x28, %ax
    ltr %ax
    movl $gp, %eax                          /* gate 13: DPL 0 interrupt gate */
    movl $13 * 8, %ebx
    movw $0x8E00, %cx
    call gate
    movl $done, %eax                        /* gate 0x30: DPL 3 interrupt gate */
    movl $0x30 * 8, %ebx
    movw $0xEE00, %cx
    call gate
    lidt idtr
    pushl $0x23                             /* iret to ring 3 */
    pushl $ustack
    pushl $0x2
    pushl $0x1B
    pushl $user
    iret
gate:
    movw %ax, idt(%ebx)
    movw $0x08, idt + 2(%ebx)
    movw %cx, idt + 4(%ebx)
    shrl $16, %eax
    movw %ax, idt + 6(%ebx)
    ret
user:
    movl ${GP_FAULTS}, %ecx
2:  cli
    loop 2b
    int $0x30
gp: incl 4(%esp)                            /* the saved EIP: step over the one-byte cli */
    incl faults
    addl $4, %esp                           /* the error code */
    iret
done:
    movw $0x10, %ax
    movw %ax, %ds
    puthex faults
    putc '\\n'
    exit 0
    .data
    .p2align 3
gdt: .quad 0, 0x00CF9A000000FFFF, 0x00CF92000000FFFF, 0x00CFFA000000FFFF, 0x00CFF2000000FFFF
    .quad 0x0000890000000067
gdtr: .word 6 * 8 - 1
    .long gdt
idtr: .word 0x31 * 8 - 1
    .long idt
faults: .long 0
    .bss
    .p2align 3
idt: .space 0x31 * 8
tss: .space 104
    .space 4096
kstack:
    .space 4096
ustack:
"""


@dataclass
class Image:
    name: str
    path: Path
    make_disk: object = None          # callable(path) -> path, or None
    note: str = ""
    events: tuple[int, str] | None = None   # (how many, what): report the net wall time per event


def build_images(work: Path) -> list[Image]:
    return [
        Image("empty (start-up only)", guestkit.build_asm(work, EMPTY_S, name="empty"),
              note="prints one line and exits"),
        Image("compute loop", guestkit.build_asm(work, COMPUTE_S, name="compute"),
              note=f"{COMPUTE_ITERATIONS:,} iterations of a 6-instruction loop, interrupts off"),
        Image("#GP from ring 3", guestkit.build_asm(work, GP_LOOP_S, name="gploop"),
              note=f"{GP_FAULTS:,} `cli` at CPL 3, each a #GP(0) handled in ring 0 and stepped over",
              events=(GP_FAULTS, "#GP round trip")),
        Image("acceptance", build_acceptance(work), make_acceptance_disk,
              note="GDT/IDT/TSS, PIT at 1 kHz, ATA, paging, ring 3, system calls, #GP"),
    ]


def timed(argv: list[str], timeout: float) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, timeout=timeout)
    return time.perf_counter() - t0, done


def measure(image: Image, runs: int, work: Path) -> dict:
    """Alternate previrt and QEMU runs; each run on a fresh disk. Outputs must agree run after run."""
    times = {"previrt": [], "qemu": []}
    outputs, instructions = set(), set()
    for i in range(runs):
        for machine in ("previrt", "qemu"):
            disk = image.make_disk(work / f"disk-{machine}-{i}.img") if image.make_disk else None
            stats = work / f"stats-{i}.json"
            if machine == "previrt":
                argv = previrt_argv(image.path, stats, disk=disk)
            else:
                argv = qemu_argv(image.path, disk=disk)
            seconds, done = timed(argv, timeout=600)
            times[machine].append(seconds)
            outputs.add((done.stdout, done.returncode))
            if machine == "previrt":
                if done.returncode not in (guestkit.exit_status(0), guestkit.exit_status(SUCCESS)):
                    raise SystemExit(f"{image.name}: previrt failed ({done.returncode}):\n"
                                     f"{done.stderr.decode()[-2000:]}")
                instructions.add(int(json.loads(stats.read_text())["instructions"]))
    if len(outputs) != 1:
        raise SystemExit(f"{image.name}: previrt and QEMU output differ: {sorted(outputs)}")
    return {"previrt": statistics.median(times["previrt"]), "qemu": statistics.median(times["qemu"]),
            "previrt_min": min(times["previrt"]), "qemu_min": min(times["qemu"]),
            "instructions": sorted(instructions), "runs": runs}


def render(results: list[tuple[Image, dict]], load: tuple[float, float]) -> str:
    base = results[0][1]
    lines = [
        "# previrt / QEMU wall-time ratio on the same Multiboot images",
        "",
        "Written by `benchmarks/bench_machine_qemu.py`. Both machines boot the same ELF image (QEMU through",
        "its own Multiboot loader: `qemu-system-i386 -kernel`, TCG, `-m 64`, `isa-debug-exit`), with the same",
        "fresh disk image where one is used; serial output and exit status were identical in every run.",
        "Times are wall-clock medians, whole process (start-up included). \"Net\" figures use the fastest run",
        "of each (the least disturbed by other load on the host) minus that machine's fastest empty-guest run.",
        "",
        "| image | runs | guest instructions (previrt) | previrt s | QEMU s | ratio | net ratio "
        "| net M instructions/s previrt / QEMU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for image, r in results:
        net_p, net_q = r["previrt_min"] - base["previrt_min"], r["qemu_min"] - base["qemu_min"]
        measurable = image is not results[0][0] and net_q > 0.005 and net_p > 0
        net = f"{net_p / net_q:.1f}" if measurable else "–"
        rate = (f"{r['instructions'][0] / net_p / 1e6:.1f} / {r['instructions'][0] / net_q / 1e6:.0f}"
                if measurable and len(r["instructions"]) == 1 and r["instructions"][0] >= RATE_MIN else "–")
        count = ", ".join(f"{n:,}" for n in r["instructions"])
        lines.append(f"| {image.name} | {r['runs']} | {count} | {r['previrt']:.3f} | {r['qemu']:.3f} | "
                     f"{r['previrt'] / r['qemu']:.1f} | {net} | {rate} |")
    for image, r in results:
        if image.events:
            n, what = image.events
            per_p = (r["previrt_min"] - base["previrt_min"]) / n
            per_q = (r["qemu_min"] - base["qemu_min"]) / n
            qemu_text = f"QEMU {per_q * 1e6:.2f} µs" if per_q > 0 else "QEMU below the start-up noise"
            lines += ["", f"Net wall time per {what}: previrt {per_p * 1e6:.1f} µs, {qemu_text}."]
    lines += ["", "Images:", ""] + [f"* {image.name}: {image.note}." for image, _ in results]
    lines += ["", "QEMU runs the guest's timer in real time (1 kHz PIT: 10 ticks take 10 ms of wall time), previrt",
              "in virtual time (`hlt` jumps to the next deadline), so for timer-bound guests the ratio measures idle",
              "time as much as speed; the compute loop is the like-for-like figure. The host is shared: the load",
              f"average was {load[0]:.2f} before and {load[1]:.2f} after the runs, so absolute times are noisy."]
    lines += ["", f"Host: {os.cpu_count()} CPUs; Python {sys.version.split()[0]}; "
              f"{subprocess.run([QEMU, '--version'], capture_output=True, text=True).stdout.splitlines()[0]}.", ""]
    return "\n".join(lines)


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="runs per image and machine (median taken)")
    ap.add_argument("--report", type=Path, default=REPORT, help="markdown report to write")
    args = ap.parse_args(argv)
    if shutil.which(QEMU) is None:
        print(f"{QEMU} not found: nothing to compare against", file=sys.stderr)
        return 1
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        results = [(image, measure(image, args.runs, work)) for image in build_images(work)]
    text = render(results, (load_before, os.getloadavg()[0]))
    write_atomically(args.report, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
