"""`previrt run`: build the bare PC (memory, CPU, board), load a Multiboot image, and run it in deterministic virtual time.

Owns the run loop (slices to clock deadlines, interrupt delivery at slice boundaries, hlt as idle), end reasons and statuses."""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from typing import BinaryIO

from unicorn import x86_const as X

from previrt.errors import UsageError
from previrt.machine import memory, multiboot
from previrt.machine.board import Board, BoardConfig, build_board
from previrt.machine.clock import DEFAULT_HZ, Clock
from previrt.machine.cpu import (Cpu, InterruptEnableSites, MachineStop, MemoryAccessError, TripleFault,
                                 UnsupportedEvent, segment_descriptor, interrupt_enable_sites)
from previrt.machine.stats import RunStats, by_vector, check_destination, write_json

MAX_SLICE = 1 << 20          # instructions per emu_start when no event is scheduled
PENDING_POLL = 1000          # first slice length while an interrupt waits for IF=1 (bounds latency after sti);
                             # doubled on each such slice, so a guest that stays at IF=0 costs few slices

# How a run ends → process status.  The exit port gives (v << 1) | 1 (odd, as QEMU's isa-debug-exit);
# the machine's own stops use even statuses, so a script can tell them apart.
END_STATUS = {
    "halted": 10,               # hlt with IF=0, or with nothing left that could wake the CPU
    "triple-fault": 12,
    "max-instructions": 14,
    "memory-error": 16,         # access to physical memory the PC does not have
    "unsupported": 18,          # an event this CPU model does not deliver (task gate, v8086 mode)
    "cpu-error": 20,            # unicorn stopped for a reason of its own
}


@dataclass
class RunConfig:
    image: str
    target: str = "bare"
    mem_bytes: int = 64 * memory.MiB
    cmdline: str = ""
    clock_hz: int = DEFAULT_HZ
    max_instructions: int | None = None
    disk: str | None = None
    disk1: str | None = None
    rtc: str = "fixed"
    trace_io: bool = False


# ---------------------------------------------------------------------------------------------------------
# Building the machine


def boot_gdt() -> bytes:
    """null, flat 4 GiB ring-0 code (0x08), flat 4 GiB ring-0 data (0x10); accessed bits preset, so the CPU never
    needs to write the (read-only) BIOS area where this table lives."""
    return bytes(8) + segment_descriptor(0, 0xFFFFF, 0x9B) + segment_descriptor(0, 0xFFFFF, 0x93)


def set_multiboot_state(cpu: Cpu, entry: int) -> None:
    """Multiboot machine state: protected mode, paging off, flat segments, IF=0, EAX magic, EBX info."""
    gdt = boot_gdt()
    cpu.uc.mem_write(memory.BOOT_GDT_BASE, gdt)
    cpu.set_reg(X.UC_X86_REG_GDTR, (0, memory.BOOT_GDT_BASE, len(gdt) - 1, 0))
    cpu.set_reg(X.UC_X86_REG_IDTR, (0, 0, 0x3FF, 0))  # the real-mode IVT left by the BIOS, as QEMU hands over
    cpu.set_reg(X.UC_X86_REG_CR0, 0x11)                 # PE | ET, PG clear
    cpu.set_reg(X.UC_X86_REG_CR4, 0)                    # as after the BIOS (unicorn starts with OSFXSR and more)
    cpu.set_reg(X.UC_X86_REG_CS, memory.BOOT_CODE_SELECTOR)
    for reg in (X.UC_X86_REG_SS, X.UC_X86_REG_DS, X.UC_X86_REG_ES, X.UC_X86_REG_FS, X.UC_X86_REG_GS):
        cpu.set_reg(reg, memory.BOOT_DATA_SELECTOR)
    cpu.set_reg(X.UC_X86_REG_EFLAGS, 0x2)
    cpu.set_reg(X.UC_X86_REG_EAX, multiboot.MULTIBOOT_BOOTLOADER_MAGIC)
    cpu.set_reg(X.UC_X86_REG_EBX, memory.BOOT_INFO_BASE)
    cpu.set_reg(X.UC_X86_REG_ESP, memory.BOOT_INFO_BASE)   # undefined by Multiboot; a usable stack below the info
    cpu.set_reg(X.UC_X86_REG_EIP, entry)


def load(cpu: Cpu, config: RunConfig, regions) -> None:
    plan = multiboot.plan_load(config.image)
    multiboot.check_plan(plan, regions, config.image)
    memory.map_regions(cpu.uc, regions)
    multiboot.write_plan(plan, cpu.uc.mem_write)
    for addr, data in multiboot.build_info(regions, config.cmdline).items():
        cpu.uc.mem_write(addr, data)
    set_multiboot_state(cpu, plan.entry)


# ---------------------------------------------------------------------------------------------------------
# The run loop


