"""One error family for the whole library; only the CLI turns it into messages and exit codes."""

from __future__ import annotations


class ToktoolError(Exception):
    """Bad usage or bad input: the CLI prints the message on one line and exits with 2."""

    exit_code = 2


class InputError(ToktoolError):
    """A problem with an input file or stream (where: file, line, field)."""


class CodecError(InputError):
    """A tokenizer's own library failed on some text (or some ids): which tokenizer, why, and where.

    The adapter that raises it knows the tokenizer and the position of the failing item in the batch
    it was given (`index`, 0-based; `line`, 1-based, the line inside that item when the item holds
    several lines); the caller that knows where the batch came from names the input with `at`."""

    def __init__(self, tokenizer: str, reason: str, index: int | None = None, line: int | None = None, action: str = "encode", where: str | None = None):
        self.tokenizer, self.reason, self.index, self.line, self.action, self.where = tokenizer, reason, index, line, action, where
        place = f" {where}" if where else (" text" if action == "encode" else " ids")
        super().__init__(f"{tokenizer}: cannot {action}{place}: {reason}")

    def at(self, where: str) -> CodecError:
        """The same error naming the input (`where`: "file:line", "token 'x'", ...)."""
        return CodecError(self.tokenizer, self.reason, self.index, self.line, self.action, where)


class OutputExistsError(ToktoolError):
    """Refusing to overwrite an existing output without --force."""


class WorkerDiedError(ToktoolError):
    """A helper process ended without its results (killed for lack of memory, say): not bad input,
    not a bug of ours either; one line and exit 1."""

    exit_code = 1
