"""Statistics of one machine run: counts gathered by the CPU, the board and the run loop, as JSON and as one summary line.

Model only (a dataclass and two renderers); the run loop fills it, the CLI decides where it goes."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from previrt.errors import UsageError
from previrt.machine.cpu import vector_name


@dataclass
class RunStats:
    image: str
    target: str
    end: str = ""                          # why the run ended: exit-port, halted, triple-fault, max-instructions, ...
    exit_status: int | None = None         # the process status `previrt run` returns
    guest_exit_value: int | None = None    # what the guest wrote to the exit port
    instructions: int = 0                  # guest instructions executed
    idle_instructions: int = 0             # virtual time skipped while halted (hlt with IF=1)
    virtual_instructions: int = 0          # the clock: executed + idle
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

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    def summary(self) -> str:
        def total(d: dict[str, int]) -> int:
            return sum(d.values())
        return (f"previrt: {self.end}: status {self.exit_status}, {self.instructions} instructions, "
                f"{self.simulated_seconds:.6f} s simulated, {total(self.interrupts)} interrupts, "
                f"{total(self.exceptions)} exceptions, {total(self.software_interrupts)} int n, "
                f"{total(self.port_io) + total(self.unclaimed_ports)} port I/O, {self.wall_seconds:.3f} s wall, "
                f"{self.instructions_per_second / 1e6:.2f} M instructions/s")


def by_vector(counts) -> dict[str, int]:
    """{vector: n} → {"13 #GP": n}, sorted by vector, for JSON keys a reader can scan."""
    return {f"{v} {vector_name(v)}": n for v, n in sorted(counts.items())}


def check_destination(path: str | Path) -> None:
    """Refuse, before a run starts, a --stats path that cannot be written (missing folder, a folder itself)."""
    path = Path(path)
    if path.is_dir():
        raise UsageError("cannot write statistics: this is a folder", where=str(path))
    if not path.parent.is_dir():
        raise UsageError("cannot write statistics: no such folder", where=str(path))


def write_json(stats: RunStats, path: str | Path) -> None:
    """Write through a temporary file in the same folder and rename: never a half-written file."""
    path = Path(path)
    try:
        _write_json(stats, path)
    except OSError as e:
        raise UsageError(f"cannot write statistics: {e.strerror}", where=str(path)) from None


def _write_json(stats: RunStats, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(stats.to_json())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
