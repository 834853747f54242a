"""The `previrt` command: argparse sub-commands, wiring only.

Each handler imports its stage lazily, so `previrt cc` in a large build does not pay for unicorn."""

from __future__ import annotations

import argparse
import sys

from previrt import __version__
from previrt.errors import PrevirtError

STATUS_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a tool that a closed pipe stopped
STATUS_EPILOG = ("exit status: 0 success; 1 the command's verdict (audit findings, a file the asm pass refuses, a failed "
                 "demo step); 2 unusable input or bad arguments; previrt run returns the guest's status (README.md, "
                 "'Exit statuses')")


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


def _cmd_patch(args: argparse.Namespace) -> int:
    from previrt.patch import patch_command

    return patch_command(args.image, args.target, args.output, args.dump, sys.stdout)


def _cmd_run(args: argparse.Namespace) -> int:
    from previrt.machine.runner import run_command

    return run_command(args)


def _cmd_hypervisors(args: argparse.Namespace) -> int:
    from previrt.vmm import registry

    for name in registry.names():
        hv = registry.load(name)
        print(f"{name:12} {hv.summary}")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from previrt.bench import bench_command

    return bench_command(args)


def _cmd_demo(args: argparse.Namespace) -> int:
    from previrt.demo import demo_command

    return demo_command(args)


