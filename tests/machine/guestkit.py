"""Test helper that builds tiny Multiboot guests from `.S`/`.c` sources and runs them under `previrt run` and on
QEMU (its clock counting guest instructions).

Owns the guest build flags, the default linker script (load at 1 MiB), the Multiboot v1 header and the guest-side include file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from previrt.guestrun import QEMU_ICOUNT, qemu_argv

CC = os.environ.get("PREVIRT_GUEST_CC", "gcc")
LD = os.environ.get("PREVIRT_GUEST_LD", "ld")
CFLAGS = ["-m32", "-ffreestanding", "-fno-pic", "-fno-pie", "-fno-stack-protector", "-nostdlib",
          "-fno-asynchronous-unwind-tables", "-O2", "-Wall"]
LDFLAGS = ["-m", "elf_i386", "-nostdlib", "--build-id=none", "-z", "noexecstack"]

MULTIBOOT_HEADER_MAGIC = 0x1BADB002
MULTIBOOT_PAGE_ALIGN = 1 << 0
MULTIBOOT_MEMORY_INFO = 1 << 1
MULTIBOOT_AOUT_KLUDGE = 1 << 16

# The default linker script: the Multiboot header first, everything loaded from 1 MiB, `_end` after .bss.
DEFAULT_LDSCRIPT = """\
ENTRY(_start)
SECTIONS
{
    . = 0x100000;
    .multiboot : { KEEP(*(.multiboot)) }
    .text : { *(.text.start) *(.text .text.*) }
    .rodata : { *(.rodata .rodata.*) }
    .data : { *(.data .data.*) }
    .bss : { *(.bss .bss.*) *(COMMON) }
    _end = .;
    /DISCARD/ : { *(.comment) *(.note.*) *(.eh_frame) }
}
"""

# Included by guests as `#include "guestkit.h"` (the build adds its folder to the include path).
GUESTKIT_H = """\
/* guestkit.h: ports and helpers for tiny test guests (polled UART output, exit port). */
#ifndef GUESTKIT_H
#define GUESTKIT_H
#define COM1 0x3F8
#define EXIT_PORT 0xF4
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002
#ifdef __ASSEMBLER__
/* putc 'c': write one byte to COM1's THR.  Clobbers %eax, %edx. */
.macro putc ch
    movw $COM1, %dx
    movb $\\ch, %al
    outb %al, %dx
.endm
/* puts "text": write a string to COM1.  Clobbers %eax, %edx, %esi. */
.macro puts text
    .pushsection .rodata
9991\\@: .ascii "\\text"
9992\\@:
    .popsection
    movl $9991\\@b, %esi
    movw $COM1, %dx
9993\\@:
    cmpl $9992\\@b, %esi
    je 9994\\@f
    movb (%esi), %al
    outb %al, %dx
    incl %esi
    jmp 9993\\@b
9994\\@:
.endm
/* puthex src: write a 32-bit value (register, memory, %esp-relative too) as 8 hex digits.  Needs a stack;
   preserves all registers and flags. */
.macro puthex reg
    pushl \\reg
    pushfl
    pushal
    movl 36(%esp), %ebx
    movl $8, %ecx
    movw $COM1, %dx
9995\\@:
    roll $4, %ebx
    movl %ebx, %eax
    andl $15, %eax
    movb 9997\\@f(%eax), %al
    outb %al, %dx
    decl %ecx
    jnz 9995\\@b
    jmp 9998\\@f
9997\\@: .ascii "0123456789abcdef"
9998\\@:
    popal
    popfl
    leal 4(%esp), %esp
.endm
/* exit code: write `code` to the exit port; the run ends with status (code << 1) | 1. */
.macro exit code
    movw $EXIT_PORT, %dx
    movb $\\code, %al
    outb %al, %dx
9996\\@: cli
    hlt
    jmp 9996\\@b
