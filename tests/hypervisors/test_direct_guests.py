"""Every image that runs on the bare PC runs on `direct` with the same serial output and exit status: the guest
kernel's eleven workloads (native build by full virtualization; previrt build with --virt full, patched at load,
and the file `previrt patch` wrote), the CPU test
guests of tests/machine/guests/cpu and the device guests of tests/machine/guests/devices (the same disk too).  The guest instruction counts are equal too: trapped and rewritten
instructions count once, as on the bare PC, so virtual time — and every timer interrupt — falls on the same
instruction in both modes."""

from __future__ import annotations

from pathlib import Path

import pytest

import subprocess
import sys

from previrt.guestrun import EXIT_OK, WORKLOADS, GuestBuild, build_guest, run_image as run_guest_image, run_workload
from previrt.guestrun import workload
from tests.machine import deviceguests
from tests.machine.guestkit import build_image, run_image

CPU_GUESTS = Path(__file__).resolve().parents[1] / "machine" / "guests" / "cpu"
# The tests of instruction-level faithfulness (the same instructions as on bare, or a guest that watches where an
# interrupt lands) charge no overhead into virtual time: with the cost model's charges the timer's interrupts come
# earlier in guest instructions, as on a processor that pays them.
NO_COSTS = ("--costs", "none")


@pytest.fixture(scope="module")
def guest(tmp_path_factory) -> GuestBuild:
    return build_guest(tmp_path_factory.mktemp("guest") / "guest_src")


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_workload_native_on_direct_equals_bare(guest, name, tmp_path):
    n = WORKLOADS[name].test_size
    bare = run_workload(guest, "native", name, n, tmp_path, expect=EXIT_OK)
    direct = run_workload(guest, "native", name, n, tmp_path, target="direct", options=NO_COSTS, expect=EXIT_OK)
    assert bare.ok and direct.ok, (bare.describe(), direct.describe())
    assert direct.output == bare.output
    assert direct.instructions == bare.instructions
    stats = direct.stats
    assert stats["target"] == "direct" and stats["mode"] == "full"
    assert sum(stats["exits"].values()) > 0 and stats["rewritten_sites"]
    assert stats["exits"].get("gp:cli", 0) > 0          # the kernel's cli traps and is emulated ...
    assert any(k.startswith("rewrite:") for k in stats["exits"])   # ... and its rewritten iret/popf trap


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_workload_previrt_build_with_virt_full_equals_bare(guest, name, tmp_path):
    n = WORKLOADS[name].test_size
    bare = run_workload(guest, "previrt", name, n, tmp_path, expect=EXIT_OK)
    direct = run_workload(guest, "previrt", name, n, tmp_path, target="direct", options=("--virt", "full", *NO_COSTS),
                          expect=EXIT_OK)
    assert bare.ok and direct.ok, (bare.describe(), direct.describe())
    assert (direct.output, direct.instructions) == (bare.output, bare.instructions)


@pytest.fixture(scope="module")
def patched_file(guest, tmp_path_factory) -> Path:
    """`previrt patch build/previrt/kernel.elf --target direct -o k.direct`."""
    out = tmp_path_factory.mktemp("patched") / "k.direct"
    done = subprocess.run([sys.executable, "-m", "previrt", "patch", str(guest.image("previrt")), "--target", "direct",
                           "-o", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return out


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_workload_previrt_build_patched_at_load_equals_bare(guest, patched_file, name, tmp_path):
    """The same previrt image, patched at load for direct (mode previrt): bare's output, fewer exits than full
    virtualization, the wedge at work; the file `previrt patch` wrote runs exactly as the image patched at load."""
    n = WORKLOADS[name].test_size
    bare = run_workload(guest, "previrt", name, n, tmp_path, expect=EXIT_OK)
    full = run_workload(guest, "previrt", name, n, tmp_path, target="direct", options=("--virt", "full"),
                        expect=EXIT_OK)
    patched = run_workload(guest, "previrt", name, n, tmp_path, target="direct", expect=EXIT_OK)
    w = workload(name)
    from_file = run_guest_image(patched_file, tmp_path, w.cmdline(n), guest.fresh_disk(tmp_path, f"file-{name}"),
                                "direct", (), w.serial_input(n), EXIT_OK, f"file-{name}")
    assert bare.ok and patched.ok and from_file.ok, (bare.describe(), patched.describe(), from_file.describe())
    assert patched.output == bare.output == from_file.output
    assert from_file.instructions == patched.instructions
    stats = patched.stats
    assert stats["mode"] == "previrt" and stats["wedge_instructions"] > 0 and stats["patched_sites"]["cli"] > 0
    assert sum(stats["exits"].values()) < sum(full.stats["exits"].values())
    assert not any(k.startswith("gp:cli") or k.startswith("gp:sti") for k in stats["exits"])


@pytest.fixture(scope="module")
def cpu_guest(tmp_path_factory):
    out = tmp_path_factory.mktemp("cpu_guests")
    return lambda name: build_image(out, [CPU_GUESTS / f"{name}.S"], name=name)


@pytest.mark.parametrize("name", sorted(p.stem for p in CPU_GUESTS.glob("*.S")))
def test_cpu_guest_on_direct_equals_bare(cpu_guest, name):
    image = cpu_guest(name)
    bare = run_image(image, "--max-instructions", "5000000")
    direct = run_image(image, "--max-instructions", "5000000", "--target", "direct", *NO_COSTS)
    assert (direct.returncode, direct.stdout) == (bare.returncode, bare.stdout), direct.stderr.decode()[-2000:]


@pytest.fixture(scope="module")
def device_guest(tmp_path_factory):
    out = tmp_path_factory.mktemp("device_guests")
    built: dict[str, Path] = {}

    def get(source: str) -> Path:
        if source not in built:
            built[source] = deviceguests.build_device_guest(out, source)
        return built[source]
    return get


@pytest.mark.parametrize("run", deviceguests.GUEST_RUNS, ids=lambda r: r.name)
def test_device_guest_on_direct_equals_bare(device_guest, run, tmp_path):
    image = device_guest(run.source)
    for target in ("bare", "direct"):
        (tmp_path / target).mkdir()
    bare, bare_disk = deviceguests.run_on_previrt(run, image, tmp_path / "bare")
    direct, direct_disk = deviceguests.run_on_previrt(run, image, tmp_path / "direct", "--target", "direct")
    assert (direct.returncode, direct.stdout) == (bare.returncode, bare.stdout), direct.stderr.decode()[-2000:]
    if run.disk:
        assert direct_disk.read_bytes() == bare_disk.read_bytes()
