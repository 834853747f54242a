"""`previrt run`: build the bare PC (memory, CPU, board), load a Multiboot image, and run it in deterministic virtual time.

Owns the run loop (slices to clock deadlines, interrupt delivery at slice boundaries, hlt as idle), the ends that come
from outside the guest (a signal, the wall-clock --timeout, serial input that cannot come), end reasons and statuses."""

from __future__ import annotations

import argparse
import os
import signal
import stat
import sys
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import BinaryIO, Iterator

from unicorn import x86_const as X

from previrt.errors import UsageError
from previrt.machine import memory, multiboot
from previrt.machine.board import Board, BoardConfig, build_board
from previrt.machine.clock import DEFAULT_HZ, Clock
from previrt.machine.cpu import Cpu, InterruptEnableSites, MachineStop, segment_descriptor, interrupt_enable_sites
from previrt.machine.stats import RunStats, by_vector, check_destination, write_json, write_whole
from previrt.elf import ELFMAG
from previrt.sites import SECTION

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
    "input-eof": 22,            # the guest waits for serial input, and the --serial-in file is at its end
    "timeout": 24,              # --timeout seconds of wall-clock time passed
    "violation": 26,            # the guest broke a hypervisor's rule where the bare PC would not fault
}
INTERRUPTED = "interrupted"     # SIGINT or SIGTERM: status 128 + the signal's number (130, 143), as a shell reports
END_SIGNALS = (signal.SIGINT, signal.SIGTERM)

DEFAULT_INPUT_WAIT = 10.0       # simulated seconds a guest may wait for serial input after the input's end (--input-wait)

# The machines `previrt run --target` knows (the one list: the CLI's choices and help come from target_names()):
# the bare PC and every hypervisor registered under the entry-point group previrt.hypervisors.
BARE = "bare"


def target_names() -> tuple[str, ...]:
    from previrt.vmm import registry

    return (BARE, *registry.names())


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
    serial_in: str | None = None      # the --serial-in file, for messages ("-": standard input)
    virt: str | None = None           # on a hypervisor: "full", "previrt" (the sites patched at load) or "paravirt"
    trace_exits: bool = False         # one line per hypervisor exit on stderr
    patched: object = None            # an image previrt patch wrote: its record (previrt.patch.PatchedNote)
    input_wait: float = DEFAULT_INPUT_WAIT   # simulated seconds; 0: never end a run for want of input
    timeout: float | None = None      # wall-clock seconds
    mp: bool = True                   # the firmware's MultiProcessor tables (--mp off: none)
    screen: str | None = None         # --screen: where the final text screen goes ("-": standard output)
    keys: bytes = b""                 # --keys: scancodes (set 1) for the keyboard
    costs: object = None              # on a hypervisor: the cost table charged into virtual time (previrt.costs;
                                      # None: the default table); the bare PC charges nothing


# ---------------------------------------------------------------------------------------------------------
# Building the machine


def boot_gdt() -> bytes:
    """null, flat 4 GiB ring-0 code (0x08), flat 4 GiB ring-0 data (0x10); accessed bits preset, so the CPU never
    needs to write the (read-only) BIOS area where this table lives."""
    return bytes(8) + segment_descriptor(0, 0xFFFFF, 0x9B) + segment_descriptor(0, 0xFFFFF, 0x93)


