"""Tests of the asm pass: golden files (gcc -S output with inline asm, a hand-written .S after cpp), each

assembled, linked and decoded with capstone; idempotency, pass-through, 16-bit code, errors, the CLI."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import capstone
import pytest
from elftools.elf.elffile import ELFFile

from previrt import sites
from previrt.annotate.asm import annotate_path, annotate_text
from previrt.cli import main as cli_main
from previrt.errors import PrevirtError
from previrt.isa import i386
from tests.toolchain.annotatekit import Image, build, check_sites, disassembler, run

GOLDEN = Path(__file__).parent / "golden"
PAIRS = ["irq", "hand"]  # golden/<name>.s -> golden/<name>.annotated.s
REGEN = os.environ.get("PREVIRT_REGEN_GOLDEN") == "1"


def read(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def sensitive_in_functions(image: Image) -> list[tuple[int, str]]:
    """(address, row name) of every sensitive instruction in the image's functions, by a linear sweep."""
    md, found = disassembler(), []
    for start, size, name in image.functions:
        code = image.bytes_at(start, size)
        insns = list(md.disasm(code, start))
        assert sum(i.size for i in insns) == size, f"{name} does not decode to its end"
        found += [(i.address, i386.classify_capstone(i).name) for i in insns if i386.classify_capstone(i)]
    return found


def check_coverage(image: Image) -> None:
    found = sensitive_in_functions(image)
    starts = {s.address for s in image.sites}
    missing = [(hex(a), n) for a, n in found if a not in starts]
    assert not missing, f"sensitive instructions without a site: {missing}"
    assert len({s.address for s in image.sites}) == len(image.sites), "two records for one site"


# ---- golden files ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", PAIRS)
def test_golden(name):
    out = annotate_text(read(GOLDEN / f"{name}.s"), f"{name}.s")
    expected = GOLDEN / f"{name}.annotated.s"
    if REGEN:
        with open(expected, "w", encoding="utf-8", newline="") as f:
            f.write(out)
    assert out == read(expected)


# Sites in the linked image: irq.c's inline asm (outb and inb inlined more than once); hand.S's 65
# annotated statements, 2 more from its `.rept 3` body and 1 from its two-value `.irp`, and the one
# recorded by hand.
SITES = {"irq": 18, "hand": 65 + 2 + 1 + 1}


@pytest.mark.parametrize("name", PAIRS)
def test_golden_output_assembles_to_padded_recorded_sites(name, tmp_path):
    image = Image(build(read(GOLDEN / f"{name}.annotated.s"), tmp_path))
    check_sites(image)
    check_coverage(image)
    assert len(image.sites) == SITES[name]


def test_site_bytes_one_nop_or_a_jmp_over_the_padding(tmp_path):
    """An 8-byte cli site is cli + one 7-byte NOP; a 16-byte `rep outsb` site is the instruction, a
    short jmp to the site end and 12 bytes of NOPs: either way one instruction runs beyond the original."""
    image = Image(build(annotate_text("\t.text\n\tcli\n\trep outsb\n\tinvlpg (%eax)\n"), tmp_path))
    cli, outs, invlpg = sorted(image.sites, key=lambda s: s.address)
    assert image.bytes_at(cli.address, 8) == bytes.fromhex("fa 0f 1f 80 00 00 00 00")
    assert image.bytes_at(outs.address, 4) == bytes.fromhex("f3 6e eb 0c") and outs.address + 16 == invlpg.address
    assert image.bytes_at(invlpg.address, 5) == bytes.fromhex("0f 01 38 eb 0b")
    check_sites(image)


def test_quoted_section_names():
    text = '\t.section ".data"\n\tcli\n\t.pushsection ".text.x", "ax"\n\tsti\n\t.popsection\n\thlt\n'
    out = annotate_text(text)
    assert out.count(".pushsection .previrt.sites") == 1 and ".Lpv_s1: sti" in out
    assert annotate_text(out) == out