.endm
#else
static inline void outb(unsigned short port, unsigned char v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline unsigned char inb(unsigned short port) { unsigned char v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void outw(unsigned short port, unsigned short v) { __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
static inline unsigned short inw(unsigned short port) { unsigned short v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void outl(unsigned short port, unsigned int v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline unsigned int inl(unsigned short port) { unsigned int v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void gk_putc(char c) { outb(COM1, (unsigned char)c); }
static inline void gk_puts(const char *s) { while (*s) gk_putc(*s++); }
static inline void gk_puthex(unsigned int v) { for (int i = 28; i >= 0; i -= 4) gk_putc("0123456789abcdef"[(v >> i) & 15]); }
static inline void gk_putdec(unsigned int v) { char b[11]; int n = 0; do { b[n++] = (char)('0' + v % 10); v /= 10; } while (v); while (n) gk_putc(b[--n]); }
static inline __attribute__((noreturn)) void gk_exit(unsigned char code) { outb(EXIT_PORT, code); for (;;) __asm__ volatile("cli; hlt"); }
#endif
#endif
"""


# crt0 for C guests (build_image(..., crt0=True)): a 16 KiB stack, then `int main(magic, info)`,
# whose return value goes to the exit port.
CRT0_S = """\
#include "guestkit.h"
    .section .text.start, "ax"
    .globl _start
_start:
    movl $crt0_stack_top, %esp
    pushl %ebx
    pushl %eax
    call main
    movw $EXIT_PORT, %dx
    outb %al, %dx
1:  cli
    hlt
    jmp 1b
    .section .bss
    .align 16
    .space 16384
crt0_stack_top:
"""


def multiboot_header_source(flags: int = MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO,
                            address: tuple[int, int, int, int, int] | None = None,
                            magic: int = MULTIBOOT_HEADER_MAGIC, checksum: int | None = None) -> str:
    """GAS text of a Multiboot v1 header in section `.multiboot`; `address` = (header_addr, load_addr,
    load_end_addr, bss_end_addr, entry_addr) for flag bit 16.  `checksum`/`magic` override for bad-input tests."""
    if address is not None:
        flags |= MULTIBOOT_AOUT_KLUDGE
    if checksum is None:
        checksum = (-(magic + flags)) & 0xFFFFFFFF
    lines = ['    .section .multiboot, "a"', "    .align 4", "multiboot_header:",
             f"    .long {magic:#x}", f"    .long {flags:#x}", f"    .long {checksum:#x}"]
    if address is not None:
        lines += [f"    .long {v:#x}" for v in address]
    return "\n".join(lines) + "\n"


def write_source(directory: Path, name: str, text: str) -> Path:
    """Write guest source `text` to `directory/name` and return the path (for build_image's list)."""
    path = Path(directory) / name
    path.write_text(text)
    return path


def _run_tool(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def compile_source(src: Path, obj: Path, include_dirs: list[Path], cflags: list[str] = (),
                   cc: list[str] | None = None) -> Path:
    """Compile one source; `cc`: another compiler command (e.g. previrt's driver, `previrt_cc()`)."""
    _run_tool([*(cc or [CC]), *CFLAGS, *cflags, *(f"-I{d}" for d in include_dirs), "-c", str(src), "-o", str(obj)])
    return obj


def previrt_cc() -> list[str]:
    """previrt's compiler driver through this interpreter: a guest built with it has its sites recorded."""
    return [sys.executable, "-m", "previrt", "cc"]


def build_image(tmp_path: Path, sources: list[Path], name: str = "guest", ldscript: str | None = None,
                multiboot_header: bool = True, cflags: list[str] = (), crt0: bool = False,
                header_flags: int = MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO, cc: list[str] | None = None) -> Path:
    """Compile `sources` (.S/.c) and link them into `tmp_path/<name>.elf` with the default (or given) linker
    script.  With `multiboot_header`, a Multiboot v1 header object is added; guests then only need `_start`.
    With `crt0`, `_start` is provided too: it sets up a stack and calls `int main(unsigned magic, void *info)`
    and writes main's return value to the exit port."""
    work = Path(tmp_path) / f"{name}.build"
    work.mkdir(parents=True, exist_ok=True)
    (work / "guestkit.h").write_text(GUESTKIT_H)
    sources = [Path(s) for s in sources]
    if multiboot_header:
        sources.append(write_source(work, "multiboot_header.S", multiboot_header_source(header_flags)))
    if crt0:
        sources.insert(0, write_source(work, "crt0.S", CRT0_S))
    include_dirs = [work, *{s.parent for s in sources}]
    objs = [compile_source(s, work / f"{i}_{s.stem}.o", include_dirs, list(cflags), cc) for i, s in enumerate(sources)]
    script = work / "link.ld"
    script.write_text(DEFAULT_LDSCRIPT if ldscript is None else ldscript)
    image = Path(tmp_path) / f"{name}.elf"
    _run_tool([LD, *LDFLAGS, "-T", str(script), "-o", str(image), *map(str, objs)])
    return image


def build_asm(tmp_path: Path, text: str, name: str = "guest", **kw) -> Path:
    """Build a guest from one assembly text (shorthand for write_source + build_image)."""
    src = write_source(Path(tmp_path), f"{name}.S", text)
    return build_image(tmp_path, [src], name=name, **kw)


def run_image(path: Path, *extra_args: str, timeout: float = 60, input: bytes | None = None
              ) -> subprocess.CompletedProcess:
    """Run `python -m previrt run IMAGE extra_args...`; stdout/stderr captured as bytes."""
    argv = [sys.executable, "-m", "previrt", "run", str(path), *extra_args]
    return subprocess.run(argv, capture_output=True, timeout=timeout, input=input)


# A bound for one QEMU boot of a test guest (they need well under a second): only a guest that never ends, a
# failure whatever the bound, reaches it.
QEMU_TIMEOUT = 60


def run_on_qemu(image: Path, cmdline: str = "", disk: Path | None = None, serial_in: bytes = b"",
                timeout: float = QEMU_TIMEOUT) -> tuple[bytes, int]:
    """Boot `image` with QEMU's Multiboot loader on the PC previrt models (previrt.guestrun's command line) with
    QEMU's clock counting guest instructions (QEMU_ICOUNT), `serial_in` on the UART's receive side (a pipe,
    never the terminal); returns (serial bytes, process status)."""
    done = subprocess.run(qemu_argv(image, cmdline, disk, QEMU_ICOUNT), capture_output=True, input=serial_in,
                          timeout=timeout)
    return done.stdout, done.returncode


def exit_status(code: int) -> int:
    """The process status the exit port produces for a guest write of `code` (QEMU's isa-debug-exit)."""
    return ((code << 1) | 1) & 0xFF


def symbols(image: Path) -> dict[str, int]:
    """Symbol name → value of a linked guest image (for expectations such as 'the faulting EIP is `site`')."""
    from elftools.elf.elffile import ELFFile
    with open(image, "rb") as f:
        table = ELFFile(f).get_section_by_name(".symtab")
        return {s.name: s["st_value"] for s in table.iter_symbols() if s.name}
