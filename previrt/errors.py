"""Errors the user can act on: each names the file, line or site at fault.

The CLI turns them into a one-line message on stderr and the exit status they carry."""


class PrevirtError(Exception):
    """A user-facing error; `exit_status` is the process status the CLI returns."""

    exit_status = 1

    def __init__(self, message: str, *, where: str | None = None):
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class UsageError(PrevirtError):
    """Unusable input: not ELF, wrong machine, corrupt section, bad arguments (status 2)."""

    exit_status = 2
