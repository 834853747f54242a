"""previrt cc: command-line parsing, pass-through, dependency files, debug lines, errors, exclusion,
and the multi-file kernel project built with `make CC="previrt cc"` (audited clean) and with plain gcc."""

from __future__ import annotations

import os
import shutil
from collections import Counter

import pytest

from previrt.audit import audit
from previrt.cc import dependency_flags, is_excluded, link_dependency_names, parse, plan
from previrt.elf import read_image
from tests.toolchain.projects import PREVIRT_CC, copy_project, link, make, previrt, run

CC = PREVIRT_CC.split()

IRQ_C = """\
static int depth;

void enter(void)
{
	__asm__ volatile("cli" ::: "memory");
	depth++;
}

void leave(void)
{
	if (--depth == 0)
		__asm__ volatile("sti" ::: "memory");
}
"""

ENTRY_S = """\
#define PORT 0x80
	.text
	.globl _start
	.type _start, @function
_start:
	call enter
	movb $1, %al
	outb %al, $PORT
	call leave
1:	hlt
	jmp 1b
	.size _start, . - _start
	.section .note.GNU-stack, "", @progbits
"""

CFLAGS = ["-m32", "-O2", "-g", "-ffreestanding", "-fno-pic", "-fno-pie", "-fno-stack-protector"]


# ---- parsing (no compiler run) ---------------------------------------------------------------------

def test_parse_modes_outputs_sources():
    cmd = parse(["-m32", "-O2", "-Iinc", "-I", "inc2", "-DX=1", "-c", "a.c", "-o", "build/a.o", "-MD"])
    assert cmd.mode == "c" and cmd.output == "build/a.o"
    assert [(s.path, s.lang) for s in cmd.sources] == [("a.c", "c")]
    assert cmd.flags == ["-m32", "-O2", "-Iinc", "-I", "inc2", "-DX=1", "-MD"]
    assert parse(["-S", "-c", "a.c"]).mode == "S"
    assert parse(["-E", "a.S"]).mode == "pass" and parse(["-M", "a.c"]).mode == "pass"
    assert parse(["-m32", "-T", "link.ld", "a.o", "b.o", "-o", "k.elf"]).mode == "link"
    assert parse(["-m32", "-T", "link.ld", "a.o", "b.o"]).sources == []


def test_parse_languages():
    cmd = parse(["-c", "a.S", "b.s", "c.sx", "-x", "c", "d.txt", "-x", "none", "e.cc", "-xassembler-with-cpp", "f"])
    assert [(s.path, s.lang) for s in cmd.sources] == [
        ("a.S", "assembler-with-cpp"), ("b.s", "assembler"), ("c.sx", "assembler-with-cpp"), ("d.txt", "c"),
        ("f", "assembler-with-cpp")]
    assert [s.path for s in parse(["-c", "-x", "c++", "g.c"]).sources] == ["g.c"]
    assert parse(["-c", "-x", "c++", "g.c"]).sources[0].lang is None
    assert parse(["-c", "-include", "pre.h", "-MF", "x.d", "-MT", "x.o", "a.c"]).sources[0].path == "a.c"


def test_plan_pass_through_and_exclusion():
    assert plan(parse(["-E", "a.c"]), {}) == []
    assert plan(parse(["-c", "-"]), {}) == []
    assert plan(parse(["-S", "a.S"]), {}) == []  # -S of assembly source: the real compiler's business
    env = {"PREVIRT_CC_EXCLUDE": "boot/*.S:*/legacy.c other.c"}
    kept = plan(parse(["-c", "boot/mbr.S", "src/legacy.c", "other.c", "main.c"]), env)
    assert [s.path for s in kept] == ["main.c"]


def test_is_excluded_patterns(tmp_path):
    assert is_excluded("arch/boot/boot.S", ["arch/boot/*"])
    assert is_excluded("arch/boot/boot.S", ["boot.S"])
    assert is_excluded("arch/boot/boot.S", [os.path.abspath("arch") + "/*"])
    assert not is_excluded("arch/boot/boot.S", ["boot/*"])
    assert not is_excluded("main.c", [])


