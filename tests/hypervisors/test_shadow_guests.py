"""Every image that runs on the bare PC runs on `shadow` with the same serial output and exit status: the guest
kernel's eleven workloads (native build; previrt build with --virt full), the CPU test guests of
tests/machine/guests/cpu, the device guests of tests/machine/guests/devices (the same disk too) and the acceptance
image.  The guest instruction counts are equal too: a shadow fill runs the faulting instruction again and it still
counts once, so virtual time — and every timer interrupt — falls on the same instruction as on the bare PC.  The
probe and hostile guests are tests/vmm/test_probes.py's, on every hypervisor."""

from __future__ import annotations

import io

import pytest

from previrt import costs
from previrt.guestrun import EXIT_OK, WORKLOADS, GuestBuild, build_guest, run_image, run_workload
from previrt.machine.runner import RunConfig, make_machine, run_machine
from tests.hypervisors.test_direct_guests import (CPU_GUESTS, NO_COSTS, cpu_guest,  # noqa: F401 (fixtures)
                                                  device_guest)
from tests.machine import deviceguests, guestkit
from tests.machine.acceptance import GOLDEN, SUCCESS, build_acceptance, make_acceptance_disk


@pytest.fixture(scope="module")
def guest(tmp_path_factory) -> GuestBuild:
    return build_guest(tmp_path_factory.mktemp("guest") / "guest_src")


def shadow_equals_bare(guest, variant: str, name: str, work, options=()):
    n = WORKLOADS[name].test_size
    bare = run_workload(guest, variant, name, n, work, expect=EXIT_OK)
    shadow = run_workload(guest, variant, name, n, work, target="shadow", options=(*options, *NO_COSTS), expect=EXIT_OK)
    assert bare.ok and shadow.ok, (bare.describe(), shadow.describe())
    assert (shadow.output, shadow.instructions) == (bare.output, bare.instructions)
    return shadow.stats


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_workload_native_on_shadow_equals_bare(guest, name, tmp_path):
    stats = shadow_equals_bare(guest, "native", name, tmp_path)
    assert stats["target"] == "shadow" and stats["mode"] == "full"
    assert stats["exits"].get("gp:cli", 0) > 0 and any(k.startswith("rewrite:") for k in stats["exits"])
    assert stats["exits"]["pf:shadow-fill"] == stats["paging"]["shadow-fill"] > 0     # every fill is an exit
    assert "pf:pt-write" not in stats["exits"]                                           # nothing write-protected
    assert stats["paging"]["cr3:cold"] > 0 and stats["paging"]["write-back:A"] > 0


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_workload_previrt_build_with_virt_full_on_shadow_equals_bare(guest, name, tmp_path):
    stats = shadow_equals_bare(guest, "previrt", name, tmp_path, options=("--virt", "full"))
    assert stats["mode"] == "full"


@pytest.mark.parametrize("name", sorted(p.stem for p in CPU_GUESTS.glob("*.S")))
def test_cpu_guest_on_shadow_equals_bare(cpu_guest, name):  # noqa: F811 (the fixture)
    image = cpu_guest(name)
    bare, shadow = run_here(image, "bare"), run_here(image, "shadow")
    assert shadow == bare, shadow[2]


def run_here(image, target: str) -> tuple[int, bytes, str, int]:
    """`previrt run IMAGE --target TARGET --max-instructions 5000000 --costs none` in this process (these guests are
    short: a process each would cost more than the run): status, serial output, how the run ended, guest
    instructions.  No overhead is charged: the comparison is instruction by instruction (NO_COSTS)."""
    out = io.BytesIO()
    machine = make_machine(RunConfig(image=str(image), target=target, max_instructions=5_000_000, costs=costs.NONE),
                           out, None)
    run_machine(machine)
    return machine.exit_status(), out.getvalue(), machine.end_reason, machine.executed


@pytest.mark.parametrize("run", deviceguests.GUEST_RUNS, ids=lambda r: r.name)
def test_device_guest_on_shadow_equals_bare(device_guest, run, tmp_path):  # noqa: F811 (the fixture)
    deviceguests.check_target_equals_bare(run, device_guest(run.source), tmp_path, "shadow")


def test_acceptance_image_on_shadow_equals_golden(tmp_path):
    """The acceptance image (paging, ring 3, system calls, faults, the disk): the bare PC's golden output."""
    image = build_acceptance(tmp_path / "build")
    disk = make_acceptance_disk(tmp_path / "disk.img")
    shadow = run_image(image, tmp_path, disk=disk, target="shadow", expect=guestkit.exit_status(SUCCESS))
    assert shadow.ok, shadow.describe()
    assert shadow.output == GOLDEN.read_text()
    assert shadow.stats["paging"]["shadow-fill"] > 0
