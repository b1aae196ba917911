"""`toktool count` and `toktool count-info`: pre-token counts, the shardable unit of training."""

from __future__ import annotations

import click

from ..atomic import check_output
from ..pretokenize import DEFAULT_PRESET, unique_specials
from .options import common_options, corpus_options
from .render import FORMATS, count_progress, print_table, progress_bar, stderr_console


@click.command()
@click.argument("inputs", nargs=-1, required=True)
@corpus_options
@click.option("-o", "--output", required=True, type=click.Path(), help="Counts file to write (.counts).")
@click.option("--force", is_flag=True, help="Replace an existing output file.")
@common_options
def count(inputs, text_field, errors, pretokenizer, special_tokens, workers, max_bytes, sample_docs, seed, output, force, quiet, debug):
    """Count pre-tokens of INPUTS into a counts file: the shardable unit of training.

    Count shards on many machines, then `toktool train --from-counts shard*.counts`.
    """
    from ..corpus import Sampling, corpus_notes, expand_inputs, total_input_size
    from ..count import count_corpus

    check_output(output, force)
    paths = expand_inputs(list(inputs))
    with progress_bar(not quiet) as prog:
        wc = count_corpus(
            paths, pretokenizer or DEFAULT_PRESET, text_field, errors, unique_specials(special_tokens), workers,
            count_progress(prog, total_input_size(paths)),
            Sampling(max_bytes, sample_docs, seed) if (max_bytes or sample_docs) else None,
        )
    wc.save(output, force=force)
    if not quiet:
        console = stderr_console()
        console.print(f"{output}: {len(wc):,} unique pre-tokens, {wc.total:,} in all, {wc.total_bytes:,} bytes")
        for label, text in corpus_notes(wc.corpus):
            console.print(f"{label}: {text}")


@click.command("count-info")
@click.argument("files", nargs=-1, required=True)
@click.option("--top", "top_k", type=click.IntRange(min=0), default=20, show_default=True, help="Show the K most frequent pre-tokens.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@common_options
def count_info(files, top_k, fmt, quiet, debug):
    """Summarise counts files (summed when several) and list the most frequent pre-tokens."""
    from ..count import load_counts

    wc = load_counts(list(files))
    rows = [
        {"rank": i + 1, "count": c, "pretoken": w.decode("utf-8", errors="backslashreplace"), "bytes": len(w)}
        for i, (w, c) in enumerate(wc.top(top_k))
    ]
    extra = {"pretokenizer": wc.pretokenizer, "unique": len(wc), "total": wc.total, "bytes": wc.total_bytes}
    if fmt == "table":
        stderr_console(quiet).print(
            f"pre-tokenizer {wc.pretokenizer}: {len(wc):,} unique pre-tokens, {wc.total:,} in all, {wc.total_bytes:,} bytes"
        )
        for r in rows:
            r["pretoken"] = repr(r["pretoken"])
    print_table(rows, ["rank", "count", "pretoken", "bytes"], fmt, extra=extra)
