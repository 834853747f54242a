"""previrt.elf: reading linked i386 images, and every unusable input as a UsageError (exit status 2).

Inputs are built here with gcc/as/ld; the bad ones are cut, corrupted or of the wrong machine."""

from __future__ import annotations

import struct

import pytest

from previrt.elf import read_image
from previrt.errors import UsageError
from previrt.sites import RANGE_RECORD_SIZE, RANGE_SECTION, RECORD_SIZE, SECTION, CodeRange
from tests.toolchain.projects import TEXT_ADDRESS, asm_image, compile_c, link, previrt, run

C_SOURCE = """\
int counter;

int bump(int by)
{
	counter += by;
	return counter;
}

void _start(void)
{
	for (;;)
		bump(3);
}
"""

ONE_SITE = """\
	.text
	.globl _start
	.type _start, @function
_start:
661:	cli
662:	.nops 7
663:
	ret
	.size _start, . - _start
	.pushsection .previrt.sites, "a"
	.balign 4
	.long 661b - .
	.byte 1, 1, 663b - 661b, 662b - 661b
	.short 0, 0
	.popsection
"""


def as_object(tmp_path, name: str, text: str):
    """`text` assembled with `as --32`, no debug information, into tmp_path/NAME.o."""
    src = tmp_path / f"{name}.s"
    src.write_text(text)
    run(["as", "--32", str(src), "-o", str(tmp_path / f"{name}.o")])
    return tmp_path / f"{name}.o"