def set_multiboot_state(cpu: Cpu, entry: int, offset: int = 0) -> None:
    """Multiboot machine state: protected mode, paging off, flat segments, IF=0, EAX magic, EBX info.  With `offset`,
    the PC's physical memory lies at host address p + offset (a hypervisor's guest memory): the boot GDT is written
    and loaded there."""
    gdt = boot_gdt()
    cpu.uc.mem_write(memory.BOOT_GDT_BASE + offset, gdt)
    cpu.set_reg(X.UC_X86_REG_GDTR, (0, memory.BOOT_GDT_BASE + offset, len(gdt) - 1, 0))
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
    for addr, data in multiboot.build_info(regions, config.cmdline, config.mp).items():
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
            disk1=config.disk1, rtc=config.rtc, trace_io=config.trace_io, keys=config.keys))
        self.cpu = self._make_cpu()
        self._load(regions)
        self.cpu.watch_interrupt_enables(self._interrupt_enable_sites(), self.board.intr)
        for m in self.board.mmio.mappings():
            self._map_mmio(m)
        self.executed = 0
        self.idle = 0
        self.charged = 0                # cycles of virtualization overhead charged into virtual time (a hypervisor's)
        self._pending = 0               # ... of which not yet added to the clock
        self._in_slice = False
        self.woken = False              # set while an interrupt is delivered to a CPU that was idle in hlt
        self.slices = 0
        self._slice_start = 0
        self._slice_end = 0
        self._poll = PENDING_POLL
        self.end_reason = ""
        self.report = ""
        self.signal: int | None = None          # the signal that ended the run (end reason "interrupted")
        self._stop_request: tuple[str, str] | None = None   # an end asked for from outside the run loop
        self._wall_limit: float | None = None   # time.monotonic() at which --timeout ends the run
        self._input_wait = round(config.input_wait * self.clock.hz)   # --input-wait in virtual instructions
        self._uart = self.board.devices.get("com1")
        self._ata = self.board.devices.get("ata")

    # --- what a hypervisor's machine replaces (previrt.vmm.machine) ----------------------------------------
    def _make_cpu(self) -> Cpu:
        return Cpu(self._port_read, self._port_write)

    def _load(self, regions) -> None:
        load(self.cpu, self.config, regions)

    def guest_interrupts_enabled(self) -> bool:
        """EFLAGS.IF as the guest sees it (a hypervisor keeps the guest kernel's IF virtual)."""
        return self.cpu.interrupts_enabled

    def _halted_after_slice(self) -> bool:
        return self.cpu.halted

    def hypervisor_stats(self) -> dict:
        """What a hypervisor adds to the run's statistics (RunStats fields); the bare PC adds nothing."""
        return {}

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
        def read(offset: int, size: int) -> int:
            return self._mmio_read(m, offset, size)

        def write(offset: int, size: int, value: int) -> None:
            self._mmio_write(m, offset, size, value)
        self.cpu.uc.mmio_map(m.base, m.length, self.cpu.guard(read, 0), None, self.cpu.guard(write), None)

    def _mmio_read(self, m, offset: int, size: int) -> int:
        self._sync_clock()
        value = m.device.read(offset, size)
        self._maybe_stop()
        return value

    def _mmio_write(self, m, offset: int, size: int, value: int) -> None:
        self._sync_clock()
        m.device.write(offset, size, value)
        self._maybe_stop()

    # --- port I/O from the CPU's hooks ------------------------------------------------------------------
    def _sync_clock(self) -> None:
        """Mid-slice, the engine's counter says how many instructions of this slice have begun (the in/out
        included): virtual time is exact at every port access."""
        self.clock.now = self._slice_start + self.cpu.counter() + self._pending

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
                or (self.board.intr() and (self.guest_interrupts_enabled() or not self.cpu.interrupt_window_armed))):
            self.cpu.request_stop()

    # --- stepping ---------------------------------------------------------------------------------------
    def run(self) -> None:
        halted = False
        self._start_wall_clock()
        while True:
            if self.board.exit_status is not None:
                return self._end("exit-port")
            stop = self._outside_stop() or self._input_wait_stop(halted)
            if stop:
                return self._end(*stop)
            if self.guest_interrupts_enabled() and self.board.intr():
                self.woken = halted                     # the interrupt ends an idle hlt (a hypervisor counts no exit)
                self.cpu.delivery.deliver_external(self.board.acknowledge())
                halted = self.woken = False
            self._settle_charges()
            deadline = self.clock.next_deadline()
            if deadline is not None and deadline <= self.clock.now:
                self.clock.advance(self.clock.now)      # events due now (scheduled during the last slice)
                continue
            if halted:
                if not self.guest_interrupts_enabled() or deadline is None or not self.board.can_wake():
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
        waiting = not self.guest_interrupts_enabled() and self.board.intr()
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
        self._in_slice = True
        try:
            ran = self.cpu.run(budget)
        finally:
            self.executed += self.cpu.last_ran
            self._in_slice = False
        pending, self._pending = self._pending, 0
        self.clock.advance(max(self._slice_start + ran + pending, self.clock.now))
        return self._halted_after_slice()

    # --- virtualization overhead in virtual time (a hypervisor's machine charges; the bare PC never does) ---------
    def charge(self, cycles: int) -> None:
        """Add `cycles` of overhead to virtual time.  Inside a slice they join the clock at the next port access or
        at the slice's end; when they carry virtual time past the next event, the slice ends after the current
        instruction, so the event fires at the next point the run loop can deliver it."""
        if cycles <= 0:
            return
        self.charged += cycles
        self._pending += cycles
        if self._in_slice:
            deadline = self.clock.next_deadline()
            if deadline is not None and self._slice_start + self.cpu.counter() + self._pending >= deadline:
                self.cpu.request_stop()

    def charge_counts(self) -> None:
        """Charge the overhead counts gained since the last look (a hypervisor's; the bare PC has none)."""

    def _settle_charges(self) -> None:
        """Between slices: overhead charged outside one (an injection from the run loop) moves the clock now."""
        if self._pending:
            pending, self._pending = self._pending, 0
            self.clock.advance(self.clock.now + pending)

    # --- ends that come from outside the guest ------------------------------------------------------------
    def request_end(self, reason: str, report: str, signum: int | None = None) -> None:
        """End the run at the next slice boundary (safe from a signal handler, also while a hook runs: the current
        slice is cut short); the first request wins."""
        if self._stop_request is None:
            self._stop_request = (reason, report)
            self.signal = signum
        self.cpu.request_stop()

    def _start_wall_clock(self) -> None:
        if self.config.timeout is not None:
            self._wall_limit = time.monotonic() + self.config.timeout

    def _outside_stop(self) -> tuple[str, str] | None:
        """A requested end (a signal), or the wall-clock --timeout passed; checked at every slice boundary, so a
        slice (at most MAX_SLICE instructions) is the latency."""
        if self._stop_request is None and self._wall_limit is not None and time.monotonic() >= self._wall_limit:
            self._stop_request = ("timeout", f"stopped after --timeout {self.config.timeout:g} s of wall-clock time")
        return self._stop_request

    def _input_wait_stop(self, halted: bool) -> tuple[str, str] | None:
        """The guest waits for serial input that cannot come.  Precisely: the --serial-in source has reached its
        end; for `input_wait` of virtual time since the latest of that end, the UART's last byte sent or received and
        the last ATA command, nothing of these happened; and the guest is waiting on the UART right now: halted
        with the UART's receive interrupt enabled, or it read the UART's LSR or RBR in the last slice.  Decided
        at slice boundaries, from virtual time only: deterministic."""
        uart = self._uart
        if uart is None or uart.input_ended_at is None or self._input_wait <= 0:
            return None
        quiet_since = max(uart.input_ended_at, uart.last_transfer, self._last_disk_command())
        if self.clock.now - quiet_since < self._input_wait:
            return None
        polling = uart.last_receiver_read is not None and uart.last_receiver_read >= max(quiet_since, self._slice_start)
        if not (polling or (halted and uart.receive_interrupt_enabled)):
            return None
        source = "standard input" if self.config.serial_in == "-" else self.config.serial_in or "the serial input"
        return "input-eof", (f"the guest has waited {self.config.input_wait:g} simulated seconds for serial input, "
                             f"and {source} is at its end (--input-wait)")

    def _last_disk_command(self) -> int:
        last = getattr(self._ata, "last_command_at", None)
        return 0 if last is None else last

    def _halt_report(self, deadline: int | None) -> str:
        if not self.guest_interrupts_enabled():
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
        if self.end_reason == INTERRUPTED:
            return 128 + self.signal
        return END_STATUS[self.end_reason]


