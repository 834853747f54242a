"""The exit-status table of README.md ("Exit statuses"), command by command: 0/1 for the command's own verdict, 2 for
unusable input (a clear message naming the file or option, no traceback, nothing written), the guest's statuses for
`previrt run`; and the small things of the command line (--version, sub-command usage, --help texts)."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.clikit import cli
from tests.machine.guestkit import build_asm, exit_status

GUEST_OK = '#include "guestkit.h"\n.text\n.globl _start\n_start:\n puts "ran"\n exit 0\n'
ANNOTATABLE = "\t.text\n\t.globl f\nf:\tcli\n\tret\n"
REFUSED = '# 3 "kern.c"\n\t.ascii "oops, cli\n'   # an unterminated string: the asm pass refuses it at kern.c:3


def previrt_process(*argv: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "previrt", *map(str, argv)], capture_output=True, input=stdin,
                          timeout=120)


@pytest.fixture(scope="module")
def guest(tmp_path_factory) -> Path:
    return build_asm(tmp_path_factory.mktemp("status"), GUEST_OK, name="ok")


@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    """Bad inputs of every sort, and a good disk image."""
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "folder").mkdir()
    (tmp_path / "text").write_text("not an image\n")
    (tmp_path / "small.img").write_bytes(bytes(511))
    (tmp_path / "disk.img").write_bytes(bytes(4096))
    return {"missing": tmp_path / "missing", "empty": tmp_path / "empty", "folder": tmp_path / "folder",
            "text": tmp_path / "text", "small": tmp_path / "small.img", "disk": tmp_path / "disk.img"}


# ---- the top level ------------------------------------------------------------------------------------------

def test_version_is_the_installed_distribution_version():
    status, out, _ = cli("--version")
    assert status == 0 and out == f"previrt {importlib.metadata.version('previrt')}\n"


def test_no_command_and_unknown_command_are_usage_errors():
    for argv in ((), ("nonesuch",), ("--bogus",)):
        status, _, err = cli(*argv)
        assert status == 2 and err.startswith("usage: previrt [-h] [--version] COMMAND"), argv


@pytest.mark.parametrize("command, extra", [("annotate", ("in.s", "-o", "out.s")), ("sites", ("x",)),
                                            ("audit", ("x",)), ("run", ("x",)), ("demo", ())])
def test_a_bad_option_prints_the_usage_of_its_sub_command(command, extra):
    status, _, err = cli(command, *extra, "--bogus")
    assert status == 2
    assert err.startswith(f"usage: previrt {command} ") and "unrecognized arguments: --bogus" in err


@pytest.mark.parametrize("command", ["annotate", "sites", "audit", "run", "demo"])
def test_every_sub_command_has_help_with_status_0(command):
    status, out, _ = cli(command, "--help")
    assert status == 0 and out.startswith(f"usage: previrt {command} ")


def test_run_help_lists_the_targets_from_the_runner_and_the_statuses():
    from previrt.machine import runner

    status, out, _ = cli("run", "--help")
    flat = " ".join(out.split())
    assert status == 0
    assert f"machine to run on: {', '.join(runner.target_names())} (default: bare)" in flat
    said = {"halted": "halted", "triple-fault": "triple fault", "max-instructions": "--max-instructions",
            "memory-error": "absent memory", "unsupported": "unsupported event", "cpu-error": "CPU error",
            "input-eof": "waiting for serial input at its end", "timeout": "--timeout",
            "violation": "the guest broke a hypervisor's rule"}
    assert said.keys() == runner.END_STATUS.keys()
    for reason, code in runner.END_STATUS.items():
        assert f"{code} {said[reason]}" in flat, reason
    assert f"(default {runner.DEFAULT_INPUT_WAIT:g}; 0: never)" in flat


# ---- annotate: 0 written, 1 refused (nothing written), 2 unusable input -------------------------------------

def test_annotate_statuses(tmp_path, files):
    src, out = tmp_path / "in.s", tmp_path / "out.s"
    src.write_text(ANNOTATABLE)
    assert cli("annotate", src, "-o", out)[0] == 0 and ".previrt.sites" in out.read_text()
    src.write_text(REFUSED)
    status, _, err = cli("annotate", src, "-o", tmp_path / "refused.s")
    assert status == 1 and "kern.c:3" in err and not (tmp_path / "refused.s").exists()
    for bad in ("missing", "folder"):
        status, _, err = cli("annotate", files[bad], "-o", tmp_path / "never.s")
        assert status == 2 and f"{files[bad]}: cannot read" in err, bad
    assert cli("annotate", files["empty"], "-o", tmp_path / "empty.s")[0] == 0   # empty assembly is assembly
    src.write_text(ANNOTATABLE)
    for dest, why in ((files["folder"], "it is a folder"), (tmp_path / "no" / "out.s", "No such file")):
        status, _, err = cli("annotate", src, "-o", dest)
        assert status == 2 and why in err, dest
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["in.s", "out.s", "empty.s", "empty", "folder", "text", "small.img", "disk.img"])   # no stray files


def test_annotate_reads_standard_input(tmp_path):
    done = previrt_process("annotate", "-", "-o", "-", stdin=ANNOTATABLE.encode())
    assert done.returncode == 0 and b".Lpv_s1: cli" in done.stdout
    done = previrt_process("annotate", "-", "-o", tmp_path / "out.s", stdin=REFUSED.encode())
    assert done.returncode == 1 and b"kern.c:3" in done.stderr and b"(at <stdin>:2)" in done.stderr
    assert not (tmp_path / "out.s").exists()


# ---- sites and audit: 0 / 1 findings (audit) / 2 unusable image ---------------------------------------------

@pytest.mark.parametrize("command", ["sites", "audit"])
@pytest.mark.parametrize("bad", ["missing", "folder", "empty", "text"])
def test_sites_and_audit_refuse_unusable_images(command, bad, files):
    status, out, err = cli(command, files[bad])
    assert status == 2 and str(files[bad]) in err and out == ""


def test_sites_and_audit_verdicts(guest):
    assert cli("sites", guest)[0] == 0
    status, out, _ = cli("audit", guest)       # a plain build: its in/out/cli/hlt are not sites
    assert status == 1 and "audit failed" in out


# ---- run: the guest's status, or 2 before anything is written ------------------------------------------------

def test_run_returns_the_guest_status(guest, tmp_path):
    serial = tmp_path / "serial.txt"
    status, _, err = cli("run", guest, "--serial", serial)
    assert status == exit_status(0) and serial.read_bytes() == b"ran"
    assert "previrt: exit-port: status 1," in err


@pytest.mark.parametrize("option", ["--disk", "--disk1"])
@pytest.mark.parametrize("bad, why", [("missing", "No such file"), ("folder", "is a folder"),
                                      ("empty", "holds no whole 512-byte sector (0 bytes)"),
                                      ("small", "holds no whole 512-byte sector (511 bytes)")])
def test_run_refuses_an_unusable_disk_before_the_run(guest, tmp_path, files, option, bad, why):
    serial = tmp_path / "serial.txt"
    serial.write_text("kept")
    status, _, err = cli("run", guest, option, files[bad], "--serial", serial, "--stats", tmp_path / "s.json")
    assert status == 2
    assert err.startswith(f"previrt: error: {files[bad]}: {option}: ") and why in err
    assert serial.read_text() == "kept" and not (tmp_path / "s.json").exists()   # nothing written


def test_run_refuses_one_file_named_twice(guest, tmp_path, files):
    link = tmp_path / "link.img"
    link.symlink_to(files["disk"])
    other_path = Path(os.path.relpath(files["disk"]))
    for second in (files["disk"], link, other_path):
        status, _, err = cli("run", guest, "--disk", files["disk"], "--disk1", second)
        assert status == 2 and f"--disk1 names the same file as --disk {files['disk']}" in err, second
    status, _, err = cli("run", guest, "--serial", guest)
    assert status == 2 and "--serial names the same file as IMAGE" in err
    status, _, err = cli("run", guest, "--disk", files["disk"], "--stats", link)
    assert status == 2 and "--stats names the same file as --disk" in err
    assert files["disk"].read_bytes() == bytes(4096)


@pytest.mark.parametrize("args, why", [
    (("--mem", "abc"), "argument --mem: invalid int value"), (("--mem", "0"), "--mem must be between"),
    (("--max-instructions", "0"), "--max-instructions must be a positive number"),
    (("--clock-hz", "-5"), "--clock-hz must be a positive number"),
    (("--timeout", "0"), "--timeout must be a positive number"), (("--timeout", "nan"), "--timeout must be"),
    (("--input-wait", "-1"), "--input-wait must be 0 (never) or a number of seconds"),
    (("--target", "nonesuch"), "invalid choice: 'nonesuch'"), (("--rtc", "now"), "invalid choice: 'now'"),
    (("--cmdline", "x" * 5000), "--cmdline is 5000 bytes")])
def test_run_refuses_bad_numbers_and_choices(guest, tmp_path, args, why):
    serial = tmp_path / "serial.txt"
    status, _, err = cli("run", guest, *args, "--serial", serial)
    assert status == 2 and why in err and not serial.exists()


def test_run_refuses_unusable_serial_files_and_images(guest, tmp_path, files):
    serial = tmp_path / "serial.txt"
    serial.write_text("kept")
    for args, why in (((files["text"],), "no Multiboot header"), ((files["missing"],), "cannot read image"),
                      ((guest, "--serial-in", files["missing"]), "cannot open serial file"),
                      ((guest, "--serial-in", files["folder"]), "--serial-in: is a folder")):
        status, _, err = cli("run", *args, "--serial", serial)
        assert status == 2 and why in err, args
        assert serial.read_text() == "kept", args
    for dest, why in ((files["folder"], "this is a folder"), (tmp_path / "no" / "s.txt", "no such folder")):
        status, _, err = cli("run", guest, "--serial", dest)
        assert status == 2 and f"--serial: cannot write here: {why}" in err


# ---- demo: 2 for bad options, before anything is built ---------------------------------------------------------

def test_demo_refuses_a_bad_size_before_building(tmp_path):
    status, out, err = cli("demo", "--n", "0", "--workdir", tmp_path)
    assert status == 2 and "--n must be at least 1" in err and list(tmp_path.iterdir()) == []


# ---- a closed pipe ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["sites", "audit"])
def test_a_closed_output_pipe_ends_quietly(guest, command):
    read_end, write_end = os.pipe()
    os.close(read_end)                   # the reader is gone before anything is written
    try:
        done = subprocess.run([sys.executable, "-m", "previrt", command, str(guest)], stdout=write_end,
                              stderr=subprocess.PIPE, timeout=120)
    finally:
        os.close(write_end)
    assert done.returncode == 141 and done.stderr == b""


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads and writes files whatever their mode")
def test_unreadable_files_are_unusable_input(guest, tmp_path):
    locked = tmp_path / "locked"
    locked.write_bytes(bytes(1024))
    locked.chmod(0)
    for argv in (("annotate", locked, "-o", tmp_path / "out.s"), ("sites", locked), ("audit", locked),
                 ("run", locked), ("run", guest, "--disk", locked), ("run", guest, "--serial-in", locked)):
        status, _, err = cli(*argv)
        assert status == 2 and str(locked) in err and "Permission denied" in err, argv
    assert not (tmp_path / "out.s").exists()
