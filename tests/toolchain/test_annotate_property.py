"""Property test of the asm pass: random mixes of every table form and ordinary instructions, with labels,

`;` statements and comments, annotate, assemble and link; every sensitive instruction capstone finds is a site."""

from __future__ import annotations

import tempfile
from pathlib import Path

import capstone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from previrt.annotate.asm import annotate_text
from previrt.isa import i386
from tests.toolchain.annotatekit import GAS_EXAMPLES, ORDINARY, PREFIXED, Image, build, check_sites

SENSITIVE = [stmt for _, stmt in GAS_EXAMPLES] + [stmt for stmt, _ in PREFIXED]

statement = st.one_of(st.sampled_from(SENSITIVE).map(lambda s: (s, 1)),
                      st.sampled_from(ORDINARY).map(lambda s: (s, 0)))
comment = st.sampled_from(["", " # cli; sti", " /* popf */", " /* ; */"])
label = st.sampled_from(["", "1: ", "L{n}: ", "L{n}: 2: "])
line = st.tuples(label, st.lists(statement, min_size=1, max_size=3), comment)


def render(lines) -> tuple[str, int]:
    """Assembly text and the number of sensitive statements in it."""
    out, count = ["\t.text\n"], 0
    for n, (lab, stmts, com) in enumerate(lines):
        out.append(lab.format(n=n) + "\t" + "; ".join(s for s, _ in stmts) + com + "\n")
        count += sum(k for _, k in stmts)
    return "".join(out), count


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(line, min_size=1, max_size=12))
def test_every_sensitive_instruction_is_a_recorded_padded_site(lines):
    text, count = render(lines)
    out = annotate_text(text, "mix.s")
    assert annotate_text(out, "mix.s") == out  # idempotent
    with tempfile.TemporaryDirectory() as tmp:
        image = Image(build(out, Path(tmp)))
    check_sites(image)
    assert len(image.sites) == count
    (base, code), = image.code
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_32)
    md.detail = True
    insns = list(md.disasm(code, base))
    assert sum(i.size for i in insns) == len(code)
    found = [(i.address, i386.classify_capstone(i).kind) for i in insns if i386.classify_capstone(i)]
    assert sorted(found) == sorted((s.address, s.kind) for s in image.sites)
