"""The C source pass (previrt.annotate.csource): which page-table-entry accesses become accessor sites,
the bytes and records those sites are, errors naming file:line, the unchanged fast path, the type-name
option, and `previrt cc` running it between the preprocessor and the compiler."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from capstone import CS_ARCH_X86, CS_MODE_32, Cs

from previrt import sites
from previrt.annotate.csource import accessors, pte_types, rewrite_text
from previrt.audit import audit
from previrt.elf import read_image
from previrt.errors import PrevirtError
from previrt.isa import i386
from tests.toolchain.projects import PREVIRT_CC, link, run

GOLDEN = Path(__file__).resolve().parent / "golden"
CC = PREVIRT_CC.split()
CFLAGS = ["-m32", "-O2", "-g", "-ffreestanding", "-fno-pic", "-fno-pie", "-fno-stack-protector",
          "-fno-asynchronous-unwind-tables"]
HEAD = '# 1 "x.c"\ntypedef unsigned int u32;\ntypedef u32 pte_t;\ntypedef u32 pde_t;\n'


def body(text: str) -> str:
    """The rewritten text without the accessor block."""
    out = rewrite_text(HEAD + text, "x.i")
    return out.split(accessors(), 1)[-1] if out != HEAD + text else out


# ---- which expressions ------------------------------------------------------------------------------

def test_golden_rewrite():
    """Loads and stores through pointers, subscripts of a global directory, function returns, members,
    typedef chains, a shadowing block; locals, `&`, `sizeof` and u32 pointers stay."""
    src = (GOLDEN / "pte.i").read_text()
    assert rewrite_text(src, "pte.i") == (GOLDEN / "pte.rewritten.i").read_text()


@pytest.mark.parametrize("stmt, sites_", [
    ("pte_t l; l = 1; l |= 2; l++;", 0),                  # a local is not page-table memory
    ("static pte_t s; s = 1;", 0),                        # nor a static scalar
    ("u32 *p = (u32 *)a; *p = 1;", 0),                    # nor memory of another type
    ("pte_t *p = &a[1]; (void)p;", 0),                    # under &
    ("(void)sizeof(a[0]); (void)sizeof a[2];", 0),
    ("unknown_t *p; *p = 1;", 0),                         # an unknown type: not a site (never a guess)
    ("a[0] = 1;", 1),
    ("*a = a[1];", 2),
    ("*(pte_t *)b = 3;", 1),                              # a cast
    ("*(b ? a : a + 1) = 3;", 1),                         # a ternary, pointer arithmetic
    ("x = (a + 2)[1];", 1),
])
def test_what_is_a_site(stmt, sites_):
    src = f"void f(pte_t *a, void *b, u32 x)\n{{\n{stmt}\n}}\n"
    out = body(src)
    assert out.count("__previrt_pte_") == sites_, out


def test_a_plain_global_array_is_a_site_a_global_scalar_is_not():
    out = body("pde_t dir[4];\npte_t one;\nvoid f(void) { dir[1] = one; one = dir[2]; }\n")
    assert "__previrt_pte_store(&(dir[1] ), ( one))" in out
    assert "one = ((unsigned int)__previrt_pte_load(&(dir[2])))" in out


def test_function_returns_struct_members_typedef_chains():
    out = body("typedef pte_t my_t;\ntypedef my_t *ptp;\nstruct s { ptp t; my_t v; };\n"
               "static ptp get(int i);\n"
               "u32 f(struct s *s, struct s loc) { get(1)[2] = 5; loc.v = 1; return s->v + loc.t[0] + *get(0); }\n")
    assert "__previrt_pte_store(&(get(1)[2] ), ( 5))" in out
    assert "loc.v = 1" in out  # a member of a local struct is not memory
    for load in ("&(s->v)", "&(loc.t[0])", "&(*get(0))"):
        assert f"__previrt_pte_load({load}" in out


def test_compound_assignment_evaluates_the_address_once():
    out = body("void f(pte_t *pt, int i) { pt[i++] |= 1; pt[i]--; ++*pt; }\n")
    assert out.count("i++") == 1 and "({ volatile void *__pv_p" in out
    assert out.count("__previrt_pte_load(") == 3 and out.count("__previrt_pte_store(") == 3


def test_no_line_is_added_and_markers_stay():
    src = (GOLDEN / "pte.i").read_text()
    out = rewrite_text(src, "pte.i")
    block = f'# 1 "<previrt pte accessors>"\n{accessors()}# 1 "pte.c"\n'
    first, rest = src.split("\n", 1)
    assert out.startswith(first + "\n" + block)
    assert out[len(first) + 1 + len(block):].splitlines() == [  # line by line, the same lines
        ln if "__previrt" not in new else new for ln, new in zip(rest.splitlines(), out[len(first) + 1 +
                                                                                    len(block):].splitlines())]
    assert out.count("\n") == src.count("\n") + block.count("\n")
    assert [ln for ln in out.splitlines() if ln.startswith("# ")] == [
        ln for ln in src.splitlines() if ln.startswith("# ")][:1] + block.splitlines()[0:1] + [
        '# 1 "pte.c"'] + [ln for ln in src.splitlines() if ln.startswith("# ")][1:]


# ---- fast path, option ----------------------------------------------------------------------------

def test_unchanged_fast_path_is_not_even_parsed():
    exotic = '# 1 "g.c"\nint f(void) { return @@@ this is not C; }\n'
    assert rewrite_text(exotic, "g.i") is exotic
    plain = HEAD + "void f(u32 *p) { *p = 1; }\n"
    assert rewrite_text(plain, "x.i") is plain  # mentions pte_t, has no site: the same text


def test_renamed_types():
    src = '# 1 "r.c"\ntypedef unsigned long entry;\ntypedef unsigned int pte_t;\n' \
          "void f(entry *e, pte_t *p) { e[1] = 2; p[1] = 2; }\n"
    out = rewrite_text(src, "r.i", ("entry",))
    assert "__previrt_pte_store(&(e[1] ), ( 2))" in out and "p[1] = 2" in out
    assert "((unsigned long)__previrt_pte_load" not in out  # a store only; a load would keep the type
    assert "((unsigned long)__previrt_pte_load(&(e[0])))" in rewrite_text(src.replace("e[1] = 2", "p[0] = e[0]"),
                                                                      "r.i", ("entry",))
    assert pte_types("a, b,c") == ("a", "b", "c") and pte_types(None) == ("pte_t", "pde_t")
    with pytest.raises(PrevirtError):
        pte_types("not-a-name")


# ---- errors ---------------------------------------------------------------------------------------

def test_parse_error_names_the_original_file_and_line():
    src = '# 1 "k.c"\n# 1 "k.h" 1\ntypedef unsigned int pte_t;\n# 5 "k.c" 2\n\nvoid f(pte_t *p)\n{\n  *p = = 1;\n}\n'
    with pytest.raises(PrevirtError) as e:
        rewrite_text(src, "k.i")
    assert e.value.where == "k.c:8"


def test_a_pte_type_that_is_not_four_bytes_is_an_error_at_the_access():
    src = '# 1 "w.c"\ntypedef unsigned long long pte_t;\n\nvoid f(pte_t *p)\n{\n  *p = 1;\n}\n'
    with pytest.raises(PrevirtError) as e:
        rewrite_text(src, "w.i")
    assert e.value.where == "w.c:5" and "8 bytes" in str(e.value)


# ---- compiled: bytes, records, audit, previrt cc ----------------------------------------------------------

PTE_C = """\
typedef unsigned int u32;
typedef u32 pte_t;
pte_t table[16];
int counter;