def stop_reason(err: MachineStop) -> str:
    """The end reason of a machine stop: the one its class names."""
    return err.reason


class RunInterrupted(BaseException):
    """A second SIGINT/SIGTERM while the first waits for the next slice boundary (a read of standard input for
    --serial-in - can block the run loop): raised from the signal handler, it ends the run at once."""


def run_machine(machine: Machine) -> None:
    """Run to the end; a machine stop (triple fault, bad memory access) becomes the end reason and report."""
    try:
        machine.run()
    except MachineStop as e:
        machine._end(stop_reason(e), str(e))
    except RunInterrupted:
        machine._end(*machine._stop_request)


@contextmanager
def ending_on_signals(machine: Machine) -> Iterator[None]:
    """While the machine runs, SIGINT and SIGTERM end the run at the next slice boundary (so the summary and --stats
    follow, with status 128 + signal); a second one ends it at once.  A signal ignored when the run started stays
    ignored; outside the main thread (where handlers cannot be set) nothing changes."""
    def handler(signum, _frame):
        if machine._stop_request is not None and machine.signal is not None:
            raise RunInterrupted()
        machine.request_end(INTERRUPTED, f"stopped by {signal.Signals(signum).name}", signum)
    previous = {}
    try:
        for sig in END_SIGNALS:
            if signal.getsignal(sig) is not signal.SIG_IGN:
                previous[sig] = signal.signal(sig, handler)
    except ValueError:      # not the main thread
        pass
    try:
        yield
    except RunInterrupted:  # a second signal just after the run ended: the run's own end stands
        pass
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def collect_stats(machine: Machine, wall: float, command_line: list[str] | None = None) -> RunStats:
    machine.charge_counts()
    cpu, board, clock, config = machine.cpu, machine.board, machine.clock, machine.config
    return RunStats(
        image=config.image, target=config.target, end=machine.end_reason,
        exit_status=machine.exit_status(), guest_exit_value=board.exit_status,
        signal=signal.Signals(machine.signal).name if machine.end_reason == INTERRUPTED else None,
        command_line=command_line, mem_mib=config.mem_bytes // memory.MiB,
        disks={k: v for k, v in (("disk", config.disk), ("disk1", config.disk1)) if v},
        instructions=machine.executed, idle_instructions=machine.idle, virtual_instructions=clock.now + machine._pending,
        clock_hz=clock.hz, simulated_seconds=clock.seconds(), slices=machine.slices,
        interrupts=by_vector(cpu.interrupts), exceptions=by_vector(cpu.exceptions),
        software_interrupts=by_vector(cpu.software_interrupts), port_io=dict(sorted(board.io_counts.items())),
        unclaimed_ports={f"{port:#06x} {kind}": n for (port, kind), n in sorted(board.unclaimed.items())},
        wall_seconds=wall, instructions_per_second=machine.executed / wall if wall > 0 else 0.0,
        **machine.hypervisor_stats())