class Machine:
    """One bare PC: CPU + board + clock, stepping in slices that end exactly at clock deadlines."""

    def __init__(self, config: RunConfig, serial_out: BinaryIO, serial_in: BinaryIO | None = None):
        self.config = config
        regions = memory.layout(config.mem_bytes)   # validate sizes before building anything
        self.clock = Clock(config.clock_hz)
        self.board: Board = build_board(self.clock, BoardConfig(
            mem_bytes=config.mem_bytes, serial_out=serial_out, serial_in=serial_in, disk=config.disk,
            disk1=config.disk1, rtc=config.rtc, trace_io=config.trace_io))
        self.cpu = Cpu(self._port_read, self._port_write)
        load(self.cpu, config, regions)
        self.cpu.watch_interrupt_enables(self._interrupt_enable_sites(), self.board.intr)
        for m in self.board.mmio.mappings():
            self._map_mmio(m)
        self.executed = 0
        self.idle = 0
        self.slices = 0
        self._slice_start = 0
        self._slice_end = 0
        self._poll = PENDING_POLL
        self.end_reason = ""
        self.report = ""

    def _interrupt_enable_sites(self) -> InterruptEnableSites:
        """sti/popf/iret in the image's code, so a waiting interrupt is taken right where IF becomes 1; code from
        elsewhere (copied or generated at run time) falls back to the PENDING_POLL slices."""
        sites = InterruptEnableSites()
        for address, code in multiboot.executable_code(self.config.image):
            sites.update(interrupt_enable_sites(code, address))
        return sites

    def _map_mmio(self, m) -> None:
        """An MMIO window of the board: device callbacks run inside unicorn, so they go through the CPU's hook guard
        (an exception is recorded and re-raised by the run loop) and see exact virtual time, like port I/O."""
        dev = m.device

        def read(offset: int, size: int) -> int:
            self._sync_clock()
            value = dev.read(offset, size)
            self._maybe_stop()
            return value

        def write(offset: int, size: int, value: int) -> None:
            self._sync_clock()
            dev.write(offset, size, value)
            self._maybe_stop()
        self.cpu.uc.mmio_map(m.base, m.length, self.cpu.guard(read, 0), None, self.cpu.guard(write), None)

    # --- port I/O from the CPU's hooks ------------------------------------------------------------------
    def _sync_clock(self) -> None:
        """Mid-slice, the engine's counter says how many instructions of this slice have begun (the in/out
        included): virtual time is exact at every port access."""
        self.clock.now = self._slice_start + self.cpu.counter()

    def _port_read(self, port: int, size: int) -> int:
        self._sync_clock()
        value = self.board.port_read(port, size)
        self._maybe_stop()
        return value

    def _port_write(self, port: int, size: int, value: int) -> None:
        self._sync_clock()
        self.board.port_write(port, size, value)
        self._maybe_stop()

    def _maybe_stop(self) -> None:
        """End the slice after this instruction if the guest must see something now: the exit port was written,
        a device scheduled an event before the slice's end, or an interrupt is requested — with IF=1 to take it,
        with IF=0 so that the next slice watches for IF becoming 1 (unless this one already does)."""
        deadline = self.clock.next_deadline()
        if (self.board.exit_status is not None
                or (deadline is not None and deadline < self._slice_end)
                or (self.board.intr() and (self.cpu.interrupts_enabled or not self.cpu.interrupt_window_armed))):
            self.cpu.request_stop()

    # --- stepping ---------------------------------------------------------------------------------------
    def run(self) -> None:
        halted = False
        while True:
            if self.board.exit_status is not None:
                return self._end("exit-port")
            if self.cpu.interrupts_enabled and self.board.intr():
                self.cpu.delivery.deliver_external(self.board.acknowledge())
                halted = False
            deadline = self.clock.next_deadline()
            if deadline is not None and deadline <= self.clock.now:
                self.clock.advance(self.clock.now)      # events due now (scheduled during the last slice)
                continue
            if halted:
                if not self.cpu.interrupts_enabled or deadline is None or not self.board.can_wake():
                    return self._end("halted", self._halt_report(deadline))
                self.idle += deadline - self.clock.now
                self.clock.advance(deadline)
                continue
            budget = self._budget(deadline)
            if budget == 0:
                return self._end("max-instructions", f"stopped after --max-instructions "
                                 f"{self.config.max_instructions} instructions")
            halted = self._slice(budget)

    def _budget(self, deadline: int | None) -> int:
        budget = MAX_SLICE if deadline is None else deadline - self.clock.now
        waiting = not self.cpu.interrupts_enabled and self.board.intr()
        self.cpu.arm_interrupt_window(waiting)     # exact after sti/popf in the image ...
        if waiting:                                 # ... and polled for iret and code from elsewhere
            budget = min(budget, self._poll)
            self._poll = min(self._poll * 2, MAX_SLICE)
        else:
            self._poll = PENDING_POLL
        if self.config.max_instructions is not None:
            budget = min(budget, self.config.max_instructions - self.executed)
        return budget

    def _slice(self, budget: int) -> bool:
        """Run one slice; advance the clock (firing due events); return whether the CPU halted."""
        self._slice_start, self._slice_end = self.clock.now, self.clock.now + budget
        self.slices += 1
        try:
            ran = self.cpu.run(budget)
        finally:
            self.executed += self.cpu.last_ran
        self.clock.advance(max(self._slice_start + ran, self.clock.now))
        return self.cpu.halted

    def _halt_report(self, deadline: int | None) -> str:
        if not self.cpu.interrupts_enabled:
            why = "interrupts disabled (IF=0)"
        elif deadline is None:
            why = "no timer or device event pending"
        else:
            pic = self.board.pic
            why = (f"every pending timer or device event on an interrupt line masked at the 8259A "
                   f"(IMR master {pic.master.imr:#04x}, slave {pic.slave.imr:#04x})")
        eip = self.cpu.reg(X.UC_X86_REG_EIP)
        return f"the CPU halted at eip {eip - 1:#010x} with {why}: nothing can wake it\n{self.cpu.state_report()}"

    def _end(self, reason: str, report: str = "") -> None:
        self.end_reason, self.report = reason, report

    def exit_status(self) -> int:
        if self.end_reason == "exit-port":
            return ((self.board.exit_status << 1) | 1) & 0xFF
        return END_STATUS[self.end_reason]


