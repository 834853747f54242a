"""Benchmark: guest instructions per wall second of the bare machine's CPU and run loop (a compute loop, a timer-
interrupt-heavy loop at 1 kHz and 10 kHz), and the cost of a #GP round trip from ring 3; writes benchmarks/machine.md."""

from __future__ import annotations

import argparse
import io
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from previrt.machine import runner  # noqa: E402
from previrt.machine.cpu import probe_unicorn  # noqa: E402
from tests.machine import guestkit  # noqa: E402

REPORT = Path(__file__).resolve().parent / "machine.md"
KIT_H = REPO / "tests" / "machine" / "guests" / "cpu" / "kit.h"

COMPUTE_S = """\
#include "guestkit.h"
    .text
    .globl _start
_start:
    movl $%(iterations)d, %%ecx
    xorl %%eax, %%eax
    movl $1, %%ebx
1:  imull $1103515245, %%ebx, %%ebx
    addl $12345, %%ebx
    addl %%ebx, %%eax
    roll $3, %%eax
    decl %%ecx
    jnz 1b
    exit 0
"""

# The same loop with the PIT on channel 0 (mode 2) interrupting it through the PIC; the handler sends EOI and
# counts; the loop exits after `ticks` ticks.
TIMER_S = """\
#include "guestkit.h"
#include "kit.h"
    .text
    .globl _start
_start:
    kit_init
    set_gate 0x20, timer, INT_GATE
    movb $0x11, %%al
    outb %%al, $0x20
    outb %%al, $0xA0
    movb $0x20, %%al
    outb %%al, $0x21
    movb $0x28, %%al
    outb %%al, $0xA1
    movb $4, %%al
    outb %%al, $0x21
    movb $2, %%al
    outb %%al, $0xA1
    movb $1, %%al
    outb %%al, $0x21
    outb %%al, $0xA1
    movb $0xFE, %%al
    outb %%al, $0x21
    movb $0xFF, %%al
    outb %%al, $0xA1
    movb $0x34, %%al
    outb %%al, $0x43
    movb $(%(divisor)d & 0xFF), %%al
    outb %%al, $0x40
    movb $(%(divisor)d >> 8), %%al
    outb %%al, $0x40
    xorl %%eax, %%eax
    movl $1, %%ebx
    sti
1:  imull $1103515245, %%ebx, %%ebx
    addl $12345, %%ebx
    addl %%ebx, %%eax
    roll $3, %%eax
    cmpl $%(ticks)d, ticks
    jb 1b
    exit 0
timer:
    pushl %%eax
    movb $0x20, %%al
    outb %%al, $0x20
    incl ticks
    popl %%eax
    iret
    .section .bss
ticks:
    .long 0
"""

# Ring-3 code faulting on `cli` in a loop; the #GP handler skips it; after `faults` faults it exits.
GP_S = """\
#include "guestkit.h"
#include "kit.h"
    .text
    .globl _start
_start:
    kit_init
    set_gate 13, gp, INT_GATE
    to_ring3 user
user:
1:  cli
    jmp 1b
gp:
    incl faults
    cmpl $%(faults)d, faults
    je 2f
    addl $1, 4(%%esp)
    addl $4, %%esp
    iret
2:  exit 0
    .section .bss
faults:
    .long 0
"""

PIT_HZ = 1_193_182


@dataclass
class Result:
    name: str
    note: str
    instructions: int
    virtual: int
    slices: int
    interrupts: int
    exceptions: int
    wall: float

    @property
    def mips(self) -> float:
        return self.instructions / self.wall / 1e6


def build(work: Path, name: str, text: str) -> Path:
    shutil.copy(KIT_H, work / "kit.h")
    return guestkit.build_image(work, [guestkit.write_source(work, f"{name}.S", text)], name=name)


def best_of(repeat: int, image: Path, name: str, note: str) -> Result:
    """The fastest of `repeat` runs (counts are identical across runs; the fastest is the least disturbed by other
    load on the host)."""
    runs = [run(image, name, note) for _ in range(repeat)]
    assert len({(r.instructions, r.virtual, r.slices, r.interrupts, r.exceptions) for r in runs}) == 1, name
    return min(runs, key=lambda r: r.wall)


def host_line(load_before: tuple[float, float, float], load_after: tuple[float, float, float]) -> str:
    import unicorn
    return (f"Host: {os.cpu_count()} CPUs; Python {platform.python_version()}; unicorn {unicorn.__version__}; "
            f"load average {load_before[0]:.2f} before and {load_after[0]:.2f} after the runs.")


