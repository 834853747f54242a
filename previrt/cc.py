"""`previrt cc`: the drop-in compiler driver guest Makefiles use as `make CC="previrt cc"`.

.c → preprocess → source pass → compiler -S → asm pass → assemble; .i → source pass → compiler -S → asm
pass → assemble; .S → preprocess → asm pass → assemble; the rest passes through."""

from __future__ import annotations

import fnmatch
import os
import signal
import sys

from previrt.errors import PrevirtError

# Start-up cost is per compiled file, so this module imports only the standard library's light parts
# (processes through os.posix_spawnp, not subprocess; its temporary folder through os, not tempfile
# and shutil: together they cost more to import than the driver itself); the asm pass is imported
# while the real compiler runs (see Driver.annotated).

REAL_CC_ENV = "PREVIRT_CC"  # the real compiler (default gcc)
EXCLUDE_ENV = "PREVIRT_CC_EXCLUDE"  # colon/space-separated globs of sources left to the real compiler
PTE_TYPES_ENV = "PREVIRT_PTE_TYPES"  # the source pass's page-table-entry type names (default pte_t,pde_t)
PTE_TYPES_OPTION = "-previrt-pte-types="  # the same as a driver option; never passed to the real compiler

# gcc options whose value is the next argument when written on their own ("-o out", "-I dir").
TAKES_ARG = frozenset({
    "-o", "-I", "-D", "-U", "-include", "-imacros", "-iquote", "-isystem", "-idirafter", "-iprefix",
    "-iwithprefix", "-iwithprefixbefore", "-isysroot", "-imultilib", "-MF", "-MT", "-MQ", "-x", "-T",
    "-L", "-l", "-u", "-e", "-z", "-Xlinker", "-Xassembler", "-Xpreprocessor", "-aux-info", "--param",
    "-wrapper", "-B", "-G", "-specs", "-dumpbase", "-dumpdir", "-dumpbase-ext",
})

# Source language by file suffix (gcc's own mapping for the languages the asm pass handles).
LANG_BY_SUFFIX = {".c": "c", ".i": "cpp-output", ".S": "assembler-with-cpp",
                  ".sx": "assembler-with-cpp", ".s": "assembler"}
COMPILED = frozenset({"c", "cpp-output"})  # real compiler -S, then the asm pass
PREPROCESSED = frozenset({"assembler-with-cpp"})  # real compiler -E, then the asm pass
ASSEMBLY = frozenset({"assembler"})  # the asm pass directly
ANNOTATED_LANGS = COMPILED | PREPROCESSED | ASSEMBLY

# Options after which the real compiler does not compile to an object: passed straight through.
PASS_THROUGH_OPTIONS = frozenset({"-E", "-M", "-MM", "-fsyntax-only"})


class Source:
    """One input file of the command line."""

    __slots__ = ("index", "path", "lang", "xlang")

    def __init__(self, index: int, path: str, lang: str | None, xlang: str | None = None):
        self.index = index  # position in argv
        self.path = path
        self.lang = lang  # None: a language the asm pass does not handle (c++, objects …)
        self.xlang = xlang  # the -x language in force at this position, as written


class Command:
    """A compiler command line, split into what the driver needs."""

    __slots__ = ("argv", "mode", "output", "sources", "flags")

    def __init__(self, argv: list[str]):
        self.argv = list(argv)
        self.mode = "link"  # "c" (object), "S" (assembly), "link", "pass" (anything else)
        self.output: str | None = None
        self.sources: list[Source] = []
        self.flags: list[str] = []  # argv minus -c/-S, -o, -x and the sources


