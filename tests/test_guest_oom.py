"""The guest kernel's kill report for a process that runs out of memory says so (guest_src/kernel/trap.c, mm.c),
while other page faults keep their plain report."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

GUEST_SRC = Path(__file__).resolve().parents[1] / "guest_src"


def test_a_process_out_of_memory_is_killed_with_out_of_memory_in_the_report(tmp_path):
    src = tmp_path / "guest_src"
    shutil.copytree(GUEST_SRC, src, ignore=shutil.ignore_patterns("build"))
    subprocess.run(["make", "-C", str(src), "--no-print-directory", f"PYTHON={sys.executable}",
                    "build/native/kernel.elf"], check=True, capture_output=True, timeout=600)
    # 4 MiB of RAM cannot hold the heap of a million-word sort; `fault=1` first runs a program killed by a null write
    done = subprocess.run([sys.executable, "-m", "previrt", "run", str(src / "build/native/kernel.elf"), "--mem", "4",
                           "--cmdline", "run=compute n=1000000 fault=1", "--max-instructions", "200000000"],
                          capture_output=True, timeout=600)
    lines = done.stdout.decode().splitlines()
    assert done.returncode == 3, done.stderr          # the kernel's "workload failed": its process was killed
    assert lines[1] == "kernel: pid 1 (crash) killed: #PF page fault at 00000000, eip 08048560, err 6"
    assert lines[2].startswith("kernel: pid 2 (compute) killed: out of memory (#PF page fault) at "), lines
