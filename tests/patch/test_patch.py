"""The load-time patcher (previrt.patch) at byte level, on an image built with `previrt cc` and the test hypervisor's
templates: what each template assembles to (capstone), keep/trap/ud2, the NOP fill, the refusals (changed original
bytes, a replacement too long, templates that do not render, assemble or link), the cache, and the written image."""

from __future__ import annotations

import os
import subprocess

import pytest
from elftools.elf.elffile import ELFFile

from previrt import audit, patch
from previrt.elf import read_image
from previrt.errors import UsageError
from previrt.patch import KEEP, REPLACE, TRAP, UD2, PatchError
from tests.patch.patchkit import SYM, TEMPLATES, att, build_image, copy_image, file_offset, poke, template_set


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_image(tmp_path_factory.mktemp("patch-image"))


@pytest.fixture
def image(built, tmp_path):
    return copy_image(built, tmp_path / "image")


@pytest.fixture
def patched(image, private_cache):
    return patch.plan(str(image), TEMPLATES, SYM)


def site_of(p: patch.Patch, kind: str, nth: int = 0) -> patch.PatchedSite:
    return [s for s in p.sites if s.kind == kind][nth]


def _operands(text: str) -> list[str]:
    rest = text.partition(" ")[2]
    return [o.strip() for o in rest.split(",")] if rest else []


# What each site of the test image becomes with the test templates: (directive, the replacement's instructions as
# capstone writes them in AT&T), from the original instruction's AT&T text and the site's end.
EXPECTED = {
    "cli": lambda orig, end: (REPLACE, ["movb $0, 0xfc020000"]),
    "sti": lambda orig, end: (REPLACE, ["calll 0xfc030000"]),
    "pushf": lambda orig, end: (TRAP, ["int3"]),
    "popf": lambda orig, end: (UD2, ["ud2"]),
    "lgdt": lambda orig, end: (UD2, ["ud2"]),
    "hlt": lambda orig, end: (KEEP, [orig]),
    "ljmp": lambda orig, end: (TRAP, ["int3"]),
    "mov_to_cr": lambda orig, end: (REPLACE, [f"movl {_operands(orig)[0]}, 0xfc02000c", "calll 0xfc030010"])
    if _operands(orig)[1] == "%cr3" else (TRAP, ["int3"]),
    "mov_from_cr": lambda orig, end: (REPLACE, [f"movl {SYM['vcpu_' + _operands(orig)[0][1:]]:#x}, "
                                                f"{_operands(orig)[1]}"]),
    "out": lambda orig, end: (REPLACE, [f"jmp {end:#x}"]) if _operands(orig)[1] == "$0x80" else (KEEP, [orig]),
    "int": lambda orig, end: (REPLACE, [orig]),
    "iret": lambda orig, end: (REPLACE, ["jmp 0xfc030030"]) if orig == "iretl" else (TRAP, ["int3"]),
    "invlpg": lambda orig, end: (REPLACE, ["pushl %eax", f"leal {_operands(orig)[0]}, %eax", "calll 0xfc030020",
                                           "popl %eax"]),
}


# ---- what the templates assemble to ------------------------------------------------------------------

def test_every_template_output_decodes_as_intended_and_fits_its_site(patched):
    assert {s.kind for s in patched.sites} == set(EXPECTED)
    for s in patched.sites:
        orig = att(s.original[:s.insn_len], s.address)[0]
        directive, insns = EXPECTED[s.kind](orig, s.end)
        assert (s.directive, att(s.replacement, s.address)) == (directive, insns), f"{s.address:#x} {orig}"
        assert len(s.final) == s.size and len(s.original) == s.size
        assert s.final.startswith(s.replacement)


def test_the_rest_of_every_site_is_padding_audit_accepts(patched):
    md = audit.disassembler()
    for s in patched.sites:
        if s.directive in (REPLACE, UD2):
            at = s.address + len(s.replacement)
            assert audit.check_padding(md, s.final[len(s.replacement):], at, s) == [], f"{s.address:#x}"


