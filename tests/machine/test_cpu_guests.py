"""CPU behaviour seen by tiny guests: exception delivery with and without a privilege change, int n gate checks,
page faults, 1000 consecutive #GP faults from ring 3, triple fault, refused (string) port I/O, rdpmc. Verdicts rest
on output, exit status and the run's counts, never on wall time."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.machine.guestkit import build_image, exit_status, run_image, symbols

GUESTS = Path(__file__).parent / "guests" / "cpu"


@pytest.fixture(scope="module")
def guest(tmp_path_factory):
    out = tmp_path_factory.mktemp("cpu_guests")
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            built[name] = build_image(out, [GUESTS / f"{name}.S"], name=name)
        return built[name]
    return get


def run(image: Path, *args: str, stats: Path | None = None):
    extra = list(args) + (["--stats", str(stats)] if stats else [])
    done = run_image(image, "--max-instructions", "5000000", *extra, timeout=60)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def fields(line: str) -> dict[str, int]:
    return {k: int(v, 16) for k, v in re.findall(r"(\w+)=([0-9a-f]{8})", line)}


def test_exceptions_without_privilege_change(guest):
    img = guest("exc_noswitch")
    sym = symbols(img)
    status, out, _ = run(img)
    assert status == exit_status(0), out
    ud, de = out.splitlines()[0], out.splitlines()[1]
    assert ud.startswith("UD ") and "after-ud DE " in de
    ud = fields(ud)
    assert ud["eip"] == sym["ud_site"]            # a fault: the frame points at the faulting instruction
    assert ud["cs"] == 0x08
    assert ud["fl"] & 0x200                       # IF was set when the fault hit ...
    assert not ud["hfl"] & 0x200                  # ... and the interrupt gate cleared it
    de = fields(de.split("after-ud ")[1])
    assert de["eip"] == sym["de_site"]
    assert de["hfl"] & 0x200                      # a trap gate keeps IF
    assert out.endswith("after-de\n")


def test_exception_with_privilege_change_uses_tss_stack(guest):
    img = guest("exc_ring3")
    sym = symbols(img)
    status, out, _ = run(img)
    assert status == exit_status(0), out
    f = fields(out)
    assert f["err"] == 0                          # cli at CPL 3: #GP(0)
    assert f["eip"] == sym["user_cli"]
    assert f["cs"] == 0x1B and f["ss"] == 0x23   # the ring-3 selectors, RPL 3
    assert f["esp"] == 0x12345678                # the user esp at the fault
    assert f["hesp"] == sym["kstack_top"] - 24   # ss0:esp0 from the TSS, minus ss, esp, eflags, cs, eip, error code
    assert f["hcs"] == 0x08 and f["hss"] == 0x10


def test_int_n_gate_dpl_checks(guest):
    img = guest("int_gates")
    sym = symbols(img)
    status, out, _ = run(img)
    assert status == exit_status(0), out
    lines = out.splitlines()
    sys1, sys2, gp, sys3 = (fields(x) for x in lines)
    assert (sys1["eax"], sys2["eax"], sys3["eax"]) == (0xCAFE0001, 0xCAFE0002, 0xCAFE0003)
    assert sys1["ret"] == sym["user_int80"] + 2   # int n is a trap: the frame points after it
    assert sys1["cs"] == 0x1B
    assert gp["err"] == 0x81 * 8 + 2              # DPL-0 gate from ring 3: #GP(vector*8 + IDT bit)
    assert gp["eip"] == sym["user_int81"]         # ... reported at the int instruction itself
    assert "WRONG" not in out


def test_page_fault_cr2_error_code_and_retry(guest):
    img = guest("page_fault")
    sym = symbols(img)
    status, out, _ = run(img)
    assert status == exit_status(0), out
    first, value, second = out.splitlines()
    first, second = fields(first), fields(second)
    assert first["cr2"] == 0x300010 and first["err"] == 0x2     # not present, write, supervisor
    assert first["eip"] == sym["pf_site"]
    assert fields(value)["value"] == 0xBEEF                   # the faulting store was retried after the fix-up
    assert second["cr2"] == 0x301000 and second["err"] == 0x5   # present, read, user
    assert second["eip"] == sym["user_read"]


def test_1000_consecutive_gp_faults_from_ring3(guest, tmp_path):
    img = guest("gp_storm")
    stats = tmp_path / "stats.json"
    status, out, err = run(img, stats=stats)
    assert status == exit_status(0), out + err
    assert fields(out)["faults"] == 1000
    counts = json.loads(stats.read_text())
    assert counts["exceptions"] == {"13 #GP": 1000}   # never turned into #DF
    # each round is the faulting cli, the 6-instruction handler and the jmp back: no instruction runs twice
    assert 8 * 1000 <= counts["instructions"] < 8 * 1000 + 500


def test_triple_fault_report(guest):
    status, out, err = run(guest("triple"))
    assert status == 12
    assert out == "before\n"
    assert "triple fault: #GP(0x43) during delivery of #DF(0x0) during delivery of #GP(0x33) during delivery of #UD" \
        in err
    for reg in ("eax=", "esi=1234abcd", "eip=", "cr0=00000011", "cr2=", "cr3=", "cr4=", "idtr=00000000/3ff"):
        assert reg in err


def test_port_io_at_cpl3_faults_without_touching_the_port(guest):
    status, out, _ = run(guest("io_ring3"))
    assert status == exit_status(0), out
    # 3 rounds of (in, out, cli) faults, EAX intact after the refused in, no 'X' on the line; then IOPL 3 lets 'K' out
    assert out == "faults=00000009 ebx=00008000\nK\nfaults=00000009 ebx=00008000\n"


def test_timer_interrupts_taken_in_ring3(guest, tmp_path):
    stats = tmp_path / "stats.json"
    status, out, _ = run(guest("irq_ring3"), stats=stats)
    assert status == exit_status(0), out
    assert out == "ticks>=3 faults>=100 cs=0000001b\n"    # the tick interrupted ring-3 code
    counts = json.loads(stats.read_text())
    # 10 kHz of virtual time at the default clock: 10 000 instructions between ticks, far more than 100 faults' worth
    assert counts["interrupts"] == {"32 INT 0x20": 3}
    assert counts["exceptions"]["13 #GP"] >= 100 and set(counts["exceptions"]) == {"13 #GP"}


def test_waiting_interrupt_taken_after_sti_shadow_and_after_popf(guest):
    img = guest("irq_window")
    sym = symbols(img)
    status, out, _ = run(img)
    assert status == exit_status(0), out
    f = fields(out)
    assert f["n"] == 2
    assert f["ret1"] == sym["after_sti_shadow"]      # sti; nop; <interrupt>; cli
    assert f["ret2"] == sym["after_popf"]            # popf (IF=1); <interrupt>


def test_delivery_into_ring1_through_ss1_esp1(guest):
    img = guest("ring1")
    sym = symbols(img)
    status, out, _ = run(img)
    assert status == exit_status(0), out
    f = fields(out)
    assert (f["cs"], f["ss"]) == (0x31, 0x39)               # CPL 1, stack from the TSS's ss1
    assert f["esp"] == sym["r1stack_top"] - 20               # esp1 minus ss, esp, eflags, cs, eip
    assert (f["fcs"], f["fss"]) == (0x1B, 0x23)


def test_not_present_gates_np_and_double_fault(guest, tmp_path):
    img = guest("df_np")
    sym = symbols(img)
    stats = tmp_path / "s.json"
    status, out, _ = run(img, stats=stats)
    assert status == exit_status(0), out
    np_line, df_line = out.splitlines()
    np_, df = fields(np_line), fields(df_line)
    assert np_["err"] == 0x40 * 8 + 2 and np_["eip"] == sym["int40_site"]   # software int: EXT clear
    assert df["err"] == 0 and df["eip"] == sym["bad_load"]                  # #GP -> #NP(0x6b) -> #DF(0)
    assert json.loads(stats.read_text())["exceptions"] == {"8 #DF": 1, "11 #NP": 2, "13 #GP": 1}


def test_page_faults_while_delivering_escalate_to_triple_fault(guest):
    status, out, err = run(guest("stack_pf"))
    assert status == 12 and out == "ring 3\n"
    assert ("triple fault: #PF(0x2) during delivery of #DF(0x0) during delivery of #PF(0x2) during delivery of "
            "#GP(0x0)") in err
    assert "cr2=00300ffc" in err                   # the first push below esp0


def test_tf_and_nt_cleared_for_the_handler_and_single_step_traps(guest):
    img = guest("tf_nt")
    sym = symbols(img)
    status, out, _ = run(img)
    assert status == exit_status(0), out
    lines = out.splitlines()
    sw, after = fields(lines[0]), fields(lines[1])
    assert sw["fl"] & 0x4000 and not sw["hfl"] & 0x4000     # NT in the pushed image, clear in the handler
    assert after["fl"] & 0x4000                              # ... and back after iret
    steps = [fields(x) for x in lines[2:-1]]
    # one #DB after each instruction from the one after the TF-setting popf to the popf that clears TF
    assert [s["eip"] for s in steps] == [sym["step2"], sym["step3"], sym["step3"] + 1, sym["step_end"] - 1,
                                         sym["step_end"]]
    assert all(s["fl"] & 0x100 for s in steps[:-1]) and not steps[-1]["fl"] & 0x100
    assert not any(s["hfl"] & 0x100 for s in steps)           # TF clear inside the (trap-gate) handler
    assert lines[-1] == "steps=00000005"


def test_refused_string_port_io_changes_nothing(guest, tmp_path):
    stats = tmp_path / "stats.json"
    status, out, _ = run(guest("io_string_refused"), stats=stats)
    assert status == exit_status(0), out
    line = "{} faults={:08x} err=00000000 eip-resume={:08x} eax=11223344 ecx={:08x} esi=00000000 edi={:08x} buf={}\n"
    untouched = "cccccccccccccccc"
    assert out == "".join([
        line.format("insb-3ff", 0, 0, 0, 1, "cccccc5acccccccc"),       # let through by the bitmap
        # refused: #GP(0) at the instruction (EIP = resume point - its length), nothing stored, EDI, ESI, ECX and
        # EAX as they were
        line.format("insb-21", 1, -1 & 0xFFFFFFFF, 0, 0, untouched),
        line.format("rep-insw-3ff", 2, -3 & 0xFFFFFFFF, 3, 0, untouched),    # the word's port 0x400 is refused
        line.format("rep-insl-21", 3, -2 & 0xFFFFFFFF, 2, 0, untouched),
        line.format("outsb-80", 4, -1 & 0xFFFFFFFF, 0, 0, untouched),
        line.format("rep-outsb-80", 5, -2 & 0xFFFFFFFF, 4, 0, untouched),
        line.format("rep-insw-21-es1000", 6, -3 & 0xFFFFFFFF, 2, 0, untouched),     # ES base 0x1000
        line.format("rep-insb-3ff-es1000", 6, 0, 0, 2, "cccc5a5acccccccc"),
    ])
    assert json.loads(stats.read_text())["exceptions"] == {"13 #GP": 6}


def test_rdpmc_without_performance_counters_is_gp0(guest):
    status, out, _ = run(guest("rdpmc"))
    assert status == exit_status(0), out
    # CPL 3 with CR4.PCE clear: #GP(0) (SDM, QEMU 7.2); at CPL 0 and with PCE set the SDM reads the counter ECX
    # names, and this CPU has none: #GP(0) too (QEMU 7.2: #UD); LOCK: #UD.  Each fault at the rdpmc.
    assert out == ("r0: vec=0000000d err=00000000 eip-site=00000000\n"
                   "r0-lock: vec=00000006 err=00000000 eip-site=00000000\n"
                   "r3-pce0: vec=0000000d err=00000000 eip-site=00000000\n"
                   "r3-pce1: vec=0000000d err=00000000 eip-site=00000000\n")


def test_faulting_int_points_at_the_int_through_the_loaded_cs_base(guest):
    status, out, _ = run(guest("int_cs_base"))
    assert status == exit_status(0), out
    # CS's descriptor was given another base after CS was loaded: the faults still point at the int3 / int $0x41
    assert out == ("int3: err=0000001a eip-site=00000000 cs=0000001b\n"
                   "int41: err=0000020a eip-site=00000000 cs=0000001b\n")