def test_irq_sites_are_the_inline_asm_ones(tmp_path):
    image = Image(build(read(GOLDEN / "irq.annotated.s"), tmp_path))
    names = sorted(i386.row(s.kind).name for s in image.sites)
    original = Image(build(read(GOLDEN / "irq.s"), tmp_path, "orig"))
    assert names == sorted(n for _, n in sensitive_in_functions(original))
    assert {"out", "in", "ins", "pushf", "popf", "cli", "sti", "hlt", "lgdt", "ljmp", "mov_to_seg",
            "mov_to_cr", "mov_from_cr"} <= set(names)


def test_hand_written_file_covers_the_table(tmp_path):
    image = Image(build(read(GOLDEN / "hand.annotated.s"), tmp_path))
    names = {i386.row(s.kind).name for s in image.sites}
    missing = {r.name for r in i386.ROWS} - names
    assert not missing
    assert sum(1 for s in image.sites if s.flags & sites.FLAG_HAND) == 1


@pytest.mark.parametrize("name,debug", [("irq", False), ("hand", True)])
def test_line_info_is_unchanged(name, debug, tmp_path):
    """addr2line gives each sensitive instruction (and its padding) the same source line as before."""
    orig = build(read(GOLDEN / f"{name}.s"), tmp_path, "orig", debug)
    ann = build(read(GOLDEN / f"{name}.annotated.s"), tmp_path, "ann", debug)
    before = [a for a, _ in sensitive_in_functions(Image(orig))]
    after = Image(ann).sites
    after_addrs = sorted(s.address for s in after if not s.flags & sites.FLAG_HAND)
    before = [a for a in before if a not in {s.address for s in Image(orig).sites}]
    assert len(before) == len(after_addrs) > 5
    lines_before = addr2line(orig, before)
    lines_after = addr2line(ann, after_addrs)
    assert lines_before == lines_after
    assert all(":?" not in x and x.split(":")[0].endswith((".c", ".S")) for x in lines_after)
    ours = [s for s in sorted(after, key=lambda s: s.address) if not s.flags & sites.FLAG_HAND]
    # the padding has the line of the instruction (of its mnemonic, where a prefix is on the line before)
    assert addr2line(ann, [s.address + s.insn_len for s in ours]) == addr2line(
        ann, [s.address + s.insn_len - 1 for s in ours])


def addr2line(elf: Path, addresses: list[int]) -> list[str]:
    out = run(["addr2line", "-e", str(elf), *(hex(a) for a in addresses)]).splitlines()
    return [re.sub(r" \(discriminator \d+\)", "", os.path.basename(x)) for x in out]


# ---- properties of the pass ----------------------------------------------------------------------

@pytest.mark.parametrize("name", PAIRS)
def test_idempotent(name):
    once = read(GOLDEN / f"{name}.annotated.s")
    assert annotate_text(once, f"{name}.annotated.s") == once


def test_file_without_sensitive_instructions_is_returned_identical():
    text = read(GOLDEN / "plain.s")
    assert "cli" in text and "/* nor this */" in text  # in strings only
    assert annotate_text(text, "plain.s") is not None
    assert annotate_text(text, "plain.s") == text


@pytest.mark.parametrize("name", PAIRS)
def test_lines_without_sensitive_instructions_pass_through_byte_identical(name):
    """No line is added or removed; a line changes only by site statements added around its own text."""
    text = read(GOLDEN / f"{name}.s")
    before, after = text.splitlines(True), annotate_text(text, f"{name}.s").splitlines(True)
    assert len(before) == len(after)
    changed = [(a, b) for a, b in zip(before, after) if a != b]
    assert len(changed) == sum(".Lpv_s" in b or "97701:" in b or ".Lpv_c" in b for _, b in changed) > 10
    for a, b in changed:  # take the added statements out again: the original line is left
        stripped = re.sub(r"(?:\.Lpv_s\d+(?:_\\@)?|97701): ", "", b)
        stripped = re.sub(r" ; (?:\.Lpv_i|97702:).*?\.popsection", "", stripped)
        stripped = re.sub(r" ; \.Lpv_cs\d+:|\.Lpv_ce\d+: ; \.pushsection \.previrt\.code16.*?\.popsection ; ", "",
                          stripped)
        assert stripped == a


