"""Option groups shared by several commands; defaults and choices are read from the library."""

from __future__ import annotations

import click

from ..corpus import ERROR_POLICIES
from ..options import ENGINES, CorpusOptions
from ..pretokenize import DEFAULT_PRESET, PRESETS, SUPERBPE_STAGE1_PRESET

PRESET_HELP = "; ".join(f"{p.name}: {p.source}" for p in PRESETS.values())


def common_options(f):
    """--quiet and --debug (the latter is read by app.main before parsing)."""
    f = click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary on stderr.")(f)
    f = click.option("--debug", is_flag=True, help="Show tracebacks on errors.")(f)
    return f


def tiktoken_option(f):
    """--tiktoken-pattern, for commands that take a tokenizer (tiktoken files do not record their split)."""
    from ..options import TIKTOKEN_PATTERNS

    return click.option(
        "--tiktoken-pattern",
        metavar="NAME",
        help=f"Split pattern of a tiktoken rank file ({', '.join(sorted(TIKTOKEN_PATTERNS))}) [default: from the file name].",
    )(f)


def corpus_options(f=None, *, superbpe_note: bool = False):
    """How text inputs are read and pre-tokenized: --text-field, --errors, --pretokenizer,
    --special-token, --workers, --max-bytes, --sample-docs, --seed. `superbpe_note`: --pretokenizer's
    help also gives SuperBPE's stage-1 default (train). Usable as @corpus_options or @corpus_options(...)."""
    if f is None:
        return lambda g: corpus_options(g, superbpe_note=superbpe_note)
    default = f"{DEFAULT_PRESET}; stage 1 of --algo superbpe: {SUPERBPE_STAGE1_PRESET}" if superbpe_note else DEFAULT_PRESET
    f = click.option(
        "--text-field",
        metavar="NAME",
        help="Field of JSON-lines records (text files are then read as JSON lines), or column of Parquet/Arrow/datasets inputs [default there: text]; dots for nested fields.",
    )(f)
    f = click.option(
        "--errors",
        type=click.Choice(ERROR_POLICIES),
        default=CorpusOptions.errors,
        show_default=True,
        help="Invalid UTF-8 lines: fail, replace bad bytes with U+FFFD, or skip the line (counted either way).",
    )(f)
    f = click.option(
        "--pretokenizer",
        type=click.Choice(list(PRESETS)),
        default=None,
        help=f"Pre-tokenizer preset [default: {default}]. {PRESET_HELP}.",
    )(f)
    f = click.option("--special-token", "special_tokens", multiple=True, metavar="TOKEN", help="Special token (repeatable); cut out of the text before counting.")(f)
    f = click.option("--workers", type=click.IntRange(min=1), default=CorpusOptions.workers, help="Counting processes [default: all cores].")(f)
    f = click.option(
        "--max-bytes",
        type=click.IntRange(min=1),
        default=CorpusOptions.max_bytes,
        metavar="N",
        help="Train on a prefix: stop after N UTF-8 bytes of text, at a text boundary (later inputs are not read).",
    )(f)
    f = click.option(
        "--sample-docs",
        type=click.FloatRange(0, 1, min_open=True),
        default=CorpusOptions.sample_docs,
        metavar="FRACTION",
        help="Keep a deterministic sample of documents (lines, JSON records, Parquet/Arrow rows): kept iff a hash of (--seed, input path, document index) is below FRACTION; independent of --workers.",
    )(f)
    f = click.option("--seed", type=int, default=CorpusOptions.seed, show_default=True, help="Seed of --sample-docs.")(f)
    return f


def engine_options(f):
    """Who counts: --engine (the local process pool, or Ray) and --address (which Ray cluster)."""
    f = click.option(
        "--address",
        metavar="ADDR",
        default=None,
        help="--engine ray: 'auto' joins the Ray cluster of this machine, 'ray://HOST:10001' a remote one [default: start a local Ray for this run].",
    )(f)
    f = click.option(
        "--engine",
        type=click.Choice(list(ENGINES)),
        default="local",
        show_default=True,
        help="Count with the local process pool, or on Ray (pip install 'toktool[ray]'); the counts are identical.",
    )(f)
    return f