def test_patched_sites_in_address_order_with_counts(patched):
    addresses = [s.address for s in patched.sites]
    assert addresses == sorted(addresses) and len(addresses) == len(read_image(patched.image_path).sites)
    assert patched.by_kind == {"cli": 1, "hlt": 1, "int": 1, "invlpg": 1, "iret": 2, "lgdt": 1, "ljmp": 1,
                               "mov_from_cr": 2, "mov_to_cr": 2, "out": 2, "popf": 1, "pushf": 1, "sti": 1}


def test_template_context(image, tmp_path):
    """site, insn (capstone's mnemonic, AT&T operands, AT&T text, bytes) and sym, seen through `.ascii`."""
    folder = template_set(
        tmp_path / "t",
        mov_to_cr='\t.ascii "{{ insn.ops | join(\'|\') }}"\n',
        ljmp='\t.ascii "{{ insn.ops | join(\'|\') }}"\n',
        invlpg='\t.ascii "{{ insn.att }}"\n',
        iret='\t.ascii "{{ insn.mnemonic }}"\n',
        lgdt='\t.ascii "{{ site.kind }} {{ site.size }} {{ site.insn_len }}"\n',
        int='\t.byte {{ insn.bytes | join(", ") }}\n\t.byte {{ site.end - site.address }}\n',
        out='\t.long {{ site.address }}, {{ site.end }}\n',
        cli='\t.long {{ sym.vcpu_if }}\n')
    p = patch.plan(str(image), folder, SYM)
    got = lambda kind, nth=0: site_of(p, kind, nth).replacement  # noqa: E731
    assert {got("mov_to_cr", 0), got("mov_to_cr", 1)} == {b"%ebx|%cr0", b"%eax|%cr3"}
    assert got("ljmp") == b"$0x10|$" + hex(site_of(p, "iret").address).encode()
    assert got("invlpg").startswith(b"invlpg (%e")
    assert (got("iret", 0), got("iret", 1)) == (b"iretd", b"iret")  # capstone's own mnemonics: 32- and 16-bit
    assert got("lgdt") == b"lgdt 16 7"
    assert got("int") == b"\xcd\x80\x08"
    s = site_of(p, "out")
    assert got("out") == s.address.to_bytes(4, "little") + s.end.to_bytes(4, "little")
    assert got("cli") == SYM["vcpu_if"].to_bytes(4, "little")


def test_gas_operands_are_written_as_gas_writes_them():
    assert patch.gas_operands("%eax, %cr3") == ["%eax", "%cr3"]
    assert patch.gas_operands("0x10(%ebx, %ecx, 4), %eax") == ["0x10(%ebx,%ecx,4)", "%eax"]
    assert patch.gas_operands("$0x10:$0x1000") == ["$0x10", "$0x1000"]
    assert patch.gas_operands("%dx, %es:(%edi)") == ["%dx", "%es:(%edi)"]
    assert patch.gas_operands("") == []


# ---- keep, trap, ud2 ---------------------------------------------------------------------------------

def test_keep_leaves_the_site_as_it_is(patched):
    s = site_of(patched, "hlt")
    assert s.directive == KEEP and s.final == s.original and s.replacement == b"\xf4"
    assert s.address not in patched.writes and s.address not in patched.traps


def test_trap_puts_int3_over_the_first_byte_and_lists_the_original(patched):
    s = site_of(patched, "pushf")
    assert s.final == b"\xcc" + s.original[1:]
    assert patched.traps[s.address] == (b"\x9c", "pushf")
    far = site_of(patched, "ljmp")
    assert patched.traps[far.address] == (far.original[:7], "ljmp") and far.original[0] == 0xEA
    assert patched.writes[s.address] == s.final


def test_a_kind_without_template_becomes_ud2_and_is_listed(patched):
    assert patched.unhandled == {site_of(patched, "popf").address: "popf", site_of(patched, "lgdt").address: "lgdt"}
    for s in (site_of(patched, "popf"), site_of(patched, "lgdt")):
        assert s.final[:2] == b"\x0f\x0b" and s.directive == UD2


def test_writes_are_the_sites_that_change(patched):
    assert patched.writes == {s.address: s.final for s in patched.sites if s.final != s.original}
    same = site_of(patched, "int")  # `int {{ insn.ops[0] }}` assembles to the original and its padding
    assert same.directive == REPLACE and same.final == same.original and same.address not in patched.writes
    assert len(patched.writes) == len(patched.sites) - 3  # int, hlt, out $0x71 unchanged