def parse(argv: list[str]) -> Command:
    """Split a compiler command line into its mode, output, sources and remaining flags."""
    cmd = Command(argv)
    lang: str | None = None  # the current -x language
    stops: set[str] = set()
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-c", "-S"):
            stops.add(arg)
        elif arg in PASS_THROUGH_OPTIONS:
            stops.add("pass")
            cmd.flags.append(arg)
        elif arg == "-o" or (arg.startswith("-o") and len(arg) > 2):
            cmd.output = argv[i + 1] if arg == "-o" and i + 1 < len(argv) else arg[2:]
            i += arg == "-o"
        elif arg == "-x" or (arg.startswith("-x") and len(arg) > 2):
            value = argv[i + 1] if arg == "-x" and i + 1 < len(argv) else arg[2:]
            lang = None if value == "none" else value
            i += arg == "-x"
        elif arg in TAKES_ARG:
            cmd.flags += argv[i:i + 2]
            i += 1
        elif arg.startswith("-") and arg != "-":
            cmd.flags.append(arg)
        else:
            suffix_lang = LANG_BY_SUFFIX.get(os.path.splitext(arg)[1])
            src_lang = (lang if lang in ANNOTATED_LANGS else None) if lang else suffix_lang
            if lang or suffix_lang or arg == "-":
                cmd.sources.append(Source(i, arg, None if arg == "-" else src_lang, lang))
        i += 1
    cmd.mode = next((m for opt, m in (("pass", "pass"), ("-S", "S"), ("-c", "c")) if opt in stops), "link")
    return cmd


def previrt_options(argv: list[str]) -> tuple[list[str], str | None]:
    """argv without the driver's own options, and the value of the last -previrt-pte-types= (or None)."""
    rest, pte = [], None
    for arg in argv:
        if arg.startswith(PTE_TYPES_OPTION):
            pte = arg[len(PTE_TYPES_OPTION):]
        else:
            rest.append(arg)
    return rest, pte


# Dependency-file options: they belong to the preprocessing step only (the one that reads the headers).
DEPENDENCY_FLAGS = frozenset({"-M", "-MM", "-MD", "-MMD", "-MP", "-MG"})
DEPENDENCY_ARG_FLAGS = frozenset({"-MF", "-MT", "-MQ"})


def without_dependency_flags(flags: list[str]) -> list[str]:
    out, i = [], 0
    while i < len(flags):
        f = flags[i]
        if f in DEPENDENCY_ARG_FLAGS:
            i += 2
            continue
        if f not in DEPENDENCY_FLAGS and not (f[:3] in DEPENDENCY_ARG_FLAGS and len(f) > 3):
            out.append(f)
        i += 1
    return out


def exclude_patterns(env: dict[str, str]) -> list[str]:
    return env.get(EXCLUDE_ENV, "").replace(":", " ").split()


def is_excluded(path: str, patterns: list[str]) -> bool:
    """A pattern matches the path as written, its absolute path, or (without '/') its file name."""
    candidates = [path, os.path.abspath(path)]
    return any(fnmatch.fnmatchcase(c, p) for p in patterns for c in candidates) or any(
        "/" not in p and fnmatch.fnmatchcase(os.path.basename(path), p) for p in patterns)


def default_output(src: str, suffix: str) -> str:
    return os.path.splitext(os.path.basename(src))[0] + suffix


def dependency_flags(flags: list[str], obj: str, dep_file: str | None = None) -> list[str]:
    """-MF/-MQ that make a -MD/-MMD run name the .d file and target as plain `gcc -c -o obj` would."""
    if not any(f in ("-MD", "-MMD") for f in flags):
        return []
    extra = []
    if not any(f.startswith("-MF") for f in flags):
        extra += ["-MF", dep_file or os.path.splitext(obj)[0] + ".d"]
    if not any(f.startswith(("-MT", "-MQ")) for f in flags):
        extra += ["-MQ", obj]
    return extra


def link_dependency_names(output: str | None, src: str) -> tuple[str, str]:
    """(target, .d file) gcc 12 uses for -MD when it compiles and links in one command."""
    if output:
        return output, os.path.splitext(output)[0] + ".d"
    stem = os.path.splitext(os.path.basename(src))[0]
    return stem + ".o", f"a-{stem}.d"


def assembler_flags(flags: list[str]) -> list[str]:
    """The flags that still matter when the real compiler assembles: machine, debug info, -Wa/-Xassembler."""
    out, i = [], 0
    while i < len(flags):
        f = flags[i]
        if f in ("-Xassembler", "-B"):
            out += flags[i:i + 2]
            i += 1
        elif (f.startswith(("-m", "-g", "-Wa,", "-B", "-pipe", "--sysroot")) or
              (f.startswith("-f") and ("prefix-map" in f or "debug" in f or "dwarf" in f))):
            out.append(f)
        i += 1
    return out