def test_dependency_flags_name_the_object():
    assert dependency_flags(["-O2"], "b/a.o") == []
    assert dependency_flags(["-MD"], "b/a.o") == ["-MF", "b/a.d", "-MQ", "b/a.o"]
    assert dependency_flags(["-MMD", "-MF", "x.d"], "b/a.o") == ["-MQ", "b/a.o"]
    assert dependency_flags(["-MD", "-MT", "t"], "obj") == ["-MF", "obj.d"]
    assert link_dependency_names("k.elf", "src/a.c") == ("k.elf", "k.d")  # what gcc 12 does
    assert link_dependency_names(None, "src/a.c") == ("a.o", "a-a.d")


# ---- one compiler run at a time --------------------------------------------------------------------

@pytest.fixture
def srcdir(tmp_path):
    (tmp_path / "irq.c").write_text(IRQ_C)
    (tmp_path / "entry.S").write_text(ENTRY_S)
    return tmp_path


def test_dependency_file_matches_plain_gcc(srcdir):
    (srcdir / "plain").mkdir()
    (srcdir / "ours").mkdir()
    run(["gcc", *CFLAGS, "-MD", "-MP", "-c", "irq.c", "-o", "plain/irq.o"], cwd=srcdir)
    run([*CC, *CFLAGS, "-MD", "-MP", "-c", "irq.c", "-o", "ours/irq.o"], cwd=srcdir)
    plain = (srcdir / "plain/irq.d").read_text()
    assert plain.startswith("plain/irq.o: irq.c")
    assert (srcdir / "ours/irq.d").read_text() == plain.replace("plain/", "ours/")
    run(["gcc", *CFLAGS, "-MMD", "-c", "entry.S"], cwd=srcdir)
    plain = (srcdir / "entry.d").read_text()
    (srcdir / "entry.d").unlink()
    run([*CC, *CFLAGS, "-MMD", "-c", "entry.S"], cwd=srcdir)
    assert (srcdir / "entry.d").read_text() == plain == "entry.o: entry.S\n"


def test_preprocess_and_dependency_only_pass_through(srcdir):
    plain = run(["gcc", "-m32", "-E", "entry.S"], cwd=srcdir).stdout
    assert run([*CC, "-m32", "-E", "entry.S"], cwd=srcdir).stdout == plain
    assert run([*CC, "-m32", "-MM", "irq.c"], cwd=srcdir).stdout == "irq.o: irq.c\n"


def test_objects_carry_sites_for_c_and_S(srcdir):
    run([*CC, *CFLAGS, "-c", "irq.c", "entry.S"], cwd=srcdir)  # several sources in one command
    image = link([srcdir / "entry.o", srcdir / "irq.o"], srcdir / "k.elf")
    status, out, _ = previrt("audit", str(image))
    assert status == 0, out
    kinds = Counter(line.split()[2] for line in previrt("sites", str(image))[1].splitlines()[1:])
    assert kinds == Counter({"cli": 1, "sti": 1, "out": 1, "hlt": 1})


def test_compile_and_link_in_one_command(srcdir):
    run([*CC, *CFLAGS, "-nostdlib", "-static", "-no-pie", "-Wl,-Ttext=0x100000", "entry.S", "irq.c",
         "-MD", "-o", "k.elf"], cwd=srcdir)
    assert (srcdir / "k.d").read_text().startswith("k.elf: irq.c")  # as gcc 12: the last source's
    assert previrt("audit", str(srcdir / "k.elf"))[0] == 0
    assert len(read_image(str(srcdir / "k.elf")).sites) == 4


def test_dash_S_gives_annotated_assembly(srcdir):
    run([*CC, *CFLAGS, "-S", "irq.c"], cwd=srcdir)
    text = (srcdir / "irq.s").read_text()
    assert ".previrt.sites" in text and "cli" in text and ".nops" in text


