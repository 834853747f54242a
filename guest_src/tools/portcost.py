#!/usr/bin/env python3
"""The exact cost of a para-virtual port of the guest kernel, as a markdown table: the files of the port folder
(kernel/arch-<name>/) against what each replaces (kernel/arch/'s file of the same name, or kernel/'s .c file of that
name; a file with neither is new), and the common files changed for the port (kernel/, user/ and the Makefile,
other port folders left out) since a git commit from before the port work began: the changes of the commits that
also change the port folder (its own commits; others' work on the same files is left out), or with --everything the
working tree against that commit.

    python3 tools/portcost.py kernel/arch-direct --base a73d9b0 [--everything] [-o PORT_COST.md]

Lines are counted with difflib over whole lines: a replaced run of lines counts min(old, new) as changed and the rest
as added or removed."""

from __future__ import annotations

import argparse
import difflib
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

COMMON = ("kernel", "user", "Makefile")      # the guest's sources a port may have to touch, besides its folder
SOURCES = (".c", ".h", ".S", ".s")           # what counts in a port folder (its notes, PORT.md, do not)


@dataclass
class Cost:
    where: str          # "port" or "common"
    path: str           # relative to guest_src/
    against: str        # what it is compared with ("new": nothing)
    lines: int          # lines of the file now
    added: int = 0
    changed: int = 0
    removed: int = 0

    @property
    def touched(self) -> int:
        return self.added + self.changed + self.removed


def line_diff(old: list[str], new: list[str]) -> tuple[int, int, int]:
    """(added, changed, removed) lines from old to new."""
    added = changed = removed = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        a, b = i2 - i1, j2 - j1
        if tag == "replace":
            changed += min(a, b)
            added += max(0, b - a)
            removed += max(0, a - b)
        elif tag == "insert":
            added += b
        elif tag == "delete":
            removed += a
    return added, changed, removed


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def port_costs(guest: Path, port: Path) -> list[Cost]:
    """Each file of the port against kernel/arch/'s file of its name, else kernel/'s .c file it replaces."""
    kernel = guest / "kernel"
    costs = []
    for f in sorted(p for p in port.rglob("*") if p.is_file() and p.suffix in SOURCES):
        rel = f.relative_to(port)
        for original in (kernel / "arch" / rel, kernel / rel if f.suffix == ".c" else None):
            if original is not None and original.is_file():
                break
        else:
            original = None
        new = lines(f)
        against = str(original.relative_to(guest)) if original is not None else "new"
        added, changed, removed = line_diff(lines(original) if original else [], new)
        costs.append(Cost("port", str(f.relative_to(guest)), against, len(new), added, changed, removed))
    return costs


def git(guest: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(guest), *args], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"portcost: git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def _show(guest: Path, rev: str, rel: str) -> list[str]:
    """The lines of guest-relative `rel` at `rev` (none where it does not exist)."""
    prefix = git(guest, "rev-parse", "--show-prefix").strip()
    done = subprocess.run(["git", "-C", str(guest), "show", f"{rev}:{prefix}{rel}"], capture_output=True, text=True)
    return done.stdout.splitlines() if done.returncode == 0 else []


def _is_port_path(rel: str) -> bool:
    parts = Path(rel).parts
    return len(parts) > 1 and parts[0] == "kernel" and parts[1].startswith("arch-")


def common_costs(guest: Path, base: str, port: Path, everything: bool) -> list[Cost]:
    """The common files changed for the port since `base`: by default the changes of the commits after `base` that
    also change the port folder (the port's own commits: others' work on the same files is left out), each against
    its parent; with `everything`, the working tree against `base`, whoever made the changes.  Port folders are
    left out."""
    totals: dict[str, list[int]] = {}

    def add(rel: str, old: list[str], new: list[str]) -> None:
        t = totals.setdefault(rel, [0, 0, 0])
        for i, n in enumerate(line_diff(old, new)):
            t[i] += n

    if everything:
        names = git(guest, "diff", "--name-only", "--relative", base, "--", *COMMON).split()
        names += git(guest, "ls-files", "--others", "--exclude-standard", "--", *COMMON).split()
        for rel in sorted(set(n for n in names if not _is_port_path(n))):
            add(rel, _show(guest, base, rel), lines(guest / rel) if (guest / rel).is_file() else [])
    else:
        port_rel = str(port.relative_to(guest))
        for commit in git(guest, "rev-list", "--reverse", f"{base}..HEAD", "--", port_rel).split():
            names = git(guest, "diff-tree", "--no-commit-id", "--name-only", "--relative", "-r", f"{commit}^",
                        commit, "--", *COMMON).split()
            for rel in (n for n in names if not _is_port_path(n)):
                add(rel, _show(guest, f"{commit}^", rel), _show(guest, commit, rel))
    costs = []
    for rel, (added, changed, removed) in sorted(totals.items()):
        path = guest / rel
        now = len(lines(path)) if path.is_file() else 0
        costs.append(Cost("common", rel, base if _show(guest, base, rel) else "new", now, added, changed, removed))
    return costs


def table(costs: list[Cost]) -> str:
    out = ["| where | file | compared with | lines now | added | changed | removed | touched |",
           "|---|---|---|---:|---:|---:|---:|---:|"]
    for c in costs:
        out.append(f"| {c.where} | `{c.path}` | `{c.against}` | {c.lines} | {c.added} | {c.changed} | {c.removed} | "
                   f"{c.touched} |")
    for where, label in (("port", "inside the port folder"), ("common", "outside it (common files)"), (None, "total")):
        sel = [c for c in costs if where is None or c.where == where]
        out.append(f"| **{label}** | {len(sel)} files | | {sum(c.lines for c in sel)} | {sum(c.added for c in sel)} "
                   f"| {sum(c.changed for c in sel)} | {sum(c.removed for c in sel)} | "
                   f"{sum(c.touched for c in sel)} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("port", help="the port folder, kernel/arch-<name>")
    ap.add_argument("--base", required=True, help="git commit from before the port work began")
    ap.add_argument("--everything", action="store_true",
                    help="common files: the working tree against --base, whoever changed them (default: the changes "
                         "of the commits that also change the port folder)")
    ap.add_argument("-o", "--output", help="write the table there (default: standard output)")
    args = ap.parse_args(argv)
    port = Path(args.port).resolve()
    if not port.is_dir() or port.parent.name != "kernel" or not port.name.startswith("arch-"):
        ap.error(f"{args.port}: not a port folder (kernel/arch-<name>/)")
    guest = port.parent.parent
    text = table(port_costs(guest, port) + common_costs(guest, args.base, port, args.everything))
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