@pytest.fixture(scope="module")
def c_image(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("elf")
    src = tmp / "prog.c"
    src.write_text(C_SOURCE)
    return link([compile_c(src, tmp / "prog.o")], tmp / "prog.elf")


def test_functions_and_dwarf_lines_match_addr2line(c_image):
    image = read_image(str(c_image))
    bump = next(f for f in image.functions if f.name == "bump")
    assert bump.size > 0
    assert image.describe(bump.address) == "bump+0x0"
    assert image.describe(bump.address + 3) == "bump+0x3"
    addr2line = run(["addr2line", "-e", str(c_image), hex(bump.address)]).stdout.strip()
    assert addr2line.endswith("prog.c:5")
    assert image.source_line(bump.address) == addr2line
    assert [s.name for s in image.code] == [".text"] and image.code[0].address == TEXT_ADDRESS


def test_no_dwarf_means_no_source_line(tmp_path):
    obj = as_object(tmp_path, "p", "\t.text\n\t.globl _start\n_start:\tret\n")
    image = read_image(str(link([obj], tmp_path / "p.elf")))
    assert image.source_line(TEXT_ADDRESS) is None
    assert image.describe(TEXT_ADDRESS) == "_start+0x0"  # the label, though not STT_FUNC


def test_site_records_decode_at_link_address(tmp_path):
    image = read_image(str(asm_image(tmp_path, ONE_SITE)))
    assert len(image.sites) == 1
    site = image.sites[0]
    assert (site.address, site.kind, site.size, site.insn_len) == (TEXT_ADDRESS, 1, 8, 1)


@pytest.mark.parametrize("content", [b"", b"hello, world\n", b"\x7fELG" + bytes(60)])
def test_not_elf(tmp_path, content):
    bad = tmp_path / "garbage"
    bad.write_bytes(content)
    with pytest.raises(UsageError, match="not an ELF file"):
        read_image(str(bad))
    for command in ("sites", "audit"):
        status, out, err = previrt(command, str(bad))
        assert status == 2 and "not an ELF file" in err and str(bad) in err


def test_truncated_elf_is_a_usage_error_not_a_traceback(c_image, tmp_path):
    blob = c_image.read_bytes()
    cuts = sorted({5, 16, 40, 52, 53, 100, 0x200, len(blob) // 3, len(blob) // 2, len(blob) - 41, len(blob) - 1})
    for cut in cuts:
        bad = tmp_path / f"cut{cut}"
        bad.write_bytes(blob[:cut])
        for command in ("sites", "audit"):
            status, _, err = previrt(command, str(bad))
            assert status == 2, (cut, command, err)
            assert str(bad) in err and "Traceback" not in err


def test_x86_64_elf_rejected_naming_the_machine(tmp_path):
    src = tmp_path / "x.c"
    src.write_text("int f(void) { return 1; }\n")
    run(["gcc", "-c", str(src), "-o", str(tmp_path / "x.o")])
    run(["gcc", "-nostdlib", "-shared", str(tmp_path / "x.o"), "-o", str(tmp_path / "x.so")])
    status, _, err = previrt("audit", str(tmp_path / "x.so"))
    assert status == 2 and "x86-64" in err and "EM_386" in err


def test_relocatable_object_read_as_linked_at_zero(c_image):
    image = read_image(str(c_image.with_suffix(".o")))
    bump = next(f for f in image.functions if f.name == "bump")
    assert bump.address == 0 and image.code[0].name == ".text" and image.code[0].address == 0
    assert image.source_line(bump.address).endswith("prog.c:5")


TWO_SECTIONS = ONE_SITE + """\
	.section .text.other, "ax", @progbits
	.globl other
	.type other, @function
other:
	nop
671:	sti
672:	.nops 11
673:
	ret
	.size other, . - other
	.pushsection .previrt.sites, "a"
	.balign 4
	.long 671b - .
	.byte 1, 2, 673b - 671b, 672b - 671b
	.short 0, 0
	.popsection
"""


def test_relocatable_object_sites_are_relocated_into_each_section(tmp_path):
    obj = as_object(tmp_path, "two", TWO_SECTIONS)
    image = read_image(str(obj))
    text, other = image.code
    assert (text.name, other.name) == (".text", ".text.other") and other.address >= text.end
    assert [(s.address, s.kind, s.size) for s in image.sites] == [(0, 1, 8), (other.address + 1, 2, 12)]
    assert image.describe(other.address + 1) == "other+0x1"
    status, out, _ = previrt("audit", str(obj))
    assert status == 0, out


def test_relocatable_object_record_against_an_undefined_symbol(tmp_path):
    obj = as_object(tmp_path, "u", ONE_SITE.replace("\t.long 661b - .", "\t.long elsewhere - ."))
    status, _, err = previrt("sites", str(obj))
    assert status == 2 and SECTION in err and "elsewhere" in err


def _set_record_byte(image_path, offset_in_record: int, value: int, section: str = SECTION) -> None:
    """Overwrite one byte of the first record of `section` (SECTION by default) in a linked image."""
    from elftools.elf.elffile import ELFFile

    with open(image_path, "rb") as f:
        sec = ELFFile(f).get_section_by_name(section)
        where = sec["sh_offset"] + offset_in_record
    blob = bytearray(image_path.read_bytes())
    blob[where] = value
    image_path.write_bytes(bytes(blob))


def test_corrupt_section_bad_version(tmp_path):
    image = asm_image(tmp_path, ONE_SITE)
    _set_record_byte(image, 4, 99)  # the version byte
    status, _, err = previrt("audit", str(image))
    assert status == 2 and SECTION in err and "version 99" in err


def test_corrupt_section_not_whole_records(tmp_path):
    asm = ONE_SITE.replace("\t.short 0, 0\n", "\t.short 0, 0\n\t.byte 0\n")
    status, _, err = previrt("sites", str(asm_image(tmp_path, asm)))
    assert status == 2 and SECTION in err and f"{RECORD_SIZE}-byte" in err


def test_section_past_end_of_file(tmp_path):
    image = asm_image(tmp_path, ONE_SITE)
    from elftools.elf.elffile import ELFFile

    with open(image, "rb") as f:
        elf = ELFFile(f)
        index = next(i for i, s in enumerate(elf.iter_sections()) if s.name == SECTION)
        shoff, shentsize = elf["e_shoff"], elf["e_shentsize"]
    blob = bytearray(image.read_bytes())
    struct.pack_into("<I", blob, shoff + index * shentsize + 16, len(blob) + 4096)  # sh_offset
    image.write_bytes(bytes(blob))
    status, _, err = previrt("audit", str(image))
    assert status == 2 and "past the end" in err


def _section_file_offset(image, name: str) -> tuple[int, int]:
    from elftools.elf.elffile import ELFFile

    with open(image, "rb") as f:
        sec = ELFFile(f).get_section_by_name(name)
        return sec["sh_offset"], sec["sh_size"]


def test_corrupt_dwarf_is_a_usage_error_not_a_traceback(c_image, tmp_path):
    blob = bytearray(c_image.read_bytes())
    off, _ = _section_file_offset(c_image, ".debug_info")
    version = struct.unpack_from("<H", blob, off + 4)[0]
    abbrev_at = off + (8 if version >= 5 else 6)  # debug_abbrev_offset of the first unit header
    struct.pack_into("<I", blob, abbrev_at, 0x6000000)
    bad = tmp_path / "bad-dwarf.elf"
    bad.write_bytes(bytes(blob))
    for command in ("sites", "audit"):
        status, out, err = previrt(command, str(bad))
        assert status == 2 and out == "", (command, out, err)
        assert f"{bad}: malformed DWARF line info (DWARFError" in err and "Traceback" not in err


def test_corrupt_compressed_section_is_a_usage_error(tmp_path):
    src = tmp_path / "z.c"
    src.write_text(C_SOURCE)
    obj = compile_c(src, tmp_path / "z.o", cc=["gcc", "-gz=zlib"])
    image = link([obj], tmp_path / "z.elf")
    blob = bytearray(image.read_bytes())
    off, size = _section_file_offset(image, ".debug_line")
    blob[off + 12:off + size] = b"\xff" * (size - 12)  # after the 12-byte Elf32_Chdr: not a zlib stream
    image.write_bytes(bytes(blob))
    status, _, err = previrt("audit", str(image))
    assert status == 2 and str(image) in err and "Traceback" not in err


# ---- .previrt.code16 ---------------------------------------------------------------------------------

ONE_RANGE = """\
	.text
	.globl _start
_start:
	nop
	.code16
671:	cli
	movw $0x10, %ax
672:	.code32
	ret
	.pushsection .previrt.code16, "a"
	.balign 4
	.long 671b - .
	.long 672b - .
	.byte 1, 16
	.short 0
	.popsection
"""

TWO_RANGES = ONE_RANGE + """\
	.section .text.other, "ax", @progbits
	nop
	nop
	.code64
681:	movq %rax, %cr3
682:	.code32
	.pushsection .previrt.code16, "a"
	.balign 4
	.long 681b - .
	.long 682b - .
	.byte 1, 64
	.short 0
	.popsection
"""


def test_code_ranges_decode_at_link_address(tmp_path):
    image = read_image(str(asm_image(tmp_path, ONE_RANGE)))
    assert image.code_ranges == [CodeRange(TEXT_ADDRESS + 1, TEXT_ADDRESS + 5, 16)]
    assert image.code_ranges[0].size == 4


def test_relocatable_object_ranges_are_relocated_into_each_section(tmp_path):
    obj = as_object(tmp_path, "two", TWO_RANGES)
    image = read_image(str(obj))
    text, other = image.code
    assert other.name == ".text.other" and other.address >= text.end
    assert image.code_ranges == [CodeRange(1, 5, 16), CodeRange(other.address + 2, other.address + 5, 64)]
    status, out, _ = previrt("audit", "-v", str(obj))
    assert status == 0 and "7 bytes of 16/64-bit code (2 recorded ranges) not swept" in out


def test_relocatable_object_range_against_an_undefined_symbol(tmp_path):
    obj = as_object(tmp_path, "u", ONE_RANGE.replace("\t.long 672b - .", "\t.long elsewhere - ."))
    status, _, err = previrt("audit", str(obj))
    assert status == 2 and RANGE_SECTION in err and "elsewhere" in err


@pytest.mark.parametrize("offset,value,message", [(8, 2, "version 2, this previrt reads version 1"),
                                                  (9, 32, "mode 32, not 16 or 64")])
def test_corrupt_code16_section(tmp_path, offset, value, message):
    image = asm_image(tmp_path, ONE_RANGE)
    _set_record_byte(image, offset, value, RANGE_SECTION)
    for command in ("audit", "sites"):
        status, out, err = previrt(command, str(image))
        assert status == 2 and out == ""
        assert f"{image}: corrupt {RANGE_SECTION} section: {RANGE_SECTION} record 0 at offset 0x0: {message}" in err


def test_corrupt_code16_section_not_whole_records(tmp_path):
    status, _, err = previrt("audit", str(asm_image(tmp_path, ONE_RANGE.replace("\t.short 0\n", ""))))
    assert status == 2 and f"{RANGE_SECTION} is 10 bytes, not a multiple of the {RANGE_RECORD_SIZE}-byte record" in err