def spawn(argv: list[str]) -> int:
    """Start `argv` (found on PATH) with this process's environment and standard streams: its pid."""
    return os.posix_spawnp(argv[0], argv, os.environ)


def wait(pid: int) -> int:
    """Exit status of a child as subprocess reports it (-N when signal N ended it)."""
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def private_dir(prefix: str) -> str:
    """A new folder only this user can enter, in $TMPDIR (or $TEMP, $TMP, /tmp)."""
    base = next((os.environ[v] for v in ("TMPDIR", "TEMP", "TMP") if os.environ.get(v)), "/tmp")
    for _ in range(100):
        path = os.path.join(base, prefix + os.urandom(6).hex())
        try:
            os.mkdir(path, 0o700)
            return os.path.abspath(path)
        except FileExistsError:
            continue
        except OSError:
            break
    import tempfile  # an unusual temporary folder: let tempfile find one (or say why it cannot)

    return tempfile.mkdtemp(prefix=prefix)


def remove_dir(path: str) -> None:
    """Remove our temporary folder (flat: only the driver writes into it)."""
    try:
        for name in os.listdir(path):
            os.unlink(os.path.join(path, name))
        os.rmdir(path)
    except OSError:
        import shutil

        shutil.rmtree(path, ignore_errors=True)


class Driver:
    """Runs the pipeline for one command, its temporaries in one private directory."""

    def __init__(self, real_cc: list[str], tmpdir: str, pte_types: tuple[str, ...] = ("pte_t", "pde_t")):
        self.real_cc = real_cc
        self.tmpdir = tmpdir
        self.pte_types = pte_types
        self.count = 0

    def temp(self, src: str, suffix: str) -> str:
        self.count += 1
        stem = os.path.splitext(os.path.basename(src))[0]
        return os.path.join(self.tmpdir, f"{self.count}-{stem}{suffix}")

    def run(self, args: list[str]) -> int:
        return wait(spawn(self.real_cc + args))

    def to_assembly(self, src: Source, flags: list[str], deps: list[str]) -> tuple[int | None, str]:
        """Start the real compiler on `src` (-S or -E) into a temporary .s; (its pid or None, path)."""
        if src.lang in ASSEMBLY:
            return None, self.marked_copy(src.path)
        out = self.temp(src.path, ".s")
        if src.lang in COMPILED:
            pre = self.source_pass(src, flags, deps)
            args = without_dependency_flags(flags) + ["-S", "-x", "cpp-output", pre, "-o", out]
            return spawn(self.real_cc + args), out
        args = flags + deps + ["-E", "-x", src.lang, src.path, "-o", out]
        return spawn(self.real_cc + args), out

    def source_pass(self, src: Source, flags: list[str], deps: list[str]) -> str:
        """The preprocessed text of a C source with its page-table-entry accesses made accessor sites
        (previrt.annotate.csource): the path of a temporary .i (or of `src` itself, a .i it left as it is).
        A failed preprocessor raises CompilerFailed with its status."""
        pre = src.path
        if src.lang == "c":
            pre = self.temp(src.path, ".i")
            rc = self.run(flags + deps + ["-E", "-x", "c", src.path, "-o", pre])
            if rc:
                raise CompilerFailed(rc)
        with open(pre, encoding="utf-8", errors="surrogateescape", newline="") as f:
            text = f.read()
        from previrt.annotate.csource import rewrite_text

        result = rewrite_text(text, src.path, self.pte_types)
        if result is text:
            return pre
        out = self.temp(src.path, ".previrt.i")
        with open(out, "w", encoding="utf-8", errors="surrogateescape", newline="") as f:
            f.write(result)
        return out

    def marked_copy(self, path: str) -> str:
        """`path` behind a `# 1 "path"` line marker, so that the asm pass's errors and the assembler's
        debug lines name the original file, not the temporary one."""
        copy = self.temp(path, ".s")
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            text = f.read()
        name = path.replace("\\", "\\\\").replace('"', '\\"')
        with open(copy, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(f'# 1 "{name}"\n{text}')
        return copy

    def annotated(self, src: Source, flags: list[str], deps: list[str], out: str) -> int:
        """Annotated assembly of `src` written to `out`; the asm pass loads while the compiler runs."""
        try:
            pid, asm = self.to_assembly(src, flags, deps)
        except CompilerFailed as e:
            return e.status
        try:
            annotate_path = load_annotator()
        finally:
            rc = wait(pid) if pid is not None else 0
        if rc == 0:
            try:
                annotate_path(asm, out)
            except PrevirtError as e:
                raise self.without_temporaries(e) from None
        return rc

    def without_temporaries(self, error: PrevirtError) -> PrevirtError:
        """The asm pass's error without the "(at TMP:LINE)" naming a temporary file of ours, which is
        gone when the message is read; the original file:line stays."""
        text = str(error)
        if error.where and text.startswith(f"{error.where}: "):
            text = text[len(error.where) + 2:]
        tmp = os.path.join(self.tmpdir, "")
        while f" (at {tmp}" in text:
            start = text.index(f" (at {tmp}")
            end = text.find(")", start)
            text = text[:start] + text[end + 1:] if end >= 0 else text[:start]
        cleaned = PrevirtError(text, where=error.where)
        cleaned.exit_status = error.exit_status
        return cleaned

    def object(self, src: Source, flags: list[str], obj: str, deps: list[str]) -> int:
        """Object file `obj` from `src` through the asm pass (`deps`: its -MF/-MQ, if any)."""
        ann = self.temp(src.path, ".previrt.s")
        rc = self.annotated(src, flags, deps, ann)
        if rc:
            return rc
        return self.run(assembler_flags(flags) + ["-c", "-x", "assembler", ann, "-o", obj])


class CompilerFailed(Exception):
    """The real compiler's preprocessing step failed (it has said why); its status."""

    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


def load_annotator():
    from previrt.annotate.asm import annotate_path

    return annotate_path


def without(argv: list[str], indices: set[int]) -> list[str]:
    return [a for i, a in enumerate(argv) if i not in indices]


def compile_sources(drv: Driver, cmd: Command, ours: list[Source]) -> int:
    """-c / -S: each of our sources through the pipeline, the rest through the real compiler."""
    suffix = ".o" if cmd.mode == "c" else ".s"
    for src in ours:
        out = cmd.output or default_output(src.path, suffix)
        deps = dependency_flags(cmd.flags, out)
        rc = (drv.object(src, cmd.flags, out, deps) if cmd.mode == "c"
              else drv.annotated(src, cmd.flags, deps, out))
        if rc:
            return rc
    rest = [s for s in cmd.sources if s not in ours]
    if rest:
        return drv.run(without(cmd.argv, {s.index for s in ours}))
    return 0


def link_sources(drv: Driver, cmd: Command, ours: list[Source]) -> int:
    """Compile-and-link: our sources become temporary objects, then the real compiler links."""
    replaced: dict[int, list[str]] = {}
    for src in ours:
        obj = drv.temp(src.path, ".o")
        deps = dependency_flags(cmd.flags, *link_dependency_names(cmd.output, src.path))
        rc = drv.object(src, cmd.flags, obj, deps)
        if rc:
            return rc
        replaced[src.index] = ["-x", "none", obj] + (["-x", src.xlang] if src.xlang else [])
    return drv.run([a for i, arg in enumerate(cmd.argv) for a in replaced.get(i, [arg])])


def plan(cmd: Command, env: dict[str, str]) -> list[Source]:
    """The sources this command sends through the asm pass (empty: pass the command straight through)."""
    if cmd.mode == "pass" or any(s.path == "-" for s in cmd.sources):
        return []
    if cmd.output and cmd.mode in ("c", "S") and len(cmd.sources) > 1:
        return []  # -o with several sources: the real compiler's own error
    if cmd.mode == "S":
        eligible = [s for s in cmd.sources if s.lang in COMPILED]
    else:
        eligible = [s for s in cmd.sources if s.lang in ANNOTATED_LANGS]
    patterns = exclude_patterns(env)
    return [s for s in eligible if not is_excluded(s.path, patterns)]


def warn_lto(flags: list[str]) -> None:
    """-flto moves code generation to the link, after the asm pass: say so (audit would catch it)."""
    lto = [f for f in flags if f.startswith(("-flto", "-fno-lto"))]
    if lto and lto[-1].startswith("-flto"):
        print(f"previrt cc: warning: {lto[-1]}: code is generated at link time, after the asm pass; "
              "its sensitive instructions are not annotated", file=sys.stderr)


HELP = f"""\
usage: previrt cc [compiler options] FILE...      (in a Makefile: make CC="previrt cc")

A drop-in compiler driver: each .c is preprocessed with `$REAL -E`, the source pass makes every store
and load of a page-table entry through memory a padded, recorded accessor call, the result is compiled
with `$REAL -S`; each .S is preprocessed with `$REAL -E`; then the asm pass pads and records every
sensitive instruction, and the result is assembled; .s files go straight to the asm pass.  -E, -M, -MM, -fsyntax-only, links of objects and other languages are
passed to the real compiler untouched.  Every option is the real compiler's.

environment:
  {REAL_CC_ENV:<20}the real compiler, with any options of its own (default: gcc)
  {EXCLUDE_ENV:<20}shell patterns, separated by ':' or spaces, of sources compiled untouched
                      (matched against the path as written, its absolute path, or the file name)
  {PTE_TYPES_ENV:<20}the source pass's page-table-entry type names, separated by ',' (default
                      pte_t,pde_t); the option {PTE_TYPES_OPTION}a,b overrides it (previrt cc
                      consumes it: the real compiler never sees it)

exit status: the real compiler's; 1 when the asm pass refuses a file (an error at FILE:LINE) or a
file cannot be read or written; 127 when the real compiler is not found.
"""
HELP_MORE = "\nThe real compiler's own help follows.\n"  # after --help; `-h` alone shows previrt's part only


def _terminate(signum, _frame):
    raise SystemExit(128 + signum)


def wants_help(argv: list[str]) -> bool:
    return any(a == "--help" or a.startswith("--help=") for a in argv) or argv == ["-h"]


def main(argv: list[str]) -> int:
    real_cc = os.environ.get(REAL_CC_ENV, "gcc").split() or ["gcc"]
    if wants_help(argv):  # previrt's own part first, then the real compiler's
        sys.stdout.write(HELP.replace("$REAL", os.path.basename(real_cc[0])))
        if argv == ["-h"]:
            return 0
        sys.stdout.write(HELP_MORE)
    argv, pte_option = previrt_options(argv)
    cmd = parse(argv)
    ours = plan(cmd, os.environ)
    if not ours:
        sys.stdout.flush()
        try:
            os.execvp(real_cc[0], real_cc + list(argv))
        except OSError as e:
            print(f"previrt cc: error: {real_cc[0]}: {e.strerror}", file=sys.stderr)
            return 127
    warn_lto(cmd.flags)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _terminate)
    try:
        from previrt.annotate.csource import names_from

        pte_types = names_from(os.environ, pte_option)
    except PrevirtError as e:
        print(f"previrt cc: error: {e}", file=sys.stderr)
        return 1
    tmpdir = private_dir("previrt-cc-")
    try:
        drv = Driver(real_cc, tmpdir, pte_types)
        if cmd.mode == "link":
            return link_sources(drv, cmd, ours)
        return compile_sources(drv, cmd, ours)
    except PrevirtError as e:  # the asm pass refused a file, or a file could not be read or written
        print(str(e) if e.where else f"previrt cc: error: {e}", file=sys.stderr)
        return 1  # what a compiler returns for any error (make and configure scripts expect it)
    except OSError as e:  # the real compiler missing (127, as a shell says), or an unreadable source
        print(f"previrt cc: error: {e.filename or real_cc[0]}: {e.strerror}", file=sys.stderr)
        return 127 if e.filename in (None, real_cc[0]) else 1
    finally:
        remove_dir(tmpdir)
