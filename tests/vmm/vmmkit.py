"""A machine under `direct` (or another hypervisor) for tests that drive the hypervisor's parts directly (validators,
shadow fills, emulation, segment loads): a guest that only halts, and a fresh HypervisorMachine on it."""

from __future__ import annotations

import io
from pathlib import Path

from previrt.machine.runner import RunConfig
from previrt.vmm import registry
from previrt.vmm.machine import HypervisorMachine
from tests.machine.guestkit import build_asm

HALT = """\
#include "guestkit.h"
    .text
    .globl _start
_start:
    cli
    hlt
"""
MEM = 8 << 20


def halt_image(directory: Path) -> Path:
    return build_asm(directory, HALT, name="halt")


def direct_machine(image: Path, mem_bytes: int = MEM) -> HypervisorMachine:
    """The halting guest loaded on `direct` (full virtualization), before it runs."""
    return machine_on("direct", image, mem_bytes)


def machine_on(hypervisor: str, image: Path, mem_bytes: int = MEM) -> HypervisorMachine:
    """`image` loaded on the hypervisor named (full virtualization), before it runs."""
    return HypervisorMachine(RunConfig(image=str(image), mem_bytes=mem_bytes), io.BytesIO(),
                             hypervisor=registry.load(hypervisor))
