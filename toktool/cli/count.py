"""`toktool count` and `toktool count-info`: pre-token counts, the shardable unit of training."""

from __future__ import annotations

import click

from ..atomic import check_output
from ..corpus import check_not_input
from ..options import DEFAULT_PARTITIONS
from ..pretokenize import DEFAULT_PRESET, unique_specials
from .options import common_options, corpus_options, engine_options
from .render import FORMATS, count_progress, print_table, progress_bar, stderr_console


@click.command()
@click.argument("inputs", nargs=-1, required=True)
@corpus_options
@engine_options
@click.option("--partitions", type=click.IntRange(1, 65536), default=DEFAULT_PARTITIONS, show_default=True, help="Directory output: number of count shards (each word goes to one, by a hash of its bytes).")
@click.option("--min-word-count", type=click.IntRange(min=0), default=0, show_default=True, help="Directory output: leave out words counted fewer times than this, after the global sum (0: exact); the manifest says what was dropped.")
@click.option("-o", "--output", required=True, type=click.Path(), help="A directory of count shards + manifest.json, or one counts file when the name ends in .counts (local engine).")
@click.option("--force", is_flag=True, help="Replace an existing output.")
@common_options
def count(inputs, text_field, errors, pretokenizer, special_tokens, workers, max_bytes, sample_docs, seed, engine, address, partitions, min_word_count, output, force, quiet, debug):
    """Count pre-tokens of INPUTS: the shardable unit of training.

    -o DIR writes count shards (hash-partitioned by word) and a manifest, the same bytes whichever
    --engine counted them; -o FILE.counts writes one counts file. Train with
    `toktool train --from-counts DIR` (or several .counts files, summed).
    """
    from ..corpus import Sampling, corpus_notes, expand_inputs, total_input_size
    from ..count import count_corpus, count_to_dir

    preset = pretokenizer or DEFAULT_PRESET
    specials = unique_specials(special_tokens)
    sampling = Sampling(max_bytes, sample_docs, seed) if (max_bytes or sample_docs) else None
    console = stderr_console()
    if str(output).endswith(".counts"):
        if engine != "local":
            raise click.UsageError(f"--engine {engine} writes a directory of count shards: give -o DIR, not a .counts file")
        if partitions != DEFAULT_PARTITIONS or min_word_count:
            raise click.UsageError("--partitions and --min-word-count apply to a directory output (-o DIR), not a .counts file")
        check_not_input(output, inputs)
        check_output(output, force)
        paths = expand_inputs(list(inputs))
        with progress_bar(not quiet) as prog:
            wc = count_corpus(paths, preset, text_field, errors, specials, workers, count_progress(prog, total_input_size(paths)), sampling)
        wc.save(output, force=force)
        if not quiet:
            console.print(f"{output}: {len(wc):,} unique pre-tokens, {wc.total:,} in all, {wc.total_bytes:,} bytes")
            for label, text in corpus_notes(wc.corpus):
                console.print(f"{label}: {text}")
        return
    check_not_input(output, inputs)
    check_output(output, force)
    paths = expand_inputs(list(inputs))
    with progress_bar(not quiet) as prog:
        manifest = count_to_dir(
            paths, output, pretokenizer=preset, text_field=text_field, errors=errors, special_tokens=specials,
            workers=workers, engine=engine, address=address, partitions=partitions, min_word_count=min_word_count,
            force=force, on_progress=count_progress(prog, total_input_size(paths)), sampling=sampling,
        )
    if not quiet:
        t, d = manifest["totals"], manifest["dropped"]
        dropped = f"; dropped {d['words']:,} words rarer than {min_word_count} ({d['occurrences']:,} occurrences)" if d["words"] else ""
        console.print(
            f"{output}: {t['words']:,} unique pre-tokens, {t['occurrences']:,} in all, {t['text_bytes']:,} bytes, "
            f"{partitions} shards{dropped}"
        )
        for label, text in corpus_notes(manifest.get("corpus") or {}):
            console.print(f"{label}: {text}")


@click.command("count-info")
@click.argument("files", nargs=-1, required=True)
@click.option("--top", "top_k", type=click.IntRange(min=0), default=20, show_default=True, help="Show the K most frequent pre-tokens.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@common_options
def count_info(files, top_k, fmt, quiet, debug):
    """Summarise counts files and counts directories (summed when several) and list the most frequent pre-tokens."""
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