__attribute__((noinline)) u32 touch(pte_t *pt, int i)
{
\tpt[i++] |= 1;
\tcounter = i;
\treturn pt[0];
}

void _start(void)
{
\ttouch(table, 3);
\tfor (;;)
\t\t;
}
"""


@pytest.fixture
def pte_image(tmp_path):
    (tmp_path / "pte.c").write_text(PTE_C)
    run([*CC, *CFLAGS, "-c", "pte.c", "-o", "pte.o"], cwd=tmp_path)
    return link([tmp_path / "pte.o"], tmp_path / "pte.elf")


def test_sites_bytes_and_records(pte_image):
    image = read_image(str(pte_image))
    memory = [s for s in image.sites if s.kind >= 128]
    assert sorted(s.kind for s in memory) == [128, 129, 129]
    md = Cs(CS_ARCH_X86, CS_MODE_32)
    for s in memory:
        assert (s.size, s.insn_len, s.flags, s.aux) == (8, 2, sites.FLAG_SOURCE_PASS, 0)
        sec = image.section_of(s.address, s.end)
        data = sec.data[s.address - sec.address:s.end]
        assert data[:2] == i386.row(s.kind).original
        insns = list(md.disasm(bytes(data[:s.size]), s.address))
        assert insns[0].mnemonic == "mov" and all(i.mnemonic == "nop" for i in insns[1:])
        assert sum(i.size for i in insns) == 8
    assert audit(image).findings == []


def test_audit_refuses_a_memory_site_that_changed(pte_image, tmp_path):
    image = read_image(str(pte_image))
    site = next(s for s in image.sites if s.kind == 128)
    sec = image.section_of(site.address, site.end)
    raw = bytearray(pte_image.read_bytes())
    offset = raw.find(bytes(sec.data)) + site.address - sec.address
    raw[offset:offset + 2] = b"\x89\x11"  # movl %edx,(%ecx)
    bad = tmp_path / "bad.elf"
    bad.write_bytes(bytes(raw))
    messages = [f.message for f in audit(read_image(str(bad))).findings]
    assert any("memory site does not start with the 2 bytes 89 10" in m for m in messages), messages


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_compound_assignment_runs_once(tmp_path):
    """`pt[i++] |= 1` through the accessors: i incremented once, the entry or-ed once (a 32-bit run)."""
    main = tmp_path / "main.c"
    main.write_text("typedef unsigned int pte_t;\nint printf(const char *, ...);\n"
                    "int main(void) { pte_t pt[4] = {8, 8, 8, 8}; int i = 1; pt[i++] |= 1; "
                    "pt[i]++; printf(\"%d %u %u %u\\n\", i, pt[1], pt[2], pt[3]); return 0; }\n")
    proc = run([*CC, "-m32", "-O2", "main.c", "-o", "main"], cwd=tmp_path, check=False)
    if proc.returncode:
        pytest.skip(f"no 32-bit C library to link with: {proc.stderr[-200:]}")
    out = subprocess.run([str(tmp_path / "main")], capture_output=True, text=True)
    assert out.stdout == "2 9 9 8\n"


def test_cc_option_renames_types_and_is_not_passed_on(tmp_path):
    (tmp_path / "r.c").write_text("typedef unsigned int entry;\nvoid f(entry *e) { e[1] = 2; }\n")
    run([*CC, *CFLAGS, "-previrt-pte-types=entry", "-c", "r.c", "-o", "r.o"], cwd=tmp_path)
    run([*CC, *CFLAGS, "-previrt-pte-types=entry", "-E", "r.c", "-o", "r.i"], cwd=tmp_path)  # pass-through too
    assert sites.SECTION in run(["objdump", "-h", "r.o"], cwd=tmp_path).stdout
    run([*CC, *CFLAGS, "-c", "r.c", "-o", "plain.o"], cwd=tmp_path)
    assert sites.SECTION not in run(["objdump", "-h", "plain.o"], cwd=tmp_path).stdout
    env = dict(os.environ, PREVIRT_PTE_TYPES="entry")
    run([*CC, *CFLAGS, "-c", "r.c", "-o", "env.o"], cwd=tmp_path, env=env)
    assert sites.SECTION in run(["objdump", "-h", "env.o"], cwd=tmp_path).stdout


def test_cc_errors_name_the_original_file_and_line(tmp_path):
    (tmp_path / "e.c").write_text("typedef unsigned int pte_t;\n\nvoid f(pte_t *p)\n{\n\t*p = nope;\n}\n")
    proc = run([*CC, *CFLAGS, "-c", "e.c", "-o", "e.o"], cwd=tmp_path, check=False)
    assert proc.returncode == 1 and "e.c:5:" in proc.stderr and "nope" in proc.stderr  # gcc's, after the pass
    (tmp_path / "p.c").write_text("typedef unsigned int pte_t;\n\nvoid f(pte_t *p)\n{\n\t*p = = 1;\n}\n")
    proc = run([*CC, *CFLAGS, "-c", "p.c", "-o", "p.o"], cwd=tmp_path, check=False)
    assert proc.returncode == 1 and "p.c:5: the C source pass cannot parse this" in proc.stderr
