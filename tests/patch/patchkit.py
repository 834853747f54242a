"""Helpers for the patcher tests (a helper module, not a test module): the test image (image/irq.c and image/entry.S
built with `previrt cc`, linked at 0x100000), the test hypervisor (templates/ here, symbols from SYM), decoding.

The test hypervisor registers nothing: the tests call the API with TEMPLATES and SYM."""

from __future__ import annotations

import shutil
from pathlib import Path

from capstone import CS_ARCH_X86, CS_MODE_32, CS_OPT_SYNTAX_ATT, Cs

from tests.toolchain.projects import PREVIRT_CC, link, run

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
SOURCES = HERE / "image"
CFLAGS = ["-m32", "-O2", "-g", "-ffreestanding", "-fno-pic", "-fno-pie", "-fno-stack-protector",
          "-fno-asynchronous-unwind-tables"]

SYM = {
    "vcpu_if": 0xFC020000, "vcpu_cr0": 0xFC020004, "vcpu_cr2": 0xFC020008, "vcpu_cr3": 0xFC02000C,
    "wedge_sti": 0xFC030000, "wedge_flush": 0xFC030010, "wedge_invlpg": 0xFC030020, "wedge_iret": 0xFC030030,
}


def build_image(folder: Path) -> Path:
    """The test image: irq.c and entry.S through `previrt cc`, linked with ld at 0x100000."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("irq.c", "entry.S"):
        shutil.copy(SOURCES / name, folder / name)
    cc = PREVIRT_CC.split()
    run([*cc, *CFLAGS, "-c", "irq.c", "-o", "irq.o"], cwd=folder)
    run([*cc, "-m32", "-g", "-c", "entry.S", "-o", "entry.o"], cwd=folder)
    return link([folder / "entry.o", folder / "irq.o"], folder / "test.elf")


def copy_image(image: Path, folder: Path, name: str = "test.elf") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(image, folder / name))


def att(code: bytes, address: int) -> list[str]:
    """Each instruction of `code` in AT&T syntax as capstone writes it."""
    md = Cs(CS_ARCH_X86, CS_MODE_32)
    md.syntax = CS_OPT_SYNTAX_ATT
    return [f"{i.mnemonic} {i.op_str}".strip() for i in md.disasm(code, address)]


def file_offset(image: Path, address: int) -> int:
    """The file offset of a link address (through the PT_LOAD segments)."""
    from elftools.elf.elffile import ELFFile

    with open(image, "rb") as f:
        for seg in ELFFile(f).iter_segments():
            if seg["p_type"] == "PT_LOAD" and seg["p_vaddr"] <= address < seg["p_vaddr"] + seg["p_filesz"]:
                return seg["p_offset"] + address - seg["p_vaddr"]
    raise AssertionError(f"{address:#x} is not in a PT_LOAD segment of {image}")


def poke(image: Path, address: int, data: bytes) -> None:
    """Overwrite the bytes at a link address of an image file."""
    blob = bytearray(image.read_bytes())
    off = file_offset(image, address)
    blob[off:off + len(data)] = data
    image.write_bytes(bytes(blob))


def template_set(folder: Path, **templates: str) -> Path:
    """A copy of the test templates with some replaced (name without suffix -> text; None removes it)."""
    shutil.copytree(TEMPLATES, folder)
    for name, text in templates.items():
        path = folder / f"{name}.s.j2"
        if text is None:
            path.unlink()
        else:
            path.write_text(text)
    return folder
