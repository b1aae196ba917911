"""toktool's command line: the click group, one command per module, and the exit-code policy.

Commands parse options, call the public library functions (`toktool.train_bpe`, `evaluate`, ...)
and render what they return; no command holds logic of its own. Exit codes: 0 success; 2 bad usage
or bad input (one line on stderr); 1 internal error (a bug); 130 interrupted. --debug (or
TOKTOOL_DEBUG=1) shows tracebacks.
"""

from __future__ import annotations

import os
import sys

import click

from .._version import __version__
from ..errors import ToktoolError
from .codec import count_tokens, decode, encode
from .count import count, count_info
from .evaluate import evaluate
from .train import train
from .transplant import transplant


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="toktool")
def cli() -> None:
    """Train, inspect and use byte-level BPE tokenizers. Text on stdin, results on stdout,
    logs and progress on stderr.

    Text inputs are UTF-8: NUL is an ordinary character, a leading byte-order mark is dropped, and
    UTF-16/UTF-32 or binary files are refused (docs/cli.md, "Text inputs")."""


for command in (train, count, count_info, encode, decode, count_tokens, evaluate, transplant):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI on `argv` (default: sys.argv[1:]) and return the exit code; never raises."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args or os.environ.get("TOKTOOL_DEBUG") == "1"
    try:
        cli.main(args=args, prog_name="toktool", standalone_mode=False)
        return 0
    except click.exceptions.Exit as e:
        return e.exit_code
    except click.exceptions.Abort:
        click.echo("toktool: interrupted", err=True)
        return 130
    except click.UsageError as e:
        if debug:
            raise
        hint = f" (see 'toktool {e.ctx.info_name} --help')" if e.ctx is not None and e.ctx.info_name != "toktool" else ""
        click.echo(f"toktool: error: {e.format_message()}{hint}", err=True)
        return 2
    except click.ClickException as e:
        click.echo(f"toktool: error: {e.format_message()}", err=True)
        return e.exit_code
    except ToktoolError as e:
        if debug:
            raise
        click.echo(f"toktool: error: {e}", err=True)
        return e.exit_code
    except KeyboardInterrupt:
        click.echo("toktool: interrupted", err=True)
        return 130
    except BrokenPipeError:
        # downstream closed the pipe (e.g. `| head`): not an error of ours
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except OSError:
            pass
        return 0
    except MemoryError:
        click.echo("toktool: error: out of memory", err=True)
        return 1
    except Exception as e:
        if debug:
            raise
        click.echo(
            f"toktool: internal error: {type(e).__name__}: {e} — this is a bug; please report it (rerun with --debug for the traceback)",
            err=True,
        )
        return 1

