"""previrt audit / previrt sites on linked images: unannotated instructions, hand-crafted bad records, NOPs.

Records are written by hand in assembly (sites.gas_record), so each wrong record is exactly the one meant."""

from __future__ import annotations

import pytest
from capstone import CS_ARCH_X86, CS_MODE_32, Cs

from previrt.audit import audit, is_padding_nop
from previrt.elf import read_image
from previrt.isa.i386 import ROWS
from previrt.sites import gas_range_record, gas_record
from tests.toolchain.projects import NOTE_GNU_STACK, TEXT_ADDRESS, asm_image, assemble, compile_c, link, previrt, run

KIND = {r.name: r.kind for r in ROWS}

UNANNOTATED_C = """\
__attribute__((noinline)) void serial_out(unsigned char v)
{
	__asm__ volatile("outb %0, $0x80" : : "a"(v));
}

__attribute__((noinline)) void irq_disable(void)
{
	__asm__ volatile("cli" : : : "memory");
}

__attribute__((noinline)) void irq_restore(unsigned long flags)
{
	__asm__ volatile("pushl %0; popfl" : : "r"(flags) : "memory", "cc");
}

void _start(void)
{
	irq_disable();
	irq_restore(0);
	serial_out(1);
}
"""


def site(label: str, insn: str, kind: int, pad: int, *, insn_end: str | None = None) -> str:
    """One hand-annotated site: `insn` padded with `pad` bytes of .nops, and its record."""
    record = gas_record(f"{label}_s", f"{label}_e", insn_end or f"{label}_i", kind)
    return "\n".join([f"{label}_s:\t{insn}", f"{label}_i:\t.nops {pad}" if pad else f"{label}_i:",
                      f"{label}_e:", *record]) + "\n"


def function(name: str, body: str) -> str:
    return f"\t.globl {name}\n\t.type {name}, @function\n{name}:\n{body}\tret\n\t.size {name}, . - {name}\n"


def image_of(tmp_path, body: str, extra: str = ""):
    return asm_image(tmp_path, "\t.text\n" + function("_start", body) + extra)


def findings(path) -> list[str]:
    return [f.message for f in audit(read_image(str(path))).findings]