def add_cycles(stats: RunStats, machine: Machine) -> RunStats:
    """The cost model's estimate of the run (`cycles`) and the table it used (`costs`); on a hypervisor the overhead
    estimated from the counts is the overhead charged into virtual time."""
    from dataclasses import asdict

    from previrt import costs

    table = machine.config.costs or costs.DEFAULT
    stats.cycles = costs.estimate(asdict(stats), table)
    stats.cycles["charged"] = machine.charged
    stats.costs = {"name": table.name, "file": table.file}
    return stats


# ---------------------------------------------------------------------------------------------------------
# The command: every input is checked before any output is opened, so bad input leaves no file behind


def config_from_args(args: argparse.Namespace) -> RunConfig:
    if args.target not in target_names():
        raise UsageError(f"unknown target {args.target!r} (known: {', '.join(target_names())})")
    for option, value in (("--max-instructions", args.max_instructions), ("--clock-hz", args.clock_hz),
                          ("--timeout", args.timeout)):
        if value is not None and not 0 < value < float("inf"):
            raise UsageError(f"{option} must be a positive number, not {value:g}")
    input_wait = DEFAULT_INPUT_WAIT if args.input_wait is None else args.input_wait
    if not 0 <= input_wait < float("inf"):
        raise UsageError(f"--input-wait must be 0 (never) or a number of seconds, not {input_wait:g}")
    try:
        args.cmdline.encode()
    except UnicodeEncodeError:
        raise UsageError("--cmdline is not valid UTF-8 text") from None
    virt = getattr(args, "virt", None)
    trace_exits = getattr(args, "trace_exits", False)
    keys = read_keys(args.keys) if getattr(args, "keys", None) else b""
    if args.target == BARE and (virt or trace_exits):
        raise UsageError(f"{'--virt' if virt else '--trace-exits'} needs a hypervisor --target "
                         f"({', '.join(target_names()[1:]) or 'none registered'}); the bare PC runs the image as it is")
    return RunConfig(image=args.image, target=args.target, mem_bytes=args.mem * memory.MiB, cmdline=args.cmdline,
                     clock_hz=args.clock_hz or DEFAULT_HZ, max_instructions=args.max_instructions,
                     disk=args.disk, disk1=args.disk1, rtc=args.rtc, trace_io=args.trace_io,
                     serial_in=args.serial_in, input_wait=input_wait, timeout=args.timeout,
                     mp=getattr(args, "mp", "on") != "off", screen=getattr(args, "screen", None), keys=keys,
                     virt=virt, trace_exits=trace_exits, costs=_costs(args))


def _costs(args: argparse.Namespace):
    """`--costs FILE|none|default`: the cost table a hypervisor charges into virtual time (previrt.costs)."""
    from previrt.costs import costs_option

    return costs_option(getattr(args, "costs", None))


