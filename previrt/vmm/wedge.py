"""Building an in-place VMM ("wedge"): a hypervisor's C/asm sources compiled with the host gcc and linked at the
address where the hypervisor maps them in the window; cached by the hash of everything the build reads.

Owns the build command, the cache, and reading the result back (loadable bytes and symbol addresses)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from previrt.errors import PrevirtError

CFLAGS = ("-m32", "-ffreestanding", "-fno-pic", "-fno-pie", "-fno-stack-protector", "-nostdlib", "-O2",
          "-fno-asynchronous-unwind-tables", "-Wall", "-Werror")
FORMAT = 1          # of the cache entry


@dataclass(frozen=True)
class Wedge:
    base: int                      # link address (in the window)
    data: bytes                    # the image from base: text, data, bss (zeros)
    symbols: dict[str, int]        # global symbols -> address


def cache_dir() -> Path:
    root = os.environ.get("PREVIRT_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "previrt")
    return Path(root) / "wedge"


def _tool_version(tool: str) -> str:
    return subprocess.run([tool, "--version"], capture_output=True, text=True).stdout.splitlines()[0]


def build(sources: list[Path], base: int, defines: dict[str, int], limit: int) -> Wedge:
    """The wedge of `sources` linked at `base`, at most `limit` bytes; from the cache when nothing changed."""
    key = hashlib.sha256(json.dumps({
        "format": FORMAT, "base": base, "defines": sorted(defines.items()), "cflags": CFLAGS,
        "sources": [(p.name, p.read_bytes().hex()) for p in sources],
        "tools": [_tool_version("gcc"), _tool_version("ld")]}).encode()).hexdigest()
    entry = cache_dir() / f"{key}.json"
    if entry.exists():
        cached = json.loads(entry.read_text())
        return Wedge(cached["base"], bytes.fromhex(cached["data"]), cached["symbols"])
    wedge = _build(sources, base, defines)
    if len(wedge.data) > limit:
        raise PrevirtError(f"the wedge is {len(wedge.data)} bytes, more than the {limit} its window area holds")
    _store(entry, {"base": base, "data": wedge.data.hex(), "symbols": wedge.symbols})
    return wedge


def _store(entry: Path, content: dict) -> None:
    entry.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".wedge-")
    with os.fdopen(fd, "w") as f:
        json.dump(content, f)
    os.replace(tmp, entry)


def _build(sources: list[Path], base: int, defines: dict[str, int]) -> Wedge:
    with tempfile.TemporaryDirectory(prefix="previrt-wedge-") as tmp:
        objects = []
        for i, src in enumerate(sources):
            obj = Path(tmp) / f"{i}.o"
            _run(["gcc", *CFLAGS, *(f"-D{k}={v:#x}" for k, v in defines.items()), "-c", str(src), "-o", str(obj)])
            objects.append(str(obj))
        elf = Path(tmp) / "wedge.elf"
        _run(["ld", "-m", "elf_i386", "-nostdlib", "--build-id=none", "-N", "-e", "0", "-Ttext", f"{base:#x}",
              *objects, "-o", str(elf)])
        return _read(elf, base)


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode:
        raise PrevirtError(f"building the wedge: {' '.join(argv)} failed:\n{done.stderr.strip()}")


def _read(path: Path, base: int) -> Wedge:
    with open(path, "rb") as f:
        elf = ELFFile(f)
        image = bytearray()
        for seg in elf.iter_segments():
            if seg["p_type"] != "PT_LOAD" or not seg["p_memsz"]:
                continue
            start = seg["p_vaddr"] - base
            if start < 0:
                raise PrevirtError(f"wedge segment at {seg['p_vaddr']:#x} below its base {base:#x}")
            image.extend(bytes(max(0, start + seg["p_memsz"] - len(image))))
            image[start:start + seg["p_filesz"]] = seg.data()
        symbols = {}
        for sec in elf.iter_sections():
            if isinstance(sec, SymbolTableSection):
                symbols.update({s.name: s["st_value"] for s in sec.iter_symbols()
                                if s.name and s["st_info"]["bind"] == "STB_GLOBAL"})
    return Wedge(base, bytes(image), symbols)
