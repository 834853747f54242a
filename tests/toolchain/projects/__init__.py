"""Helpers for the toolchain tests: build small i386 images from assembly or C, run `previrt` in-process.

The multi-file kernel project used by the cc/audit tests lives beside this file in kernel/."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

PROJECTS = Path(__file__).resolve().parent
KERNEL = PROJECTS / "kernel"
TEXT_ADDRESS = 0x100000
NOTE_GNU_STACK = '\t.section .note.GNU-stack, "", @progbits\n'
PREVIRT_CC = f"{sys.executable} -m previrt cc"


def run(args: list[str], cwd: Path | str | None = None, env: dict | None = None,
        check: bool = True, timeout: float | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode:
        raise AssertionError(f"{' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc


def assemble(src: Path, obj: Path) -> Path:
    run(["gcc", "-m32", "-g", "-c", "-x", "assembler", str(src), "-o", str(obj)])
    return obj


def compile_c(src: Path, obj: Path, cc: list[str] | None = None) -> Path:
    run((cc or ["gcc"]) + ["-m32", "-O2", "-g", "-ffreestanding", "-fno-pic", "-fno-pie",
                           "-fno-stack-protector", "-fno-asynchronous-unwind-tables", "-c", str(src),
                           "-o", str(obj)])
    return obj


def link(objs: list[Path], image: Path, entry: str = "_start") -> Path:
    run(["ld", "-m", "elf_i386", "-z", "noexecstack", "-e", entry, "-Ttext", hex(TEXT_ADDRESS),
         *map(str, objs), "-o", str(image)])
    return image


def asm_image(tmp: Path, asm: str, name: str = "t") -> Path:
    """Assemble and link one assembly text (it should define _start)."""
    src = tmp / f"{name}.s"
    src.write_text(asm + NOTE_GNU_STACK)
    return link([assemble(src, tmp / f"{name}.o")], tmp / f"{name}.elf")


def previrt(*args: str) -> tuple[int, str, str]:
    """Run the previrt CLI in this process: (status, stdout, stderr)."""
    from previrt.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main(list(args))
    return status, out.getvalue(), err.getvalue()


def copy_project(dest: Path, project: Path = KERNEL) -> Path:
    target = dest / project.name
    shutil.copytree(project, target, ignore=shutil.ignore_patterns("build", "*.o", "*.d", "*.elf"))
    return target


def make(folder: Path, cc: str | None = None, env_extra: dict | None = None,
         target: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, **(env_extra or {}))
    args = ["make", "-C", str(folder), "--no-print-directory"] + ([f"CC={cc}"] if cc else [])
    return run(args + ([target] if target else []), env=env)
