"""`toktool train`: parse options, call train_bpe / train_superbpe / extend / train_parity, render."""

from __future__ import annotations

import click

from ..atomic import check_output
from ..corpus import check_not_input, corpus_notes
from ..options import STAGE2_PRESETS, ParityOptions, SuperOptions
from .options import common_options, corpus_options, engine_options
from .render import progress_bar, rich_table, stderr_console, train_hooks


@click.command()
@click.argument("inputs", nargs=-1)
@click.option("--from-counts", "from_counts", multiple=True, metavar="PATH", help="Train on counts from `toktool count` instead of text: a counts directory, or .counts files (summed); repeatable.")
@click.option("--vocab-size", type=click.IntRange(min=1), required=True, help="Target vocabulary size, special tokens included.")
@click.option("--algo", type=click.Choice(["bpe", "superbpe", "parity"]), default="bpe", show_default=True, help="bpe: byte-level BPE; superbpe: SuperBPE, subwords up to --transition then tokens across spaces; parity: parity-aware BPE over --langs.")
@click.option("--min-frequency", type=click.IntRange(min=0), default=None, help=f"Stop when the best pair is rarer than this [default: 0; parity: {ParityOptions.min_frequency}].")
@click.option("--max-token-length", type=click.IntRange(min=2), default=None, help="Longest token in bytes.")
@click.option("--langs", "langs_dir", metavar="DIR", help="parity: training text, one file or sub-directory per language code.")
@click.option("--lang", "lang_items", multiple=True, metavar="CODE=PATH", help="parity: training text of one language (repeatable).")
@click.option("--dev", "dev_dir", metavar="DIR", help="parity: multi-parallel dev text, one file or sub-directory per language code.")
@click.option("--dev-lang", "dev_items", multiple=True, metavar="CODE=PATH", help="parity: dev text of one language (repeatable).")
@click.option("--global-merges", type=click.IntRange(min=0), default=ParityOptions.global_merges, show_default=True, help="parity (hybrid): the first M merges on summed counts.")
@click.option("--window", type=click.IntRange(min=0), default=ParityOptions.window, show_default=True, help="parity (moving window): over the last W merges ...")
@click.option("--alpha", type=click.FloatRange(min=0, min_open=True), default=ParityOptions.alpha, show_default=True, help="... no language may take more than alpha/L of them.")
@click.option("--target-ratio", "target_ratios", multiple=True, metavar="CODE=X", help="parity (ratio variant, no dev set): target compression of a language relative to the others (default 1).")
@click.option("--exhausted", type=click.Choice(["stop", "skip"]), default="stop", show_default=True, help="parity: when the worst language has no pair as frequent as --min-frequency, stop (the reference) or let it drop out and go on.")
@click.option("--base", metavar="TOKENIZER", help="Start from this byte-level BPE (tokenizer.json, model dir, vocab.json + merges.txt) instead of bytes; its ids and merges are kept.")
@click.option("--transition", default="0.9", show_default=True, metavar="T", help="superbpe: vocabulary size where stage 2 starts (an integer), or a fraction of --vocab-size (with a decimal point: 0.9).")
@click.option("--stage2-pretokenizer", type=click.Choice(list(STAGE2_PRESETS)), default=SuperOptions.stage2_pretokenizer, show_default=True, help="superbpe: lines with digit, punctuation-run and multi-space splits (authors' recipe); digits: only digit groups (paper).")
@click.option("--max-words", type=click.IntRange(min=1), default=SuperOptions.max_words, show_default=True, help="superbpe: most words a stage-2 token may span.")
@click.option("--allow-colon-space", is_flag=True, help="superbpe: allow stage-2 tokens containing ': ' (filtered by default, as in the reference).")
@click.option("--max-line-bytes", type=click.IntRange(min=2), default=SuperOptions.max_line_bytes, show_default=True, help="superbpe: stage-2 pieces longer than this are left out (counted in train.json).")
@corpus_options(superbpe_note=True)
@engine_options
@click.option("-o", "--output", required=True, type=click.Path(), help="Output directory (tokenizer.json, vocab.json, merges.txt, train.json).")
@click.option("--force", is_flag=True, help="Replace an existing output directory.")
@common_options
def train(inputs, from_counts, vocab_size, algo, min_frequency, max_token_length, langs_dir, lang_items, dev_dir, dev_items, global_merges, window, alpha, target_ratios, exhausted, base, transition, stage2_pretokenizer, max_words, allow_colon_space, max_line_bytes, text_field, errors, pretokenizer, special_tokens, workers, max_bytes, sample_docs, seed, engine, address, output, force, quiet, debug):
    """Learn a byte-level BPE vocabulary from INPUTS (files, directories, globs, - for stdin).

    Plain text is read line by line; .jsonl needs --text-field; .gz and .zst are decompressed;
    .parquet, .arrow and `datasets` directories are read by column (--text-field, default text).
    Merges match Hugging Face's BpeTrainer: higher count first, ties to the smaller pair of ids.
    """
    from .. import train as api

    # everything read: the output (with --force) must not replace any of it
    read = [*inputs, *from_counts, langs_dir, dev_dir, base, *(i.partition("=")[2] for i in (*lang_items, *dev_items))]
    corpus = {"text_field": text_field, "errors": errors, "workers": workers, "max_bytes": max_bytes, "sample_docs": sample_docs, "seed": seed}
    if engine != "local" and (algo != "bpe" or base or from_counts):
        raise click.UsageError(f"--engine {engine} counts text for --algo bpe (without --base or --from-counts); count with `toktool count --engine {engine}` first")
    if algo == "parity":
        if inputs or from_counts or base:
            raise click.UsageError("--algo parity reads --langs DIR / --lang CODE=PATH (not INPUTS, --from-counts or --base)")
        train_src = api.language_sources(langs_dir, lang_items, "--lang")
        if not train_src:
            raise click.UsageError("--algo parity needs training text: --langs DIR or --lang CODE=PATH (repeatable)")
        dev_src = api.language_sources(dev_dir, dev_items, "--dev-lang", "--dev")
        ratios = _target_ratios(target_ratios) if target_ratios else None
        if ratios is not None and dev_src:
            raise click.UsageError("--target-ratio is the variant without a dev set; drop --dev/--dev-lang or --target-ratio")
        if ratios is None and not dev_src:
            raise click.UsageError("--algo parity needs a parallel dev set (--dev DIR or --dev-lang CODE=PATH), or --target-ratio for the variant without one")
        options = dict(
            vocab_size=vocab_size, min_frequency=ParityOptions.min_frequency if min_frequency is None else min_frequency,
            special_tokens=special_tokens, global_merges=global_merges, window=window, alpha=alpha, target_ratios=ratios,
            skip_exhausted=exhausted == "skip", **corpus,
        )
        if pretokenizer:
            options["pretokenizer"] = pretokenizer
        _check_sizes(vocab_size, special_tokens)
        check_not_input(output, read)
        check_output(output, force)
        with progress_bar(not quiet) as prog:
            trained = api.train_parity(train_src, dev_src, hooks=train_hooks(prog), **options)
        trained.save(output, force)
        if not quiet:
            _parity_summary(stderr_console(), output, trained)
        return
    if langs_dir or lang_items or dev_dir or dev_items or target_ratios:
        raise click.UsageError("--langs, --lang, --dev, --dev-lang and --target-ratio are for --algo parity")
    min_frequency = 0 if min_frequency is None else min_frequency
    if inputs and from_counts:
        raise click.UsageError("give either text INPUTS or --from-counts, not both")
    if from_counts and (max_bytes or sample_docs):
        raise click.UsageError("--max-bytes and --sample-docs choose text to count; they do not apply to --from-counts")
    if not inputs and not from_counts:
        raise click.UsageError("no input: give text files (or - for stdin) or --from-counts FILE")
    common = dict(min_frequency=min_frequency, max_token_length=max_token_length, **corpus)
    superword = algo == "superbpe"
    stage2 = dict(stage2_pretokenizer=stage2_pretokenizer, max_words=max_words, allow_colon_space=allow_colon_space, max_line_bytes=max_line_bytes)
    if superword or base:
        if from_counts:
            raise click.UsageError("--from-counts works with --algo bpe only (superbpe and --base count the text themselves)")
        if base and special_tokens:
            raise click.UsageError("--special-token cannot be combined with --base (the base's special tokens are kept)")
        _check_sizes(vocab_size, special_tokens)
        if base:
            # --algo bpe --base: --pretokenizer says how to count when the base's split is not one of ours
            call = lambda hooks: api.extend(list(inputs), base, vocab_size=vocab_size, superword=superword, pretokenizer=None if superword else pretokenizer, hooks=hooks, **stage2, **common)  # noqa: E731
        else:
            stage1 = {"stage1_pretokenizer": pretokenizer} if pretokenizer else {}
            _check_transition(transition, vocab_size, special_tokens)
            call = lambda hooks: api.train_superbpe(list(inputs), vocab_size=vocab_size, transition=transition, special_tokens=special_tokens, hooks=hooks, **stage1, **stage2, **common)  # noqa: E731
        check_not_input(output, read)
        check_output(output, force)
        with progress_bar(not quiet) as prog:
            trained = call(train_hooks(prog))
        trained.save(output, force)
        if not quiet:
            _staged_summary(stderr_console(), output, trained.info)
        return
    _check_sizes(vocab_size, special_tokens)
    check_not_input(output, read)
    check_output(output, force)
    with progress_bar(not quiet) as prog:
        trained = api.train_bpe(
            list(inputs), vocab_size=vocab_size, pretokenizer=pretokenizer, special_tokens=special_tokens,
            from_counts=list(from_counts), hooks=train_hooks(prog), engine=engine, address=address, **common,
        )
    trained.save(output, force)
    if not quiet:
        _train_summary(stderr_console(), output, trained)