def test_addr2line_points_at_the_original_c_line(srcdir):
    run([*CC, *CFLAGS, "-c", "irq.c", "entry.S"], cwd=srcdir)
    image = link([srcdir / "entry.o", srcdir / "irq.o"], srcdir / "k.elf")
    sites = {s.kind: s for s in read_image(str(image)).sites}
    from previrt.isa.i386 import ROWS

    kind = {r.name: r.kind for r in ROWS}
    for name, want in (("cli", "irq.c:5"), ("sti", "irq.c:12"), ("out", "entry.S:8"), ("hlt", "entry.S:10")):
        where = run(["addr2line", "-e", str(image), hex(sites[kind[name]].address)]).stdout.strip()
        assert where.endswith(want), (name, where)
    # and in the object itself: the cli at its section offset
    text = run(["objdump", "-d", str(srcdir / "irq.o")]).stdout
    cli_offset = next(ln.split(":")[0].strip() for ln in text.splitlines() if ln.rstrip().endswith("cli"))
    assert run(["addr2line", "-e", str(srcdir / "irq.o"), cli_offset]).stdout.strip().endswith("irq.c:5")


def test_plain_assembly_keeps_its_own_name_in_lines_and_errors(srcdir):
    (srcdir / "p.s").write_text("\t.text\n\t.globl _start\n_start:\n\tnop\n\tcli\n\thlt\n")
    run([*CC, "-m32", "-g", "-c", "p.s"], cwd=srcdir)
    assert run(["addr2line", "-e", "p.o", "0x1", "0x9"], cwd=srcdir).stdout.split() == [
        f"{srcdir}/p.s:5", f"{srcdir}/p.s:6"]
    (srcdir / "q.s").write_text("\t.text\n\t.popsection\n")
    proc = run([*CC, "-m32", "-c", "q.s"], cwd=srcdir, check=False)
    assert proc.returncode == 1 and proc.stderr.startswith("q.s:2:") and not (srcdir / "q.o").exists()
    proc = run([*CC, "-m32", "-c", "missing.s"], cwd=srcdir, check=False)
    assert proc.returncode == 1 and "missing.s" in proc.stderr


def test_compiler_errors_pass_through_with_status(srcdir, monkeypatch):
    (srcdir / "bad.c").write_text("int f(void)\n{\n\treturn nope;\n}\n")
    monkeypatch.setenv("TMPDIR", str(srcdir / "tmp"))
    (srcdir / "tmp").mkdir()
    proc = run([*CC, *CFLAGS, "-c", "bad.c", "-o", "bad.o"], cwd=srcdir, check=False)
    assert proc.returncode == 1 and "bad.c:3:" in proc.stderr and "nope" in proc.stderr
    assert not (srcdir / "bad.o").exists()
    assert os.listdir(srcdir / "tmp") == []


def test_temporary_files_are_removed(srcdir):
    (srcdir / "tmp").mkdir()
    env = dict(os.environ, TMPDIR=str(srcdir / "tmp"))
    run([*CC, *CFLAGS, "-c", "irq.c", "entry.S"], cwd=srcdir, env=env)
    assert os.listdir(srcdir / "tmp") == []


def test_previrt_cc_environment_names_the_real_compiler(srcdir):
    wrapper = srcdir / "mygcc"
    wrapper.write_text(f"#!/bin/sh\necho \"$@\" >> {srcdir}/calls\nexec gcc \"$@\"\n")
    wrapper.chmod(0o755)
    env = dict(os.environ, PREVIRT_CC=str(wrapper))
    run([*CC, *CFLAGS, "-c", "irq.c"], cwd=srcdir, env=env)
    calls = (srcdir / "calls").read_text().splitlines()
    assert len(calls) == 3  # preprocess, (source pass), compile, (asm pass), assemble
    assert " -E -x c irq.c " in calls[0] + " " and " -S -x cpp-output " in calls[1]
    assert " -c -x assembler " in calls[2]
    assert (srcdir / "irq.o").exists()
    run([*CC, "-m32", "-E", "entry.S"], cwd=srcdir, env=env)  # pass-through goes to it as well
    assert len((srcdir / "calls").read_text().splitlines()) == 4


def test_lto_is_warned_about(srcdir):
    proc = run([*CC, *CFLAGS, "-flto", "-c", "irq.c"], cwd=srcdir)
    assert "-flto: code is generated at link time" in proc.stderr
    assert "warning" not in run([*CC, *CFLAGS, "-flto", "-fno-lto", "-c", "irq.c"], cwd=srcdir).stderr


