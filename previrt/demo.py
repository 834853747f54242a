"""`previrt demo`: build the bundled example guest with `previrt cc`, list its sites, audit it.

Each step is one small function over a work dir, so later stages can append steps (run bare, patched)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from importlib import resources

from previrt.errors import PrevirtError

DEMO_PACKAGE_DIR = "data/demo"
IMAGE = "demo.elf"


def copy_example(workdir: str) -> str:
    """The bundled example copied into `workdir`/demo; returns that folder."""
    dest = os.path.join(workdir, "demo")
    src = resources.files("previrt").joinpath(DEMO_PACKAGE_DIR)
    os.makedirs(dest, exist_ok=True)
    for entry in src.iterdir():
        if entry.is_file():
            with resources.as_file(entry) as path:
                shutil.copyfile(path, os.path.join(dest, entry.name))
    return dest


def previrt_cc_command() -> str:
    """`CC` for make: `previrt cc` when PATH finds this interpreter's previrt, else `python -m previrt cc`."""
    found = shutil.which("previrt")
    if found and os.path.dirname(os.path.realpath(found)) == os.path.dirname(os.path.realpath(sys.executable)):
        return "previrt cc"
    return f"{shlex.quote(sys.executable)} -m previrt cc"


def build(folder: str, out) -> str:
    """`make CC="previrt cc"` in `folder`; returns the image path."""
    cmd = ["make", "-C", folder, "--no-print-directory", f"CC={previrt_cc_command()}"]
    print(f"$ make CC=\"previrt cc\"   (in {folder})", file=out, flush=True)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out.write(proc.stdout)
    if proc.returncode:
        raise PrevirtError(f"building the demo failed (make exit status {proc.returncode})", where=folder)
    return os.path.join(folder, IMAGE)


def show_sites(image: str, out) -> int:
    from previrt.audit import list_sites

    print(f"\n$ previrt sites {IMAGE}", file=out)
    return list_sites(image, out)


def show_audit(image: str, out) -> int:
    from previrt.audit import audit_command

    print(f"\n$ previrt audit {IMAGE}", file=out)
    return audit_command(image, out, verbose=True)


def run_demo(workdir: str, out) -> int:
    """The demo's steps in order; the status is the audit's."""
    image = build(copy_example(workdir), out)
    show_sites(image, out)
    return show_audit(image, out)


def demo_command(args) -> int:
    out = sys.stdout
    if args.workdir:
        os.makedirs(args.workdir, exist_ok=True)
        return run_demo(args.workdir, out)
    with tempfile.TemporaryDirectory(prefix="previrt-demo-") as tmp:
        return run_demo(tmp, out)