def test_directive_after_blank_lines_and_comments(image, tmp_path):
    folder = template_set(tmp_path / "t", cli="{# a comment #}\n\n   \n#   previrt:   trap  \n\tnop\n")
    assert site_of(patch.plan(str(image), folder, SYM), "cli").directive == TRAP


# ---- padding -----------------------------------------------------------------------------------------

def test_nop_table_is_what_gas_emits(tmp_path):
    src = tmp_path / "nops.s"
    src.write_text("\t.arch .nop\n" + "".join(f"\t.nops {n}, 11\n" for n in range(1, 12)))
    subprocess.run(["as", "--32", "-o", str(tmp_path / "nops.o"), str(src)], check=True)
    with open(tmp_path / "nops.o", "rb") as f:
        text = ELFFile(f).get_section_by_name(".text").data()
    assert text == b"".join(patch.NOPS[1:12])


def test_padding_of_every_length_is_accepted_by_audit():
    md = audit.disassembler()
    for n in range(0, 200):
        pad = patch.padding(n)
        site = patch.PatchedSite(0x1000, "cli", n, 0, REPLACE, b"", b"", b"")
        assert len(pad) == n and audit.check_padding(md, pad, 0x1000, site) == [], n
        jmp = 2 if 11 < n <= 129 else 0  # a short jmp to the end, then as few NOPs as fit
        assert len(att(pad, 0x1000)) == (jmp > 0) + -(-(n - jmp) // 11), n


# ---- refusals ----------------------------------------------------------------------------------------

def test_changed_original_bytes_are_refused_naming_the_site(image):
    cli = read_image(str(image))
    address = next(s.address for s in cli.sites if s.kind == 1)
    poke(image, address, b"\x90")  # cli -> nop
    with pytest.raises(PatchError) as e:
        patch.plan(str(image), TEMPLATES, SYM)
    msg = str(e.value)
    assert f"{address:#010x} enter+0x0 (" in msg and "irq.c:7): cli site" in msg
    assert "not what the build pass recorded" in msg and "`nop`" in msg


def test_an_instruction_of_another_kind_or_changed_padding_is_refused(image):
    sites = sorted(read_image(str(image)).sites)
    sti = next(s for s in sites if s.kind == 2)
    poke(image, sti.address, b"\xfa")  # sti -> cli
    hlt = next(s for s in sites if s.kind == 3)
    poke(image, hlt.address + 1, b"\xcc")  # its padding
    with pytest.raises(PatchError) as e:
        patch.plan(str(image), TEMPLATES, SYM)
    assert len(e.value.refusals) == 2
    assert "sti site" in e.value.refusals[1] and "kind mismatch" in e.value.refusals[1]
    assert "hlt site" in e.value.refusals[0] and "padding" in e.value.refusals[0]


def test_a_replacement_too_long_is_refused_naming_both_sizes(image, tmp_path):
    folder = template_set(tmp_path / "t", cli="\tcall wedge_sti\n\tcall wedge_sti\n")
    with pytest.raises(PatchError) as e:
        patch.plan(str(image), folder, SYM)
    msg = str(e.value)
    assert "enter+0x0" in msg and "cli site" in msg and "cli.s.j2" in msg
    assert "is 10 bytes, the site 8 bytes" in msg


def test_a_template_that_does_not_assemble_names_template_line_and_site(image, tmp_path):
    folder = template_set(tmp_path / "t", sti="\tnop\n\tbogus %eax\n")
    with pytest.raises(PatchError) as e:
        patch.plan(str(image), folder, SYM)
    msg = str(e.value)
    assert "leave+0x" in msg and "sti site" in msg
    assert "template sti.s.j2 does not assemble: line 2 of its output `bogus %eax`" in msg


def test_an_undefined_symbol_is_refused_at_link(image, tmp_path):
    folder = template_set(tmp_path / "t", sti="\tcall wedge_nowhere\n")
    with pytest.raises(PatchError) as e:
        patch.plan(str(image), folder, SYM)
    msg = str(e.value)
    assert "sti site" in msg and "template sti.s.j2 does not link" in msg and "wedge_nowhere" in msg


@pytest.mark.parametrize("text, words", [
    ("\tcall {{ sym.wedge_missing }}\n", ["does not render", "UndefinedError", "wedge_missing"]),
    ("{{ site.nothing }}\n", ["does not render", "nothing"]),
    ("{% if %}\n", ["does not render", "TemplateSyntaxError"]),
    ("# previrt: skip\n", ["does not render", "unknown directive `# previrt: skip`"]),
])
def test_a_template_that_does_not_render_is_refused(image, tmp_path, text, words):
    folder = template_set(tmp_path / "t", sti=text)
    with pytest.raises(PatchError) as e:
        patch.plan(str(image), folder, SYM)
    assert all(w in str(e.value) for w in words + ["sti site", "template sti.s.j2"]), str(e.value)


def test_unusable_template_sets_and_symbols(image, tmp_path):
    with pytest.raises(UsageError, match="not a folder of patch templates"):
        patch.plan(str(image), tmp_path / "none", SYM)
    folder = template_set(tmp_path / "t", mov_to_cr3="\tnop\n")
    with pytest.raises(UsageError, match="names no row"):
        patch.plan(str(image), folder, SYM)
    for sym in ({"1bad": 1}, {"a b": 1}, {"x": -1}, {"x": 1 << 32}, {"x": "0x10"}, {"x": True}, [("x", 1)]):
        with pytest.raises(UsageError, match="patch symbol"):
            patch.plan(str(image), TEMPLATES, sym)


def test_unusable_images(tmp_path, built):
    (tmp_path / "text").write_text("hello\n")
    for path, words in ((tmp_path / "missing", "cannot read"), (tmp_path / "text", "not an ELF file"),
                        (tmp_path, "cannot read")):
        with pytest.raises(UsageError, match=words):
            patch.plan(str(path), TEMPLATES, SYM)
    with pytest.raises(UsageError, match="relocatable object"):
        patch.plan(str(built.parent / "irq.o"), TEMPLATES, SYM)


# ---- the cache ---------------------------------------------------------------------------------------

def no_tools(monkeypatch):
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise AssertionError(f"ran {args[0]}")

    monkeypatch.setattr(patch.subprocess, "run", refuse)
    return calls


def test_a_warm_cache_runs_no_assembler(image, private_cache, monkeypatch):
    cold = patch.plan(str(image), TEMPLATES, SYM)
    assert cold.cached == "" and any(private_cache.glob("*.plan")) and any(private_cache.glob("*.asm"))
    no_tools(monkeypatch)
    warm = patch.plan(str(image), TEMPLATES, SYM)
    assert warm.cached == "plan" and warm.sites == cold.sites
    for f in private_cache.glob("*.plan"):
        f.unlink()
    again = patch.plan(str(image), TEMPLATES, SYM)
    assert again.cached == "assembly" and again.sites == cold.sites
    assert not [f for f in private_cache.iterdir() if f.name.startswith(".tmp-")]


def test_the_cache_key_follows_the_templates_symbols_and_image(image, tmp_path, private_cache, monkeypatch):
    patch.plan(str(image), TEMPLATES, SYM)
    calls = no_tools(monkeypatch)
    folder = template_set(tmp_path / "t", cli="\tmovb $1, vcpu_if\n")
    for args in ((str(image), folder, SYM), (str(image), TEMPLATES, dict(SYM, vcpu_if=0xFC020100))):
        with pytest.raises(AssertionError, match="ran"):
            patch.plan(*args)
    assert len(calls) == 2


def test_a_corrupt_cache_file_is_a_miss(image, private_cache):
    cold = patch.plan(str(image), TEMPLATES, SYM)
    for f in private_cache.iterdir():
        f.write_bytes(f.read_bytes()[:-3])
    again = patch.plan(str(image), TEMPLATES, SYM)
    assert again.cached == "" and again.sites == cold.sites


def test_an_unwritable_cache_only_costs_time(image, tmp_path):
    (tmp_path / "file").write_text("")
    p = patch.plan(str(image), TEMPLATES, SYM, cache_dir=tmp_path / "file" / "below")
    assert p.cached == "" and p.sites


def test_cache_folder_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PREVIRT_CACHE_DIR", str(tmp_path / "a"))
    assert patch.default_cache_dir() == tmp_path / "a" / "patch"
    monkeypatch.delenv("PREVIRT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert patch.default_cache_dir() == tmp_path / "x" / "previrt" / "patch"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert patch.default_cache_dir() == tmp_path / "h" / ".cache" / "previrt" / "patch"


# ---- the patched image -------------------------------------------------------------------------------

def test_write_image_changes_only_site_bytes(image, patched, tmp_path):
    out = tmp_path / "out.elf"
    patch.write_image(str(image), patched, str(out), "test", 3)
    before, after = image.read_bytes(), out.read_bytes()
    changed = {file_offset(image, s.address) + i for s in patched.sites for i in range(s.size)}
    header_fields = set(range(0x20, 0x24)) | set(range(0x30, 0x32))  # e_shoff, e_shnum
    diff = {i for i in range(len(before)) if before[i] != after[i]}
    assert diff - changed <= header_fields and diff & changed
    for s in patched.sites:
        off = file_offset(image, s.address)
        assert after[off:off + s.size] == s.final
    assert os.stat(out).st_mode & 0o777 == os.stat(image).st_mode & 0o777


def test_write_image_names_the_target(image, patched, tmp_path):
    out = tmp_path / "out.elf"
    patch.write_image(str(image), patched, str(out), "test", 3)
    assert patch.patched_target(str(out)) == ("test", 3)
    assert patch.patched_target(str(image)) is None
    with open(out, "rb") as f:
        elf = ELFFile(f)
        sec = elf.get_section_by_name(".previrt.target")
        assert sec["sh_type"] == "SHT_PROGBITS" and sec["sh_flags"] == 0
        assert sec.data() == patch.target_note(patched, "test", 3) and sec.data().startswith(b"target=test\nabi=3\n")
        assert not any(seg.section_in_segment(sec) for seg in elf.iter_segments())
    assert read_image(str(out)).sites == read_image(str(image)).sites
    note = patch.patched_note(str(out))
    assert (note.traps, note.unhandled) == (patched.traps, patched.unhandled)
    with pytest.raises(UsageError, match="already patched for target 'test' \\(ABI 3\\)"):
        patch.plan(str(out), TEMPLATES, SYM)


def test_write_image_refuses_what_it_cannot_do_and_leaves_nothing(image, patched, tmp_path):
    with pytest.raises(UsageError, match="overwrite the image"):
        patch.write_image(str(image), patched, str(image), "test", 1)
    with pytest.raises(UsageError, match="cannot write"):
        patch.write_image(str(image), patched, str(tmp_path / "no" / "out.elf"), "test", 1)
    with pytest.raises(UsageError, match="target name"):
        patch.write_image(str(image), patched, str(tmp_path / "out.elf"), "a\nb", 1)
    poke(image, patched.sites[0].address, b"\x90")
    with pytest.raises(PatchError, match="differ from the ones the patch was planned on"):
        patch.write_image(str(image), patched, str(tmp_path / "out.elf"), "test", 1)
    assert not (tmp_path / "out.elf").exists()
    assert [f.name for f in tmp_path.iterdir() if f.name.startswith(".")] == []


def test_a_site_in_16_bit_code_is_refused(tmp_path):
    """A hand-written record inside a .code16 stretch: 32-bit code must not be patched in."""
    from previrt.annotate.asm import annotate_text
    from tests.toolchain.projects import asm_image

    text = ("\t.text\n\t.globl _start\n_start:\n\tcli\n\t.code16\n1:\tcli\n2:\n"
            '\t.pushsection .previrt.sites,"a"\n\t.balign 4\n\t.long 1b - .\n\t.byte 1, 1, 2b - 1b, 2b - 1b\n'
            "\t.short 0, 0\n\t.popsection\n\t.code32\n\tret\n")
    image = asm_image(tmp_path, annotate_text(text, "boot.S"), "boot")
    with pytest.raises(PatchError) as e:
        patch.plan(str(image), TEMPLATES, SYM)
    assert len(e.value.refusals) == 1 and "overlaps the 16/64-bit code" in str(e.value)
