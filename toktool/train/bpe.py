"""Byte-level BPE training: prepare flat arrays from WordCounts, run the Numba loop, collect merges.

The merge loop runs in a worker thread (the kernel releases the GIL), so the main thread can drive a
progress bar and turn Ctrl-C into a clean early stop instead of an abandoned native loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..count import WordCounts
from ..errors import ToktoolError
from ..kernels.loader import get_kernel, jit_kernel, load_aot
from ..parallel import default_workers, fork_map, run_in_child, run_in_thread
from ..pretokenize import byte_alphabet_order, unique_specials
from ..vocab import UNLIMITED, BPEResult, check_vocab_size, dedupe_merges, table_bytes


def prepare_words(wc: WordCounts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The words of `wc` as the merge loop's arrays: (sym int32[total bytes], woff int64[n+1],
    wcnt int64[n]). A byte's symbol id is the position of its byte-level character in code-point
    order (as Hugging Face's BpeTrainer numbers its initial alphabet), so ids and tie-breaks agree.

    Example: the word b"ab" becomes sym [64, 65] ("a" and "b" are the 65th and 66th characters)."""
    order = byte_alphabet_order()
    byte_to_id = np.empty(256, dtype=np.int32)
    for i, b in enumerate(order):
        byte_to_id[b] = i
    sym = byte_to_id[wc.data]
    return sym, wc.offsets.astype(np.int64, copy=True), wc.counts.astype(np.int64, copy=True)


