"""Running `previrt` in the test process: the CLI's statuses, output and errors, for the tests of every command.

One helper, `cli`; tests that need a separate process (signals, standard input) start `python -m previrt` instead."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout

from previrt.cli import main


def cli(*argv) -> tuple[int, str, str]:
    """`previrt ARGV` in this process: (status, stdout, stderr); argparse's exits included."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            status = main([str(a) for a in argv])
        except SystemExit as e:
            status = e.code
    assert "Traceback" not in err.getvalue()
    return status, out.getvalue(), err.getvalue()
