"""Port-I/O and MMIO buses: map address ranges to devices, reject overlaps, hand devices offsets.

A device is any object with `read(offset, size) -> int` and `write(offset, size, value) -> None`."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Protocol


class Device(Protocol):
    def read(self, offset: int, size: int) -> int: ...

    def write(self, offset: int, size: int, value: int) -> None: ...


class BusConflict(ValueError):
    """Two devices claim overlapping ranges."""


@dataclass(frozen=True)
class Mapping:
    base: int
    length: int
    device: Device
    name: str

    @property
    def end(self) -> int:
        return self.base + self.length


class Bus:
    """Sorted, non-overlapping ranges; `find` is a bisect, so lookups stay cheap with many devices."""

    def __init__(self, name: str):
        self.name = name
        self._bases: list[int] = []
        self._maps: list[Mapping] = []

    def attach(self, base: int, length: int, device: Device, name: str) -> None:
        if length <= 0:
            raise ValueError(f"{self.name} bus: {name}: length must be positive, not {length}")
        new = Mapping(base, length, device, name)
        i = bisect.bisect_left(self._bases, base)
        for other in self._maps[max(i - 1, 0):i + 1]:
            if new.base < other.end and other.base < new.end:
                raise BusConflict(
                    f"{self.name} bus: {name} at {base:#x}+{length:#x} overlaps "
                    f"{other.name} at {other.base:#x}+{other.length:#x}")
        self._bases.insert(i, base)
        self._maps.insert(i, new)

    def find(self, addr: int) -> tuple[Mapping, int] | None:
        """The mapping holding `addr` and the offset into it, or None when nothing claims it."""
        i = bisect.bisect_right(self._bases, addr) - 1
        if i >= 0 and addr < self._maps[i].end:
            return self._maps[i], addr - self._maps[i].base
        return None

    def read(self, addr: int, size: int) -> int | None:
        hit = self.find(addr)
        return None if hit is None else hit[0].device.read(hit[1], size)

    def write(self, addr: int, size: int, value: int) -> bool:
        hit = self.find(addr)
        if hit is None:
            return False
        hit[0].device.write(hit[1], size, value)
        return True

    def mappings(self) -> list[Mapping]:
        return list(self._maps)
