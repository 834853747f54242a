"""`previrt run`: exit status, halting, --max-instructions, determinism, stats, serial to a file, --trace-io, and the
ends from outside the guest (SIGINT/SIGTERM, --timeout, serial input that cannot come)."""

from __future__ import annotations

import json
import os
import select
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from previrt.machine.runner import target_names
from tests.machine.guestkit import build_asm, build_image, exit_status, run_image

GUESTS = Path(__file__).parent / "guests" / "cpu"


@pytest.fixture(scope="module")
def guest(tmp_path_factory):
    out = tmp_path_factory.mktemp("runner_guests")
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            built[name] = build_image(out, [GUESTS / f"{name}.S"], name=name)
        return built[name]
    return get


@pytest.mark.parametrize("code", [0, 1, 5, 0x7F])
def test_exit_port_status_is_qemu_isa_debug_exit(tmp_path, code):
    img = build_asm(tmp_path, f'#include "guestkit.h"\n.text\n.globl _start\n_start:\n puts "bye"\n exit {code}\n')
    done = run_image(img)
    assert done.returncode == exit_status(code) == ((code << 1) | 1) & 0xFF
    assert done.stdout == b"bye"


def test_hlt_with_interrupts_disabled_ends_with_report(guest):
    done = run_image(guest("halt_if0"))
    assert done.returncode == 10
    assert done.stdout == b"halting\n"
    err = done.stderr.decode()
    assert "halted at eip" in err and "interrupts disabled (IF=0)" in err and "cr0=" in err


def test_hlt_with_only_masked_events_pending_ends_with_report(tmp_path):
    # The PIT's channel 0 keeps ticking at its power-on 18.2 Hz, but IRQ 0 is masked (and so is every other line):
    # nothing can wake the CPU, so the run ends instead of skipping from tick to tick for ever.
    img = build_asm(tmp_path, '#include "guestkit.h"\n.text\n.globl _start\n_start:\n puts "masked"\n'
                    ' movb $0xFF, %al\n outb %al, $0x21\n sti\n hlt\n exit 1\n')
    done = run_image(img, "--max-instructions", "1000000", timeout=30)
    assert done.returncode == 10, done.stderr
    assert done.stdout == b"masked"
    assert b"every pending timer or device event on an interrupt line masked at the 8259A " \
           b"(IMR master 0xff, slave 0x8e)" in done.stderr


def test_max_instructions_stops_exactly(guest, tmp_path):
    stats = tmp_path / "s.json"
    done = run_image(guest("spin"), "--max-instructions", "123457", "--stats", str(stats))
    assert done.returncode == 14
    assert b"--max-instructions 123457" in done.stderr
    s = json.loads(stats.read_text())
    assert s["instructions"] == 123457 and s["end"] == "max-instructions"


def test_timer_interrupts_idle_and_stats(guest, tmp_path):
    stats = tmp_path / "s.json"
    done = run_image(guest("timer_ticks"), "--stats", str(stats))
    assert done.returncode == exit_status(0), done.stderr
    assert done.stdout.startswith(b"ticks=00000014 work=0000ea60")
    s = json.loads(stats.read_text())
    assert s["interrupts"] == {"32 INT 0x20": 20}
    assert s["idle_instructions"] > 0                     # hlt with IF=1 jumped to the next PIT deadline
    assert s["virtual_instructions"] == s["instructions"] + s["idle_instructions"]
    assert 0.0195 < s["simulated_seconds"] < 0.0215      # 20 ticks of ~1 ms
    assert s["port_io"]["pit"] == 3 and s["port_io"]["pic-master"] > 0
    summary = done.stderr.decode().strip().splitlines()[-1]
    assert summary.startswith("previrt: exit-port: status 1,") and "20 interrupts" in summary


def test_clock_rate_scales_simulated_time(guest, tmp_path):
    s1, s2 = tmp_path / "a.json", tmp_path / "b.json"
    run_image(guest("timer_ticks"), "--stats", str(s1))
    run_image(guest("timer_ticks"), "--stats", str(s2), "--clock-hz", "50000000")
    a, b = json.loads(s1.read_text()), json.loads(s2.read_text())
    assert abs(a["simulated_seconds"] - b["simulated_seconds"]) < 0.002   # 20 ticks either way ...
    assert b["virtual_instructions"] < a["virtual_instructions"]          # ... in fewer instructions at 50 M/s