def test_code16_is_not_annotated_but_recorded_as_a_range():
    """The 16-bit lines pass through as they are; only the .code16/.code32 lines get the range's labels
    and record (a `.code16gcc` stretch too, mode 16)."""
    text = ("\t.code16\n\tcli\n\tinb $0x60, %al\n\tmovl %eax, %cr0\n\tljmpl $8, $1f\n\t.code32\n1:\tcli\n"
            "\t.code16gcc\n\tsti\n\t.code32\n")
    out = annotate_text(text)
    record = " ; ".join(x.strip() for x in sites.gas_range_record(".Lpv_cs1", ".Lpv_ce1", 16))
    assert out.startswith("\t.code16 ; .Lpv_cs1:\n" + text[len("\t.code16\n"):text.index("\t.code32")]
                          + f"\t.Lpv_ce1: ; {record} ; .code32\n")
    assert out.count(".pushsection .previrt.sites") == 1 and out.count(".pushsection .previrt.code16") == 2
    assert "\n1:\t.Lpv_s1: cli ; .Lpv_i1: ; " in out
    assert out.endswith("\t.code16gcc ; .Lpv_cs2:\n\tsti\n\t.Lpv_ce2: ; "
                        + record.replace("cs1", "cs2").replace("ce1", "ce2") + " ; .code32\n")
    assert len(out.splitlines()) == len(text.splitlines())


def test_intel_syntax_16_bit_code_passes():
    text = "\t.code16\n\t.intel_syntax noprefix\n\tmov cr0, eax\n\t.att_syntax\n\t.code32\n\tcli\n"
    out = annotate_text(text)
    assert out.count(".pushsection .previrt.sites") == 1 and out.count(".pushsection .previrt.code16") == 1
    assert "\tmov cr0, eax\n" in out


def test_data_sections_are_left_alone():
    text = '\t.data\n\tcli\n\t.section .rodata,"a"\n\tsti\n\t.section .ktext,"ax"\n\thlt\n\t.text\n\tpushf\n'
    out = annotate_text(text)
    assert out.count(".pushsection .previrt.sites") == 2 and "\t.Lpv_s1: hlt ; " in out and "\t.Lpv_s2: pushf ; " in out


def test_statements_comments_and_strings(tmp_path):
    text = ('\tcli /* x; sti */ ; nop # sti\n\t.ascii "cli; /* # "\n\tmovl $\';\', %eax; sti /* a\n'
            ' cli still comment */ hlt\n/ cli: a line comment\n')
    out = annotate_text(text)
    assert out.count(".pushsection .previrt.sites") == 3
    lines = out.splitlines(True)
    assert len(lines) == 5 and lines[1] == text.splitlines(True)[1] and lines[4] == "/ cli: a line comment\n"
    assert lines[0].startswith("\t.Lpv_s1: cli ; .Lpv_i1: ; ") and lines[0].endswith(" /* x; sti */ ; nop # sti\n")
    assert lines[2].startswith("\tmovl $';', %eax; .Lpv_s2: sti ; ") and lines[2].endswith(".popsection /* a\n")
    assert lines[3].startswith(" cli still comment */ .Lpv_s3: hlt ; ")
    image = Image(build(out, tmp_path))
    check_sites(image)
    assert [i386.row(s.kind).name for s in image.sites] == ["cli", "sti", "hlt"]