def _check_sizes(vocab_size: int, special_tokens) -> None:
    from ..pretokenize import unique_specials
    from ..vocab import check_vocab_size

    check_vocab_size(vocab_size, unique_specials(special_tokens))


def _check_transition(transition: str, vocab_size: int, special_tokens) -> None:
    from ..pretokenize import unique_specials
    from ..train.superbpe import resolve_transition

    resolve_transition(transition, vocab_size, len(unique_specials(special_tokens)))


def _target_ratios(items) -> dict[str, float]:
    ratios = {}
    for item in items:
        code, eq, val = item.partition("=")
        try:
            ratios[code] = float(val)
        except ValueError:
            raise click.UsageError(f"--target-ratio {item!r}: expected CODE=NUMBER") from None
        if not eq or not code:
            raise click.UsageError(f"--target-ratio {item!r}: expected CODE=NUMBER")
    return ratios


def _parity_summary(console, output, trained) -> None:
    result = trained.details
    for part in ("train", "dev"):
        for code, sections in trained.info.get("languages", {}).items():
            for label, text in corpus_notes((sections or {}).get(part) or {}):
                console.print(f"{code} ({part}): {label}: {text}")
    rows = [{k: r.get(k) for k in ("language", "train_bytes_per_token", "dev_tokens", "merges_chosen")} for r in result.table]
    console.print(
        f"toktool train --algo parity → {output}: {result.bpe.vocab_size:,} tokens, {len(result.bpe.merges):,} merges, "
        f"{trained.info['timings']['total_s']:.2f} s ({result.stop})"
    )
    if len(rows) <= 40:
        console.print(rich_table(rows, ["language", "train_bytes_per_token", "dev_tokens", "merges_chosen"], None))