def test_same_image_same_inputs_same_counts(guest, tmp_path):
    runs = []
    for i in range(2):
        stats = tmp_path / f"s{i}.json"
        done = run_image(guest("timer_ticks"), "--stats", str(stats))
        s = json.loads(stats.read_text())
        for volatile in ("wall_seconds", "instructions_per_second", "command_line"):
            del s[volatile]
        runs.append((done.returncode, done.stdout, s))
    assert runs[0] == runs[1]


def test_serial_to_file_and_trace_io(tmp_path):
    img = build_asm(tmp_path, '#include "guestkit.h"\n.text\n.globl _start\n_start:\n puts "to file"\n'
                    ' movw $0x1234, %dx\n inb %dx, %al\n cmpb $0xff, %al\n jne 1f\n'
                    ' outb %al, %dx\n exit 0\n1: exit 1\n')
    out = tmp_path / "serial.txt"
    done = run_image(img, "--serial", str(out), "--trace-io")
    assert done.returncode == exit_status(0)                 # an unclaimed port reads all ones
    assert out.read_bytes() == b"to file" and done.stdout == b""
    assert b"unclaimed port accesses: 0x1234 r x1, 0x1234 w x1" in done.stderr


def test_not_multiboot_is_a_clear_error(tmp_path):
    img = build_asm(tmp_path, ".text\n.globl _start\n_start:\n hlt\n", multiboot_header=False)
    done = run_image(img)
    assert done.returncode == 2
    assert b"no Multiboot header (magic 0x1BADB002) in the first 8 KiB" in done.stderr
    assert str(img).encode() in done.stderr and b"Traceback" not in done.stderr


def test_unwritable_stats_path_is_refused_before_the_run(tmp_path):
    img = build_asm(tmp_path, '#include "guestkit.h"\n.text\n.globl _start\n_start:\n puts "ran"\n exit 0\n')
    for dest, why in ((tmp_path / "no" / "such" / "s.json", b"no such folder"), (tmp_path, b"this is a folder")):
        done = run_image(img, "--stats", str(dest))
        assert done.returncode == 2, done.stderr
        assert why in done.stderr and b"Traceback" not in done.stderr
        assert done.stdout == b""           # refused before the guest ran
    done = run_image(img, "--stats", str(tmp_path / "s.json"))
    assert done.returncode == exit_status(0) and json.loads((tmp_path / "s.json").read_text())["guest_exit_value"] == 0


def test_unknown_target_and_bad_memory_size(tmp_path):
    img = build_asm(tmp_path, '#include "guestkit.h"\n.text\n.globl _start\n_start:\n exit 0\n')
    done = run_image(img, "--target", "nonesuch")
    choices = ", ".join(f"'{name}'" for name in target_names())      # bare and every registered hypervisor
    assert done.returncode == 2 and f"invalid choice: 'nonesuch' (choose from {choices})".encode() in done.stderr
    assert done.stderr.startswith(b"usage: previrt run ")
    done = run_image(img, "--mem", "1")
    assert done.returncode == 2 and b"--mem must be between" in done.stderr


def test_access_to_absent_memory_ends_the_run(tmp_path):
    img = build_asm(tmp_path, '#include "guestkit.h"\n.text\n.globl _start\n_start:\n'
                    ' movl 0x40000000, %eax\n exit 0\n')
    done = run_image(img)
    assert done.returncode == 16
    assert b"read from unmapped memory at 0x40000000" in done.stderr


def test_bios_area_is_rom_and_text_buffer_is_ram(tmp_path):
    img = build_asm(tmp_path, '#include "guestkit.h"\n.text\n.globl _start\n_start:\n'
                    ' movl $0x11223344, 0xE0000\n'          # ROM: the store is dropped
                    ' movl 0xE0000, %eax\n cmpl $0x11223344, %eax\n je 1f\n'
                    ' movl $0x0741, 0xB8000\n'               # text buffer: RAM
                    ' cmpl $0x0741, 0xB8000\n jne 1f\n'
                    ' movl $0x55, 0x9F000\n cmpl $0x55, 0x9F000\n jne 1f\n'   # top of conventional RAM
                    ' puts "ok"\n exit 0\n1: exit 1\n')
    done = run_image(img)
    assert done.returncode == exit_status(0) and done.stdout == b"ok"


class _Scratch:
    """An MMIO device for the test: reads return offset + 0x100, writes are recorded; offset 0x40 is broken."""

    def __init__(self):
        self.writes = []

    def read(self, offset, size):
        return offset + 0x100

    def write(self, offset, size, value):
        if offset == 0x40:
            raise RuntimeError("device fault at 0x40")
        self.writes.append((offset, size, value))