@pytest.fixture(scope="module")
def unannotated(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("unannotated")
    src = tmp / "irq.c"
    src.write_text(UNANNOTATED_C)
    return link([compile_c(src, tmp / "irq.o")], tmp / "irq.elf")


def test_unannotated_cli_and_popf_named_with_function_and_line(unannotated):
    status, out, _ = previrt("audit", str(unannotated))
    assert status == 1
    lines = out.splitlines()
    cli = [ln for ln in lines if "`cli`" in ln]
    popf = [ln for ln in lines if "`popfl`" in ln]
    assert len(cli) == 1 and "irq_disable+0x" in cli[0] and "irq.c:8)" in cli[0]
    assert len(popf) == 1 and "irq_restore+0x" in popf[0] and "irq.c:13)" in popf[0]
    assert any("`outb %al, $0x80`" in ln and "serial_out+0x" in ln and "irq.c:3)" in ln for ln in lines)
    assert "audit failed: 3 finding(s)" in lines[-1]


def test_findings_agree_with_addr2line(unannotated):
    status, out, _ = previrt("audit", str(unannotated))
    for line in out.splitlines()[:-1]:
        address = line.split(": ")[1].split()[0]
        where = run(["addr2line", "-e", str(unannotated), address]).stdout.strip()
        assert line.split("(")[1].split(")")[0] == where


def test_correct_hand_written_sites_are_clean(tmp_path):
    body = (site("a", "cli", KIND["cli"], 7) + "\tmovl $1, %eax\n"
            + site("b", "movl %eax, %cr3", KIND["mov_to_cr"], 9)
            + site("c", "rep outsb", KIND["outs"], 14) + site("d", "pushfl", KIND["pushf"], 0))
    image = image_of(tmp_path, body)
    status, out, _ = previrt("audit", str(image))
    assert status == 0, out
    assert "audit clean: 4 sites" in out
    status, out, _ = previrt("sites", str(image))
    assert status == 0
    rows = out.splitlines()[1:]
    assert [r.split()[2] for r in rows] == ["cli", "mov_to_cr", "outs", "pushf"]
    assert [int(r.split()[3]) for r in rows] == [8, 12, 16, 1]
    assert rows[0].split()[:2] == [f"{TEXT_ADDRESS:#010x}", str(KIND["cli"])]
    assert rows[0].split()[4] == "_start+0x0"


def test_overlapping_records(tmp_path):
    body = site("a", "cli", KIND["cli"], 7)
    twice = "\n".join(gas_record("a_s", "a_e", "a_i", KIND["cli"])) + "\n"
    status, out, _ = previrt("audit", str(image_of(tmp_path, body + twice)))
    assert status == 1
    assert "overlaps the site [0x100000, 0x100008)" in out and "_start+0x0" in out


def test_adjacent_sites_do_not_overlap_but_a_site_starting_inside_another_does(tmp_path):
    adjacent = site("a", "cli", KIND["cli"], 3) + site("b", "sti", KIND["sti"], 3)  # [a, a+4) then [a+4, a+8)
    assert findings(image_of(tmp_path, adjacent)) == []
    inside = site("a", "cli", KIND["cli"], 7)
    inside += "\n".join(gas_record("a_i", "a_e", "a_e", KIND["sti"])) + "\n"  # starts inside site a
    msgs = findings(image_of(tmp_path, inside))
    assert "site [0x100001, 0x100008) overlaps the site [0x100000, 0x100008)" in msgs


def test_record_out_of_bounds(tmp_path):
    extra = "\t.data\nlbl:\t.byte 0xfa, 0x90, 0x90, 0x90\nlbl_e:\n" + "\n".join(
        gas_record("lbl", "lbl_e", "lbl_e", KIND["cli"])) + "\n"
    status, out, _ = previrt("audit", str(image_of(tmp_path, "\tnop\n", extra)))
    assert status == 1 and "record out of bounds" in out and "not inside an executable section" in out


def test_record_past_section_end(tmp_path):
    body = "a_s:\tcli\na_i:\n"
    extra = "\t.text\n" + "\n".join(gas_record("a_s", "a_s + 64", "a_i", KIND["cli"])).replace(
        "a_s + 64 - a_s", "64") + "\n"
    msgs = findings(image_of(tmp_path, body, extra))
    assert any("record out of bounds" in m for m in msgs)


def test_wrong_kind(tmp_path):
    status, out, _ = previrt("audit", str(image_of(tmp_path, site("a", "sti", KIND["cli"], 7))))
    assert status == 1
    assert (f"kind mismatch: record says kind {KIND['cli']} (cli), the instruction `sti` "
            f"is kind {KIND['sti']} (sti)") in out


def test_site_not_starting_with_a_sensitive_instruction(tmp_path):
    msgs = findings(image_of(tmp_path, site("a", "movl %eax, %ebx", KIND["cli"], 6)))
    assert any("site starts with `movl %eax, %ebx`, not a sensitive instruction" in m for m in msgs)


def test_unknown_kind(tmp_path):
    msgs = findings(image_of(tmp_path, site("a", "cli", 250, 7)))
    assert msgs == ["record has unknown kind 250"]


def test_wrong_instruction_length(tmp_path):
    msgs = findings(image_of(tmp_path, site("a", "cli", KIND["cli"], 7, insn_end="a_i + 1")))
    assert any("length mismatch: record says insn_len 2, `cli` is 1 bytes" in m for m in msgs)


def test_padding_that_is_not_a_nop(tmp_path):
    body = "a_s:\tcli\na_i:\tincl %eax\n\t.nops 6\na_e:\n" + "\n".join(
        gas_record("a_s", "a_e", "a_i", KIND["cli"])) + "\n"
    msgs = findings(image_of(tmp_path, body))
    assert msgs == ["padding of the site at 0x100000 is `incl %eax`, not a NOP"]


def test_site_split_by_the_sweep(tmp_path):
    # the record claims a site starting at the 0xfa (cli) immediate byte inside `movl $0xfa, %eax`
    body = "\tmovl $0x909090fa, %eax\n\t.nops 8\n"
    extra = "\t.text\n" + "\n".join(gas_record("_start + 1", "_start + 5", "_start + 2", KIND["cli"])).replace(
        "_start + 5 - _start + 1", "4").replace("_start + 2 - _start + 1", "1") + "\n"
    status, out, _ = previrt("audit", str(image_of(tmp_path, body, extra)))
    assert status == 1
    assert "site start 0x100001 falls inside the instruction `movl $0x909090fa, %eax` at 0x100000" in out


def test_data_in_text_is_no_false_alarm_when_functions_are_sized(tmp_path):
    # 0xfa is cli, 0xec `inb %dx, %al`, 0x9d popf: as bytes of a table they are no instructions
    table = "\t.type table, @object\ntable:\t.byte 0xfa, 0xec, 0x9d, 0xcf\n\t.size table, 4\n"
    assert findings(image_of(tmp_path, "\tnop\n", table)) == []
    # without symbols sizing the code, the whole section is swept and the bytes are taken for code
    bare = asm_image(tmp_path, "\t.text\n\t.globl _start\n_start:\tret\ntable:\t.byte 0xfa, 0xec, 0x9d\n", "bare")
    msgs = findings(bare)
    assert [m.split("`")[1] for m in msgs] == ["cli", "inb %dx, %al", "popfl"]


def test_unsized_function_is_swept_up_to_the_next_symbol(tmp_path):
    asm = ("\t.text\n" + function("_start", "\tnop\n")
           + "\t.globl entry\n\t.type entry, @function\nentry:\tcli\n\thlt\n"
           + "\t.type data, @object\ndata:\t.byte 0xfa\n")
    msgs = findings(asm_image(tmp_path, asm))
    assert [m.split("`")[1] for m in msgs] == ["cli", "hlt"]


def test_verbose_summary(tmp_path):
    status, out, _ = previrt("audit", "-v", str(image_of(tmp_path, site("a", "cli", KIND["cli"], 7))))
    assert status == 0 and "checked 1 site records" in out and "function bodies" in out


# ---- what counts as a NOP --------------------------------------------------------------------------

NOP_BYTES = [
    "90", "6690", "0f1f00", "0f1f4000", "0f1f440000", "660f1f440000", "0f1f8000000000",
    "0f1f840000000000", "660f1f840000000000", "662e0f1f840000000000", "66662e0f1f840000000000",
    "8d7600", "8d742600", "8db600000000", "8db42600000000", "8d7c2700", "8d3f", "89f6", "8bff",
]
NOT_NOP_BYTES = [
    "f390",  # pause
    "678d7400",  # lea with 16-bit addressing: truncates %esi
    "8d7604",  # lea 4(%esi), %esi
    "8d3e",  # lea (%esi), %edi
    "8d3406",  # lea (%esi,%eax), %esi
    "268d7600",  # segment override: GAS never emits it
    "89f7",  # mov %esi, %edi
    "6689f6",  # mov %si, %si: not a form GAS pads with
    "87db",  # xchg %ebx, %ebx
    "eb00",  # jmp .+2
    "f00f1f00",  # lock nopl
    "fa",  # cli
]


def _decode(hexbytes: str):
    md = Cs(CS_ARCH_X86, CS_MODE_32)
    md.detail = True
    insns = list(md.disasm(bytes.fromhex(hexbytes), 0))
    assert insns and sum(i.size for i in insns) == len(hexbytes) // 2, hexbytes
    return insns[0]


@pytest.mark.parametrize("hexbytes", NOP_BYTES)
def test_nop_forms(hexbytes):
    assert is_padding_nop(_decode(hexbytes))


@pytest.mark.parametrize("hexbytes", NOT_NOP_BYTES)
def test_not_nop_forms(hexbytes):
    try:
        insn = _decode(hexbytes)
    except AssertionError:
        return  # does not even decode as one instruction
    assert not is_padding_nop(insn)


@pytest.mark.parametrize("tune", [None, "i686", "core2"])
def test_everything_gas_nops_emits_is_padding(tmp_path, tune):
    src = tmp_path / "n.s"
    src.write_text("\t.text\n" + "".join(f"\t.nops {n}\n" for n in range(1, 21)))
    run(["as", "--32"] + ([f"-mtune={tune}"] if tune else []) + [str(src), "-o", str(tmp_path / "n.o")])
    from elftools.elf.elffile import ELFFile

    with open(tmp_path / "n.o", "rb") as f:
        data = ELFFile(f).get_section_by_name(".text").data()
    md = Cs(CS_ARCH_X86, CS_MODE_32)
    md.detail = True
    insns = list(md.disasm(data, 0))
    assert sum(i.size for i in insns) == len(data) == sum(range(1, 21))
    assert all(is_padding_nop(i) for i in insns)


def test_long_padding_with_a_jump_over_it(tmp_path):
    # GAS `.nops` of 21 bytes and more starts with a short jmp to its end
    image = image_of(tmp_path, site("a", "cli", KIND["cli"], 23))
    data = read_image(str(image)).code[0].data
    assert data[1] == 0xEB and data[2] == 21
    assert findings(image) == []
    assert any("is `jmp 0x100007`, not a NOP" in m
               for m in findings(image_of(tmp_path, "a_s:\tcli\na_i:\tjmp 1f\n\t.nops 4\n1:\tnop\na_e:\n"
                                          + "\n".join(gas_record("a_s", "a_e", "a_i", KIND["cli"])) + "\n")))


def test_assembly_without_type_and_size_is_swept_by_its_line_rows(tmp_path):
    # C functions are sized; the assembly beside them is not (no .type/.size), but it has line rows
    # (as --gdwarf-5): its instructions are swept, its labelled data (a header in .text) is not
    (tmp_path / "c.c").write_text("void f(void)\n{\n\t__asm__ volatile(\"sti\");\n}\n")
    (tmp_path / "a.s").write_text(
        "\t.text\n\t.globl _start\nheader:\t.long 0x1BADB002, 3, -(0x1BADB002 + 3)\n"
        "_start:\tcall f\n\tcli\n\tmovl $0xfa, %eax\n1:\thlt\n\tjmp 1b\n" + NOTE_GNU_STACK)
    image = link([assemble(tmp_path / "a.s", tmp_path / "a.o"), compile_c(tmp_path / "c.c", tmp_path / "c.o")],
                 tmp_path / "k.elf")
    status, out, _ = previrt("audit", str(image))
    assert status == 1
    found = [(ln.split("(")[1].split(")")[0].rsplit("/", 1)[-1], ln.split("`")[1]) for ln in out.splitlines()[:-1]]
    assert found == [("a.s:5", "cli"), ("a.s:7", "hlt"), ("c.c:3", "sti")]


def test_object_file_audit_names_function_offset_and_line(unannotated):
    obj = unannotated.with_suffix(".o")
    status, out, _ = previrt("audit", str(obj))
    assert status == 1
    cli = next(ln for ln in out.splitlines() if "`cli`" in ln)
    offset = cli.split(": ")[1].split()[0]
    assert "irq_disable+0x" in cli and "irq.c:8)" in cli
    dump = run(["objdump", "-d", str(obj)]).stdout
    assert any(ln.strip().startswith(f"{int(offset, 16):x}:") and ln.rstrip().endswith("cli")
               for ln in dump.splitlines())


# ---- 16/64-bit code ranges ---------------------------------------------------------------------------

REAL_MODE = ("\t.text\n\t.globl _start\n_start:\n\t.code32\n\tcli\n\t.code16\ntramp:\tcli\n\tmovw $0x10,%ax\n"
             "\tljmp $0,$1f - tramp\n1:\t.code32\n\tret\n")


def annotated_image(tmp_path, text: str, name: str = "ap"):
    src, out = tmp_path / f"{name}.S", tmp_path / f"{name}.s"
    src.write_text(text)
    status, _, err = previrt("annotate", str(src), "-o", str(out))
    assert status == 0, err
    return asm_image(tmp_path, out.read_text(), name)


def test_real_mode_trampoline_audits_clean_once_annotated(tmp_path):
    image = annotated_image(tmp_path, REAL_MODE)
    status, out, _ = previrt("audit", "-v", str(image))
    assert status == 0, out
    assert "audit clean: 1 sites" in out
    assert "swept 9 bytes in 2 ranges (whole executable sections): 3 instructions, 1 sensitive; 9 bytes of " \
           "16/64-bit code (1 recorded ranges) not swept; 0 bytes of executable sections outside" in out
    # without its range record, the same image's real-mode bytes are swept as 32-bit code
    bare = tmp_path / "bare.elf"
    run(["objcopy", "--remove-section", ".previrt.code16", str(image), str(bare)])
    status, out, _ = previrt("audit", str(bare))
    assert status == 1
    (finding,) = [ln for ln in out.splitlines() if "unannotated" in ln]
    assert " tramp+0x0 (" in finding and "ap.s:7): unannotated sensitive instruction `cli`" in finding


def test_unannotated_real_mode_trampoline_fails(tmp_path):
    status, out, _ = previrt("audit", str(asm_image(tmp_path, REAL_MODE)))
    assert status == 1 and out.count("unannotated sensitive instruction `cli`") == 2


def test_range_inside_a_sized_function_is_cut_out_of_its_sweep(tmp_path):
    body = REAL_MODE.split("_start:\n", 1)[1].replace("\tret\n", "")
    image = annotated_image(tmp_path, "\t.text\n" + function("_start", body))
    result = audit(read_image(str(image)))
    assert result.findings == [] and result.by_function
    assert (result.other_mode_bytes, result.code_ranges, result.swept_bytes, result.instructions) == (9, 1, 9, 3)


def range_record(start: str, end: str, mode: int = 16) -> str:
    return "\n".join(gas_range_record(start, end, mode)) + "\n"


def test_range_out_of_bounds_of_executable_sections(tmp_path):
    extra = "\t.data\nd_s:\t.byte 0xfa, 0xfb\nd_e:\n" + range_record("d_s", "d_e")
    msgs = findings(image_of(tmp_path, "\tnop\n", extra))
    assert len(msgs) == 1 and msgs[0].startswith("record out of bounds: 16-bit code range [0x")
    assert msgs[0].endswith(") is not inside an executable section")


def test_range_overlapping_a_site(tmp_path):
    body = site("a", "cli", KIND["cli"], 7) + "r_s:\tnop\nr_e:\n"
    msgs = findings(image_of(tmp_path, body, range_record("a_i", "r_e")))
    assert msgs == ["site [0x100000, 0x100008) (cli) overlaps the 16-bit code range [0x100001, 0x100009)"]
    assert findings(image_of(tmp_path, body, range_record("r_s", "r_e"))) == []  # adjacent: fine


def test_range_ending_before_it_starts(tmp_path):
    msgs = findings(image_of(tmp_path, "r_s:\tnop\nr_e:\n", range_record("r_e", "r_s", 64)))
    assert msgs == ["malformed record: 64-bit code range [0x100001, 0x100000) ends before it starts"]
