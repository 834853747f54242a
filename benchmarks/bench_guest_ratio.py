"""Instruction-count cost of pre-virtualization on the bare machine: every workload of the guest kernel
(benchmark sizes) in the native and the previrt-unpatched build on `previrt run`; writes guest_ratio.md beside it.

The previrt image executes the native program plus one padding instruction (a NOP, or a short jmp over a
padding longer than one NOP) per executed padded site, so (previrt - native) is about the number of
sensitive-instruction sites executed. Target: ratio <= 1.005 (previrt.guestrun.PADDING_TARGET).

A run that gives no result (a bound reached, another exit status than success, no statistics) is a failed
cell: the report marks it, no ratio is computed from it, and the script exits 1, as it does when a ratio is
over the target or the outputs differ."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from previrt.guestrun import (PADDING_TARGET, VARIANTS, WORKLOADS, GuestBuild, RunResult, build_guest,
                              run_workload)

REPORT = Path(__file__).resolve().with_name("guest_ratio.md")


NOTES = """## Where the extra instructions come from

* A padded site costs its instruction plus exactly one more: a NOP when the padding is at most 11 bytes
  (GAS's longest NOP), else a short `jmp` over it (the 16-byte sites of `invlpg`, `ins`/`outs`,
  `lgdt`/`lidt` with short encodings). Padding after `iret` never runs.
* Sites move the code, so gcc's alignment padding (`.p2align`) executed at loop heads changes a little, in
  either direction: `extra` is previrt - native, not a count of sites.
* null: a system call is `int $0x80` (user code, not annotated) and `iret` (padding never runs): nothing.
* ctxsw: the CR3 load of each address-space switch, 2 per round trip. Sleeping, waking and switching use no
  interrupts-off (interrupt handlers post wake-ups in a bit mask that `schedule()` takes with `xchg`).
* fork / faults / build: CR3 loads per switch, the CR2 read per page fault, a few I/O accesses per disk
  request; all thin next to copying address spaces and computing.
* pagetouch: per page one CR2 read (demand-zero fault) and one `invlpg` (unmap).
* disk: per 4 KiB request 6 register writes and the status reads of the command, then per sector one
  interrupt with a status read, one `rep insw`/`rep outsw` and the PIC EOI.
