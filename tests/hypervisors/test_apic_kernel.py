"""The guest kernel's APIC path (kernel command line apic=1: the MP table found by the standard search, the local APIC
timer, device interrupts through the I/O APIC, the 8259As masked) gives every workload the output of the 8259A path,
on the bare PC, on both hypervisors (the native image by full virtualization, the previrt image patched at load, the
APICs emulated devices behind trapped MMIO) and on QEMU."""

from __future__ import annotations

import pytest

from previrt.guestrun import EXIT_OK, WORKLOADS, qemu_available, run_image, run_qemu, workload
from tests.hypervisors.test_direct_guests import guest  # noqa: F401 (the fixture)

MODES = (("native", "bare"), ("native", "direct"), ("native", "shadow"), ("previrt", "direct"), ("previrt", "shadow"))


def run(build, variant, name, tmp_path, target="bare", apic=True):
    w = workload(name)
    n = WORKLOADS[name].test_size
    tag = f"{variant}-{target}-{name}-{'apic' if apic else 'pic'}"
    return run_image(build.image(variant), tmp_path, w.cmdline(n) + (" apic=1" if apic else ""),
                     build.fresh_disk(tmp_path, tag), target, (), w.serial_input(n), EXIT_OK, tag)


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_apic_path_gives_the_8259a_paths_output_everywhere(guest, name, tmp_path):  # noqa: F811 (the fixture)
    reference = run(guest, "native", name, tmp_path, apic=False)
    assert reference.ok, reference.describe()
    for variant, target in MODES:
        got = run(guest, variant, name, tmp_path, target)
        assert got.ok, got.describe()
        assert (got.status, got.output) == (reference.status, reference.output), (variant, target)
        if target != "bare":               # the APICs were used, each access a trapped exit into the device model
            exits = got.stats["exits"]
            assert exits.get("mmio:lapic", 0) > 0 and exits.get("mmio:ioapic", 0) > 0, exits
            assert not any(k.startswith("gp:") and "pic" in k for k in exits)


@pytest.mark.skipif(not qemu_available(), reason="qemu-system-i386 is not installed")
@pytest.mark.parametrize("name", ["sleep", "disk", "console", "fork"])
def test_apic_path_on_qemu(guest, name, tmp_path):  # noqa: F811 (the fixture)
    """QEMU's own MP table, local APIC and I/O APIC: timer, disk and UART interrupts through them."""
    w = workload(name)
    n = WORKLOADS[name].test_size
    reference = run(guest, "native", name, tmp_path, apic=False)
    got = run_qemu(guest.image("native"), w.cmdline(n) + " apic=1", guest.fresh_disk(tmp_path, f"qemu-{name}"),
                   w.serial_input(n), EXIT_OK)
    assert got.ok, got.describe()
    assert (got.status, got.output) == (reference.status, reference.output)


@pytest.mark.parametrize("target", ["bare", "direct", "shadow"])
def test_without_mp_tables_apic_mode_is_a_panic_naming_the_search(guest, target, tmp_path):  # noqa: F811
    """--mp off: a uniprocessor PC with 8259As only, on every machine; the kernel asked for apic=1 says so and stops."""
    w = workload("null")
    got = run_image(guest.image("native"), tmp_path, w.cmdline(10) + " apic=1", guest.fresh_disk(tmp_path, target),
                    target, ("--mp", "off"), None, 7, f"nomp-{target}")     # 7: a kernel panic
    assert got.ok, got.describe()
    assert "apic=1: no MP floating pointer structure (EBDA, base memory's last KiB, BIOS ROM)" in got.output
