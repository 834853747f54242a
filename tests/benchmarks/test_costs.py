"""The cost model (previrt/costs.py): exact cycles for hand-computed counts, the cost-table loader's errors, and the
overhead charged into a hypervisor's virtual time (`--costs none`: virtual time is instructions again)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from previrt import costs
from previrt.errors import UsageError
from previrt.guestrun import GuestBuild, build_guest, run_workload

# A table of its own, so the expected figures below do not move with the defaults.
TABLE = {"world_switch": 1000, "hypercall": 100, "decode_emulate": 10, "inject": 3000,
         "pt_validate_entry": 2, "shadow_fill": 50000, "shadow_flush": 7, "shadow_revalidate_entry": 1,
         "device_model": 200000}

STATS = {
    "instructions": 1000, "wedge_instructions": 100, "injected_at_wakeup": 3,
    "exits": {"gp:cli": 2, "gp:out": 3, "rewrite:popf": 1, "pf:pt-write": 1, "pf:shadow-fill": 2, "int:0x80": 4,
              "interrupt": 1, "hypercall:mmu_update": 2, "hypercall:in": 1, "pf:queued": 1, "unpatch:cli": 1,
              "gp:guest": 1},
    "paging": {"entries validated": 2049, "cr3:cold": 1, "flush:invlpg": 2, "cached entries kept": 5,
               "cached entries dropped": 1, "write-back:A": 9, "shadow-fill": 2},
    "device_in_place": {"in": 4, "outs": 2},
    "bounced": {"128 INT 0x80": 4}, "direct_traps": {"128 INT 0x80": 7},       # neither charged on its own
    "hypercalls": {"mmu_update": 2, "in": 1},                                   # charged as their exits
}


@pytest.fixture
def table(tmp_path) -> costs.CostTable:
    path = tmp_path / "costs.json"
    path.write_text(json.dumps(TABLE))
    return costs.load_costs(path)


def test_estimate_on_hand_counted_stats(table):
    est = costs.estimate(STATS, table)
    # world switches: every exit but the 3 hypercalls: 2+3+1+1+2+4+1+1+1+1 = 17
    # decode + emulate: gp:cli 2, gp:out 3, rewrite 1, pf:pt-write 1, unpatch 1 = 8
    # injection: int 4, interrupt 1, gp:guest 1, wakeups 3 = 9
    # device model: gp:out 3, hypercall:in 1, replayed 6 = 10
    # shadow flushes: cr3:cold 1 + invlpg 2 = 3; revalidation 6 entries; fills 2; validated entries 2049
    assert est["breakdown"] == {
        "guest instructions": 900, "wedge instructions": 100, "world switches": 17 * 1000, "hypercalls": 3 * 100,
        "decode + emulate": 8 * 10, "interrupt injection": 9 * 3000, "page-table validation": 2049 * 2,
        "shadow fills": 2 * 50000, "shadow flushes": 3 * 7, "shadow revalidation": 6 * 1,
        "device model": 10 * 200000}
    overhead = 17000 + 300 + 80 + 27000 + 4098 + 100000 + 21 + 6 + 2000000
    assert est["overhead"] == overhead and est["total"] == 1000 + overhead
    assert est["events"]["world_switch"] == 17 and est["events"]["device_model"] == 10


def test_an_mmio_exit_is_a_decoded_device_access():
    assert costs.exit_events("mmio:lapic") == ("world_switch", "decode_emulate", "device_model")
    assert costs.exit_events("hypercall:set_cr3") == ("hypercall",)
    assert costs.exit_events("pf:queued") == ("world_switch",)


def test_the_bare_pc_costs_its_instructions(table):
    est = costs.estimate({"instructions": 12345, "exits": {}, "paging": {}}, table)
    assert est["total"] == 12345 and est["overhead"] == 0


def test_the_meter_charges_what_the_estimate_counts(table):
    meter, charged = costs.Meter(table), 0
    for cause, n in STATS["exits"].items():
        charged += n * meter.exit_cycles(cause)
    charged += meter.counts_cycles(1, {"entries validated": 49}, {})
    charged += meter.counts_cycles(STATS["injected_at_wakeup"], STATS["paging"], STATS["device_in_place"])
    assert charged == costs.estimate(STATS, table)["overhead"]


def test_none_charges_nothing_but_instructions():
    est = costs.estimate(STATS, costs.NONE)
    assert est["overhead"] == 0 and est["total"] == 1000
    assert costs.costs_option("none") is costs.NONE and costs.costs_option(None) is costs.DEFAULT


def test_every_default_constant_names_its_source():
    assert set(costs.DEFAULT.constants) == set(costs.DEFAULT_CONSTANTS)
    for key, c in costs.DEFAULT.constants.items():
        assert c.source and c.cycles >= 0, key
    assert costs.DEFAULT.cycles("guest_instruction") == 1


@pytest.mark.parametrize("content, words", [
    ('{"world_swich": 5}', ["world_swich", "unknown constant"]),
    ('{"hypercall": -1}', ["hypercall", "-1"]),
    ('{"hypercall": "many"}', ["hypercall", "many"]),
    ('{"hypercall": 1.5}', ["hypercall", "1.5"]),
    ('{"hypercall": true}', ["hypercall"]),
    ('{"hypercall": {"cycles": 5, "colour": 1}}', ["hypercall"]),
    ('{"guest_instruction": 2}', ["guest_instruction", "unit"]),
    ('[1, 2]', ["JSON object"]),
    ('{"hypercall": ', ["not a JSON cost table"]),
])
def test_the_loader_names_the_file_and_the_key(tmp_path, content, words):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(UsageError) as e:
        costs.load_costs(path)
    assert str(path) in str(e.value) and e.value.exit_status == 2
    for word in words:
        assert word in str(e.value)


def test_the_loader_takes_numbers_objects_and_defaults(tmp_path):
    path = tmp_path / "costs.json"
    path.write_text(json.dumps({"hypercall": 5, "inject": {"cycles": 6, "source": "measured"}}))
    t = costs.load_costs(path)
    assert (t.cycles("hypercall"), t.cycles("inject"), t.constants["inject"].source) == (5, 6, "measured")
    assert t.cycles("world_switch") == costs.DEFAULT.cycles("world_switch") and t.name == str(path)
    with pytest.raises(UsageError, match="cannot read"):
        costs.load_costs(tmp_path / "absent.json")


# ---- charged into virtual time ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def guest(tmp_path_factory) -> GuestBuild:
    return build_guest(tmp_path_factory.mktemp("guest") / "guest_src")


def test_costs_none_keeps_virtual_time_in_instructions(guest, tmp_path):
    run = run_workload(guest, "previrt", "null", 20, tmp_path, "direct", ("--costs", "none"))
    assert run.ok, run.describe()
    s = run.stats
    assert s["virtual_instructions"] == s["instructions"] + s["idle_instructions"]
    assert s["cycles"]["overhead"] == s["cycles"]["charged"] == 0 and s["costs"]["name"] == "none"
    assert s["cycles"]["total"] == s["instructions"]


@pytest.mark.parametrize("target, options", [("direct", ()), ("shadow", ("--virt", "full"))])
def test_a_charged_run_advances_virtual_time_by_its_estimate(guest, tmp_path, target, options):
    charged = run_workload(guest, "previrt", "disk", 2, tmp_path, target, options)
    plain = run_workload(guest, "previrt", "disk", 2, tmp_path, target, (*options, "--costs", "none"))
    assert charged.ok and plain.ok, (charged.describe(), plain.describe())
    assert charged.output == plain.output
    s = charged.stats
    overhead = costs.estimate(s)["overhead"]
    assert overhead == s["cycles"]["overhead"] == s["cycles"]["charged"] > 0
    assert s["virtual_instructions"] == s["instructions"] + s["idle_instructions"] + overhead
    assert s["costs"] == {"name": "default", "file": None}
    assert s["cycles"]["unpriced"] == []          # every count of the memory virtualization is priced or a part


def test_a_paging_count_the_model_does_not_know_is_reported_unpriced():
    est = costs.estimate({"instructions": 10, "paging": {"flush:invlpg": 1, "teleported": 4, "evicted": 2}})
    assert est["unpriced"] == ["teleported"] and est["overhead"] == costs.DEFAULT.cycles("shadow_flush")


def test_run_refuses_a_bad_cost_table(guest, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"world_switch": -3}')
    done = subprocess.run([sys.executable, "-m", "previrt", "run", str(guest.image("native")), "--target", "direct",
                           "--costs", str(bad)], capture_output=True, text=True)
    assert done.returncode == 2 and str(bad) in done.stderr and "world_switch" in done.stderr
