"""The train pipeline as library calls: corpus → WordCounts → merges → output directory.

The CLI only parses options and renders; everything here is usable from Python (`import toktool`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .atomic import atomic_dir
from .corpus import CorpusStats, expand_inputs, iter_texts
from .counts import WordCounts
from .errors import ToktoolError
from .piececount import SortedCounts
from .pretokenize import count_words_parts_multi, get_preset
from .train.bpe import BPEResult, train_bpe


def count_corpus(
    inputs: Sequence[str],
    pretokenizer: str = "gpt2",
    text_field: str | None = None,
    errors: str = "replace",
    special_tokens: Sequence[str] = (),
    workers: int | None = None,
    on_progress: Callable[[CorpusStats], None] | None = None,
) -> WordCounts:
    """Stream the inputs once and count their pre-tokens."""
    return count_corpus_multi(inputs, [pretokenizer], text_field, errors, special_tokens, workers, on_progress)[0]


def count_corpus_multi(
    inputs: Sequence[str],
    pretokenizers: Sequence[str],
    text_field: str | None = None,
    errors: str = "replace",
    special_tokens: Sequence[str] = (),
    workers: int | None = None,
    on_progress: Callable[[CorpusStats], None] | None = None,
) -> list[WordCounts]:
    """One pass over the inputs, counted with each pre-tokenizer (stdin works: it is read once)."""
    for p in pretokenizers:
        get_preset(p)
    paths = expand_inputs(inputs)
    stats = CorpusStats()
    texts = iter_texts(paths, text_field=text_field, errors=errors, stats=stats)
    counted = count_words_parts_multi(
        texts,
        list(pretokenizers),
        special_tokens,
        workers=workers,
        on_batch=(lambda: on_progress(stats)) if on_progress else None,
    )
    if on_progress:
        on_progress(stats)
    corpus = stats.as_dict()
    out = []
    for preset, c in zip(pretokenizers, counted):
        if isinstance(c, dict):
            wc = WordCounts.from_mapping(c, preset, special_tokens, corpus)
        elif isinstance(c, SortedCounts):
            wc = WordCounts(c.data, c.offsets, c.counts, preset, list(special_tokens), corpus)
        else:
            wc = WordCounts.from_compact_parts(c, preset, special_tokens, corpus)
        if len(wc) == 0:
            where = ", ".join(i["path"] for i in corpus["inputs"]) or "the inputs"
            raise ToktoolError(f"empty corpus: no text found in {where}")
        out.append(wc)
    return out


def load_counts(paths: Sequence[str]) -> WordCounts:
    files = expand_inputs(paths)
    if "-" in files:
        raise ToktoolError("--from-counts reads files, not stdin")
    parts = [WordCounts.load(p) for p in files]
    for p, wc in zip(files, parts):
        wc.corpus = dict(wc.corpus, counts_file=p)
    wc = WordCounts.merge(parts)
    if len(wc) == 0:
        raise ToktoolError("empty corpus: the counts files hold no words")
    return wc


@dataclass
class TrainOptions:
    vocab_size: int
    pretokenizer: str = "gpt2"
    min_frequency: int = 0
    special_tokens: list[str] = field(default_factory=list)
    max_token_length: int | None = None
    algo: str = "bpe"


def train_info(opts: TrainOptions, wc: WordCounts, result: BPEResult, timings: dict, extra: dict | None = None) -> dict:
    """Everything needed to reproduce the run (train.json). Only `timings` differs between runs."""
    return {
        "toktool_version": __version__,
        "algo": opts.algo,
        "options": {
            "vocab_size": opts.vocab_size,
            "pretokenizer": opts.pretokenizer,
            "min_frequency": opts.min_frequency,
            "special_tokens": opts.special_tokens,
            "max_token_length": opts.max_token_length,
            **(extra or {}),
        },
        "corpus": wc.corpus,
        "counts": {"unique_words": len(wc), "total_words": wc.total, "bytes": wc.total_bytes},
        "result": {
            "vocab_size": result.vocab_size,
            "merges": len(result.merges),
            "merge_steps": result.merges_raw,
            "train_tokens": result.train_tokens,
            "train_bytes": result.train_bytes,
            "train_bytes_per_token": round(result.train_bytes / max(1, result.train_tokens), 6),
        },
        "timings": timings,
    }


def train_from_counts(
    wc: WordCounts, opts: TrainOptions, on_progress: Callable[[int, int], None] | None = None
) -> BPEResult:
    if wc.pretokenizer != opts.pretokenizer:
        raise ToktoolError(
            f"counts were made with pre-tokenizer {wc.pretokenizer!r}, not {opts.pretokenizer!r} (pass --pretokenizer {wc.pretokenizer})"
        )
    return train_bpe(
        wc,
        opts.vocab_size,
        min_frequency=opts.min_frequency,
        special_tokens=opts.special_tokens,
        max_token_length=opts.max_token_length,
        on_progress=on_progress,
    )


def export_files(result: BPEResult, preset: str, info: dict) -> dict[str, bytes]:
    from .tokenizer_io import export_files as _export  # imports `tokenizers`: only when writing

    return _export(result, preset, info)


def write_output_dir(out: str | Path, files: dict[str, bytes], force: bool) -> Path:
    with atomic_dir(out, force=force) as tmp:
        for name, data in files.items():
            (tmp / name).write_bytes(data)
    return Path(out)


@dataclass
class StagedHooks:
    """Progress callbacks for multi-stage training (the CLI draws bars; Python callers may ignore)."""

    count: Callable[[str, list[str]], Callable[[CorpusStats], None] | None] = lambda label, paths: None
    merge: Callable[[str, int], Callable[[int, int], None] | None] = lambda label, total: None


def train_staged(
    inputs: Sequence[str],
    opts,  # train.superbpe.SuperOptions
    base_path: str | None,
    superword: bool,
    text_field: str | None = None,
    errors: str = "replace",
    workers: int | None = None,
    hooks: StagedHooks | None = None,
    base_preset: str | None = None,
):
    """SuperBPE (stage 1 + stage 2) or extending a base tokenizer (superword or plain BPE).

    Returns (tokenizers.Tokenizer, train.json dict)."""
    from .train.extend import load_base
    from .train.superbpe import output_tokenizer, run_stage2, train_stage1

    hooks = hooks or StagedHooks()
    t_start = time.perf_counter()
    paths = expand_inputs(inputs)
    info: dict = {"toktool_version": __version__, "algo": "superbpe" if superword else "bpe"}
    timings: dict = {}
    corpus = None
    stage2_counts = None
    if base_path is not None:
        base = load_base(base_path)
        if base_preset:
            base.preset = get_preset(base_preset).name
        if opts.vocab_size <= base.size:
            raise ToktoolError(f"--vocab-size {opts.vocab_size} must be larger than the base's {base.size} tokens ({base_path})")
        stages = 1
    else:
        # both stages' counts in one pass over the text
        stages = 2
        t0 = time.perf_counter()
        presets = [opts.stage1_pretokenizer, opts.stage2_pretokenizer]
        wc1, stage2_counts = count_corpus_multi(paths, presets, text_field, errors, opts.special_tokens, workers, hooks.count("counting", paths))
        timings["count_s"] = round(time.perf_counter() - t0, 3)
        corpus = wc1.corpus
        base, info["stage1"] = train_stage1(wc1, opts, hooks.merge("merge 1/2", opts.transition))
        del wc1
    label = "" if stages == 1 else " 2/2"

    def count(preset: str, specials: Sequence[str]) -> WordCounts:
        nonlocal stage2_counts
        if stage2_counts is not None and stage2_counts.pretokenizer == preset:
            wc, stage2_counts = stage2_counts, None  # handed over: stage 2 frees what it no longer needs
            return wc
        return count_corpus(paths, preset, text_field, errors, specials, workers, hooks.count("counting", paths))

    t0 = time.perf_counter()
    ext, wc2, info["stage2" if superword else "extension"] = run_stage2(base, count, opts, superword, hooks.merge("merge" + label, opts.vocab_size))
    timings["stage2_s" if superword else "extend_s"] = round(time.perf_counter() - t0, 3)
    corpus = corpus or wc2.corpus
    tok = output_tokenizer(base, ext, superword, opts)
    timings["total_s"] = round(time.perf_counter() - t_start, 3)
    stage_info = info.get("stage2") or info.get("extension") or {}
    info["options"] = {
        "vocab_size": opts.vocab_size,
        "pretokenizer": stage_info.get("pretokenizer"),
        "stage1_pretokenizer": None if base_path else opts.stage1_pretokenizer,
        "transition": None if base_path else opts.transition,
        "base": None if base_path is None else {"path": base_path, "vocab_size": base.size},
        "max_words": opts.max_words if superword else None,
        "allow_colon_space": opts.allow_colon_space if superword else None,
        "max_line_bytes": opts.max_line_bytes if superword else None,
        "min_frequency": opts.min_frequency,
        "special_tokens": [a["content"] for a in base.spec.get("added_tokens") or []],
        "max_token_length": opts.max_token_length,
        "text_field": text_field,
        "errors": errors,
    }
    info["corpus"] = corpus
    info["result"] = {"vocab_size": tok.get_vocab_size(with_added_tokens=True), "merges": len(base.merges) + len(ext.new_merges)}
    info["timings"] = timings
    return tok, info


def language_sources(dir_: str | None, items: Sequence[str], what: str) -> dict[str, list[str]]:
    """`--langs DIR` (one file or sub-directory per language code) plus `--lang CODE=PATH` items."""
    from .evaldata import discover_dir

    out: dict[str, list[str]] = {}
    if dir_:
        out.update(discover_dir(Path(dir_)))
    for item in items:
        code, eq, path = item.partition("=")
        if not eq or not code or not path:
            raise ToktoolError(f"{what} {item!r}: expected CODE=PATH")
        if code in out:
            raise ToktoolError(f"{what}: language {code!r} given twice")
        out[code] = expand_inputs([path])
    return out


def train_parity_pipeline(
    train_sources: dict[str, list[str]],
    dev_sources: dict[str, list[str]],
    opts,  # train.parity.ParityOptions
    pretokenizer: str,
    text_field: str | None = None,
    errors: str = "replace",
    workers: int | None = None,
    hooks: StagedHooks | None = None,
):
    """Count every language (and its dev text), check the dev set is line-parallel, train.

    Returns (ParityResult, train.json dict)."""
    from .train.parity import train_parity

    hooks = hooks or StagedHooks()
    t_start = time.perf_counter()
    if len(train_sources) < 2:
        raise ToktoolError(f"parity-aware BPE needs at least two languages (got {len(train_sources)})")
    if dev_sources:
        missing = sorted(set(train_sources) - set(dev_sources))
        extra = sorted(set(dev_sources) - set(train_sources))
        if missing:
            raise ToktoolError(f"no dev text for language(s) {', '.join(missing)} (every training language needs one)")
        if extra:
            raise ToktoolError(f"dev text for language(s) {', '.join(extra)} that have no training text")
    train: dict[str, WordCounts] = {}
    for code, paths in train_sources.items():
        train[code] = count_corpus(paths, pretokenizer, text_field, errors, opts.special_tokens, workers, hooks.count(f"count {code}", paths))
    dev: dict[str, WordCounts] = {}
    for code in train_sources:
        if code in dev_sources:
            dev[code] = count_corpus(dev_sources[code], pretokenizer, text_field, errors, opts.special_tokens, workers)
    if dev:
        lines = {code: wc.corpus.get("texts", 0) for code, wc in dev.items()}
        if len(set(lines.values())) > 1:
            first = next(iter(lines))
            odd = [c for c in lines if lines[c] != lines[first]]
            raise ToktoolError(
                f"dev files are not line-parallel: {first} has {lines[first]} lines, "
                + ", ".join(f"{c} has {lines[c]}" for c in odd[:3])
            )
    t_count = time.perf_counter() - t_start
    result = train_parity(train, dev or None, opts, hooks.merge("merging", opts.vocab_size))
    info = {
        "toktool_version": __version__,
        "algo": "parity",
        "options": {
            "vocab_size": opts.vocab_size,
            "pretokenizer": pretokenizer,
            "min_frequency": opts.min_frequency,
            "special_tokens": opts.special_tokens,
            "global_merges": opts.global_merges,
            "window": opts.window,
            "alpha": opts.alpha,
            "target_ratios": opts.target_ratios,
            "exhausted": "skip" if opts.skip_exhausted else "stop",
            "variant": "ratio" if opts.target_ratios is not None else ("window" if opts.window else ("hybrid" if opts.global_merges else "base")),
            "text_field": text_field,
            "errors": errors,
        },
        "languages": {code: {"train": train[code].corpus, "dev": dev[code].corpus if code in dev else None} for code in train},
        "result": {
            "vocab_size": result.bpe.vocab_size,
            "merges": len(result.bpe.merges),
            "merge_steps": result.bpe.merges_raw,
            "train_tokens": result.bpe.train_tokens,
            "train_bytes": result.bpe.train_bytes,
            "stop": result.stop,
        },
        "per_language": result.table,
        "merge_languages": result.merge_languages,
        "timings": {"count_s": round(t_count, 3), **result.bpe.timings, "total_s": round(time.perf_counter() - t_start, 3)},
    }
    return result, info


def timed() -> Callable[[], float]:
    t0 = time.perf_counter()
    return lambda: round(time.perf_counter() - t0, 3)


__all__ = [
    "StagedHooks",
    "TrainOptions",
    "train_staged",
    "count_corpus",
    "export_files",
    "load_counts",
    "train_from_counts",
    "train_info",
    "write_output_dir",
]