def read_keys(path: str) -> bytes:
    """The --keys file: scancodes of set 1, one byte each."""
    if os.path.isdir(path):
        raise UsageError("--keys: is a folder", where=path)
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise UsageError(f"--keys: cannot read: {e.strerror}", where=path) from None


def write_screen(machine: Machine, destination: str) -> None:
    """--screen: the final 80x25 text screen (CRTC start address applied) to a file, or standard output for -."""
    from previrt.machine.devices.cga import text_screen

    vga = machine.board.devices.get("vga")
    text = text_screen(machine.cpu.phys_read, vga.start if vga is not None else 0)
    if destination == "-":
        sys.stdout.flush()
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        write_whole(text, destination)
    except OSError as e:
        raise UsageError(f"--screen: cannot write: {e.strerror}", where=destination) from None


def check_mode(config: RunConfig) -> None:
    """On a hypervisor: an image without site records runs by full virtualization; a previrt image is patched at load
    for the hypervisor (mode "previrt") unless --virt full asks for full virtualization (its sites then ignored)."""
    from previrt.patch import patched_note

    elf = has_elf_magic(config.image)                                 # a Multiboot image may be raw
    note = patched_note(config.image) if elf else None
    if note is not None:
        check_patched(config, note)
        return
    from previrt.elf import paravirt_target

    port = paravirt_target(config.image) if elf else None
    if port is not None:
        check_paravirt(config, *port)
        return
    if config.target == BARE or config.virt == "full":
        return
    from previrt.elf import has_sites
    from previrt.vmm import registry

    if not has_sites(config.image):
        config.virt = "full"
        return
    if registry.load(config.target).paravirt is None:
        raise UsageError(f"this previrt image has {SECTION} records, and {config.target} runs images by full "
                         "virtualization only: add --virt full (the sites are then ignored)", where=config.image)
    config.virt = "previrt"