def encode_words_parallel(
    data: np.ndarray,
    offsets: np.ndarray,
    byte_ids: np.ndarray,
    m_a: np.ndarray,
    m_b: np.ndarray,
    m_new: np.ndarray,
    cut: np.ndarray,
    workers: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """BPE-encode flat words with the Numba encoder, one contiguous slice of words per core.

    data uint8[total bytes] and offsets int64[n+1]: the words; byte_ids int32[256]: each byte's
    token id; m_a, m_b, m_new int32[merges]: the ranked merges (left id, right id, result id); cut
    uint8[65536]: 1 where no merge can join the byte pair (hi << 8 | lo), so words are encoded in
    chunks (extend.cut_table). Returns (sym int32[total tokens], woff int64[n+1]): the words as
    token ids, exactly as `tokenizers`' BPE model encodes them.

    The AOT build holds the GIL, so slices run in forked children (results come back through pipes);
    the JIT build releases it, so threads do. Slices are cut by bytes and glued in order: the output
    does not depend on the number of workers."""
    workers = default_workers() if workers is None else workers
    nw = offsets.shape[0] - 1
    total = int(offsets[-1] - offsets[0])
    workers = max(1, min(workers, total // (1 << 20) or 1, nw or 1))
    kernel, is_aot = get_kernel("bpe_encode_kernel")
    cuts = [0] + [int(np.searchsorted(offsets, offsets[0] + total * k // workers)) for k in range(1, workers)] + [nw]
    cuts = sorted(set(cuts))
    slices = [(offsets[a : b + 1] - offsets[a], data[offsets[a] : offsets[b]]) for a, b in zip(cuts, cuts[1:])]

    def run(sl):
        off, dat = sl
        return kernel(np.ascontiguousarray(dat), np.ascontiguousarray(off), byte_ids, m_a, m_b, m_new, cut)

    if len(slices) == 1:
        results = [run(slices[0])]
    elif not is_aot:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=len(slices)) as pool:
            results = list(pool.map(run, slices))
    else:
        results = fork_map(run, slices)
    sym = np.concatenate([r[0] for r in results])
    woff = np.zeros(nw + 1, dtype=np.int64)
    pos, base = 1, 0
    for _, off_part in results:
        n = off_part.shape[0] - 1
        woff[pos : pos + n] = off_part[1:] + base
        pos += n
        base += int(off_part[-1])
    return sym, woff


def _warm_up(kernel) -> None:
    sym = np.array([0, 1, 0, 1], dtype=np.int32)
    kernel(
        sym, np.array([0, 2, 4], dtype=np.int64), np.array([2, 1], dtype=np.int64),
        np.array([0, 1], dtype=np.uint8), np.array([0, 1, 2], dtype=np.int64),
        np.int64(3), np.int64(0), UNLIMITED, np.int64(0), np.int64(0), np.int64(0), np.zeros(2, dtype=np.int64), np.zeros(1, dtype=np.int64),
    )


@dataclass
class LoopResult:
    """What the merge loop returns.

    m_a, m_b, m_new: int32[steps], the merge steps in order (left id, right id, the id produced);
    t_data uint8[...], t_off int64[tokens+1]: every token's bytes, initial tokens first;
    wlen int64[words]: each word's length in tokens after the last merge;
    stats int64[4]: pruning threshold theta, smallest merged count, whether the heap ran out, the
    number of recounts (see kernels/bpe_train.py); timings: seconds and which build ran."""

    m_a: np.ndarray
    m_b: np.ndarray
    m_new: np.ndarray
    t_data: np.ndarray
    t_off: np.ndarray
    wlen: np.ndarray
    stats: np.ndarray
    timings: dict


def run_merge_loop(
    sym: np.ndarray,
    woff: np.ndarray,
    wcnt: np.ndarray,
    tok_data: np.ndarray,
    tok_off: np.ndarray,
    target: int,
    min_frequency: int = 0,
    max_token_length: int | None = None,
    max_words: int = 0,
    no_colon_space: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
    poll_interval: float = 0.1,
    prune: int = 0,
) -> LoopResult:
    """The merge loop on any starting point: words as symbol ids into an initial token table (bytes),
    merged until the table holds `target` tokens. Plain BPE starts from the 256 bytes; extending a
    tokenizer (SuperBPE stage 2, --base) starts from its vocabulary and its encodings of the words.

    `prune` > 0 lets the kernel forget rare pairs (stage 2's memory); when its own check says that
    could have changed a merge (a merged count fell below its threshold, or the heap ran out), the
    loop is run again without pruning, so the merges never depend on it. `sym` is modified in place
    (as the merged words) only on the JIT path without pruning.
    Arrays: sym int32[total] (the words' symbols), woff int64[n+1], wcnt int64[n] (word counts),
    tok_data uint8[...] with tok_off int64[n0+1] (the initial tokens' bytes). `target` counts tokens;
    max_token_length is in bytes; max_words and no_colon_space are SuperBPE's stage-2 filters.
    Returns a LoopResult."""

    def report(progress: np.ndarray) -> None:
        if on_progress:
            on_progress(int(progress[0]), int(progress[1]))

    def args(p: int, words: np.ndarray) -> tuple:
        return (
            words,
            woff,
            wcnt,
            tok_data,
            tok_off,
            np.int64(target),
            np.int64(min_frequency),
            UNLIMITED if max_token_length is None else np.int64(max_token_length),
            np.int64(max_words),
            np.int64(1 if no_colon_space else 0),
            np.int64(p),
        )

    aot = load_aot()
    if aot is not None:
        timings: dict = {"kernel": "aot"}

        def run(p: int):  # in a forked child: the parent's `sym` is never written
            return run_in_child(aot.bpe_train_kernel, args(p, sym), report, poll_interval)
    else:
        t0 = time.perf_counter()
        bpe_train_kernel = jit_kernel("bpe_train_kernel")  # numba import: only when training

        t_import = time.perf_counter() - t0
        t0 = time.perf_counter()
        _warm_up(bpe_train_kernel)  # compile, or load from numba's cache, outside the timed loop
        timings = {"kernel": "jit", "numba_import_s": round(t_import, 3), "numba_compile_s": round(time.perf_counter() - t0, 3)}

        def run(p: int):
            return run_in_thread(bpe_train_kernel, args(p, sym.copy() if p > 0 else sym), report, poll_interval)

    t1 = time.perf_counter()
    out = run(prune)
    stats = out[-1]
    if prune > 0:
        timings["prune_theta"] = int(stats[0])
        if stats[2] != 0 or (stats[1] >= 0 and stats[1] < stats[0]):
            timings["prune_rerun"] = True  # the check failed: same loop, every pair kept
            out = run(0)
    timings["merge_s"] = round(time.perf_counter() - t1, 3)
    return LoopResult(*out, timings=timings)


def learn_bpe(
    wc: WordCounts,
    vocab_size: int,
    min_frequency: int = 0,
    special_tokens: Sequence[str] = (),
    max_token_length: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    poll_interval: float = 0.1,
) -> BPEResult:
    """Learn byte-level BPE merges from word counts until `vocab_size` tokens (special tokens
    included) or no pair is as frequent as `min_frequency`.

    The merges equal Hugging Face's `BpeTrainer` on the same words (count desc, then smaller pair
    ids; initial byte ids in byte-level character order). `max_token_length` caps tokens in bytes.
    `on_progress(steps, vocab)` is called as the loop goes. Returns a BPEResult; raises ToktoolError
    for a vocabulary below 256 + specials, max_token_length < 2, or no words."""
    specials = unique_specials(special_tokens)
    check_vocab_size(vocab_size, specials)
    if max_token_length is not None and max_token_length < 2:
        raise ToktoolError("--max-token-length must be at least 2 bytes")
    if len(wc) == 0:
        raise ToktoolError("empty corpus: there is no text to train on")

    sym, woff, wcnt = prepare_words(wc)
    order = byte_alphabet_order()
    n_sp = len(specials)

    def report(merges: int, size: int) -> None:
        if on_progress:
            on_progress(merges, size + n_sp)

    loop = run_merge_loop(
        sym, woff, wcnt, np.array(order, dtype=np.uint8), np.arange(257, dtype=np.int64),
        vocab_size - n_sp, min_frequency, max_token_length, on_progress=report, poll_interval=poll_interval,
    )
    tokens = table_bytes(loop.t_data, loop.t_off)
    raw = [(a + n_sp, b + n_sp) for a, b in zip(loop.m_a.tolist(), loop.m_b.tolist())]
    return BPEResult(
        special_tokens=specials,
        tokens=tokens,
        merges=dedupe_merges(raw),
        merges_raw=len(raw),
        train_tokens=int((loop.wlen * wcnt).sum()),
        train_bytes=wc.total_bytes,
        timings=loop.timings,
    )