def test_missing_real_compiler(srcdir):
    env = dict(os.environ, PREVIRT_CC="no-such-compiler-xyz")
    proc = run([*CC, "-c", "irq.c"], cwd=srcdir, env=env, check=False)
    assert proc.returncode == 127 and "no-such-compiler-xyz" in proc.stderr


@pytest.mark.parametrize("body, message", [
    ("\t.text\n\tnop\n\t.popsection\n\tcli\n", ".popsection without a matching .pushsection"),  # asm pass
    ("\t.text\n\tnop\n\tcli $1, %eax\n", "operands"),  # the assembler, on the annotated text
])
def test_pass_and_assembler_errors_name_the_original_line_and_leave_no_output(srcdir, body, message):
    (srcdir / "tmp").mkdir()
    (srcdir / "bad.S").write_text("#define X 1\n" + body)
    env = dict(os.environ, TMPDIR=str(srcdir / "tmp"))
    proc = run([*CC, "-m32", "-c", "bad.S", "-o", "bad.o"], cwd=srcdir, env=env, check=False)
    assert proc.returncode != 0
    assert not (srcdir / "bad.o").exists()
    assert os.listdir(srcdir / "tmp") == []
    assert "bad.S:4" in proc.stderr and message in proc.stderr, proc.stderr


