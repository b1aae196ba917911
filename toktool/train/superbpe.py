"""SuperBPE (Liu et al. 2025): subwords first, then tokens that bridge whitespace; and `--base`.

Stage 1 is ordinary byte-level BPE up to the transition vocabulary size t. Stage 2 re-counts the
corpus with the stage-2 pre-tokenizer (whole lines; only digit runs, punctuation runs and multi-space
runs split off), replays the stage-1 merges on those words and continues BPE to the full vocabulary,
skipping candidates of more than `max_words` words or containing ": " (the reference's filters).
`--base` replaces stage 1 by an existing tokenizer. See extension.py for how the replay is done.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from ..count import WordCounts
from ..errors import ToktoolError
from ..options import SuperOptions
from ..vocab import ALPHABET_SIZE, BPEResult
from .bpe import learn_bpe
from .extension import Base, Extension, base_from_spec, continue_merges


def resolve_transition(value: str, vocab_size: int, n_special: int) -> int:
    """`--transition` as a vocabulary size (an integer: 28000) or a fraction of --vocab-size (a number
    with a decimal point or an exponent: 0.9; 1.0 is all of it, which leaves stage 2 no room)."""
    try:
        x = float(value)
    except ValueError:
        x = math.nan
    if not math.isfinite(x):
        raise ToktoolError(f"--transition {value!r}: expected a vocabulary size or a fraction of --vocab-size")
    t = round(x * vocab_size) if ("." in value or "e" in value.lower()) else int(x)
    if x <= 0 or t <= 0:
        raise ToktoolError(f"--transition must be positive (got {value})")
    if t >= vocab_size:
        raise ToktoolError(f"--transition {t} must be smaller than --vocab-size {vocab_size} (stage 2 needs room)")
    need = ALPHABET_SIZE + n_special
    if t < need:
        raise ToktoolError(f"--transition {t} is below the byte alphabet plus special tokens ({need})")
    return t


def drop_long_words(wc: WordCounts, max_bytes: int) -> tuple[WordCounts, int, int]:
    """Leave pathological pre-tokens (minified JSON, base64 lines...) out of stage 2, counted: one
    such line costs memory for every pair it holds and teaches nothing reusable."""
    lengths = np.diff(wc.offsets)
    keep = lengths <= max_bytes
    if keep.all():
        return wc, 0, 0
    n_drop = int((~keep).sum())
    b_drop = int((lengths[~keep] * wc.counts[~keep]).sum())
    data = wc.data[np.repeat(keep, lengths)]
    offsets = np.zeros(int(keep.sum()) + 1, dtype=np.int64)
    np.cumsum(lengths[keep], out=offsets[1:])
    kept = WordCounts(data=data, offsets=offsets, counts=wc.counts[keep].copy(), pretokenizer=wc.pretokenizer, special_tokens=list(wc.special_tokens), corpus=wc.corpus)
    return kept, n_drop, b_drop


def stage1_base(result: BPEResult, preset: str) -> Base:
    """Stage 1's BPE as the Base that stage 2 goes on from."""
    from ..hf import build_tokenizer  # imports `tokenizers`: only when training

    return base_from_spec(build_tokenizer(result, preset).to_str(), "stage 1", preset)


def counts_info(wc: WordCounts) -> dict:
    """Size of a WordCounts for train.json: unique words, total words, bytes of text covered."""
    return {"unique_words": len(wc), "total_words": wc.total, "bytes": wc.total_bytes}


def run_stage2(
    base: Base,
    count: Callable[[str, Sequence[str]], WordCounts],
    opts: SuperOptions,
    superword: bool,
    on_merge: Callable[[int, int], None] | None,
) -> tuple[Extension, WordCounts, dict]:
    """Count with the stage-2 (or the base's) pre-tokenizer, then continue merging from `base`."""
    specials = [a["content"] for a in base.spec.get("added_tokens") or []]
    preset = opts.stage2_pretokenizer if superword else base.preset
    if preset is None:
        raise ToktoolError(f"{base.where}: cannot tell which pre-tokenizer this base uses; pass --pretokenizer NAME to count with")
    wc = count(preset, specials)
    dropped = {"pieces": 0, "bytes": 0}
    if superword:
        wc, dropped["pieces"], dropped["bytes"] = drop_long_words(wc, opts.max_line_bytes)
        if len(wc) == 0:
            raise ToktoolError(f"every stage-2 piece is longer than --max-line-bytes {opts.max_line_bytes}")
    counted = counts_info(wc)
    ext = continue_merges(
        base,
        wc,
        opts.vocab_size,
        opts.min_frequency,
        opts.max_token_length,
        max_words=opts.max_words if superword else 0,
        no_colon_space=superword and not opts.allow_colon_space,
        on_progress=on_merge,
        release_words=True,
    )
    info = {
        "pretokenizer": preset,
        "counts": counted,
        "dropped_long_pieces": dropped,
        "new_tokens": len(ext.new_tokens),
        "merges": len(ext.new_merges),
        "merge_steps": ext.merge_steps,
        "train_bytes_per_token": round(ext.train_bytes / max(1, ext.train_tokens), 6),
        "timings": ext.timings,
    }
    return ext, wc, info


def train_stage1(wc: WordCounts, opts: SuperOptions, on_merge: Callable[[int, int], None] | None) -> tuple[Base, dict]:
    """Stage 1: byte-level BPE up to `opts.transition` tokens on the stage-1 counts; returns the Base
    for stage 2 and the stage's train.json section."""
    assert opts.transition is not None
    result = learn_bpe(wc, opts.transition, opts.min_frequency, opts.special_tokens, opts.max_token_length, on_progress=on_merge)
    info = {
        "pretokenizer": opts.stage1_pretokenizer,
        "counts": counts_info(wc),
        "vocab_size": result.vocab_size,
        "merges": len(result.merges),
        "train_bytes_per_token": round(result.train_bytes / max(1, result.train_tokens), 6),
        "timings": result.timings,
    }
    return stage1_base(result, opts.stage1_pretokenizer), info
