"""The training workflows as library calls: text (or counts) -> WordCounts -> merges -> `Trained`.

Every algorithm has the same shape: count the corpus (one pass, every preset it needs), learn
merges, build the `tokenizers.Tokenizer`, and describe the run in one `train.json` built by
`train_info`. The CLI only parses options into these calls and renders what they return; from Python:

    >>> import toktool
    >>> trained = toktool.train_bpe(["data/sample"], vocab_size=300)     # doctest: +SKIP
    >>> trained.save("tok/")                                               # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .._version import __version__
from ..atomic import write_dir
from ..corpus import CorpusStats, discover_dir, expand_inputs
from ..count import WordCounts, count_corpus, count_corpus_multi, count_with_engine, load_counts
from ..errors import ToktoolError
from ..options import STAGE2_PRESETS, BPEOptions, CorpusOptions, ParityOptions, SuperOptions
from ..pretokenize import DEFAULT_PRESET, get_preset, unique_specials
from ..vocab import BPEResult, check_vocab_size
from .bpe import learn_bpe
from .parity import learn_parity
from .superbpe import counts_info, resolve_transition, run_stage2, train_stage1

# --- options --------------------------------------------------------------------------------


@dataclass
class TrainHooks:
    """Progress callbacks (the CLI draws bars with them; Python callers may leave them out).

    count(label, paths) -> a callback taking the CorpusStats as counting goes, or None;
    merge(label, total) -> a callback taking (merge steps, vocabulary size), or None."""

    count: Callable[[str, list[str]], Callable[[CorpusStats], None] | None] = lambda label, paths: None
    merge: Callable[[str, int], Callable[[int, int], None] | None] = lambda label, total: None


# --- the result -------------------------------------------------------------------------------


@dataclass
class Trained:
    """A trained tokenizer, ready to save.

    tokenizer: the `tokenizers.Tokenizer` (what `tokenizer.json` holds).
    info: the `train.json` content (options, corpus statistics and input hashes, results, timings).
    result: for BPE and parity-aware BPE, the vocabulary and merges as ids and bytes.
    details: algorithm-specific extras (parity: the ParityResult with its per-language table)."""

    tokenizer: Any
    info: dict
    result: BPEResult | None = None
    details: Any = None

    def files(self) -> dict[str, bytes]:
        """tokenizer.json, vocab.json, merges.txt and train.json (with the others' SHA-256) as bytes:
        the same input and options give the same bytes, except train.json's timings."""
        from ..hf import export_tokenizer_files

        return export_tokenizer_files(self.tokenizer, self.info)

    def save(self, out: str | Path, force: bool = False) -> Path:
        """Write `files()` into the directory `out`, atomically (all or nothing). Raises
        OutputExistsError when `out` exists and `force` is False."""
        return write_dir(out, self.files(), force)


def train_info(algo: str, options: dict, corpus: dict | None, result: dict, timings: dict, **sections: Any) -> dict:
    """The one train.json builder: everything needed to reproduce the run. Keys in order:
    toktool_version, algo, options, corpus (omitted when None), the algorithm's `sections`, result,
    timings. Only `timings` differs between two runs of the same input and options."""
    info: dict = {"toktool_version": __version__, "algo": algo, "options": options}
    if corpus is not None:
        info["corpus"] = corpus
    info.update(sections)
    info["result"] = result
    info["timings"] = timings
    return info


def _bpe_result_info(result: BPEResult) -> dict:
    return {
        "vocab_size": result.vocab_size,
        "merges": len(result.merges),
        "merge_steps": result.merges_raw,
        "train_tokens": result.train_tokens,
        "train_bytes": result.train_bytes,
        "train_bytes_per_token": round(result.train_bytes / max(1, result.train_tokens), 6),
    }


def _paths(inputs) -> list[str]:
    """One path (str or Path) or a sequence of them, as a list: a str is never read letter by letter."""
    if isinstance(inputs, (str, Path)):
        return [str(inputs)]
    return [str(i) for i in inputs]


def _seconds(t0: float) -> float:
    return round(time.perf_counter() - t0, 3)


# --- byte-level BPE ---------------------------------------------------------------------------


def train_bpe(
    inputs: Sequence[str] = (),
    *,
    vocab_size: int,
    pretokenizer: str | None = None,
    min_frequency: int = BPEOptions.min_frequency,
    special_tokens: Sequence[str] = (),
    max_token_length: int | None = BPEOptions.max_token_length,
    from_counts: Sequence[str] | str | WordCounts = (),
    text_field: str | None = CorpusOptions.text_field,
    errors: str = CorpusOptions.errors,
    workers: int | None = CorpusOptions.workers,
    max_bytes: int | None = CorpusOptions.max_bytes,
    sample_docs: float | None = CorpusOptions.sample_docs,
    seed: int = CorpusOptions.seed,
    hooks: TrainHooks | None = None,
    engine: str = "local",
    address: str | None = None,
) -> Trained:
    """Train a byte-level BPE tokenizer on text files (or on counts from `count_corpus`).

    Merges are identical to Hugging Face's `BpeTrainer` on the same pre-tokens (higher count first,
    ties to the smaller pair of ids; Sennrich et al. 2016, GPT-2's byte-level BPE).

    inputs: files, directories, globs or "-" (stdin); text read line by line, .jsonl with
        `text_field`, .gz/.zst decompressed. Give either inputs or from_counts.
    vocab_size: tokens in all (256 byte tokens + special tokens + merges).
    pretokenizer: preset name (default: the counts' preset, else "gpt2").
    min_frequency: stop when the best pair occurs fewer times; max_token_length in bytes.
    special_tokens: first ids, in order; cut out of the text before counting.
    from_counts: counts files (summed), counts directories (`count_to_dir`; shards merged as sorted
        runs), a mix, one path, or a WordCounts, instead of text.
    text_field, errors, workers, max_bytes, sample_docs, seed: see CorpusOptions. hooks: progress
    callbacks.
    engine: who counts text inputs, "local" (process pool) or "ray" (`address`: None starts a local
        Ray, "auto" / "ray://host:port" joins a cluster); the tokenizer is byte-identical either way.

    Returns a Trained (`.save(dir)` writes tokenizer.json, vocab.json, merges.txt, train.json).
    Raises ToktoolError for bad options or an empty corpus, InputError (a ToktoolError) for an
    unreadable input, naming the file and line."""
    hooks = hooks or TrainHooks()
    inputs = _paths(inputs)
    corpus_opts = CorpusOptions(text_field, errors, workers, max_bytes, sample_docs, seed)
    corpus_opts.check()
    sampling = corpus_opts.sampling()
    specials = unique_specials(special_tokens)
    check_vocab_size(vocab_size, specials)
    if isinstance(from_counts, (str, Path)):
        from_counts = [str(from_counts)]
    if bool(inputs) == bool(from_counts if not isinstance(from_counts, WordCounts) else True):
        raise ToktoolError("give either text inputs or counts (from_counts), not both and not neither")
    if from_counts and sampling is not None:
        raise ToktoolError("--max-bytes and --sample-docs choose text to count; they do not apply to --from-counts")
    t_start = time.perf_counter()
    timings: dict = {}
    if from_counts:
        wc = from_counts if isinstance(from_counts, WordCounts) else load_counts(list(from_counts))
        preset = pretokenizer or wc.pretokenizer
        if specials and list(wc.special_tokens) != specials:
            raise ToktoolError("--special-token must match the special tokens the counts were made with")
        specials = specials or list(wc.special_tokens)
        check_vocab_size(vocab_size, specials)
        source: dict = {"from_counts": [] if isinstance(from_counts, WordCounts) else list(from_counts)}
    else:
        preset = get_preset(pretokenizer or DEFAULT_PRESET).name
        paths = expand_inputs(list(inputs))
        wc = count_with_engine(
            paths, preset, text_field, errors, specials, workers, engine, address, hooks.count("counting", paths), sampling
        )
        source = {"text_field": text_field, "errors": errors, **(sampling.as_dict() if sampling else {})}
    timings["count_s"] = _seconds(t_start)
    opts = BPEOptions(vocab_size, preset, min_frequency, specials, max_token_length)
    if wc.pretokenizer != opts.pretokenizer:
        raise ToktoolError(
            f"counts were made with pre-tokenizer {wc.pretokenizer!r}, not {opts.pretokenizer!r} (pass --pretokenizer {wc.pretokenizer})"
        )
    result = learn_bpe(
        wc, vocab_size, min_frequency=min_frequency, special_tokens=specials, max_token_length=max_token_length,
        on_progress=hooks.merge("merging", vocab_size),
    )
    timings.update(result.timings)
    timings["total_s"] = _seconds(t_start)
    options = {**asdict(opts), **source}
    info = train_info("bpe", options, wc.corpus, _bpe_result_info(result), timings, counts=counts_info(wc))
    from ..hf import build_tokenizer  # imports `tokenizers`: only once there is something to build

    return Trained(build_tokenizer(result, preset), info, result)


# --- SuperBPE and extending a tokenizer ---------------------------------------------------------


def train_superbpe(
    inputs: Sequence[str],
    *,
    vocab_size: int,
    transition: int | float | str = 0.9,
    stage1_pretokenizer: str = SuperOptions.stage1_pretokenizer,
    stage2_pretokenizer: str = SuperOptions.stage2_pretokenizer,
    max_words: int = SuperOptions.max_words,
    allow_colon_space: bool = SuperOptions.allow_colon_space,
    max_line_bytes: int = SuperOptions.max_line_bytes,
    min_frequency: int = SuperOptions.min_frequency,
    max_token_length: int | None = SuperOptions.max_token_length,
    special_tokens: Sequence[str] = (),
    text_field: str | None = CorpusOptions.text_field,
    errors: str = CorpusOptions.errors,
    workers: int | None = CorpusOptions.workers,
    max_bytes: int | None = CorpusOptions.max_bytes,
    sample_docs: float | None = CorpusOptions.sample_docs,
    seed: int = CorpusOptions.seed,
    hooks: TrainHooks | None = None,
) -> Trained:
    """Train a SuperBPE tokenizer (Liu et al. 2025, "SuperBPE: Space Travel for Language Models").

    Stage 1 is byte-level BPE with `stage1_pretokenizer` up to `transition` tokens; stage 2 keeps
    those merges and goes on over whole lines pre-tokenized by `stage2_pretokenizer` ("superbpe":
    the authors' later recipe; "superbpe-digits": the paper's), so tokens may span up to `max_words`
    words (never ": " unless `allow_colon_space`). Stage-2 pieces longer than `max_line_bytes` bytes
    are left out (counted in train.json). Both stages' counts come from one pass over the text.

    transition: a vocabulary size (an int or a string of digits: 28000) or a fraction of vocab_size (a float: 0.9).
    Other arguments as in `train_bpe`.

    Returns a Trained. Raises ToktoolError for bad options (a transition outside the vocabulary, an
    unknown preset) or an empty corpus, InputError for an unreadable input, naming the file."""
    hooks = hooks or TrainHooks()
    corpus_opts = CorpusOptions(text_field, errors, workers, max_bytes, sample_docs, seed)
    corpus_opts.check()
    sampling = corpus_opts.sampling()
    specials = unique_specials(special_tokens)
    check_vocab_size(vocab_size, specials)
    opts = SuperOptions(
        vocab_size=vocab_size,
        transition=resolve_transition(str(transition), vocab_size, len(specials)),
        stage1_pretokenizer=get_preset(stage1_pretokenizer).name,
        stage2_pretokenizer=_stage2_preset(stage2_pretokenizer),
        max_words=max_words,
        allow_colon_space=allow_colon_space,
        max_line_bytes=max_line_bytes,
        min_frequency=min_frequency,
        max_token_length=max_token_length,
        special_tokens=specials,
    )
    t_start = time.perf_counter()
    paths = expand_inputs(_paths(inputs))
    timings: dict = {}
    t0 = time.perf_counter()
    presets = [opts.stage1_pretokenizer, opts.stage2_pretokenizer]
    wc1, wc2 = count_corpus_multi(paths, presets, text_field, errors, specials, workers, hooks.count("counting", paths), sampling)
    timings["count_s"] = _seconds(t0)
    corpus = wc1.corpus
    base, stage1 = train_stage1(wc1, opts, hooks.merge("merge 1/2", opts.transition))
    del wc1
    t0 = time.perf_counter()
    held = [wc2]  # handed over to stage 2, which frees the counts once it no longer needs them
    del wc2
    ext, _, stage2 = run_stage2(base, lambda preset, specials: held.pop(), opts, True, hooks.merge("merge 2/2", opts.vocab_size))
    timings["stage2_s"] = _seconds(t0)
    tok = _extended(base, ext, opts.stage2_pretokenizer)
    timings["total_s"] = _seconds(t_start)
    options = _staged_options(opts, stage2["pretokenizer"], base, None, True, text_field, errors, sampling)
    result = {"vocab_size": tok.get_vocab_size(with_added_tokens=True), "merges": len(base.merges) + len(ext.new_merges)}
    info = train_info("superbpe", options, corpus, result, timings, stage1=stage1, stage2=stage2)
    return Trained(tok, info)


def extend(
    inputs: Sequence[str],
    base: str | Path,
    *,
    vocab_size: int,
    superword: bool = False,
    pretokenizer: str | None = None,
    stage2_pretokenizer: str = SuperOptions.stage2_pretokenizer,
    max_words: int = SuperOptions.max_words,
    allow_colon_space: bool = SuperOptions.allow_colon_space,
    max_line_bytes: int = SuperOptions.max_line_bytes,
    min_frequency: int = SuperOptions.min_frequency,
    max_token_length: int | None = SuperOptions.max_token_length,
    text_field: str | None = CorpusOptions.text_field,
    errors: str = CorpusOptions.errors,
    workers: int | None = CorpusOptions.workers,
    max_bytes: int | None = CorpusOptions.max_bytes,
    sample_docs: float | None = CorpusOptions.sample_docs,
    seed: int = CorpusOptions.seed,
    hooks: TrainHooks | None = None,
) -> Trained:
    """Extend an existing byte-level BPE tokenizer to `vocab_size` tokens, its ids and merges kept.

    base: a toktool output dir, an HF tokenizer.json (or a dir with one), or vocab.json + merges.txt.
    The text is counted with the base's own split (`pretokenizer` names a preset when the base's split
    is not one of ours) and BPE goes on from the base's segmentation of every word. With
    `superword=True` the text is counted SuperBPE's stage-2 way instead (`stage2_pretokenizer`,
    `max_words`, `allow_colon_space`, `max_line_bytes` as in `train_superbpe`): SuperBPE's stage 2
    on top of any byte-level BPE. Special tokens are the base's.

    Returns a Trained. Raises InputError when the base is not a byte-level BPE or cannot be read,
    ToktoolError when vocab_size is not above the base's size."""
    from .extension import load_base

    hooks = hooks or TrainHooks()
    corpus_opts = CorpusOptions(text_field, errors, workers, max_bytes, sample_docs, seed)
    corpus_opts.check()
    sampling = corpus_opts.sampling()
    t_start = time.perf_counter()
    paths = expand_inputs(_paths(inputs))
    b = load_base(base)
    if pretokenizer and not superword:
        b.preset = get_preset(pretokenizer).name
    if vocab_size <= b.size:
        raise ToktoolError(f"--vocab-size {vocab_size} must be larger than the base's {b.size} tokens ({base})")
    opts = SuperOptions(
        vocab_size=vocab_size,
        transition=None,
        stage2_pretokenizer=_stage2_preset(stage2_pretokenizer),
        max_words=max_words,
        allow_colon_space=allow_colon_space,
        max_line_bytes=max_line_bytes,
        min_frequency=min_frequency,
        max_token_length=max_token_length,
    )

    def count(preset: str, specials: Sequence[str]) -> WordCounts:
        return count_corpus(paths, preset, text_field, errors, specials, workers, hooks.count("counting", paths), sampling)

    timings: dict = {}
    t0 = time.perf_counter()
    ext, wc, section = run_stage2(b, count, opts, superword, hooks.merge("merge", opts.vocab_size))
    timings["stage2_s" if superword else "extend_s"] = _seconds(t0)
    tok = _extended(b, ext, opts.stage2_pretokenizer if superword else None)
    timings["total_s"] = _seconds(t_start)
    options = _staged_options(opts, section.get("pretokenizer"), b, str(base), superword, text_field, errors, sampling)
    result = {"vocab_size": tok.get_vocab_size(with_added_tokens=True), "merges": len(b.merges) + len(ext.new_merges)}
    sections = {"stage2": section} if superword else {"extension": section}
    return Trained(tok, train_info("superbpe" if superword else "bpe", options, wc.corpus, result, timings, **sections))


def _staged_options(opts: SuperOptions, preset, base, base_path: str | None, superword: bool, text_field, errors, sampling) -> dict:
    """train.json's options of SuperBPE (base_path None: stage 1 trained here) or of an extension."""
    return {
        "vocab_size": opts.vocab_size,
        "pretokenizer": preset,
        "stage1_pretokenizer": None if base_path else opts.stage1_pretokenizer,
        "transition": None if base_path else opts.transition,
        "base": {"path": base_path, "vocab_size": base.size} if base_path else None,
        "max_words": opts.max_words if superword else None,
        "allow_colon_space": opts.allow_colon_space if superword else None,
        "max_line_bytes": opts.max_line_bytes if superword else None,
        "min_frequency": opts.min_frequency,
        "special_tokens": [a["content"] for a in base.spec.get("added_tokens") or []],
        "max_token_length": opts.max_token_length,
        "text_field": text_field,
        "errors": errors,
        **(sampling.as_dict() if sampling else {}),
    }


def _stage2_preset(name: str) -> str:
    preset = STAGE2_PRESETS.get(name, name)
    if preset not in STAGE2_PRESETS.values():
        raise ToktoolError(f"unknown stage-2 pre-tokenizer {name!r}; choose one of {', '.join(STAGE2_PRESETS)}")
    return preset


def _extended(base, ext, preset: str | None):
    from .extension import extended_tokenizer

    return extended_tokenizer(base, ext, preset)


# --- parity-aware BPE -------------------------------------------------------------------------


def language_sources(dir_: str | None, items: Sequence[str], what: str, dir_option: str = "--langs") -> dict[str, list[str]]:
    """`--langs DIR` (one file or sub-directory per language code) plus `--lang CODE=PATH` items,
    as {code: [paths]}; `what` and `dir_option` are the options' names for messages. Raises
    ToktoolError for a malformed item or a language given twice, InputError for a DIR that is not a
    directory of languages."""
    out: dict[str, list[str]] = {}
    if dir_:
        out.update(discover_dir(Path(dir_), dir_option))
    for item in items:
        code, eq, path = item.partition("=")
        if not eq or not code or not path:
            raise ToktoolError(f"{what} {item!r}: expected CODE=PATH")
        if code in out:
            raise ToktoolError(f"{what}: language {code!r} given twice")
        out[code] = expand_inputs([path])
    return out


def train_parity(
    train_sources: Mapping[str, Sequence[str]],
    dev_sources: Mapping[str, Sequence[str]] | None = None,
    *,
    vocab_size: int,
    pretokenizer: str = DEFAULT_PRESET,
    min_frequency: int = ParityOptions.min_frequency,
    special_tokens: Sequence[str] = (),
    global_merges: int = ParityOptions.global_merges,
    window: int = ParityOptions.window,
    alpha: float = ParityOptions.alpha,
    target_ratios: Mapping[str, float] | None = None,
    skip_exhausted: bool = ParityOptions.skip_exhausted,
    text_field: str | None = CorpusOptions.text_field,
    errors: str = CorpusOptions.errors,
    workers: int | None = CorpusOptions.workers,
    max_bytes: int | None = CorpusOptions.max_bytes,
    sample_docs: float | None = CorpusOptions.sample_docs,
    seed: int = CorpusOptions.seed,
    hooks: TrainHooks | None = None,
) -> Trained:
    """Train a parity-aware BPE tokenizer (Foroutan et al. 2025, "Parity-Aware Byte Pair Encoding";
    reference: swiss-ai/parity-aware-bpe).

    train_sources: {language code: paths} of training text; dev_sources: {code: paths} of a
    multi-parallel dev set (same content, same number of lines in every language). At each step the
    language compressed worst on its dev text picks its most frequent pair. Variants: hybrid
    (`global_merges` first merges on summed counts), moving window (`window` W, no language above
    `alpha`/L of the last W merges), ratio (`target_ratios`, no dev set). `skip_exhausted`: a
    language without a pair as frequent as `min_frequency` drops out instead of stopping training.

    Returns a Trained whose `details` is the ParityResult (per-language table, who chose each merge).
    Raises ToktoolError for fewer than two languages, a dev set that is missing a language or is not
    line-parallel, and bad options."""
    hooks = hooks or TrainHooks()
    corpus_opts = CorpusOptions(text_field, errors, workers, max_bytes, sample_docs, seed)
    corpus_opts.check()
    sampling = corpus_opts.sampling()  # training text only: the dev set must stay parallel
    specials = unique_specials(special_tokens)
    check_vocab_size(vocab_size, specials)
    preset = get_preset(pretokenizer).name
    dev_sources = dict(dev_sources or {})
    if target_ratios is not None and dev_sources:
        raise ToktoolError("--target-ratio is the variant without a dev set; drop --dev/--dev-lang or --target-ratio")
    if target_ratios is None and not dev_sources:
        raise ToktoolError(
            "--algo parity needs a parallel dev set (--dev DIR or --dev-lang CODE=PATH), or --target-ratio for the variant without one"
        )
    opts = ParityOptions(
        vocab_size, min_frequency, specials, global_merges, window, alpha,
        dict(target_ratios) if target_ratios is not None else None, skip_exhausted,
    )
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
        train[code] = count_corpus(
            list(paths), preset, text_field, errors, specials, workers, hooks.count(f"count {code}", list(paths)), sampling
        )
    dev: dict[str, WordCounts] = {}
    for code in train_sources:
        if code in dev_sources:
            dev[code] = count_corpus(list(dev_sources[code]), preset, text_field, errors, specials, workers)
    if dev:
        lines = {code: wc.corpus.get("texts", 0) for code, wc in dev.items()}
        if len(set(lines.values())) > 1:
            first = next(iter(lines))
            odd = [c for c in lines if lines[c] != lines[first]]
            raise ToktoolError(
                f"dev files are not line-parallel: {first} has {lines[first]} lines, "
                + ", ".join(f"{c} has {lines[c]}" for c in odd[:3])
            )
    t_count = _seconds(t_start)
    result = learn_parity(train, dev or None, opts, hooks.merge("merging", opts.vocab_size))
    options = {
        "vocab_size": opts.vocab_size,
        "pretokenizer": preset,
        "min_frequency": opts.min_frequency,
        "special_tokens": opts.special_tokens,
        "global_merges": opts.global_merges,
        "window": opts.window,
        "alpha": opts.alpha,
        "target_ratios": opts.target_ratios,
        "exhausted": "skip" if opts.skip_exhausted else "stop",
        "variant": opts.variant,
        "text_field": text_field,
        "errors": errors,
        **(sampling.as_dict() if sampling else {}),
    }
    languages = {code: {"train": train[code].corpus, "dev": dev[code].corpus if code in dev else None} for code in train}
    result_info = {k: v for k, v in _bpe_result_info(result.bpe).items() if k != "train_bytes_per_token"}
    result_info["stop"] = result.stop
    timings = {"count_s": t_count, **result.bpe.timings, "total_s": _seconds(t_start)}
    info = train_info(
        "parity", options, None, result_info, timings,
        languages=languages, per_language=result.table, merge_languages=result.merge_languages,
    )
    from ..hf import build_tokenizer

    return Trained(build_tokenizer(result.bpe, preset), info, result.bpe, result)


__all__ = [
    "BPEOptions",
    "CorpusOptions",
    "ParityOptions",
    "SuperOptions",
    "TrainHooks",
    "Trained",
    "extend",
    "language_sources",
    "train_bpe",
    "train_info",
    "train_parity",
    "train_superbpe",
]