def test_driver_and_asm_pass_import_no_heavy_modules():
    """previrt cc starts once per compiled file: what it imports is paid for every object."""
    import subprocess
    import sys as _sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[2])
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import previrt.cc, previrt.annotate.asm; "
            "print(' '.join(sorted(m for m in ('dataclasses', 'subprocess', 'tempfile', 'shutil', 'typing', "
            "'inspect') if m in sys.modules)))")
    proc = subprocess.run([_sys.executable, "-S", "-c", code, root], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == ""


def test_dash_S_to_standard_output(srcdir):
    proc = run([*CC, *CFLAGS, "-S", "irq.c", "-o", "-"], cwd=srcdir)
    assert proc.stdout.count(".pushsection .previrt.sites") == 2 and ": cli ; " in proc.stdout
    assert not (srcdir / "-").exists()
    run([*CC, *CFLAGS, "-S", "irq.c", "-o", "irq.s"], cwd=srcdir)
    assert proc.stdout == (srcdir / "irq.s").read_text()


def test_asm_pass_error_in_inline_asm_names_the_c_line_and_no_temporary_file(srcdir):
    (srcdir / "bad.c").write_text('void h(void)\n{\n\t__asm__ volatile("cli; .ascii \\"x");\n}\n')
    proc = run([*CC, *CFLAGS, "-c", "bad.c", "-o", "bad.o"], cwd=srcdir, check=False)
    assert proc.returncode == 1 and not (srcdir / "bad.o").exists()
    assert proc.stderr.startswith("bad.c:3: unterminated string at column "), proc.stderr
    assert "previrt-cc-" not in proc.stderr and len(proc.stderr.splitlines()) == 1, proc.stderr


# ---- the multi-file kernel project -----------------------------------------------------------------

@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """The kernel project built three ways: plain gcc, previrt cc, previrt cc excluding serial.c."""
    root = tmp_path_factory.mktemp("kernel")
    out = {}
    for name, cc, env in (("plain", "gcc", {}), ("previrt", PREVIRT_CC, {}),
                          ("excluded", PREVIRT_CC, {"PREVIRT_CC_EXCLUDE": "serial.c"})):
        # each build in the same folder (DWARF records it), then moved aside
        project = copy_project(root / "work")
        make(project, cc, env)
        (root / "work").rename(root / name)
        out[name] = root / name / project.name
    return out


def test_project_builds_with_plain_gcc_and_audit_finds_every_instruction(builds):
    status, out, _ = previrt("audit", str(builds["plain"] / "build/kernel.elf"))
    assert status == 1
    assert "_start+0x0 (boot.S:13): unannotated sensitive instruction `cli`" in out
    assert "serial_puts+0x" in out and "(include/io.h:30): unannotated sensitive instruction `popfl`" in out


def test_project_built_with_previrt_cc_audits_clean(builds):
    image = builds["previrt"] / "build/kernel.elf"
    status, out, _ = previrt("audit", str(image))
    assert status == 0, out
    # exactly the instructions the plain build's audit reports became sites, kind for kind
    plain = read_image(str(builds["plain"] / "build/kernel.elf"))
    plain_kinds = Counter(f.message.split("(kind ")[1].split()[0] for f in audit(plain).findings)
    assert Counter(str(s.kind) for s in read_image(str(image)).sites) == plain_kinds
    assert sum(plain_kinds.values()) >= 30


def test_project_image_is_multiboot_with_header_first(builds):
    blob = (builds["previrt"] / "build/kernel.elf").read_bytes()
    at = blob.find((0x1BADB002).to_bytes(4, "little"))
    assert 0 < at < 8192 and at % 4 == 0
    magic, flags, checksum = (int.from_bytes(blob[at + i:at + i + 4], "little") for i in (0, 4, 8))
    assert (magic + flags + checksum) & 0xFFFFFFFF == 0


def test_project_dependency_files_and_incremental_make(builds):
    project = builds["previrt"]
    dep = (project / "build/serial.d").read_text()
    assert dep.startswith("build/serial.o: serial.c include/io.h")
    boot = (project / "build/boot.d").read_text()
    assert boot.startswith("build/boot.o: boot.S") and "include/asm.h" in boot
    assert run(["make", "-q", "-C", str(project), f"CC={PREVIRT_CC}"], check=False).returncode == 0
    assert "build/serial.o: serial.c" in (builds["plain"] / "build/serial.d").read_text()
    (project / "include/io.h").touch()
    rebuilt = make(project, PREVIRT_CC).stdout
    assert "serial.c" in rebuilt and "kmain.c" in rebuilt and "boot.S" not in rebuilt


def test_excluded_file_is_byte_identical_to_the_plain_build(builds):
    plain, excluded = builds["plain"] / "build", builds["excluded"] / "build"
    assert (excluded / "serial.o").read_bytes() == (plain / "serial.o").read_bytes()
    assert (excluded / "kmain.o").read_bytes() != (plain / "kmain.o").read_bytes()
    status, out, _ = previrt("audit", str(excluded / "kernel.elf"))
    assert status == 1
    assert {ln.split()[2].split("+")[0] for ln in out.splitlines()[:-1]} == {
        "serial_init", "serial_putc", "serial_puts"}


@pytest.mark.qemu
@pytest.mark.skipif(not shutil.which("qemu-system-i386"), reason="needs qemu-system-i386")
def test_annotated_image_runs_on_qemu_like_the_plain_one(builds):
    """The padded image still runs on a bare PC (QEMU here), with the plain build's output."""
    outputs = {}
    for name in ("plain", "previrt"):
        proc = run(["qemu-system-i386", "-kernel", str(builds[name] / "build/kernel.elf"), "-serial", "stdio",
                    "-display", "none", "-monitor", "none", "-no-reboot",
                    "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"], check=False, timeout=60)
        assert proc.returncode == 1, proc.stderr  # exit port written with 0
        outputs[name] = proc.stdout
    assert outputs["previrt"] == outputs["plain"]
    assert outputs["plain"].startswith("kernel 3 up, magic 0x2badb002\ncr0 ") and outputs["plain"].endswith("done\n")


def test_help_shows_previrt_part_before_the_real_compilers(tmp_path):
    # a stand-in compiler that prints its own help, so the order is checked without depending on gcc's text
    fake = tmp_path / "fakecc"
    fake.write_text("#!/bin/sh\necho \"fakecc help: $*\"\n")
    fake.chmod(0o755)
    env = dict(os.environ, PREVIRT_CC=str(fake))
    out = run([*CC, "--help"], env=env).stdout
    assert out.startswith("usage: previrt cc ")
    for name in ("PREVIRT_CC ", "PREVIRT_CC_EXCLUDE", "exit status:", "The real compiler's own help follows."):
        assert name in out
    assert out.index("PREVIRT_CC_EXCLUDE") < out.index("fakecc help: --help") and out.endswith("fakecc help: --help\n")
    short = run([*CC, "-h"], env=env).stdout
    assert short.startswith("usage: previrt cc ") and "fakecc help" not in short and "PREVIRT_CC_EXCLUDE" in short
    assert "with `fakecc -S`" in short                   # the real compiler in use is named