def run(image: Path, name: str, note: str) -> Result:
    machine = runner.Machine(runner.RunConfig(image=str(image)), io.BytesIO())
    start = time.perf_counter()
    runner.run_machine(machine)
    wall = time.perf_counter() - start
    if machine.end_reason != "exit-port" or machine.board.exit_status != 0:
        raise SystemExit(f"{name}: ended with {machine.end_reason}: {machine.report}")
    cpu = machine.cpu
    return Result(name, note, machine.executed, machine.clock.now, machine.slices, sum(cpu.interrupts.values()),
                  sum(cpu.exceptions.values()), wall)


def render(results: list[Result], gp: Result, faults: int, probe_s: float, quick: bool, repeat: int,
           host: str) -> str:
    base = results[0]
    rows = ["| workload | guest instructions | virtual time (instr.) | slices | interrupts | wall s | "
            "M instr./wall s | vs compute loop |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        rows.append(f"| {r.name} ({r.note}) | {r.instructions:,} | {r.virtual:,} | {r.slices:,} | {r.interrupts:,} "
                    f"| {r.wall:.3f} | {r.mips:.1f} | {r.mips / base.mips:.2f} |")
    per_fault = gp.wall / faults * 1e6
    return "\n".join([
        "# Bare machine: CPU and run-loop throughput",
        "",
        "Written by `benchmarks/bench_machine_cpu.py`" + (" (--quick)" if quick else "") + ": each workload is a "
        "tiny Multiboot guest run in-process by the run loop of `previrt run` (board, clock, CPU with IDT "
        "delivery); wall time covers the run only, not start-up, and is the fastest of "
        f"{repeat} runs. The counts are deterministic (identical on every run); wall times and rates depend on "
        "the host and its load.",
        "",
        *rows,
        "",
        f"#GP round trip from ring 3 (fault in unicorn, IDT delivery through the TSS in Python, the guest's "
        f"8-instruction handler, `iret` back to ring 3): {faults:,} faults in {gp.wall:.3f} s, "
        f"**{per_fault:.1f} µs per fault** ({gp.instructions:,} guest instructions).",
        "",
        f"Start-up probe of unicorn's internals (once per process): {probe_s * 1e3:.1f} ms.",
        "",
        "Reading: a timer interrupt costs one slice boundary (the loop runs to the PIT deadline with "
        "`emu_start(count=...)`, then the interrupt is delivered in Python), so the rate falls with the tick "
        "frequency; the compute loop runs in slices of 2^20 instructions when no event is pending.",
        "",
        host,
        "",
    ])


def report_path(args: argparse.Namespace) -> Path | None:
    """Where the report goes: --report, else benchmarks/machine.md for a full run; a --quick smoke run writes none
    unless asked (its figures are not the committed ones)."""
    return args.report or (None if args.quick else REPORT)


def measure(quick: bool, repeat: int) -> tuple[list[Result], Result, int, float]:
    """The workloads (compute, two timer rates) and the #GP loop, and the start-up probe's seconds."""
    scale = 10 if quick else 1
    iterations, seconds, faults = 20_000_000 // scale, 1.0 / scale, 20_000 // scale
    t = time.perf_counter()
    probe_unicorn()
    probe_s = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        results = [best_of(repeat, build(work, "compute", COMPUTE_S % {"iterations": iterations}),
                           "compute loop", f"{iterations:,} iterations, IF=0")]
        for hz in (1000, 10_000):
            ticks = int(seconds * hz)
            img = build(work, f"timer{hz}", TIMER_S % {"divisor": round(PIT_HZ / hz), "ticks": ticks})
            results.append(best_of(repeat, img, f"timer {hz // 1000} kHz",
                                   f"{ticks:,} PIT ticks, {seconds:g} s simulated"))
        gp = best_of(repeat, build(work, "gp", GP_S % {"faults": faults}), "#GP", "")
    return results, gp, faults, probe_s


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run: prints, writes no report)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per workload; the fastest is reported")
    ap.add_argument("--report", type=Path, metavar="FILE",
                    help=f"markdown report to write (default: {REPORT.name} beside this script; none with --quick)")
    args = ap.parse_args(argv)
    load_before = os.getloadavg()
    results, gp, faults, probe_s = measure(args.quick, args.repeat)
    host = host_line(load_before, os.getloadavg())
    text = render(results, gp, faults, probe_s, args.quick, args.repeat, host)
    print(text)
    report = report_path(args)
    if report is not None:
        tmp = report.with_name(report.name + ".tmp")
        tmp.write_text(text)
        tmp.replace(report)
        print(f"wrote {report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