def _staged_summary(console, output, info: dict) -> None:
    from rich.table import Table

    t = Table(title=f"toktool train --algo {info['algo']} → {output}", show_header=False, box=None, pad_edge=False)
    t.add_column(style="bold")
    t.add_column()
    opts = info["options"]
    for label, text in corpus_notes(info.get("corpus") or {}):
        t.add_row(label, text)
    if opts.get("base"):
        t.add_row("base", f"{opts['base']['path']} ({opts['base']['vocab_size']:,} tokens)")
    for key, label in (("stage1", "stage 1"), ("stage2", "stage 2"), ("extension", "extension")):
        st = info.get(key)
        if not st:
            continue
        c = st["counts"]
        added = f"{st['vocab_size']:,} tokens" if key == "stage1" else f"+{st['new_tokens']:,} tokens"
        t.add_row(label, f"{st['pretokenizer']}: {c['unique_words']:,} unique pieces, {added}, {st['train_bytes_per_token']:.3f} bytes/token on the training text")
        drop = st.get("dropped_long_pieces") or {}
        if drop.get("pieces"):
            t.add_row("", f"left out {drop['pieces']:,} pieces longer than --max-line-bytes ({drop['bytes']:,} bytes)")
    t.add_row("vocab", f"{info['result']['vocab_size']:,} tokens, {info['result']['merges']:,} merges")
    _short_note(t, info["result"]["vocab_size"], opts)
    t.add_row("time", f"{info['timings']['total_s']:.2f} s")
    console.print(t)


def _short_note(table, got: int, opts: dict) -> None:
    """A row saying that training stopped below --vocab-size (no pair left as frequent as needed)."""
    want = opts.get("vocab_size")
    if want and got < want:
        floor = int(opts.get("min_frequency") or 0)
        why = f"no pair occurs {floor} times or more (--min-frequency)" if floor > 1 else "no pair left to merge (too little text for this vocabulary)"
        table.add_row("note", f"stopped at {got:,} of --vocab-size {want:,}: {why}")


def _train_summary(console, output, trained) -> None:
    from rich.table import Table

    info, result = trained.info, trained.result
    t = Table(title=f"toktool train → {output}", show_header=False, box=None, pad_edge=False)
    t.add_column(style="bold")
    t.add_column()
    corpus, counts, timings = info["corpus"], info["counts"], info["timings"]
    for label, text in corpus_notes(corpus):
        t.add_row(label, text)
    t.add_row("corpus", f"{counts['bytes']:,} bytes, {counts['total_words']:,} pre-tokens, {counts['unique_words']:,} unique")
    t.add_row("vocab", f"{result.vocab_size:,} tokens ({len(result.special_tokens)} special)")
    _short_note(t, result.vocab_size, info["options"])
    t.add_row("merges", f"{len(result.merges):,}")
    t.add_row("bytes/token", f"{result.train_bytes / max(1, result.train_tokens):.3f} on the training text")
    t.add_row("time", f"{timings['total_s']:.2f} s (count {timings['count_s']:.2f} s, merge {timings['merge_s']:.2f} s)")
    console.print(t)
