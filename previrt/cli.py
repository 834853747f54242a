"""The `previrt` command: argparse sub-commands, wiring only.

Each handler imports its stage lazily, so `previrt cc` in a large build does not pay for unicorn."""

from __future__ import annotations

import argparse
import sys

from previrt.errors import PrevirtError


def _cmd_annotate(args: argparse.Namespace) -> int:
    from previrt.annotate.asm import annotate_path

    annotate_path(args.input, args.output)
    return 0


def _cmd_sites(args: argparse.Namespace) -> int:
    from previrt.audit import list_sites

    return list_sites(args.image, sys.stdout)


def _cmd_audit(args: argparse.Namespace) -> int:
    from previrt.audit import audit_command

    return audit_command(args.image, sys.stdout, verbose=args.verbose)


def _cmd_run(args: argparse.Namespace) -> int:
    from previrt.machine.runner import run_command

    return run_command(args)


def _cmd_demo(args: argparse.Namespace) -> int:
    from previrt.demo import demo_command

    return demo_command(args)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="previrt",
        description="Pre-virtualization for i386 guests: annotate at build time, run bare or patched.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("cc", help="drop-in compiler driver: make CC=\"previrt cc\" (all arguments go to it)")

    a = sub.add_parser("annotate", help="pad and record sensitive instructions in a GAS (AT&T) file")
    a.add_argument("input", help="assembly file (gcc -S output or preprocessed .S)")
    a.add_argument("-o", "--output", required=True, help="annotated assembly to write")
    a.set_defaults(func=_cmd_annotate)

    s = sub.add_parser("sites", help="list the site records of a linked image")
    s.add_argument("image")
    s.set_defaults(func=_cmd_sites)

    au = sub.add_parser("audit", help="prove every sensitive instruction of an image is a recorded site")
    au.add_argument("image")
    au.add_argument("-v", "--verbose", action="store_true", help="also print a summary of what was checked")
    au.set_defaults(func=_cmd_audit)

    r = sub.add_parser("run", help="run a Multiboot image on the simulated PC")
    r.add_argument("image")
    r.add_argument("--target", default="bare", help="machine to run on (default: bare)")
    r.add_argument("--mem", type=int, default=64, metavar="MiB", help="guest RAM in MiB (default 64)")
    r.add_argument("--disk", metavar="FILE", help="primary master ATA disk image")
    r.add_argument("--disk1", metavar="FILE", help="primary slave ATA disk image")
    r.add_argument("--cmdline", default="", metavar="STR", help="Multiboot command line")
    r.add_argument("--serial", default="stdio", metavar="stdio|FILE", help="where UART output goes")
    r.add_argument("--serial-in", metavar="FILE", help="UART input: FILE, or - for stdin (default: none)")
    r.add_argument("--max-instructions", type=int, metavar="N", help="stop after N guest instructions")
    r.add_argument("--clock-hz", type=int, metavar="N",
                   help="guest instructions per simulated second (default 100000000)")
    r.add_argument("--rtc", choices=("fixed", "host"), default="fixed",
                   help="CMOS time of day: fixed (reproducible, default) or the host's")
    r.add_argument("--stats", metavar="FILE.json", help="write run statistics as JSON")
    r.add_argument("--trace-io", action="store_true", help="list accesses to unclaimed ports")
    r.set_defaults(func=_cmd_run)

    d = sub.add_parser("demo", help="build the bundled example and the guest kernel (gcc and previrt cc), "
                                    "audit them, run a workload of both builds on the bare machine")
    d.add_argument("--workdir", metavar="DIR", help="where to build (default: a temporary folder)")
    d.add_argument("--workload", default="build", metavar="NAME",
                   help="guest workload to run (default: build; see guest_src/README.md)")
    d.add_argument("--n", type=int, default=1, metavar="N", help="workload size (default 1)")
    d.set_defaults(func=_cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv[:1] == ["cc"]:  # every remaining argument belongs to the compiler
            from previrt.cc import main as cc_main

            return cc_main(argv[1:])
        args = build_parser().parse_args(argv)
        return args.func(args)
    except PrevirtError as e:
        print(f"previrt: error: {e}", file=sys.stderr)
        return e.exit_status
    except KeyboardInterrupt:
        return 130