STOP_REASONS = {TripleFault: "triple-fault", MemoryAccessError: "memory-error", UnsupportedEvent: "unsupported"}


def stop_reason(err: MachineStop) -> str:
    return STOP_REASONS.get(type(err), "cpu-error")


def run_machine(machine: Machine) -> None:
    """Run to the end; a machine stop (triple fault, bad memory access) becomes the end reason and report."""
    try:
        machine.run()
    except MachineStop as e:
        machine._end(stop_reason(e), str(e))


def collect_stats(machine: Machine, wall: float) -> RunStats:
    cpu, board, clock = machine.cpu, machine.board, machine.clock
    return RunStats(
        image=machine.config.image, target=machine.config.target, end=machine.end_reason,
        exit_status=machine.exit_status(), guest_exit_value=board.exit_status,
        instructions=machine.executed, idle_instructions=machine.idle, virtual_instructions=clock.now,
        clock_hz=clock.hz, simulated_seconds=clock.seconds(), slices=machine.slices,
        interrupts=by_vector(cpu.interrupts), exceptions=by_vector(cpu.exceptions),
        software_interrupts=by_vector(cpu.software_interrupts), port_io=dict(sorted(board.io_counts.items())),
        unclaimed_ports={f"{port:#06x} {kind}": n for (port, kind), n in sorted(board.unclaimed.items())},
        wall_seconds=wall, instructions_per_second=machine.executed / wall if wall > 0 else 0.0)


# ---------------------------------------------------------------------------------------------------------
# The command


TARGETS = ("bare",)


def config_from_args(args: argparse.Namespace) -> RunConfig:
    if args.target not in TARGETS:
        raise UsageError(f"unknown target {args.target!r} (known: {', '.join(TARGETS)})")
    if args.max_instructions is not None and args.max_instructions <= 0:
        raise UsageError("--max-instructions must be positive")
    if args.clock_hz is not None and args.clock_hz <= 0:
        raise UsageError("--clock-hz must be positive")
    return RunConfig(image=args.image, target=args.target, mem_bytes=args.mem * memory.MiB, cmdline=args.cmdline,
                     clock_hz=args.clock_hz or DEFAULT_HZ, max_instructions=args.max_instructions,
                     disk=args.disk, disk1=args.disk1, rtc=args.rtc, trace_io=args.trace_io)


def open_serial(stack: ExitStack, args: argparse.Namespace) -> tuple[BinaryIO, BinaryIO | None]:
    try:
        out = sys.stdout.buffer if args.serial == "stdio" else stack.enter_context(open(args.serial, "wb"))
        src = None
        if args.serial_in == "-":
            src = sys.stdin.buffer
        elif args.serial_in:
            src = stack.enter_context(open(args.serial_in, "rb"))
    except OSError as e:
        raise UsageError(f"cannot open serial file: {e.strerror}", where=e.filename) from None
    return out, src


def run_command(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if args.stats:
        check_destination(args.stats)
    with ExitStack() as stack:
        serial_out, serial_in = open_serial(stack, args)
        machine = Machine(config, serial_out, serial_in)
        stack.callback(machine.board.close)
        start = time.perf_counter()
        run_machine(machine)
        wall = time.perf_counter() - start
    stats = collect_stats(machine, wall)
    if machine.report:
        print(f"previrt: {machine.end_reason}: {machine.report}", file=sys.stderr)
    if args.trace_io and stats.unclaimed_ports:
        print("previrt: unclaimed port accesses: " + ", ".join(
            f"{k} x{n}" for k, n in stats.unclaimed_ports.items()), file=sys.stderr)
    if args.stats:
        write_json(stats, args.stats)
    print(stats.summary(), file=sys.stderr)
    return stats.exit_status