def _machine_with_mmio(tmp_path, monkeypatch, body: str):
    import io

    from previrt.machine import runner
    dev = _Scratch()
    real = runner.build_board

    def board_with_mmio(clock, config):
        board = real(clock, config)
        board.mmio.attach(0xFED00000, 0x1000, dev, "scratch")
        return board
    monkeypatch.setattr(runner, "build_board", board_with_mmio)
    img = build_asm(tmp_path, '#include "guestkit.h"\n.text\n.globl _start\n_start:\n' + body)
    out = io.BytesIO()
    m = runner.Machine(runner.RunConfig(image=str(img), max_instructions=10_000), out)
    return m, dev, out


def test_mmio_windows_of_the_board_reach_their_device(tmp_path, monkeypatch):
    from previrt.machine import runner
    m, dev, out = _machine_with_mmio(tmp_path, monkeypatch, ' movl $0xABCD, 0xFED00010\n movl 0xFED00020, %eax\n'
                                     ' cmpl $0x120, %eax\n jne 1f\n exit 0\n1: exit 1\n')
    runner.run_machine(m)
    assert m.end_reason == "exit-port" and m.exit_status() == exit_status(0)
    assert dev.writes == [(0x10, 4, 0xABCD)]


def test_exception_in_an_mmio_callback_is_reraised_by_the_run_loop(tmp_path, monkeypatch):
    m, dev, out = _machine_with_mmio(tmp_path, monkeypatch, ' movl $1, 0xFED00040\n exit 0\n')
    with pytest.raises(RuntimeError, match="device fault at 0x40"):
        m.run()


# ---------------------------------------------------------------------------------------------------------
# Ends from outside the guest: signals, --timeout, serial input that cannot come

SPIN = '#include "guestkit.h"\n.text\n.globl _start\n_start:\n puts "spinning\\n"\n1: incl %eax\n jmp 1b\n'

# Polls LSR.DR and echoes each byte; with DOTS, also prints a '.' every 50,000 polls (about 0.003 s of virtual time).
POLL_ECHO = """#include "guestkit.h"
.text
.globl _start
_start:
    movw $COM1 + 3, %dx         /* LCR 8N1: the line is up, the remote end may send */
    movb $3, %al
    outb %al, %dx
    puts "ready\\n"
    movl $50000, %ecx
1:  movw $COM1 + 5, %dx
    inb %dx, %al
    testb $1, %al
    jnz 2f
    decl %ecx
    jnz 1b
    movl $50000, %ecx
    movw $COM1, %dx
    movb $DOT, %al
    outb %al, %dx
    jmp 1b
2:  movw $COM1, %dx
    inb %dx, %al
    outb %al, %dx
    jmp 1b
"""

# Interrupt-driven: IRQ 4 (received data) and the PIT's power-on 18.2 Hz IRQ 0 share one handler, which reads IIR
# (never LSR or RBR, unless IIR says data is there) and echoes; between interrupts the CPU halts.
IRQ_ECHO = """#include "guestkit.h"
.text
.globl _start
_start:
    movl $stack_top, %esp
    xorl %ecx, %ecx
1:  movl $isr, %eax              /* vectors 0-15 (the firmware's PIC bases: IRQ 0 = 8, IRQ 4 = 12) -> isr */
    movw %ax, idt(,%ecx,8)
    movw $0x08, idt+2(,%ecx,8)
    movw $0x8E00, idt+4(,%ecx,8)
    shrl $16, %eax
    movw %ax, idt+6(,%ecx,8)
    incl %ecx
    cmpl $16, %ecx
    jb 1b
    lidt idt_desc
    movw $COM1 + 3, %dx         /* LCR 8N1 */
    movb $3, %al
    outb %al, %dx
    movw $COM1 + 4, %dx         /* MCR: OUT2 routes the UART's interrupt to the PIC */
    movb $0x08, %al
    outb %al, %dx
    movw $COM1 + 1, %dx         /* IER: received data available */
    movb $1, %al
    outb %al, %dx
    movb $0xA8, %al             /* master IMR: IRQ 4 unmasked too */
    outb %al, $0x21
    puts "ready\\n"
2:  sti
    hlt
    jmp 2b
isr:
    pushal
    movw $COM1 + 2, %dx
    inb %dx, %al
    andb $0x0F, %al
    cmpb $0x04, %al
    jne 3f
    movw $COM1, %dx
    inb %dx, %al
    outb %al, %dx
3:  movb $0x20, %al
    outb %al, $0x20
    popal
    iret
.data
.p2align 3
idt: .fill 16, 8, 0
idt_desc: .word 16 * 8 - 1
    .long idt
.bss
.p2align 4
    .space 4096
stack_top:
"""


