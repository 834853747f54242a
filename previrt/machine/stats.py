"""Statistics of one machine run: counts gathered by the CPU, the board and the run loop, as JSON and as one summary line.

Model only (a dataclass and two renderers); the run loop fills it, the CLI decides where it goes."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path

from previrt.errors import UsageError
from previrt.machine.cpu import vector_name


@dataclass
class RunStats:
    image: str
    target: str
    end: str = ""                          # why the run ended: exit-port, halted, triple-fault, max-instructions, ...
                                           # (interrupted, timeout and input-eof: ended from outside the guest)
    exit_status: int | None = None         # the process status `previrt run` returns
    guest_exit_value: int | None = None    # what the guest wrote to the exit port
    signal: str | None = None              # "SIGINT" / "SIGTERM" when the end is "interrupted"
    command_line: list[str] | None = None  # the previrt command that made the run, one argument an item
    mem_mib: int = 0                       # guest RAM
    disks: dict[str, str] = field(default_factory=dict)                # "disk" / "disk1" -> image path
    instructions: int = 0                  # guest instructions executed
    idle_instructions: int = 0             # virtual time skipped while halted (hlt with IF=1)
    virtual_instructions: int = 0          # the clock: executed + idle (+ the overhead charged on a hypervisor)
    clock_hz: int = 0
    simulated_seconds: float = 0.0
    slices: int = 0                        # emu_start calls
    interrupts: dict[str, int] = field(default_factory=dict)           # external, by vector
    exceptions: dict[str, int] = field(default_factory=dict)           # faults and traps, by vector
    software_interrupts: dict[str, int] = field(default_factory=dict)  # int n / int3 / into, by vector
    port_io: dict[str, int] = field(default_factory=dict)              # accesses by device
    unclaimed_ports: dict[str, int] = field(default_factory=dict)      # "0x1234 r" -> count
    wall_seconds: float = 0.0
    instructions_per_second: float = 0.0
    # on a hypervisor (target other than bare)
    mode: str | None = None                # "full": trap-and-emulate plus load-time binary rewriting
    exits: dict[str, int] = field(default_factory=dict)                # cause -> count (gp:cli, rewrite:popf, ...)
    rewritten_sites: dict[str, int] = field(default_factory=dict)      # instructions rewritten at load, by row
    bounced: dict[str, int] = field(default_factory=dict)              # events delivered into the guest, by vector
    paging: dict[str, int] = field(default_factory=dict)               # the memory virtualization's own counts
    injected_at_wakeup: int = 0            # interrupts delivered to a guest idle in hlt: the end of the hlt's exit
    # mode "previrt": the image's sites patched at load
    patched_sites: dict[str, int] = field(default_factory=dict)        # sites patched, by kind
    hypercalls: dict[str, int] = field(default_factory=dict)           # by name
    wedge_instructions: int = 0            # guest instructions executed in the hypervisor's wedge (in-place VMM)
    direct_traps: dict[str, int] = field(default_factory=dict)         # int n from ring 3 delivered without an exit
    page_table_updates: dict[str, int] = field(default_factory=dict)   # queued by the wedge: "queued" updates
                                                                       # applied in "flushes" batches
    device_in_place: dict[str, int] = field(default_factory=dict)      # port operations the wedge took, by kind
    # the cost model (previrt/costs.py): estimated cycles ("total", "overhead" charged into virtual time on a
    # hypervisor, "breakdown" by component, "events" per constant) and the table used ("name", "file")
    cycles: dict = field(default_factory=dict)
    costs: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    def summary(self) -> str:
        def total(d: dict[str, int]) -> int:
            return sum(d.values())
        return (f"previrt: {self.end}: status {self.exit_status}, {self.instructions} instructions, "
                f"{self.simulated_seconds:.6f} s simulated, {total(self.interrupts)} interrupts, "
                f"{total(self.exceptions)} exceptions, {total(self.software_interrupts)} int n, "
                f"{total(self.port_io) + total(self.unclaimed_ports)} port I/O, "
                + (f"{total(self.exits)} exits ({self.target}, {self.mode}), " if self.mode else "")
                + f"{self.wall_seconds:.3f} s wall, {self.instructions_per_second / 1e6:.2f} M instructions/s")


def by_vector(counts) -> dict[str, int]:
    """{vector: n} → {"13 #GP": n}, sorted by vector, for JSON keys a reader can scan."""
    return {f"{v} {vector_name(v)}": n for v, n in sorted(counts.items())}


def check_destination(path: str | Path, option: str = "--stats") -> None:
    """Refuse, before a run starts, an output path that cannot be written (missing folder, a folder itself)."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{option}: cannot write here: this is a folder", where=str(path))
    if not path.parent.is_dir():
        raise UsageError(f"{option}: cannot write here: no such folder", where=str(path))


def write_json(stats: RunStats, path: str | Path) -> None:
    """Write a new regular file whole or not at all (a temporary file in the same folder, then a rename), with the
    permissions a newly created file gets (0666 less the umask); a path to something else (/dev/null, a pipe) is
    written directly, never replaced."""
    path = Path(path)
    try:
        write_whole(stats.to_json(), path)
    except OSError as e:
        raise UsageError(f"cannot write statistics: {e.strerror}", where=str(path)) from None


def write_whole(text: str, path) -> None:
    """A file a run writes (--stats, --screen): whole or not at all (a new file beside it, renamed over it, mode 0666
    less the umask); through a symbolic link the link stays; a device or pipe (/dev/null) is written in place."""
    target = Path(os.path.realpath(path))   # through a symbolic link: the link stays
    if target.exists() and not stat.S_ISREG(target.stat().st_mode):
        with open(target, "w") as f:
            f.write(text)
        return
    fd, tmp = _new_file(target.parent, target.name)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise


def _new_file(folder: Path, name: str) -> tuple[int, str]:
    """A new hidden file beside `name`, open for writing, mode 0666 less the umask (tempfile's are 0600)."""
    while True:
        tmp = folder / f".{name}.{os.urandom(6).hex()}"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), str(tmp)
        except FileExistsError:
            continue