* console: the UART model sends faster than the workload formats, so every line finds the transmitter
  idle: cli/sti around the queue update and the kick (`rep outsb`), then per further 16 bytes one
  THR-empty interrupt (IIR read, `rep outsb`, IIR re-read — an edge-triggered PIC needs the handler to
  loop until the UART reports no cause — and EOI), and a last interrupt that finds the queue empty. About
  8 padding instructions per 30-byte line against about 1,950 instructions of formatting and system call:
  the highest ratio of the set (the exact figure moves by a few hundredths of a percent with code layout
  and with how the line timing meets the UART's). A 16550's 16-byte FIFO bounds what one interrupt can
  move.
* sleep: the run is mostly boot (device set-up at ~175 k instructions); the sleep itself is idle `hlt`.
* compute: only timer ticks (EOI per tick).
* input: the UART model delivers bytes at the line rate (115200 baud: about 1.2 ms, 120 k instructions per
  14 bytes), so the reader sleeps and the machine idles between received-data interrupts. Per 14 bytes:
  the interrupt (IIR read, one `rep insb` of the trigger level, IIR re-read, EOI) and the idle loop's cli,
  sti and hlt; the reader itself executes none (lock-free receive queue, prepare-to-wait sleep). About 7
  padding instructions against about 1,900 instructions.
"""


@dataclass(frozen=True)
class Row:
    """One workload: its run in each build."""
    name: str
    n: int
    native: RunResult
    previrt: RunResult

    @property
    def failures(self) -> list[str]:
        return [f"{v}: {r.failed}" for v, r in zip(VARIANTS, (self.native, self.previrt)) if not r.ok]

    @property
    def ratio(self) -> float | None:
        """previrt / native instructions; None when either run failed."""
        return None if self.failures else self.previrt.instructions / self.native.instructions

    @property
    def same_output(self) -> bool:
        return self.native.output == self.previrt.output

    @property
    def within_target(self) -> bool:
        return self.ratio is not None and self.same_output and self.ratio <= PADDING_TARGET


def run_row(guest: GuestBuild, name: str, n: int, work: Path) -> Row:
    native, previrt = (run_workload(guest, v, name, n, work) for v in VARIANTS)
    return Row(name, n, native, previrt)


def progress_line(row: Row) -> str:
    if row.failures:
        return f"{row.name:10} n={row.n:<6} FAILED: " + "; ".join(row.failures)
    return (f"{row.name:10} n={row.n:<6} native={row.native.instructions:>12,} "
            f"previrt={row.previrt.instructions:>12,} ratio={row.ratio:.4f}")


def result_line(output: str) -> str:
    lines = [ln for ln in output.splitlines() if "checksum=" in ln]
    return lines[-1] if lines else "(no result line)"


def table_line(r: Row) -> str:
    match = "yes" if r.same_output else "**NO**"
    if r.failures:
        cells = [f"{x.instructions:,}" if x.ok else "**failed**" for x in (r.native, r.previrt)]
        return (f"| {r.name} | {r.n} | {cells[0]} | {cells[1]} | – | – | – | {match} | "
                f"**failed: {'; '.join(r.failures)}** |")
    extra = r.previrt.instructions - r.native.instructions
    flag = "" if r.ratio <= PADDING_TARGET else " **over**"
    return (f"| {r.name} | {r.n} | {r.native.instructions:,} | {r.previrt.instructions:,} | {r.ratio:.4f}{flag} | "
            f"{extra:,} | {extra / r.n:.1f} | {match} | ok |")


def verdict_lines(rows: list[Row]) -> list[str]:
    over = [r.name for r in rows if r.ratio is not None and r.ratio > PADDING_TARGET]
    differ = [r.name for r in rows if not r.same_output]
    failed = [r.name for r in rows if r.failures]
    return [f"Within the target: {sum(r.within_target for r in rows)} of {len(rows)} workloads.",
            "Over the target: " + (", ".join(over) if over else "none") + ".",
            "Failed runs (no ratio): " + (", ".join(failed) if failed else "none") + ".",
            "Outputs that differ: " + (", ".join(differ) if differ else "none") + "."]


def render(rows: list[Row]) -> str:
    out = ["# Guest kernel: previrt-unpatched / native instruction counts on the bare machine", "",
           "Produced by `python benchmarks/bench_guest_ratio.py`: every workload of `guest_src/` with the",
           "sizes below, run once per build on `previrt run` (deterministic virtual time, so one run is",
           "exact). `extra` = previrt - native instructions: each executed padded site costs its original",
           "instruction plus one padding instruction (details below; padding after iret/ljmp never runs).",
           f"Target ratio <= {PADDING_TARGET}. A run that gives no result is marked failed and has no ratio.", "",
           "| workload | n | native instr. | previrt instr. | ratio | extra | extra per unit | "
           "output match | status |",
           "|---|---:|---:|---:|---:|---:|---:|:---:|---|"]
    out += [table_line(r) for r in rows]
    out += ["", "Units: " + "; ".join(f"{w.name}: {w.unit}" for w in WORKLOADS.values()) + ".", ""]
    out += verdict_lines(rows) + [""]
    out += NOTES.splitlines()
    out += ["",
            "Result lines (identical in both builds when `output match` says yes):", "", "```"]
    out += [result_line(r.native.output) for r in rows]
    out += ["```", ""]
    return "\n".join(out)


def exit_status(rows: list[Row]) -> int:
    """0 when every workload ran in both builds, with the same output, within the target."""
    return 0 if all(r.within_target for r in rows) else 1


def measure(guest: GuestBuild, only: list[str] | None, work: Path) -> list[Row]:
    rows = []
    for w in WORKLOADS.values():
        if not only or w.name in only:
            rows.append(run_row(guest, w.name, w.size, work))
            print(progress_line(rows[-1]), flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", choices=list(WORKLOADS), metavar="NAME",
                    help="workloads to run (default: all; the report is written only for all)")
    ap.add_argument("--jobs", type=int, default=2, help="make's parallel jobs for the guest build")
    ap.add_argument("--guest", type=Path, metavar="DIR",
                    help="an already built guest tree to use (default: build a copy of guest_src/)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        guest = GuestBuild(args.guest) if args.guest else build_guest(work / "guest_src", jobs=args.jobs)
        rows = measure(guest, args.only, work)
    if not args.only:
        tmp_report = REPORT.with_suffix(".md.tmp")
        tmp_report.write_text(render(rows))
        os.replace(tmp_report, REPORT)
        print(f"wrote {REPORT}")
    print("\n".join(verdict_lines(rows)))
    return exit_status(rows)


if __name__ == "__main__":
    sys.exit(main())
