"""Deterministic virtual time, counted in cycles, and the event queue devices schedule on.

A cycle is one guest instruction (the unit of the cost model, previrt/costs.py): on the bare PC virtual time is the
instructions executed plus the time idle in hlt; on a hypervisor each charged event (an exit, a hypercall, an
injection, ...) adds its cycles too (`Machine.charge`).  The run loop executes exactly up to `next_deadline()` and then
calls `advance()`; nothing reads the host clock."""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from typing import Callable

DEFAULT_HZ = 100_000_000  # cycles (guest instructions) per simulated second
NO_LINE = -1              # an event's `line` when it raises no interrupt request line


@dataclass(order=True)
class Event:
    at: int
    seq: int
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)
    line: int | None = field(default=None, compare=False)   # the IRQ line the event may raise; None: unknown


class Clock:
    def __init__(self, hz: int = DEFAULT_HZ):
        if hz <= 0:
            raise ValueError(f"clock rate must be positive, not {hz}")
        self.hz = hz
        self.now = 0
        self._queue: list[Event] = []
        self._seq = itertools.count()

    def schedule(self, at: int, callback: Callable[[], None], line: int | None = None) -> Event:
        """Run `callback` once virtual time reaches instruction count `at` (never in the past).  `line`: the one
        IRQ line the callback may raise (NO_LINE: none), so the run loop can tell whether a halted CPU can wake."""
        ev = Event(max(at, self.now), next(self._seq), callback, line=line)
        heapq.heappush(self._queue, ev)
        return ev

    def schedule_in(self, delta: int, callback: Callable[[], None], line: int | None = None) -> Event:
        return self.schedule(self.now + max(delta, 0), callback, line)

    def pending_lines(self) -> list[int | None]:
        """The IRQ line of every event still to fire (None where an event did not say)."""
        return [ev.line for ev in self._queue if not ev.cancelled]

    @staticmethod
    def cancel(event: Event | None) -> None:
        if event is not None:
            event.cancelled = True

    def next_deadline(self) -> int | None:
        while self._queue and self._queue[0].cancelled:
            heapq.heappop(self._queue)
        return self._queue[0].at if self._queue else None

    def advance(self, to: int) -> None:
        """Move time forward to `to` and fire every due event in (deadline, scheduling) order."""
        if to < self.now:
            raise ValueError(f"virtual time runs forward: {to} < {self.now}")
        self.now = to
        while self._queue and self._queue[0].at <= to:
            ev = heapq.heappop(self._queue)
            if not ev.cancelled:
                ev.callback()

    def seconds(self) -> float:
        return self.now / self.hz

    def insns_for(self, seconds: float) -> int:
        return round(seconds * self.hz)
