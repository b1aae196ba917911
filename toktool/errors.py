"""One error family for the whole library; only the CLI turns it into messages and exit codes."""

from __future__ import annotations


class ToktoolError(Exception):
    """Bad usage or bad input: the CLI prints the message on one line and exits with 2."""

    exit_code = 2


class InputError(ToktoolError):
    """A problem with an input file or stream (where: file, line, field)."""


class OutputExistsError(ToktoolError):
    """Refusing to overwrite an existing output without --force."""


class WorkerDiedError(ToktoolError):
    """A helper process ended without its results (killed for lack of memory, say): not bad input,
    not a bug of ours either; one line and exit 1."""

    exit_code = 1
