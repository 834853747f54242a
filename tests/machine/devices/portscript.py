"""Port scripts: one sequence of port operations run both by a tiny guest on qemu-system-i386 and directly on
the board, so a device's register behaviour is compared with QEMU's without any CPU model in between.

An op is ("w", port, value), ("ww", port, value) (16-bit), ("r", port), ("rw", port) (16-bit), ("sum", port,
words) (reads `words` 16-bit values, records their sum mod 2**16), ("skip", port, words) (reads them, records
nothing), ("fill", port, words, seed) (writes word k = seed + k * 0x0101) or ("poll", port, mask, want) (reads
until value & mask == want, records the last value). Reads, sums and polls record one value each.

The guest polls without a bound: QEMU finishes disk transfers on a host thread, so a bound in reads would race
the host's load (a device that never gets there ends in the QEMU run's timeout). The board's poll is bounded by
POLL_LIMIT reads, each after the next device deadline, all in virtual time."""

from __future__ import annotations

import re
from pathlib import Path

from tests.machine import guestkit

POLL_LIMIT = 1_000_000
OPCODES = {"w": 0, "ww": 1, "r": 2, "rw": 3, "sum": 4, "poll": 5, "skip": 6, "fill": 7}

GUEST_C = """\
/* Generated: runs a port script and prints each recorded value (hex) on its own line. */
#include "guestkit.h"
struct op { unsigned char kind; unsigned short port; unsigned short a; unsigned short b; };
static const struct op ops[] = {
%s
};
#define NOPS (sizeof ops / sizeof ops[0])
static unsigned values[NOPS];
static inline void script_outw(unsigned short port, unsigned short v)
{
    __asm__ volatile("outw %%0, %%1" :: "a"(v), "Nd"(port));
}
static inline unsigned short script_inw(unsigned short port)
{
    unsigned short v;
    __asm__ volatile("inw %%1, %%0" : "=a"(v) : "Nd"(port));
    return v;
}
static void putline(unsigned v) { gk_puthex(v); gk_putc('\\n'); }

int main(unsigned magic, void *info)
{
    unsigned n = 0;
    (void)magic; (void)info;
    for (unsigned i = 0; i < NOPS; i++) {
        const struct op *o = &ops[i];
        unsigned v = 0;
        switch (o->kind) {
        case 0: outb(o->port, (unsigned char)o->a); continue;
        case 1: script_outw(o->port, o->a); continue;
        case 2: v = inb(o->port); break;
        case 3: v = script_inw(o->port); break;
        case 4: for (unsigned k = 0; k < o->a; k++) v += script_inw(o->port); v &= 0xFFFF; break;
        case 5: do v = inb(o->port); while ((v & o->a) != o->b); break;
        case 6: for (unsigned k = 0; k < o->a; k++) (void)script_inw(o->port); continue;
        case 7:
            for (unsigned k = 0; k < o->a; k++)
                script_outw(o->port, (unsigned short)(o->b + k * 0x0101));
            continue;
        }
        values[n++] = v;
    }
    for (unsigned i = 0; i < n; i++)
        putline(values[i]);
    return 0;
}
"""


def guest_source(ops: list[tuple]) -> str:
    rows = []
    for op in ops:
        kind, port, *args = op
        a, b = (list(args) + [0, 0])[:2]
        rows.append(f"    {{{OPCODES[kind]}, {port:#x}, {a:#x}, {b:#x}}},")
    return GUEST_C % "\n".join(rows)


def build(tmp_path: Path, name: str, ops: list[tuple]) -> Path:
    src = tmp_path / f"{name}.c"
    src.write_text(guest_source(ops))
    return guestkit.build_image(tmp_path, [src], name=name, crt0=True)


def parse(serial: bytes) -> list[int]:
    return [int(line, 16) for line in serial.decode().splitlines() if re.fullmatch(r"[0-9a-f]{8}", line)]


def run_on_board(guest, ops: list[tuple]) -> list[int]:
    """The same script on the board; a poll lets virtual time pass (deadline by deadline) between reads."""
    out = []
    for op in ops:
        kind, port, *args = op
        if kind == "w":
            guest.outb(port, args[0])
        elif kind == "ww":
            guest.outw(port, args[0])
        elif kind == "r":
            out.append(guest.inb(port))
        elif kind == "rw":
            out.append(guest.inw(port))
        elif kind == "sum":
            out.append(sum(guest.inw(port) for _ in range(args[0])) & 0xFFFF)
        elif kind == "skip":
            for _ in range(args[0]):
                guest.inw(port)
        elif kind == "fill":
            for k in range(args[0]):
                guest.outw(port, (args[1] + k * 0x0101) & 0xFFFF)
        else:
            out.append(_poll(guest, port, *args))
    return out


def _poll(guest, port: int, mask: int, want: int) -> int:
    for _ in range(POLL_LIMIT):
        value = guest.inb(port)
        if value & mask == want:
            return value
        deadline = guest.clock.next_deadline()
        if deadline is not None:
            guest.clock.advance(deadline)
    return value