def _stats(path: Path) -> dict:
    return json.loads(path.read_text())


def _summary(done) -> str:
    return done.stderr.decode().strip().splitlines()[-1]


@pytest.fixture(scope="module")
def spinner(tmp_path_factory):
    return build_asm(tmp_path_factory.mktemp("spin"), SPIN, name="spin")


def _started(proc: subprocess.Popen, line: bytes) -> None:
    """Wait until the guest's first line of output arrives (the run loop is running); a bound against a hang."""
    ready, _, _ = select.select([proc.stdout], [], [], 120)
    assert ready and proc.stdout.readline() == line


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_ends_the_run_with_summary_and_stats(spinner, tmp_path, sig):
    stats = tmp_path / "s.json"
    argv = [sys.executable, "-m", "previrt", "run", str(spinner), "--stats", str(stats)]
    # the run honours SIGINT even when this test runs where it is ignored (a background job)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        _started(proc, b"spinning\n")
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    name = signal.Signals(sig).name
    assert proc.returncode == 128 + sig
    lines = err.decode().strip().splitlines()
    assert lines[-2] == f"previrt: interrupted: stopped by {name}"
    assert lines[-1].startswith(f"previrt: interrupted: status {128 + sig}, ")
    s = _stats(stats)
    assert s["end"] == "interrupted" and s["signal"] == name and s["exit_status"] == 128 + sig
    assert s["instructions"] > 0 and "Traceback" not in err.decode()


def test_timeout_ends_an_endless_run_with_summary_and_stats(spinner, tmp_path):
    stats = tmp_path / "s.json"
    done = run_image(spinner, "--timeout", "0.2", "--stats", str(stats), timeout=120)
    assert done.returncode == 24, done.stderr
    assert b"previrt: timeout: stopped after --timeout 0.2 s of wall-clock time" in done.stderr
    assert _summary(done).startswith("previrt: timeout: status 24, ")
    s = _stats(stats)
    assert s["end"] == "timeout" and s["exit_status"] == 24 and s["signal"] is None


def _guest(tmp_path: Path, source: str, name: str, dot: str = "0") -> Path:
    return build_asm(tmp_path, source.replace("$DOT", f"${dot}"), name=name)


def test_polling_guest_at_the_end_of_its_input_ends_with_status_22(tmp_path):
    img = _guest(tmp_path, POLL_ECHO.replace("movb $DOT, %al\n    outb %al, %dx\n", ""), "poll")
    feed = tmp_path / "in.txt"
    feed.write_bytes(b"abc")
    runs = []
    for i in range(2):
        stats = tmp_path / f"s{i}.json"
        done = run_image(img, "--serial-in", str(feed), "--input-wait", "0.01", "--stats", str(stats),
                         "--max-instructions", "20000000", timeout=300)
        assert done.returncode == 22, done.stderr
        assert done.stdout == b"ready\nabc"
        err = done.stderr.decode()
        assert err.count("previrt: input-eof: the guest has waited 0.01 simulated seconds for serial input, "
                         f"and {feed} is at its end") == 1
        assert _summary(done).startswith("previrt: input-eof: status 22, ")
        s = _stats(stats)
        assert s["end"] == "input-eof" and s["virtual_instructions"] >= 1_000_000
        runs.append(s["virtual_instructions"])
    assert runs[0] == runs[1]                       # virtual time only: the same end, to the instruction


def test_no_input_file_or_input_wait_0_never_ends_a_polling_run(tmp_path):
    img = _guest(tmp_path, POLL_ECHO.replace("movb $DOT, %al\n    outb %al, %dx\n", ""), "poll")
    feed = tmp_path / "in.txt"
    feed.write_bytes(b"abc")
    for extra in ((), ("--serial-in", str(feed), "--input-wait", "0")):
        done = run_image(img, "--input-wait", "0.001", *extra, "--max-instructions", "3000000", timeout=300)
        assert done.returncode == 14, (extra, done.stderr)


def test_output_while_polling_restarts_the_input_wait(tmp_path):
    img = _guest(tmp_path, POLL_ECHO, "dots", dot="'.'")
    feed = tmp_path / "in.txt"
    feed.write_bytes(b"abc")
    done = run_image(img, "--serial-in", str(feed), "--input-wait", "0.01", "--max-instructions", "5000000",
                     timeout=300)
    assert done.returncode == 14, done.stderr            # a '.' every ~0.003 s: never 0.01 s without output
    assert done.stdout.startswith(b"ready\n") and done.stdout.count(b".") > 3