class _Targets:
    """The --target choices, read from the run loop's one list when first needed (for --help, or to check a --target
    given): building the parser does not import the machine."""

    def _names(self) -> tuple[str, ...]:
        from previrt.machine.runner import target_names

        return target_names()

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __iter__(self):
        return iter(self._names())


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="previrt",
        description="Pre-virtualization for i386 guests: annotate at build time, run bare or patched.",
        epilog=STATUS_EPILOG)
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("cc", help="drop-in compiler driver: make CC=\"previrt cc\" (all arguments go to it; "
                              "previrt cc --help)")

    a = sub.add_parser("annotate", help="pad and record sensitive instructions in a GAS (AT&T) file",
                       epilog="exit status: 0 written; 1 the asm pass refuses the input (an error at FILE:LINE), "
                              "nothing written; 2 unreadable input, unwritable output")
    a.add_argument("input", help="assembly file (gcc -S output or preprocessed .S); - reads standard input")
    a.add_argument("-o", "--output", required=True, help="annotated assembly to write; - writes standard output")
    a.set_defaults(func=_cmd_annotate)

    s = sub.add_parser("sites", help="list the site records of a linked image",
                       epilog="exit status: 0 listed; 2 unusable image")
    s.add_argument("image")
    s.set_defaults(func=_cmd_sites)

    au = sub.add_parser("audit", help="prove every sensitive instruction of an image is a recorded site",
                        epilog="exit status: 0 clean; 1 findings; 2 unusable image")
    au.add_argument("image")
    au.add_argument("-v", "--verbose", action="store_true", help="also print a summary of what was checked")
    au.set_defaults(func=_cmd_audit)

    pa = sub.add_parser("patch", help="patch the sites of a previrt image for a hypervisor (its templates)",
                        epilog="exit status: 0 written; 1 a site refused (its bytes are not the recorded instruction, "
                               "a replacement longer than its site, a template that does not render, assemble or "
                               "link), nothing written; 2 unusable input (image, target, output)")
    pa.add_argument("image")
    pa.add_argument("--target", required=True, metavar="NAME", help="a registered hypervisor (previrt hypervisors)")
    pa.add_argument("-o", "--output", required=True, metavar="OUT", help="the patched image to write")
    pa.add_argument("--dump", action="store_true", help="print each site: address, kind, function and line, "
                                                         "original, replacement and final bytes")
    pa.set_defaults(func=_cmd_patch)

    r = sub.add_parser("run", help="run a Multiboot image on the simulated PC",
                       epilog="exit status: (v << 1) | 1 when the guest writes v to port 0xF4; 10 halted, 12 triple "
                              "fault, 14 --max-instructions, 16 absent memory, 18 unsupported event, 20 CPU error, "
                              "22 waiting for serial input at its end, 24 --timeout, 26 the guest broke a "
                              "hypervisor's rule; 130/143 SIGINT/SIGTERM; 2 unusable input")
    r.add_argument("image")
    r.add_argument("--target", default="bare", choices=_Targets(), metavar="NAME",
                   help="machine to run on: %(choices)s (default: %(default)s)")
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
    r.add_argument("--stats", metavar="FILE.json", help="write run statistics as JSON (also after a signal or "
                                                         "--timeout)")
    r.add_argument("--timeout", type=float, metavar="SECONDS", help="end the run after SECONDS of wall-clock time "
                                                                  "(status 24)")
    r.add_argument("--input-wait", type=float, metavar="SECONDS",
                   help="end the run (status 22) when the guest has waited SECONDS of simulated time for serial input "
                        "after the --serial-in file ended, with no serial or disk activity (default 10; 0: never)")
    r.add_argument("--trace-io", action="store_true", help="list accesses to unclaimed ports")
    r.add_argument("--mp", choices=("on", "off"), default="on",
                   help="the firmware's MultiProcessor tables (default on; off: a uniprocessor PC with 8259As only)")
    r.add_argument("--screen", metavar="FILE|-", help="write the final 80x25 text screen to FILE (- : standard output, "
                                                      "at exit)")
    r.add_argument("--keys", metavar="FILE", help="keyboard input: FILE's bytes as scancodes of set 1 (IRQ 1)")
    r.add_argument("--virt", choices=("full",), help="on a hypervisor: full = trap-and-emulate plus load-time binary "
                                                      "rewriting, for any image (a previrt image's sites are ignored)")
    r.add_argument("--trace-exits", action="store_true", help="on a hypervisor: one line per exit on stderr")
    r.add_argument("--costs", metavar="FILE|none", help="on a hypervisor: the cost table whose cycles each exit, "
                                                          "hypercall and injection adds to virtual time (JSON, keys "
                                                          "of previrt/costs.py; none: no overhead, virtual time = "
                                                          "instructions; default: the built-in table)")
    r.set_defaults(func=_cmd_run)

    hv = sub.add_parser("hypervisors", help="list the registered hypervisors (targets of run --target)")
    hv.set_defaults(func=_cmd_hypervisors)

    b = sub.add_parser("bench", help="the comparison matrix: every mode (bare, full virtualization, patched, "
                                     "para-virtual) x the guest's workloads, in estimated cycles",
                       epilog="writes matrix.md, matrix.json and matrix.png in --out; exit status: 0 every cell ran "
                              "with native-on-bare's output; 1 a cell failed (marked FAILED); 2 bad options")
    b.add_argument("--workloads", metavar="A,B", help="workloads to run (default: all; guest_src/README.md)")
    b.add_argument("--modes", metavar="A,B", help="modes to run (default: all): native-bare, previrt-bare, "
                                                  "native-direct, native-shadow, previrt-direct, previrt-shadow, "
                                                  "previrt-direct-full, previrt-shadow-full, paravirt-direct, "
                                                  "paravirt-shadow (native-bare is always run: the reference)")
    size = b.add_mutually_exclusive_group()
    size.add_argument("--n", type=int, metavar="N", help="one workload size for all")
    size.add_argument("--scale", type=float, metavar="F", help="each workload's benchmark size times F (default 1)")
    b.add_argument("--jobs", type=int, metavar="N", help="runs at once, each a process (default: the core count)")
    b.add_argument("--costs", metavar="FILE|none", help="the cost table (previrt run --costs; default: built in)")
    b.add_argument("--out", metavar="DIR", help="where the reports go (default: benchmarks/)")
    b.add_argument("--workdir", metavar="DIR", help="where to build and run (default: a temporary folder)")
    b.set_defaults(func=_cmd_bench)

    d = sub.add_parser("demo", help="build the bundled example and the guest kernel (gcc and previrt cc), "
                                    "audit them, run a workload of both builds on the bare machine and of the "
                                    "previrt build on direct (full virtualization and patched)")
    d.add_argument("--workdir", metavar="DIR", help="where to build (default: a temporary folder)")
    d.add_argument("--workload", default="build", metavar="NAME",
                   help="guest workload to run (default: build; see guest_src/README.md)")
    d.add_argument("--n", type=int, default=1, metavar="N", help="workload size (default 1)")
    d.set_defaults(func=_cmd_demo)
    p.commands = sub.choices  # name -> sub-command parser, for parse_args
    return p


def parse_args(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """parse_args, except that an unknown argument after the command is reported with that command's usage."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        before_command = argv[:argv.index(args.command)]
        owner = parser if any(arg in before_command for arg in extra) else _subparser(parser, args.command)
        owner.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _subparser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    return getattr(parser, "commands", {}).get(command, parser)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv[:1] == ["cc"]:  # every remaining argument belongs to the compiler
            from previrt.cc import main as cc_main

            return cc_main(argv[1:])
        args = parse_args(build_parser(), argv)
        args.command_line = ["previrt", *argv]
        status = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        return status
    except PrevirtError as e:
        print(f"previrt: error: {e}", file=sys.stderr)
        return e.exit_status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader of the output went away (`previrt sites IMAGE | head`)
        _drop_stdout()
        return STATUS_BROKEN_PIPE


def _drop_stdout() -> None:
    """Point standard output at /dev/null, so that the interpreter's last flush cannot fail once more."""
    import os

    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError):  # not a file (a test's capture): nothing will flush into the pipe
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
