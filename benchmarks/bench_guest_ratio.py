"""Instruction-count cost of pre-virtualization on the bare machine: every workload of the guest kernel
(larger N) in the native and the previrt-unpatched build on `previrt run`; writes guest_ratio.md beside it.

The previrt image executes the native program plus one padding instruction (a NOP, or a short jmp over a
padding longer than one NOP) per executed padded site, so (previrt - native) is about the number of
sensitive-instruction sites executed. Target: ratio <= 1.005."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUEST = ROOT / "guest_src"
REPORT = Path(__file__).with_suffix("").with_name("guest_ratio.md")
TARGET = 1.005

# workload -> (n, what one unit is)
WORKLOADS = {
    "null": (20000, "getpid calls"),
    "ctxsw": (2000, "pipe round trips (2 address-space switches each)"),
    "fork": (200, "fork + exit + wait"),
    "pagetouch": (200, "rounds of 16 demand-zero faults + 16 unmaps"),
    "disk": (64, "4 KiB blocks written and read back"),
    "console": (1000, "console lines"),
    "sleep": (100, "timer ticks slept"),
    "compute": (20000, "words sorted and hashed"),
    "build": (3, "rounds of 4 compilers over 16 files"),
    "faults": (5, "rounds of 9 faulting or stack-growing children"),
    "input": (4096, "bytes received on the console"),
}
# serial input for the workloads that read the console (deterministic text)
SERIAL_INPUT = {"input": b"".join(b"input line %04d of the console benchmark\n" % i for i in range(200))[:4096]}


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


def build(jobs: int) -> None:
    for extra in ([], ["PREVIRT=1"]):
        subprocess.run(["make", "-s", f"-j{jobs}", *extra], cwd=GUEST, check=True)


def run(variant: str, name: str, n: int, work: Path) -> dict:
    disk = work / f"{variant}-{name}.img"
    shutil.copyfile(GUEST / "build" / "disk.img", disk)
    stats = work / f"{variant}-{name}.json"
    argv = [sys.executable, "-m", "previrt", "run", str(GUEST / "build" / variant / "kernel.elf"),
            "--disk", str(disk), "--cmdline", f"run={name} n={n}", "--stats", str(stats)]
    if name in SERIAL_INPUT:
        (work / "serial.in").write_bytes(SERIAL_INPUT[name])
        argv += ["--serial-in", str(work / "serial.in")]
    done = subprocess.run(argv, capture_output=True)
    data = json.loads(stats.read_text()) if stats.exists() else {}
    return {"output": done.stdout.decode(errors="replace"), "status": done.returncode,
            "instructions": int(data.get("instructions", 0)), "wall": float(data.get("wall_seconds", 0.0)),
            "end": data.get("end", "?")}


def result_line(output: str) -> str:
    lines = [ln for ln in output.splitlines() if "checksum=" in ln]
    return lines[-1] if lines else "(no result line)"


def render(rows: list[dict]) -> str:
    out = ["# Guest kernel: previrt-unpatched / native instruction counts on the bare machine", "",
           "Produced by `python benchmarks/bench_guest_ratio.py`: every workload of `guest_src/` with the",
           "sizes below, run once per build on `previrt run` (deterministic virtual time, so one run is",
           "exact). `extra` = previrt - native instructions: each executed padded site costs its original",
           "instruction plus one padding instruction (details below; padding after iret/ljmp never runs).",
           f"Target ratio <= {TARGET}.", "",
           "| workload | n | native instr. | previrt instr. | ratio | extra | extra per unit | "
           "output match | status |",
           "|---|---:|---:|---:|---:|---:|---:|:---:|---|"]
    for r in rows:
        ratio = r["previrt"]["instructions"] / r["native"]["instructions"] if r["native"]["instructions"] else 0
        extra = r["previrt"]["instructions"] - r["native"]["instructions"]
        match = "yes" if r["native"]["output"] == r["previrt"]["output"] else "**NO**"
        status = "ok" if r["native"]["status"] == r["previrt"]["status"] == 1 else \
            f"**exit {r['native']['status']}/{r['previrt']['status']} ({r['native']['end']}/{r['previrt']['end']})**"
        flag = "" if ratio <= TARGET else " **over**"
        out.append(f"| {r['name']} | {r['n']} | {r['native']['instructions']:,} | {r['previrt']['instructions']:,} | "
                   f"{ratio:.4f}{flag} | {extra:,} | {extra / r['n']:.1f} | {match} | {status} |")
    over = [r["name"] for r in rows
            if r["native"]["instructions"] and r["previrt"]["instructions"] / r["native"]["instructions"] > TARGET]
    out += ["", "Units: " + "; ".join(f"{k}: {v[1]}" for k, v in WORKLOADS.items()) + ".", "",
            "Over the target: " + (", ".join(over) if over else "none") + ".", ""]
    out += NOTES.splitlines()
    out += ["",
            "Result lines (identical in both builds when `output match` says yes):", "", "```"]
    out += [result_line(r["native"]["output"]) for r in rows]
    out += ["```", ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", help="workloads to run (default: all; the report is written only for all)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args(argv)
    if not args.no_build:
        build(args.jobs)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (n, _) in WORKLOADS.items():
            if args.only and name not in args.only:
                continue
            row = {"name": name, "n": n}
            for variant in ("native", "previrt"):
                row[variant] = run(variant, name, n, Path(tmp))
            ratio = row["previrt"]["instructions"] / max(1, row["native"]["instructions"])
            print(f"{name:10} n={n:<6} native={row['native']['instructions']:>12,} "
                  f"previrt={row['previrt']['instructions']:>12,} ratio={ratio:.4f} "
                  f"status={row['native']['status']}/{row['previrt']['status']}", flush=True)
            rows.append(row)
    if args.only:
        return 0
    text = render(rows)
    tmp_report = REPORT.with_suffix(".md.tmp")
    tmp_report.write_text(text)
    os.replace(tmp_report, REPORT)
    print(f"wrote {REPORT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