def has_elf_magic(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(len(ELFMAG)) == ELFMAG


def check_patched(config: RunConfig, note) -> None:
    """An image `previrt patch` wrote runs only on the hypervisor and ABI it was patched for, patched."""
    where = config.image
    if config.target != note.target:
        raise UsageError(f"this image is patched for {note.target} (ABI {note.abi}) and runs only there: "
                         f"use --target {note.target}, or run the unpatched image on {config.target}", where=where)
    from previrt.vmm import registry

    abi = registry.load(config.target).abi_version
    if note.abi != abi:
        raise UsageError(f"this image is patched for {note.target} ABI {note.abi}; {note.target} here speaks ABI "
                         f"{abi}: patch the unpatched image again", where=where)
    if config.virt == "full":
        raise UsageError("a patched image cannot run by full virtualization: run the unpatched image with --virt "
                         "full", where=where)
    config.virt = "previrt"
    config.patched = note


def check_paravirt(config: RunConfig, target: str, abi: int) -> None:
    """A kernel ported by hand to a hypervisor's para-virtual ABI runs only there (mode "paravirt": the hypervisor's
    para-virtual side installed, nothing patched)."""
    where = config.image
    if config.target != target:
        on = "the bare PC" if config.target == BARE else config.target
        raise UsageError(f"this is a para-virtual kernel ported to {target} (ABI {abi}): it makes {target}'s "
                         f"hypercalls and cannot run on {on}; use --target {target}, or build the native or "
                         "previrt image for other machines", where=where)
    from previrt.vmm import registry

    hv = registry.load(target)
    if hv.paravirt is None or hv.abi_version != abi:
        raise UsageError(f"this para-virtual kernel speaks {target} ABI {abi}; {target} here speaks ABI "
                         f"{hv.abi_version}: rebuild the port", where=where)
    if config.virt == "full":
        raise UsageError(f"a para-virtual kernel cannot run by full virtualization: it needs {target}'s "
                         "para-virtual interface (drop --virt full)", where=where)
    config.virt = "paravirt"


def make_machine(config: RunConfig, serial_out: BinaryIO, serial_in: BinaryIO | None) -> Machine:
    """The bare PC, or the PC under the hypervisor `config.target` names."""
    if config.target == BARE:
        return Machine(config, serial_out, serial_in)
    from previrt.vmm import registry
    from previrt.vmm.machine import HypervisorMachine

    return HypervisorMachine(config, serial_out, serial_in, hypervisor=registry.load(config.target),
                             trace_exits=sys.stderr if config.trace_exits else None)


def check_image(config: RunConfig) -> None:
    """What loading would refuse: the image's Multiboot load plan, its fit in the RAM, the command line's length."""
    regions = memory.layout(config.mem_bytes)
    multiboot.check_plan(multiboot.plan_load(config.image), regions, config.image)
    multiboot.build_info(regions, config.cmdline)


def check_disk(option: str, path: str) -> None:
    """A disk image the ATA model can use: a file that opens for reading and writing and holds a whole sector."""
    if os.path.isdir(path):
        raise UsageError(f"{option}: is a folder, not a disk image", where=path)
    try:
        with open(path, "r+b") as f:
            size = os.fstat(f.fileno()).st_size
    except OSError as e:
        raise UsageError(f"{option}: cannot open disk image: {e.strerror}", where=path) from None
    if size < 512:
        raise UsageError(f"{option}: disk image holds no whole 512-byte sector ({size} bytes)", where=path)


def _regular_file(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def check_distinct_files(named: list[tuple[str, str | None, bool]]) -> None:
    """Refuse two options naming one regular file (through any path or link) where either is written: --disk and
    --disk1, an output (--serial FILE, --stats) and any other file of the run.  `named`: (option, path, written)."""
    files = [(opt, path, written) for opt, path, written in named if path and _regular_file(path)]
    for i, (opt_a, a, written_a) in enumerate(files):
        for opt_b, b, written_b in files[i + 1:]:
            if (written_a or written_b) and os.path.samefile(a, b):
                raise UsageError(f"{opt_b} names the same file as {opt_a} {a}", where=b)


def check_inputs(config: RunConfig, args: argparse.Namespace) -> None:
    for option, path in (("--disk", config.disk), ("--disk1", config.disk1)):
        if path is not None:
            check_disk(option, path)
    check_distinct_files([
        ("IMAGE", config.image, False), ("--disk", config.disk, True), ("--disk1", config.disk1, True),
        ("--serial-in", None if args.serial_in == "-" else args.serial_in, False),
        ("--serial", None if args.serial == "stdio" else args.serial, True), ("--stats", args.stats, True),
        ("--keys", getattr(args, "keys", None), False),
        ("--screen", None if getattr(args, "screen", None) in (None, "-") else args.screen, True)])
    if getattr(args, "screen", None) not in (None, "-"):
        check_destination(args.screen, "--screen")
    if args.serial_in not in (None, "-") and os.path.isdir(args.serial_in):
        raise UsageError("--serial-in: is a folder", where=args.serial_in)
    if args.serial != "stdio":
        check_destination(args.serial, "--serial")
    if args.stats:
        check_destination(args.stats, "--stats")
    check_image(config)


def open_serial(stack: ExitStack, args: argparse.Namespace) -> tuple[BinaryIO, BinaryIO | None]:
    try:
        src = None
        if args.serial_in == "-":
            src = sys.stdin.buffer
        elif args.serial_in:
            src = stack.enter_context(open(args.serial_in, "rb"))
        out = sys.stdout.buffer if args.serial == "stdio" else stack.enter_context(open(args.serial, "wb"))
    except OSError as e:
        raise UsageError(f"cannot open serial file: {e.strerror}", where=e.filename) from None
    return out, src


def report(machine: Machine, stats: RunStats, trace_io: bool) -> None:
    """The run's messages on stderr: why it ended (when there is more to say), unclaimed ports, the summary line."""
    if machine.report:
        print(f"previrt: {machine.end_reason}: {machine.report}", file=sys.stderr)
    if trace_io and stats.unclaimed_ports:
        print("previrt: unclaimed port accesses: " + ", ".join(
            f"{k} x{n}" for k, n in stats.unclaimed_ports.items()), file=sys.stderr)
    print(stats.summary(), file=sys.stderr)


def run_command(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    check_inputs(config, args)
    check_mode(config)
    with ExitStack() as stack:
        serial_out, serial_in = open_serial(stack, args)
        machine = make_machine(config, serial_out, serial_in)
        stack.callback(machine.board.close)
        start = time.perf_counter()
        with ending_on_signals(machine):
            run_machine(machine)
        wall = time.perf_counter() - start
    stats = add_cycles(collect_stats(machine, wall, getattr(args, "command_line", None)), machine)
    if config.screen:
        write_screen(machine, config.screen)
    report(machine, stats, args.trace_io)
    if args.stats:
        write_json(stats, args.stats)
    return stats.exit_status
