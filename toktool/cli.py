"""toktool's command line: parse options, call the library, render. No logic of its own.

Exit codes: 0 success; 2 bad usage or bad input (one line on stderr); 1 internal error (a bug);
130 interrupted. --debug (or TOKTOOL_DEBUG=1) shows tracebacks.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator

import click

from . import __version__
from .atomic import check_output
from .corpus import ERROR_POLICIES
from .errors import InputError, ToktoolError
from .pretokenize import PRESETS
from .report import FORMATS, print_table, progress_bar, render_rows, stderr_console

STAGE2_CHOICES = {"superbpe": "superbpe", "digits": "superbpe-digits"}
PRESET_HELP = "; ".join(f"{p.name}: {p.source}" for p in PRESETS.values())


def _common(f):
    f = click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary on stderr.")(f)
    f = click.option("--debug", is_flag=True, help="Show tracebacks on errors.")(f)
    return f


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="toktool")
def cli() -> None:
    """Train, inspect and use byte-level BPE tokenizers. Text on stdin, results on stdout,
    logs and progress on stderr."""


# --- shared option groups -----------------------------------------------------------------------


def _corpus_options(f):
    f = click.option("--text-field", metavar="NAME", help="Read inputs as JSON lines and take this field (dots for nesting).")(f)
    f = click.option(
        "--errors",
        type=click.Choice(ERROR_POLICIES),
        default="replace",
        show_default=True,
        help="Invalid UTF-8 lines: fail, replace bad bytes with U+FFFD, or skip the line (counted either way).",
    )(f)
    f = click.option(
        "--pretokenizer",
        type=click.Choice(list(PRESETS)),
        default=None,
        help=f"Pre-tokenizer preset [default: gpt2]. {PRESET_HELP}.",
    )(f)
    f = click.option("--special-token", "special_tokens", multiple=True, metavar="TOKEN", help="Special token (repeatable); cut out of the text before counting.")(f)
    f = click.option("--workers", type=click.IntRange(min=1), default=None, help="Counting processes [default: all cores].")(f)
    return f


def _count_progress(prog, total_bytes: int | None):
    if prog is None:
        return None
    task = prog.add_task("counting", total=(total_bytes // 1024 if total_bytes else None))

    def update(stats) -> None:
        prog.update(task, completed=stats.raw_read() // 1024)

    return update


# --- train ------------------------------------------------------------------------------------


@cli.command()
@click.argument("inputs", nargs=-1)
@click.option("--from-counts", "from_counts", multiple=True, metavar="FILE", help="Train on counts files from `toktool count` (summed) instead of text.")
@click.option("--vocab-size", type=click.IntRange(min=1), required=True, help="Target vocabulary size, special tokens included.")
@click.option("--algo", type=click.Choice(["bpe", "superbpe", "parity"]), default="bpe", show_default=True, help="bpe: byte-level BPE; superbpe: SuperBPE, subwords up to --transition then tokens across spaces; parity: parity-aware BPE over --langs.")
@click.option("--min-frequency", type=click.IntRange(min=0), default=None, help="Stop when the best pair is rarer than this [default: 0; parity: 2].")
@click.option("--max-token-length", type=click.IntRange(min=2), default=None, help="Longest token in bytes.")
@click.option("--langs", "langs_dir", metavar="DIR", help="parity: training text, one file or sub-directory per language code.")
@click.option("--lang", "lang_items", multiple=True, metavar="CODE=PATH", help="parity: training text of one language (repeatable).")
@click.option("--dev", "dev_dir", metavar="DIR", help="parity: multi-parallel dev text, one file or sub-directory per language code.")
@click.option("--dev-lang", "dev_items", multiple=True, metavar="CODE=PATH", help="parity: dev text of one language (repeatable).")
@click.option("--global-merges", type=click.IntRange(min=0), default=0, show_default=True, help="parity (hybrid): the first M merges on summed counts.")
@click.option("--window", type=click.IntRange(min=0), default=0, show_default=True, help="parity (moving window): over the last W merges ...")
@click.option("--alpha", type=click.FloatRange(min=0, min_open=True), default=2.0, show_default=True, help="... no language may take more than alpha/L of them.")
@click.option("--target-ratio", "target_ratios", multiple=True, metavar="CODE=X", help="parity (ratio variant, no dev set): target compression of a language relative to the others (default 1).")
@click.option("--exhausted", type=click.Choice(["stop", "skip"]), default="stop", show_default=True, help="parity: when the worst language has no pair as frequent as --min-frequency, stop (the reference) or let it drop out and go on.")
@click.option("--base", metavar="TOKENIZER", help="Start from this byte-level BPE (tokenizer.json, model dir, vocab.json + merges.txt) instead of bytes; its ids and merges are kept.")
@click.option("--transition", default="0.9", show_default=True, metavar="T", help="superbpe: vocabulary size where stage 2 starts, or a fraction of --vocab-size.")
@click.option("--stage2-pretokenizer", type=click.Choice(list(STAGE2_CHOICES)), default="superbpe", show_default=True, help="superbpe: lines with digit, punctuation-run and multi-space splits (authors' recipe); digits: only digit groups (paper).")
@click.option("--max-words", type=click.IntRange(min=1), default=4, show_default=True, help="superbpe: most words a stage-2 token may span.")
@click.option("--allow-colon-space", is_flag=True, help="superbpe: allow stage-2 tokens containing ': ' (filtered by default, as in the reference).")
@click.option("--max-line-bytes", type=click.IntRange(min=2), default=8192, show_default=True, help="superbpe: stage-2 pieces longer than this are left out (counted in train.json).")
@_corpus_options
@click.option("-o", "--output", required=True, type=click.Path(), help="Output directory (tokenizer.json, vocab.json, merges.txt, train.json).")
@click.option("--force", is_flag=True, help="Replace an existing output directory.")
@_common
def train(inputs, from_counts, vocab_size, algo, min_frequency, max_token_length, langs_dir, lang_items, dev_dir, dev_items, global_merges, window, alpha, target_ratios, exhausted, base, transition, stage2_pretokenizer, max_words, allow_colon_space, max_line_bytes, text_field, errors, pretokenizer, special_tokens, workers, output, force, quiet, debug):
    """Learn a byte-level BPE vocabulary from INPUTS (files, directories, globs, - for stdin).

    Plain text is read line by line; .jsonl needs --text-field; .gz and .zst are decompressed.
    Merges match Hugging Face's BpeTrainer: higher count first, ties to the smaller pair of ids.
    """
    from .corpus import expand_inputs, total_input_size
    from .pipeline import (
        TrainOptions,
        count_corpus,
        export_files,
        load_counts,
        train_from_counts,
        train_info,
        write_output_dir,
    )
    from .train.bpe import check_vocab_size

    if algo == "parity":
        if inputs or from_counts or base:
            raise click.UsageError("--algo parity reads --langs DIR / --lang CODE=PATH (not INPUTS, --from-counts or --base)")
        return _train_parity(langs_dir, lang_items, dev_dir, dev_items, vocab_size, 2 if min_frequency is None else min_frequency, global_merges, window, alpha, target_ratios, exhausted == "skip", text_field, errors, pretokenizer, special_tokens, workers, output, force, quiet)
    if langs_dir or lang_items or dev_dir or dev_items or target_ratios:
        raise click.UsageError("--langs, --lang, --dev, --dev-lang and --target-ratio are for --algo parity")
    min_frequency = 0 if min_frequency is None else min_frequency
    if inputs and from_counts:
        raise click.UsageError("give either text INPUTS or --from-counts, not both")
    if not inputs and not from_counts:
        raise click.UsageError("no input: give text files (or - for stdin) or --from-counts FILE")
    if algo == "superbpe" or base:
        if from_counts:
            raise click.UsageError("--from-counts works with --algo bpe only (superbpe and --base count the text themselves)")
        return _train_staged(inputs, vocab_size, algo, min_frequency, max_token_length, base, transition, stage2_pretokenizer, max_words, allow_colon_space, max_line_bytes, text_field, errors, pretokenizer, special_tokens, workers, output, force, quiet)
    specials = list(dict.fromkeys(special_tokens))
    check_vocab_size(vocab_size, specials)
    check_output(output, force)
    console = stderr_console(quiet)
    t_start = time.perf_counter()
    timings: dict = {}
    with progress_bar(not quiet) as prog:
        t0 = time.perf_counter()
        if from_counts:
            wc = load_counts(list(from_counts))
            preset = pretokenizer or wc.pretokenizer
            if specials and list(wc.special_tokens) != specials:
                raise ToktoolError("--special-token must match the special tokens the counts were made with")
            specials = specials or list(wc.special_tokens)
            check_vocab_size(vocab_size, specials)
        else:
            preset = pretokenizer or "gpt2"
            paths = expand_inputs(list(inputs))
            wc = count_corpus(paths, preset, text_field, errors, specials, workers, _count_progress(prog, total_input_size(paths)))
        timings["count_s"] = round(time.perf_counter() - t0, 3)
        opts = TrainOptions(vocab_size, preset, min_frequency, specials, max_token_length, algo)
        merge_task = prog.add_task("merging", total=vocab_size) if prog is not None else None

        def on_merge(_steps: int, vocab: int) -> None:
            if prog is not None:
                prog.update(merge_task, completed=vocab)

        result = train_from_counts(wc, opts, on_merge)
        timings.update(result.timings)
    timings["total_s"] = round(time.perf_counter() - t_start, 3)
    source = {"text_field": text_field, "errors": errors} if not from_counts else {"from_counts": list(from_counts)}
    info = train_info(opts, wc, result, timings, source)
    write_output_dir(output, export_files(result, preset, info), force)
    if not quiet:
        _train_summary(console, output, wc, result, timings)


def _merge_hook(prog):
    """StagedHooks.merge for a progress bar (or no bar): one task per merge phase, up to the vocab."""

    def hook(label: str, total: int):
        if prog is None:
            return None
        task = prog.add_task(label, total=total)
        return lambda _steps, vocab: prog.update(task, completed=vocab)

    return hook


def _train_parity(langs_dir, lang_items, dev_dir, dev_items, vocab_size, min_frequency, global_merges, window, alpha, target_ratios, skip_exhausted, text_field, errors, pretokenizer, special_tokens, workers, output, force, quiet):
    from .pipeline import StagedHooks, export_files, language_sources, train_parity_pipeline, write_output_dir
    from .train.bpe import check_vocab_size
    from .train.parity import ParityOptions

    specials = list(dict.fromkeys(special_tokens))
    check_vocab_size(vocab_size, specials)
    train_src = language_sources(langs_dir, lang_items, "--lang")
    if not train_src:
        raise click.UsageError("--algo parity needs training text: --langs DIR or --lang CODE=PATH (repeatable)")
    dev_src = language_sources(dev_dir, dev_items, "--dev-lang")
    ratios = None
    if target_ratios:
        if dev_src:
            raise click.UsageError("--target-ratio is the variant without a dev set; drop --dev/--dev-lang or --target-ratio")
        ratios = {}
        for item in target_ratios:
            code, eq, val = item.partition("=")
            try:
                ratios[code] = float(val)
            except ValueError:
                raise click.UsageError(f"--target-ratio {item!r}: expected CODE=NUMBER") from None
            if not eq or not code:
                raise click.UsageError(f"--target-ratio {item!r}: expected CODE=NUMBER")
    elif not dev_src:
        raise click.UsageError("--algo parity needs a parallel dev set (--dev DIR or --dev-lang CODE=PATH), or --target-ratio for the variant without one")
    opts = ParityOptions(vocab_size, min_frequency, specials, global_merges, window, alpha, ratios, skip_exhausted)
    preset = pretokenizer or "gpt2"
    check_output(output, force)
    console = stderr_console(quiet)
    with progress_bar(not quiet) as prog:

        result, info = train_parity_pipeline(train_src, dev_src, opts, preset, text_field, errors, workers, StagedHooks(merge=_merge_hook(prog)))
    write_output_dir(output, export_files(result.bpe, preset, info), force)
    if not quiet:
        rows = [{k: r.get(k) for k in ("language", "train_bytes_per_token", "dev_tokens", "merges_chosen")} for r in result.table]
        console.print(f"toktool train --algo parity → {output}: {result.bpe.vocab_size:,} tokens, {len(result.bpe.merges):,} merges, {info['timings']['total_s']:.2f} s ({result.stop})")
        if len(rows) <= 40:
            from .report import _rich_table

            console.print(_rich_table(rows, ["language", "train_bytes_per_token", "dev_tokens", "merges_chosen"], None))


def _train_staged(inputs, vocab_size, algo, min_frequency, max_token_length, base, transition, stage2_pretokenizer, max_words, allow_colon_space, max_line_bytes, text_field, errors, pretokenizer, special_tokens, workers, output, force, quiet):
    from .corpus import total_input_size
    from .pipeline import StagedHooks, train_staged, write_output_dir
    from .tokenizer_io import export_tokenizer_files
    from .train.bpe import check_vocab_size
    from .train.superbpe import SuperOptions, resolve_transition

    specials = list(dict.fromkeys(special_tokens))
    superword = algo == "superbpe"
    if base and specials:
        raise click.UsageError("--special-token cannot be combined with --base (the base's special tokens are kept)")
    check_vocab_size(vocab_size, specials)
    t = None if base else resolve_transition(transition, vocab_size, len(specials))
    opts = SuperOptions(
        vocab_size=vocab_size,
        transition=t,
        stage1_pretokenizer=pretokenizer or ("o200k" if superword else "gpt2"),
        stage2_pretokenizer=STAGE2_CHOICES[stage2_pretokenizer],
        max_words=max_words,
        allow_colon_space=allow_colon_space,
        max_line_bytes=max_line_bytes,
        min_frequency=min_frequency,
        max_token_length=max_token_length,
        special_tokens=specials,
    )
    check_output(output, force)
    console = stderr_console(quiet)
    with progress_bar(not quiet) as prog:

        def count_hook(label, paths):
            if prog is None:
                return None
            task = prog.add_task(label, total=(total_input_size(paths) or 0) // 1024 or None)
            return lambda stats: prog.update(task, completed=stats.raw_read() // 1024)

        hooks = StagedHooks(count=count_hook, merge=_merge_hook(prog))
        # --algo bpe --base: --pretokenizer says how to count when the base's split is not one of ours
        base_preset = pretokenizer if base and not superword else None
        tok, info = train_staged(inputs, opts, base, superword, text_field, errors, workers, hooks, base_preset=base_preset)
    write_output_dir(output, export_tokenizer_files(tok, info), force)
    if not quiet:
        _staged_summary(console, output, info)


def _staged_summary(console, output, info: dict) -> None:
    from rich.table import Table

    t = Table(title=f"toktool train --algo {info['algo']} → {output}", show_header=False, box=None, pad_edge=False)
    t.add_column(style="bold")
    t.add_column()
    opts = info["options"]
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
    t.add_row("time", f"{info['timings']['total_s']:.2f} s")
    console.print(t)


def _train_summary(console, output, wc, result, timings) -> None:
    from rich.table import Table

    t = Table(title=f"toktool train → {output}", show_header=False, box=None, pad_edge=False)
    t.add_column(style="bold")
    t.add_column()
    corpus = wc.corpus
    if corpus.get("invalid_utf8_lines"):
        t.add_row("invalid UTF-8", f"{corpus['invalid_utf8_lines']:,} lines ({corpus.get('errors_policy')})")
    t.add_row("corpus", f"{wc.total_bytes:,} bytes, {wc.total:,} pre-tokens, {len(wc):,} unique")
    t.add_row("vocab", f"{result.vocab_size:,} tokens ({len(result.special_tokens)} special)")
    t.add_row("merges", f"{len(result.merges):,}")
    t.add_row("bytes/token", f"{result.train_bytes / max(1, result.train_tokens):.3f} on the training text")
    t.add_row("time", f"{timings['total_s']:.2f} s (count {timings['count_s']:.2f} s, merge {timings['merge_s']:.2f} s)")
    console.print(t)


# --- count ------------------------------------------------------------------------------------


@cli.command()
@click.argument("inputs", nargs=-1, required=True)
@_corpus_options
@click.option("-o", "--output", required=True, type=click.Path(), help="Counts file to write (.counts).")
@click.option("--force", is_flag=True, help="Replace an existing output file.")
@_common
def count(inputs, text_field, errors, pretokenizer, special_tokens, workers, output, force, quiet, debug):
    """Count pre-tokens of INPUTS into a counts file: the shardable unit of training.

    Count shards on many machines, then `toktool train --from-counts shard*.counts`.
    """
    from .corpus import expand_inputs, total_input_size
    from .pipeline import count_corpus

    check_output(output, force)
    paths = expand_inputs(list(inputs))
    with progress_bar(not quiet) as prog:
        wc = count_corpus(paths, pretokenizer or "gpt2", text_field, errors, list(dict.fromkeys(special_tokens)), workers, _count_progress(prog, total_input_size(paths)))
    wc.save(output, force=force)
    if not quiet:
        stderr_console().print(f"{output}: {len(wc):,} unique pre-tokens, {wc.total:,} in all, {wc.total_bytes:,} bytes")


@cli.command("count-info")
@click.argument("files", nargs=-1, required=True)
@click.option("--top", "top_k", type=click.IntRange(min=0), default=20, show_default=True, help="Show the K most frequent pre-tokens.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@_common
def count_info(files, top_k, fmt, quiet, debug):
    """Summarise counts files (summed when several) and list the most frequent pre-tokens."""
    from .pipeline import load_counts

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


# --- encode / decode / count-tokens -------------------------------------------------------------


def _read_lines(stream, errors: str, where: str) -> Iterator[tuple[str, bool]]:
    """Yield (line without newline, had_newline). Splits on \\n only, so \\r and others round-trip."""
    lineno = 0
    for raw in stream:
        lineno += 1
        nl = raw.endswith(b"\n")
        if nl:
            raw = raw[:-1]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            if errors == "strict":
                raise InputError(f"{where}:{lineno}: invalid UTF-8 at byte {e.start} (use --errors replace)") from None
            text = raw.decode("utf-8", errors="replace")
        yield text, nl


def _chunks(it, n: int):
    buf = []
    for x in it:
        buf.append(x)
        if len(buf) >= n:
            yield buf
            buf = []
    if buf:
        yield buf


def _open_input(path: str | None):
    if path in (None, "-"):
        return sys.stdin.buffer, "<stdin>"
    try:
        return open(path, "rb"), path  # noqa: SIM115
    except OSError as e:
        raise InputError(f"{path}: cannot open: {e.strerror or e}") from None


@cli.command()
@click.argument("tokenizer")
@click.argument("input", required=False)
@click.option("--format", "fmt", type=click.Choice(["ids", "tokens", "json"]), default="ids", show_default=True, help="One output line per input line.")
@click.option("--tokens", "as_tokens", is_flag=True, help="Same as --format tokens.")
@click.option("--add-special-tokens", is_flag=True, help="Let the tokenizer's post-processor add BOS/EOS/CLS... tokens.")
@click.option("--errors", type=click.Choice(["strict", "replace"]), default="strict", show_default=True, help="Invalid UTF-8 in the input.")
@click.option("--batch-size", type=click.IntRange(min=1), default=4096, show_default=True)
@_common
def encode(tokenizer, input, fmt, as_tokens, add_special_tokens, errors, batch_size, quiet, debug):
    """Encode text, one line in → one line of ids (or tokens, or JSON) out.

    TOKENIZER is a toktool output directory, a tokenizer.json, or a directory with vocab.json +
    merges.txt. INPUT defaults to stdin. Encoding is done by the `tokenizers` library.
    """
    from .tokenizer_io import load_tokenizer

    if as_tokens:
        fmt = "tokens"
    tok = load_tokenizer(tokenizer)
    stream, where = _open_input(input)
    out = sys.stdout
    for chunk in _chunks(_read_lines(stream, errors, where), batch_size):
        encs = tok.tokenizer.encode_batch([t for t, _ in chunk], add_special_tokens=add_special_tokens)
        parts = []
        for enc, (_, nl) in zip(encs, chunk):
            if fmt == "ids":
                s = " ".join(map(str, enc.ids))
            elif fmt == "tokens":
                s = " ".join(enc.tokens)
            else:
                s = json.dumps({"ids": enc.ids, "tokens": enc.tokens}, ensure_ascii=False)
            parts.append(s + ("\n" if nl else ""))
        out.write("".join(parts))
    out.flush()


def _parse_ids(line: str, lineno: int, where: str, vocab_size: int) -> list[int]:
    s = line.strip()
    if not s:
        return []
    if s.startswith("{"):
        try:
            ids = json.loads(s)["ids"]
        except (ValueError, KeyError, TypeError):
            raise InputError(f"{where}:{lineno}: expected a JSON object with an \"ids\" list") from None
    elif s.startswith("["):
        try:
            ids = json.loads(s)
        except ValueError:
            raise InputError(f"{where}:{lineno}: malformed JSON list of ids") from None
    else:
        try:
            ids = [int(x) for x in s.split()]
        except ValueError:
            raise InputError(f"{where}:{lineno}: expected space-separated token ids") from None
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise InputError(f"{where}:{lineno}: ids must be integers")
    for i in ids:
        if i < 0 or i >= vocab_size:
            raise InputError(f"{where}:{lineno}: token id {i} is outside the vocabulary (0..{vocab_size - 1})")
    return ids


@cli.command()
@click.argument("tokenizer")
@click.argument("input", required=False)
@click.option("--skip-special-tokens", is_flag=True, help="Drop special tokens from the text.")
@click.option("--batch-size", type=click.IntRange(min=1), default=4096, show_default=True)
@_common
def decode(tokenizer, input, skip_special_tokens, batch_size, quiet, debug):
    """Decode ids back to text, one line in → one line out (ids as written by `encode`, or JSON)."""
    from .tokenizer_io import load_tokenizer

    tok = load_tokenizer(tokenizer)
    vs = tok.vocab_size
    stream, where = _open_input(input)
    lineno = 0
    for chunk in _chunks(_read_lines(stream, "strict", where), batch_size):
        ids = []
        for text, _ in chunk:
            lineno += 1
            ids.append(_parse_ids(text, lineno, where, vs))
        texts = tok.tokenizer.decode_batch(ids, skip_special_tokens=skip_special_tokens)
        sys.stdout.write("".join(t + ("\n" if nl else "") for t, (_, nl) in zip(texts, chunk)))
    sys.stdout.flush()


@cli.command("count-tokens")
@click.argument("tokenizer")
@click.argument("files", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--add-special-tokens", is_flag=True, help="Count the tokens the post-processor adds too.")
@_common
def count_tokens(tokenizer, files, fmt, add_special_tokens, quiet, debug):
    """Token counts per file and in total (FILES default to stdin). Each file is encoded whole."""
    from .corpus import expand_inputs
    from .tokenizer_io import load_tokenizer

    tok = load_tokenizer(tokenizer)
    paths = expand_inputs(list(files) or ["-"])
    rows = []
    with progress_bar(not quiet and len(paths) > 1) as prog:
        task = prog.add_task("encoding", total=len(paths)) if prog is not None else None
        for chunk in _chunks(paths, 64):
            texts = []
            for p in chunk:
                stream, where = _open_input(p)
                data = stream.read()
                if p != "-":
                    stream.close()
                try:
                    texts.append(data.decode("utf-8"))
                except UnicodeDecodeError as e:
                    raise InputError(f"{where}: invalid UTF-8 at byte {e.start}") from None
            encs = tok.tokenizer.encode_batch(texts, add_special_tokens=add_special_tokens)
            for p, t, e in zip(chunk, texts, encs):
                nb = len(t.encode("utf-8"))
                rows.append({"file": "<stdin>" if p == "-" else p, "tokens": len(e.ids), "bytes": nb, "bytes_per_token": round(nb / len(e.ids), 4) if e.ids else None})
            if prog is not None:
                prog.advance(task, len(chunk))
    tot_t = sum(r["tokens"] for r in rows)
    tot_b = sum(r["bytes"] for r in rows)
    rows.append({"file": "total", "tokens": tot_t, "bytes": tot_b, "bytes_per_token": round(tot_b / tot_t, 4) if tot_t else None})
    print_table(rows, ["file", "tokens", "bytes", "bytes_per_token"], fmt, extra={"tokenizer": tok.path, "tokenizer_sha256": tok.sha256})


# --- evaluate ---------------------------------------------------------------------------------


@cli.command()
@click.argument("tokenizers", nargs=-1, required=True, metavar="TOKENIZER... [-]")
@click.option("--data", "data_dir", metavar="DIR", help="Directory with one text file (<code>.txt[.gz|.zst]) or sub-directory per language; line-parallel for the parity metrics.")
@click.option("--text", "texts", multiple=True, metavar="[CODE=]FILE", help="A text file evaluated as its own 'language' (repeatable). '-' among the arguments reads stdin.")
@click.option("--langs", metavar="CODES", help="Comma-separated language codes to evaluate (in this order).")
@click.option("--pivot", metavar="CODE", help="Pivot language for the token premium [default: eng when present].")
@click.option("--baseline", metavar="TOKENIZER", help="Tokenizer the normalized sequence length (nsl) is measured against.")
@click.option("--metrics", "metrics_spec", metavar="LIST", help="Comma-separated metrics to compute [default: all the data supports].")
@click.option("--alpha", type=click.FloatRange(min=0, min_open=True), default=2.5, show_default=True, help="Order of the Rényi entropy in renyi_efficiency.")
@click.option("--name", "names", multiple=True, metavar="NAME", help="Display name for each tokenizer, in order (repeatable).")
@click.option("--tiktoken-pattern", metavar="NAME", help="Split pattern of .tiktoken files (gpt2, r50k_base, cl100k_base, o200k_base, ...) [default: from the file name].")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--by-language/--no-by-language", default=None, help="Show the per-language table on a terminal [default: with <= 40 languages].")
@click.option("--list-tokens", is_flag=True, help="JSON: list every never-used and unreachable token, not the first 20.")
@click.option("--plot", "plot_dir", metavar="DIR", help="Write PNG figures (token premium, Lorenz curves, bytes/token by script) here.")
@click.option("--force", is_flag=True, help="Replace existing plot files.")
@click.option("--errors", type=click.Choice(ERROR_POLICIES), default="strict", show_default=True, help="Invalid UTF-8 in the data.")
@_common
def evaluate(tokenizers, data_dir, texts, langs, pivot, baseline, metrics_spec, alpha, names, tiktoken_pattern, fmt, by_language, list_tokens, plot_dir, force, errors, quiet, debug):
    """Compression, fairness and information metrics for tokenizers side by side.

    TOKENIZER is a toktool output dir, an HF tokenizer.json or model dir, a sentencepiece .model or a
    .tiktoken file. Each line of the data is encoded on its own (no special tokens). One row per
    tokenizer x language plus an ALL row per tokenizer; a signature line pins tool version, tokenizer
    and data hashes and options.
    """
    from .adapters import open_tokenizer
    from .evaldata import load_eval_data
    from .evaluate import EvalOptions, parse_metrics
    from .evaluate import evaluate as run_evaluate

    stdin = "-" in tokenizers
    paths = [t for t in tokenizers if t != "-"]
    if not paths:
        raise click.UsageError("no tokenizer given")
    if len(names) > len(paths):
        raise click.UsageError(f"{len(names)} --name values for {len(paths)} tokenizers")
    wanted = parse_metrics(metrics_spec)
    if plot_dir:
        from .plots import check_plot_dir

        check_plot_dir(plot_dir, force)
    toks = [open_tokenizer(p, names[i] if i < len(names) else None, tiktoken_pattern) for i, p in enumerate(paths)]
    base = None
    if baseline:
        base = next((t for t in toks if t.path == baseline or t.name == baseline), None) or open_tokenizer(baseline, None, tiktoken_pattern)
    lang_list = [c.strip() for c in langs.split(",") if c.strip()] if langs else None
    data = load_eval_data(data_dir, list(texts), stdin, lang_list, errors)
    opts = EvalOptions(metrics=wanted, pivot=pivot, baseline=base, alpha=alpha, errors=errors, list_tokens=list_tokens)
    with progress_bar(not quiet) as prog:
        task = prog.add_task("encoding", total=len(toks) * len(data.languages)) if prog is not None else None
        result = run_evaluate(toks, data, opts, (lambda n: prog.advance(task, n)) if prog is not None else None)
    console = stderr_console(quiet)
    for note in result.notes:
        console.print(f"note: {note}")
    _print_evaluation(result, fmt, by_language, console)
    if plot_dir:
        from .plots import write_plots

        for path in write_plots(result, plot_dir, force):
            console.print(f"wrote {path}")


def _metrics_epilog() -> str:
    from .metric_defs import METRICS

    return "\b\nMetrics:\n" + "\n".join(f"  {k:<18} {v[1]}" for k, v in METRICS.items())


evaluate.epilog = _metrics_epilog()


def _print_evaluation(result, fmt: str, by_language: bool | None, console) -> None:
    from .evaluate import ALL

    if fmt == "json":
        sys.stdout.write(json.dumps(result.as_json(), ensure_ascii=False, indent=2) + "\n")
        return
    if fmt != "table":
        sys.stdout.write(render_rows(result.rows, result.columns, fmt))
        if fmt == "md":
            sys.stdout.write(f"\n`{result.signature}`\n")
        else:  # a comment line would break CSV readers: the signature goes to stderr
            console.print(result.signature, soft_wrap=True)
        return
    # transposed: metrics as rows, one column per tokenizer, so any number of metrics fits a terminal
    summary = [r for r in result.rows if r["language"] == ALL]
    toks = [r["tokenizer"] for r in summary]
    info = {t["name"]: t for t in result.tokenizers}
    table = [{"metric": "vocab_size", **{t: info[t]["vocab_size"] for t in toks}}]
    for c in ["tokens", *result.columns[8:]]:
        if any(r.get(c) is not None for r in summary):
            table.append({"metric": c, **{r["tokenizer"]: r.get(c) for r in summary}})
    n_langs = len({r["language"] for r in result.rows if r["language"] != ALL})
    print_table(table, ["metric", *toks], "table", title=f"all {n_langs} languages" if n_langs > 1 else None)
    if by_language or (by_language is None and 1 < n_langs <= 40):
        for metric, title in (("bytes_per_token", "bytes per token"), ("token_premium", f"token premium vs {result.options.get('pivot')}")):
            if metric not in result.columns:
                continue
            per: dict[str, dict] = {}
            for r in result.rows:
                if r["language"] != ALL:
                    per.setdefault(r["language"], {"language": r["language"], "script": r["script"]})[r["tokenizer"]] = r.get(metric)
            print_table(list(per.values()), ["language", "script", *toks], "table", title=title)
    sys.stdout.write(result.signature + "\n")


# --- transplant --------------------------------------------------------------------------------


@cli.command()
@click.argument("base", metavar="BASE_MODEL_DIR")
@click.option("--tokenizer", "new_tokenizer", required=True, metavar="PATH", help="The new tokenizer: a toktool output dir, a tokenizer.json, or a model dir that has one.")
@click.option("-o", "--output", metavar="DIR", help="Output model directory (required unless --dry-run).")
@click.option("--method", type=click.Choice(["auto", "zero", "random", "mean", "fvt", "omp"]), default="auto", show_default=True, help="Rows for tokens the model does not have; auto = omp with --donor/--aux-corpus, else fvt. Shared tokens are always copied.")
@click.option("--donor", metavar="DIR", help="OMP donor: a model dir whose embeddings already use the new tokenizer.")
@click.option("--aux-corpus", "aux_corpus", multiple=True, metavar="PATH", help="OMP without a donor model: text to learn token vectors from (PPMI + SVD), encoded with the new tokenizer (repeatable).")
@click.option("--k", "k", type=click.IntRange(min=1), default=64, show_default=True, help="OMP: anchor tokens per new token (at most).")
@click.option("--omp-candidates", type=click.IntRange(min=0), default=256, show_default=True, help="OMP: anchors each new token may choose from (its most similar); 0 = all (exact OMP, slow).")
@click.option("--aux-dim", type=click.IntRange(min=2), default=256, show_default=True, help="Dimension of the --aux-corpus token vectors.")
@click.option("--aux-window", type=click.IntRange(min=1), default=5, show_default=True, help="Co-occurrence window (tokens each side) for --aux-corpus.")
@click.option("--aux-min-count", type=click.IntRange(min=1), default=30, show_default=True, help="Tokens seen fewer times in --aux-corpus get no vector (FVT rows instead of OMP; rare anchors are not used).")
@click.option("--omp-norm", type=click.Choice(["fvt", "none"]), default="fvt", show_default=True, help="Length of OMP rows: that of the token's FVT row (least-squares weights can be large, and a long row dominates a tied output head), or as solved.")
@click.option("--device", metavar="DEVICE", help="Run OMP through torch on this device (cuda, cuda:1, cpu); default: numpy/Numba on the CPU.")
@click.option("--precision", type=click.Choice(["fp32", "fp64"]), default="fp32", show_default=True, help="OMP arithmetic of the candidate scan (the factorisation is always float64).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --method random and of the SVD.")
@click.option("--add-specials/--no-add-specials", default=True, show_default=True, help="Give the new tokenizer the model's special tokens it lacks ([CLS], [SEP], ...) and the model's post-processor when it has none.")
@click.option("--allow-pickle", is_flag=True, help="Accept pytorch_model.bin weights (a pickle can run code: only for files you trust).")
@click.option("--report", "report_path", metavar="FILE", help="Also write the report as JSON here.")
@click.option("--dry-run", is_flag=True, help="Match vocabularies and report what each row would be; compute and write nothing.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--force", is_flag=True, help="Replace an existing output directory / report file.")
@_common
def transplant(base, new_tokenizer, output, method, donor, aux_corpus, k, omp_candidates, aux_dim, aux_window, aux_min_count, omp_norm, device, precision, seed, add_specials, allow_pickle, report_path, dry_run, fmt, force, quiet, debug):
    """Give a model embeddings for a new tokenizer, training-free.

    Tokens both tokenizers share are copied bit for bit (matched after normalising byte-level Ġ,
    sentencepiece ▁, byte fallback and WordPiece ## conventions; special tokens by role). The other
    rows come from --method. Only the embedding tensors change; every other file and tensor is
    copied byte for byte, tied heads stay tied, config.json gets the new vocab_size and the new
    tokenizer files go into the output. The base directory is never modified.
    """
    from .transplant.core import Options, make_plan
    from .transplant.core import transplant as run_transplant

    if not dry_run and not output:
        raise click.UsageError("-o/--output is required (or use --dry-run)")
    if output:
        check_output(output, force)
    if report_path:
        check_output(report_path, force)
    if donor and aux_corpus:
        raise click.UsageError("give --donor or --aux-corpus, not both")
    if (donor or aux_corpus) and method not in ("auto", "omp"):
        raise click.UsageError(f"--donor/--aux-corpus are OMP inputs; --method {method} does not use them")
    if device:
        from .transplant.omp_torch import check_device

        check_device(device)
    opts = Options(method=method, k=k, candidates=omp_candidates, donor=donor, aux_corpus=list(aux_corpus), aux_dim=aux_dim, aux_window=aux_window, aux_min_count=aux_min_count, omp_norm=omp_norm, device=device, seed=seed, allow_pickle=allow_pickle, add_specials=add_specials, precision=precision)
    console = stderr_console(quiet)
    if dry_run:
        report = make_plan(base, new_tokenizer, opts).summary()
        report["dry_run"] = True
    else:
        report = run_transplant(base, new_tokenizer, output, opts, force, log=lambda s: console.print(s))
    if report_path:
        from .atomic import write_bytes_atomic

        write_bytes_atomic(report_path, (json.dumps(report, indent=2, ensure_ascii=False) + "\n").encode("utf-8"), force)
    def shown(v):
        if isinstance(v, bool):
            return "yes" if v else "no"
        return json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v

    rows = [{"field": key, "value": shown(v)} for key, v in report.items()]
    if fmt == "json":
        sys.stdout.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    else:
        print_table(rows, ["field", "value"], fmt, title="transplant (dry run)" if dry_run else "transplant")


# --- entry point --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
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