def test_site_size_too_small_is_an_assembly_error_naming_the_source_line(tmp_path):
    text = '# 40 "kern.c"\n\tnop\n\tlgdt %cs:0x12345678(%ebx,%ecx,4)\n'
    out = annotate_text(text, "kern.s", site_sizes={i386.classify_gas("lgdt", "").kind: 8})
    src = tmp_path / "k.s"
    src.write_text(out)
    proc = subprocess.run(["as", "--32", "-o", str(tmp_path / "k.o"), str(src)], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "kern.c:41: lgdt instruction is longer than its 8-byte previrt site" in proc.stderr
    ok = annotate_text(text, "kern.s")  # the default 16 bytes hold it
    check_sites(Image(build(ok, tmp_path)))


def test_int_3_spelled_as_an_expression_is_recorded_as_int3(tmp_path):
    text = "\tint $03\n\tint $(1+2)\n\tint $0x80\n\tint $'a - 94\n"
    image = Image(build(annotate_text(text), tmp_path))
    check_sites(image)
    assert [i386.row(s.kind).name for s in sorted(image.sites, key=lambda s: s.address)] == [
        "int3", "int3", "int", "int3"]


def test_int_with_a_symbol_operand_that_is_3_is_an_assembly_error(tmp_path):
    text = '# 7 "vec.S"\n\t.set SYSCALL, 0x80\n\t.set BREAK, 3\n\tint $SYSCALL\n\tint $BREAK\n'
    out = annotate_text(text, "vec.s")
    src = tmp_path / "v.s"
    src.write_text(out)
    proc = subprocess.run(["as", "--32", "-o", str(tmp_path / "v.o"), str(src)], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "vec.S:10: int $BREAK is assembled as int3 when $BREAK is 3" in proc.stderr
    assert proc.stderr.count("Error:") == 1  # int $SYSCALL is fine
    image = Image(build(out.replace("BREAK, 3", "BREAK, 4"), tmp_path))
    check_sites(image)
    assert [i386.row(s.kind).name for s in image.sites] == ["int", "int"]


def test_numeric_labels_around_sites_still_resolve(tmp_path):
    text = "1:\tcli\n\tjmp 1b\n\tjmp 2f\n\tsti\n2:\tpushf\n\tjmp 1b\n"
    image = Image(build(annotate_text(text), tmp_path))
    check_sites(image)
    md = disassembler()
    (base, code), = image.code
    jumps = [i for i in md.disasm(code, base) if i.mnemonic == "jmp"]
    cli, pushf = (s.address for s in sorted(image.sites, key=lambda s: s.address) if s.kind in (1, 24))
    assert [int(j.op_str, 16) for j in jumps] == [cli, pushf, cli]


def test_macro_and_rept_bodies_expand_to_distinct_sites(tmp_path):
    text = ("\t.macro IRQ_OFF\n\tcli\n\t.endm\n\t.macro DELAY n\n\t.rept \\n\n\toutb %al, $0x80\n\t.endr\n"
            "\t.endm\n\tIRQ_OFF\n\tIRQ_OFF\n\tDELAY 3\n\t.irpc r, ab\n\tsti\n\t.endr\n")
    out = annotate_text(text)
    assert ".Lpv_s1_\\@: cli" in out and "97701: outb" in out
    image = Image(build(out, tmp_path))
    check_sites(image)
    assert sorted(i386.row(s.kind).name for s in image.sites) == ["cli"] * 2 + ["out"] * 3 + ["sti"] * 2


def test_existing_records_by_hand_are_respected():
    text = ("661:\tcli\n662:\t.nops 4\n663:\n\t.pushsection .previrt.sites, \"a\"\n\t.balign 4\n"
            "\t.long 661b - .\n\t.byte 1, 1, 663b - 661b, 662b - 661b\n\t.short 2, 0\n\t.popsection\n\tsti\n")
    out = annotate_text(text)
    assert out.startswith(text[:text.index("\tsti")]) and ".Lpv_s1: sti" in out and "Lpv_s2" not in out


# ---- 16/64-bit code ranges -----------------------------------------------------------------------

# The real-mode start-up blob of the report: a 32-bit cli, then 16-bit code in .text.
# (`$1f - tramp`: the offset within the blob, as a trampoline copied below 1 MiB uses; a bare `$1f` does
# not fit the 16-bit offset of a real-mode ljmp when linked at 0x100000.)
REAL_MODE = ("\t.text\n\t.code32\n\tcli\n\t.code16\ntramp:\tcli\n\tmovw $0x10,%ax\n\tljmp $0,$1f - tramp\n"
             "1:\t.code32\n\tret\n")


def code_ranges(elf: Path) -> list[sites.CodeRange]:
    """The image's .previrt.code16 records, decoded straight from the section with the sites codec."""
    with open(elf, "rb") as f:
        sec = ELFFile(f).get_section_by_name(sites.RANGE_SECTION)
        return sorted(sites.decode_ranges(sec.data(), sec["sh_addr"])) if sec else []


def symbols(elf: Path) -> dict[str, int]:
    with open(elf, "rb") as f:
        return {s.name: s["st_value"] for s in ELFFile(f).get_section_by_name(".symtab").iter_symbols() if s.name}


def decode16(data: bytes, address: int, mode: int = capstone.CS_MODE_16) -> list[str]:
    insns = list(capstone.Cs(capstone.CS_ARCH_X86, mode).disasm(data, address))
    assert sum(i.size for i in insns) == len(data), "the range does not decode to its end"
    return [f"{i.mnemonic} {i.op_str}".strip() for i in insns]


def test_real_mode_blob_is_one_range_of_exactly_its_16_bit_bytes(tmp_path):
    out = annotate_text(REAL_MODE, "ap.S")
    assert annotate_text(out, "ap.s") == out
    elf = build(out, tmp_path)
    image = Image(elf)
    check_sites(image)
    (cli32,) = image.sites  # the 16-bit cli is no site
    assert i386.row(cli32.kind).name == "cli" and cli32.address == 0x100000
    (rng,) = code_ranges(elf)
    tramp = symbols(elf)["tramp"]
    assert (rng.start, rng.end, rng.mode) == (tramp, tramp + 9, 16)
    assert decode16(image.bytes_at(rng.start, rng.size), rng.start) == ["cli", "mov ax, 0x10", "ljmp 0:9"]
    assert image.bytes_at(rng.end, 1) == b"\xc3"  # ret, 32-bit again
    original = Image(build(REAL_MODE, tmp_path, "orig"))  # the 16-bit bytes themselves are unchanged
    assert original.bytes_at(symbols(tmp_path / "orig.elf")["tramp"], 9) == image.bytes_at(rng.start, 9)


def test_hand_written_boot16_block_is_one_range_and_the_golden_image_audits_clean(tmp_path):
    elf = build(read(GOLDEN / "hand.annotated.s"), tmp_path)
    (rng,) = code_ranges(elf)
    assert (rng.start, rng.mode) == (symbols(elf)["boot16"], 16)
    real_mode = decode16(Image(elf).bytes_at(rng.start, rng.size - 6), rng.start)  # less gdt16's 6 bytes
    assert real_mode[:-1] == ["cli", "xor ax, ax", "mov ds, ax", "lgdt cs:[0x1c]", "mov eax, cr0", "or al, 1",
                              "mov cr0, eax"] and real_mode[-1].startswith("ljmp 8:")
    assert audit_messages(elf) == []


def test_code64_stretch_is_a_range_of_mode_64(tmp_path):
    text = "\t.text\n\t.code64\nlong:\tmovq %rax, %cr3\n\tretq\n\t.code32\nback:\tcli\n"
    elf = build(annotate_text(text), tmp_path)
    (rng,) = code_ranges(elf)
    sym = symbols(elf)
    assert (rng.start, rng.end, rng.mode) == (sym["long"], sym["back"], 64)
    assert decode16(Image(elf).bytes_at(rng.start, rng.size), rng.start, capstone.CS_MODE_64) == ["mov cr3, rax",
                                                                                                  "ret"]


def test_section_switches_in_16_bit_code_close_and_open_ranges(tmp_path):
    """A range per section (and subsection) the 16-bit code goes into; none in data sections.  The
    labels aN/bN mark where each range must start and end; GAS says which section follows .previous."""
    text = ("\t.text\n\t.code16\na1:\tcli\n\tmovw $1, %ax\nb1:\t.section .text.rm, \"ax\"\na2:\tsti\n"
            "b2:\t.pushsection .rodata\n\t.byte 0xfa\n\t.popsection\na3:\tinb $0x60, %al\nb3:\t.previous\n"
            "a4:\thlt\nb4:\t.text 1\na5:\tcli\nb5:\t.text 0 ; .section .data\n\t.byte 0xfb\n\t.text\n"
            "a6:\tpushf\nb6:\t.code32\n\tcli\n")
    out = annotate_text(text)
    assert annotate_text(out) == out
    assert len(out.splitlines()) == len(text.splitlines())
    elf = build(out, tmp_path)
    sym = symbols(elf)
    want = sorted((sym[f"a{k}"], sym[f"b{k}"], 16) for k in range(1, 7))
    assert code_ranges(elf) == want
    image = Image(elf)
    got = [decode16(image.bytes_at(a, b - a), a) for a, b, _ in want]
    assert sorted(got) == sorted([["cli", "mov ax, 1"], ["sti"], ["in al, 0x60"], ["hlt"], ["cli"], ["pushf"]])
    assert [i386.row(s.kind).name for s in image.sites] == ["cli"]  # the last line's, in 32-bit code


def test_16_bit_code_at_the_end_of_the_file_is_closed_by_one_more_line(tmp_path):
    # (no padded site before it: GAS sizes `.nops` in the code size at the end of the file)
    for text in ("\tnop\n\t.code16\nrm:\tcli\n\thlt\n", "\tnop\n\t.code16\nrm:\tcli\n\thlt"):
        out = annotate_text(text)
        assert annotate_text(out) == out
        before, after = text.splitlines(), out.splitlines()
        assert len(after) == len(before) + 1 and after[2:4] == before[2:4] and after[1] == "\t.code16 ; .Lpv_cs1:"
        assert after[-1].startswith("\t.Lpv_ce1: ; .pushsection .previrt.code16") and out.endswith(".popsection\n")
        elf = build(out, tmp_path)
        (rng,) = code_ranges(elf)
        assert decode16(Image(elf).bytes_at(rng.start, rng.size), rng.start) == ["cli", "hlt"]


def test_16_bit_code_in_a_data_section_needs_no_range():
    text = "\t.data\n\t.code16\n\tcli\n\t.byte 1\n\t.code32\n\t.long 2\n"
    assert annotate_text(text) == text


def test_empty_16_bit_stretch_gets_no_record():
    text = "\t.code16 ; .code32\n\t.code16\n\n\t.code32\n\tnop\n"
    assert annotate_text(text) == text


def test_macros_and_16_bit_ranges(tmp_path):
    """A macro defined in 16-bit code is read in that code size (not annotated) and does not split the
    range; a macro defined in 32-bit code is annotated, and expanded in 16-bit code its site lies in a
    range, which previrt audit reports."""
    text = ("\t.macro IRQ_OFF\n\tcli\n\t.endm\n\t.code16\n\t.macro IO_DELAY\n\toutb %al, $0x80\n\t.endm\n"
            "rm:\tIO_DELAY\n\tsti\nend:\t.code32\n")
    out = annotate_text(text)
    assert out.count(".pushsection .previrt.code16") == 1 and out.count(".pushsection .previrt.sites") == 1
    assert ".Lpv_s1_\\@: cli" in out and "\toutb %al, $0x80\n" in out
    elf = build(out, tmp_path)
    (rng,) = code_ranges(elf)
    assert (rng.start, rng.end) == (symbols(elf)["rm"], symbols(elf)["end"])
    assert decode16(Image(elf).bytes_at(rng.start, rng.size), rng.start) == ["out 0x80, al", "sti"]
    assert audit_messages(elf) == []
    elf = build(annotate_text(text.replace("rm:\tIO_DELAY", "rm:\tIRQ_OFF")), tmp_path, "wrong")
    (rng,) = code_ranges(elf)
    assert audit_messages(elf) == [f"site [{rng.start:#x}, {rng.start + 8:#x}) (cli) overlaps the 16-bit code "
                                   f"range [{rng.start:#x}, {rng.end:#x})"]


def audit_messages(elf: Path) -> list[str]:
    from previrt.audit import audit
    from previrt.elf import read_image

    return [f.message for f in audit(read_image(str(elf))).findings]


def test_prefix_line_after_a_range_closes_on_it(tmp_path):
    """`rep` ending a line whose .code32 closes a range: the site's start label still goes before `rep`."""
    out = annotate_text("\t.code16\n\tcli\n\t.code32 ; rep\n\toutsb\n")
    assert "; .popsection ; .code32 ; .Lpv_s1: rep\n" in out
    image = Image(build(out, tmp_path))
    check_sites(image)
    (site,) = image.sites
    assert image.bytes_at(site.address, 2) == bytes.fromhex("f3 6e")


def test_range_written_by_hand_is_respected():
    text = ("\t.code16\nrm_start:\n\tcli\nrm_end:\n\t.code32\n\t.pushsection .previrt.code16, \"a\"\n\t.balign 4\n"
            "\t.long rm_start - .\n\t.long rm_end - .\n\t.byte 1, 16\n\t.short 0\n\t.popsection\n")
    assert annotate_text(text) == text


# ---- errors --------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,where,message", [
    ('\tcli\n/* never closed\n\tsti\n', "f.s:2", "unterminated /* comment"),
    ('\tnop\n\t.ascii "no end; cli\n', "f.s:2", "unterminated string"),
    ('# 12 "kern.c"\n\tnop\n\tnop\n\tsti; .ascii "x\n', "kern.c:14", "unterminated string"),
    ('\t.file 1 "drv.c"\n\t.loc 1 77 3\n\t.endm\n', "drv.c:77", ".endm without a matching .macro"),
    ('\t.popsection\n', "f.s:1", ".popsection without a matching .pushsection"),
    ('\tnop\n\t.rept 2\n\tcli\n', "f.s:2", "body not closed"),
    ('\tcli; rep\n\touts\n', "f.s:1", "prefix statement"),
    ('\t.code16\n\t.intel_syntax noprefix\n\tcli\n\t.code32\n', "f.s:4", "Intel syntax"),
    ('\tnop\n\t.macro REAL\n\t.code16\n\t.endm\n', "f.s:3", ".code16 inside a .macro body"),
    ('\t.macro BACK\n\tnop\n\t.code32\n\t.endm\n', "f.s:3", ".code32 inside a .macro body"),
    ('\t.rept 2\n\t.code16\n\tcli\n\t.code32\n\t.endr\n', "f.s:2", "inside a .rept/.irp/.irpc body"),
    ('\t.code16\n\t.irp r, a, b\n\t.data\n\t.text\n\t.endr\n', "f.s:3", "inside a .rept/.irp/.irpc body"),
])
def test_errors_name_file_and_line(text, where, message):
    with pytest.raises(PrevirtError) as e:
        annotate_text(text, "f.s")
    assert e.value.where == where
    assert message in str(e.value)