def test_halted_guest_waiting_on_the_receive_interrupt_ends_after_the_default_wait(tmp_path):
    img = _guest(tmp_path, IRQ_ECHO, "irq_echo")
    feed = tmp_path / "in.txt"
    feed.write_bytes(b"xyz")
    stats = tmp_path / "s.json"
    done = run_image(img, "--serial-in", str(feed), "--stats", str(stats), "--max-instructions", "5000000", timeout=300)
    assert done.returncode == 22, done.stderr
    assert done.stdout == b"ready\nxyz"
    assert b"waited 10 simulated seconds for serial input" in done.stderr
    s = _stats(stats)
    assert s["end"] == "input-eof" and 10 <= s["simulated_seconds"] < 10.2
    assert s["idle_instructions"] > s["instructions"]    # it waited halted, woken by the 18.2 Hz timer


def test_stats_record_the_command_and_machine_with_the_umask_permissions(tmp_path):
    img = build_asm(tmp_path, '#include "guestkit.h"\n.text\n.globl _start\n_start:\n exit 0\n')
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(1024))
    for umask, mode in ((0o022, 0o644), (0o077, 0o600), (0o002, 0o664)):
        stats = tmp_path / f"s{umask:o}.json"
        argv = [sys.executable, "-m", "previrt", "run", str(img), "--mem", "32", "--disk", str(disk),
                "--stats", str(stats)]
        done = subprocess.run(argv, capture_output=True, timeout=60, preexec_fn=lambda: os.umask(umask))
        assert done.returncode == exit_status(0), done.stderr
        assert stats.stat().st_mode & 0o777 == mode
        s = _stats(stats)
        assert s["command_line"] == ["previrt", *argv[3:]]
        assert s["mem_mib"] == 32 and s["disks"] == {"disk": str(disk)}
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []   # no temporary left


def _wait_blocked_reading_stdin(proc: subprocess.Popen) -> None:
    """Until the process sits in read(0, ...) (Linux: /proc/PID/syscall, x86-64 read is 0); bounded against a hang."""
    for _ in range(12000):
        fields = Path(f"/proc/{proc.pid}/syscall").read_text().split()
        if fields[:2] == ["0", "0x0"]:
            return
        time.sleep(0.01)
    raise AssertionError(f"never blocked reading standard input: {fields}")


@pytest.mark.skipif(not Path("/proc/self/syscall").exists() or os.uname().machine != "x86_64",
                    reason="needs Linux /proc/PID/syscall on x86-64")
def test_a_second_signal_ends_a_run_blocked_on_standard_input(tmp_path):
    img = _guest(tmp_path, POLL_ECHO.replace("movb $DOT, %al\n    outb %al, %dx\n", ""), "poll")
    stats = tmp_path / "s.json"
    read_end, write_end = os.pipe()        # standard input that stays open and never brings a byte
    argv = [sys.executable, "-m", "previrt", "run", str(img), "--serial-in", "-", "--stats", str(stats)]
    proc = subprocess.Popen(argv, stdin=read_end, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    os.close(read_end)
    try:
        _started(proc, b"ready\n")
        _wait_blocked_reading_stdin(proc)
        sent = 0
        while proc.poll() is None and sent < 100:   # the first one only asks; a later one ends the blocked read
            proc.send_signal(signal.SIGINT)
            sent += 1
            try:
                proc.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
        os.close(write_end)
    assert proc.returncode == 130 and sent >= 2
    assert err.decode().strip().splitlines()[-1].startswith("previrt: interrupted: status 130, ")
    assert _stats(stats)["signal"] == "SIGINT"


def test_raw_image_with_multiboot_address_fields_runs(tmp_path):
    """A Multiboot image that is no ELF file (flag bit 16: the header's address fields say where it loads) runs on
    the bare PC: the check for a patched image leaves it alone."""
    flags = (1 << 16) | 3
    header = struct.pack("<8I", 0x1BADB002, flags, -(0x1BADB002 + flags) & 0xFFFFFFFF,
                         0x200040, 0x200000, 0x200080, 0x201000, 0x200060)
    body = bytearray(0x80)
    body[0x40:0x40 + len(header)] = header
    body[0x60:0x62] = b"\xfa\xf4"       # cli; hlt
    path = tmp_path / "kernel.bin"
    path.write_bytes(bytes(body))
    done = run_image(path)
    assert done.returncode == 10 and b"interrupts disabled" in done.stderr