def test_annotate_path_writes_whole_file_or_nothing(tmp_path):
    good, bad, out = tmp_path / "good.s", tmp_path / "bad.s", tmp_path / "out.s"
    good.write_text("\tcli\n")
    bad.write_text("\tcli\n\t.ascii \"x; sti\n")
    annotate_path(str(good), str(out))
    assert out.read_text() == annotate_text("\tcli\n", str(good))
    with pytest.raises(PrevirtError, match=r"bad\.s:2"):
        annotate_path(str(bad), str(tmp_path / "none.s"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.s", "good.s", "out.s"]


def test_annotate_path_output_mode_follows_the_umask_and_dash_is_stdout(tmp_path, capfd):
    src, out = tmp_path / "in.s", tmp_path / "out.s"
    src.write_text("\tcli\n")
    old = os.umask(0o027)
    try:
        annotate_path(str(src), str(out))
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o640
    annotate_path(str(src), "-")
    assert capfd.readouterr().out == annotate_text("\tcli\n", str(src))
    assert not (tmp_path / "-").exists() and not os.path.exists("-")


def test_annotate_path_writes_through_links_and_into_pipes_without_replacing_them(tmp_path):
    import threading

    src = tmp_path / "in.s"
    src.write_text("\tsti\n")
    want = annotate_text("\tsti\n", str(src))
    (tmp_path / "real").mkdir()
    link = tmp_path / "out.s"
    link.symlink_to(tmp_path / "real" / "out.s")
    annotate_path(str(src), str(link))
    assert link.is_symlink() and (tmp_path / "real" / "out.s").read_text() == want
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    annotate_path(str(src), str(fifo))
    reader.join(10)
    assert got == [want] and fifo.is_fifo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.s", "out.s", "pipe", "real"]


def test_cli(tmp_path, capsys):
    src, out = tmp_path / "in.s", tmp_path / "out.s"
    src.write_text(read(GOLDEN / "irq.s"))
    assert cli_main(["annotate", str(src), "-o", str(out)]) == 0
    assert read(out) == read(GOLDEN / "irq.annotated.s")
    src.write_text('# 3 "kern.c"\n\t.ascii "oops, cli\n')
    assert cli_main(["annotate", str(src), "-o", str(tmp_path / "x.s")]) == 1
    assert "kern.c:3" in capsys.readouterr().err
    assert not (tmp_path / "x.s").exists()
