"""Parity-aware BPE (Foroutan et al. 2025, "Parity-Aware Byte Pair Encoding"; reference:
swiss-ai/parity-aware-bpe, a fork of subword-nmt's learn_bpe).

At every merge the language that is currently compressed worst — most tokens on the multi-parallel
dev set, which holds the same content in every language — picks its own most frequent pair, and the
merge applies to all languages. Variants: hybrid (the first M merges on summed counts), moving
window (no language may take more than alpha/L of the last W merges), ratio (no dev set: least
compressed training text relative to a per-language target ratio). The loop is
`kernels.parity_train`; `kernels.reference.parity_reference` is its pure-Python twin.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..count import WordCounts
from ..errors import ToktoolError
from ..kernels.loader import get_kernel
from ..options import ParityOptions
from ..parallel import run_in_child, run_in_thread
from ..pretokenize import byte_alphabet_order, unique_specials
from ..vocab import BPEResult, check_vocab_size, dedupe_merges, table_bytes


@dataclass
class ParityInput:
    """Flat arrays for the loop: the union of all languages' words with per-language counts."""

    codes: list[str]
    words: list[bytes]
    sym: np.ndarray
    woff: np.ndarray
    wl_off: np.ndarray
    wl_lang: np.ndarray
    wl_train: np.ndarray
    wl_dev: np.ndarray


def build_input(train: dict[str, WordCounts], dev: dict[str, WordCounts] | None) -> ParityInput:
    """The union of every language's words as the parity kernel's arrays: sym int32[total bytes] and
    woff int64[n+1] (each distinct word once, as initial symbol ids), and per word a CSR list of
    (language, training count, dev count): wl_off int64[n+1], wl_lang int32, wl_train / wl_dev int64."""
    codes = list(train)
    index: dict[bytes, int] = {}
    per_word: list[dict[int, list[int]]] = []
    for li, code in enumerate(codes):
        for sets, k in ((train, 0), (dev or {}, 1)):
            wc = sets.get(code)
            if wc is None:
                continue
            for w, c in wc.items():
                i = index.setdefault(w, len(index))
                if i == len(per_word):
                    per_word.append({})
                per_word[i].setdefault(li, [0, 0])[k] += c
    words = list(index)
    order = byte_alphabet_order()
    byte_to_id = np.empty(256, dtype=np.int32)
    for i, b in enumerate(order):
        byte_to_id[b] = i
    data = np.frombuffer(b"".join(words), dtype=np.uint8)
    lengths = np.fromiter((len(w) for w in words), dtype=np.int64, count=len(words))
    woff = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum(lengths, out=woff[1:])
    n_entries = sum(len(d) for d in per_word)
    wl_off = np.zeros(len(words) + 1, dtype=np.int64)
    wl_lang = np.empty(n_entries, dtype=np.int32)
    wl_train = np.empty(n_entries, dtype=np.int64)
    wl_dev = np.empty(n_entries, dtype=np.int64)
    e = 0
    for i, d in enumerate(per_word):
        for li in sorted(d):
            wl_lang[e] = li
            wl_train[e], wl_dev[e] = d[li]
            e += 1
        wl_off[i + 1] = e
    return ParityInput(codes, words, byte_to_id[data], woff, wl_off, wl_lang, wl_train, wl_dev)


def _targets(codes: list[str], ratios: dict[str, float] | None) -> np.ndarray:
    t = np.ones(len(codes), dtype=np.float64)
    for code, r in (ratios or {}).items():
        if code not in codes:
            raise ToktoolError(f"--target-ratio: no training text for language {code!r}")
        if not r > 0:
            raise ToktoolError(f"--target-ratio {code}={r}: must be positive")
        t[codes.index(code)] = r
    return t


@dataclass
class ParityResult:
    bpe: BPEResult
    merge_languages: list[str | None]  # who chose each merge step (None: a global merge)
    table: list[dict]  # per-language compression before/after
    stop: str = ""


def learn_parity(
    train: dict[str, WordCounts],
    dev: dict[str, WordCounts] | None,
    opts: ParityOptions,
    on_progress: Callable[[int, int], None] | None = None,
) -> ParityResult:
    """Parity-aware BPE from per-language word counts (`workflows.train_parity` counts the text).

    train: {code: WordCounts} of each language's training text; dev: {code: WordCounts} of the
    multi-parallel dev set (None in the ratio variant). Returns a ParityResult: the BPEResult, the
    language that chose each merge (None for a global merge), a per-language table, and why it
    stopped. Raises ToktoolError for fewer than two languages, a missing dev set, bad options."""
    specials = unique_specials(opts.special_tokens)
    check_vocab_size(opts.vocab_size, specials)
    if len(train) < 2:
        raise ToktoolError("parity-aware BPE needs at least two languages")
    ratio_mode = opts.target_ratios is not None
    if not ratio_mode and not dev:
        raise ToktoolError("--algo parity needs a parallel dev set (--dev / --dev-lang) or, for the ratio variant, --target-ratio")
    inp = build_input(train, None if ratio_mode else dev)
    targets = _targets(inp.codes, opts.target_ratios)
    n_sp = len(specials)
    order = byte_alphabet_order()
    t0 = time.perf_counter()

    def report(progress: np.ndarray) -> None:
        if on_progress:
            on_progress(int(progress[0]), int(progress[1]) + n_sp)

    args = (
        inp.sym.copy(),
        inp.woff,
        inp.wl_off,
        inp.wl_lang,
        inp.wl_train,
        inp.wl_dev,
        np.int64(len(inp.codes)),
        np.array(order, dtype=np.uint8),
        np.arange(257, dtype=np.int64),
        np.int64(opts.vocab_size - n_sp),
        np.int64(opts.min_frequency),
        np.int64(opts.global_merges),
        np.int64(opts.window),
        np.float64(opts.alpha),
        np.int64(1 if ratio_mode else 0),
        targets,
        np.int64(1 if opts.skip_exhausted else 0),
    )
    parity_train_kernel, is_aot = get_kernel("parity_train_kernel")  # JIT: imports numba
    kernel = "aot" if is_aot else "jit"
    out = (run_in_child if is_aot else run_in_thread)(parity_train_kernel, args, report, 0.1)
    m_a, m_b, m_lang, t_data, t_off, dev_len, train_len, init_len, why = out
    why = int(why)
    if len(t_off) - 1 + n_sp >= opts.vocab_size:
        stop = "vocabulary full"
    elif why == -3:
        stop = "every language ran out of pairs (as frequent as --min-frequency)"
    else:
        who = "summed counts" if why == -1 else f"language {inp.codes[why]}"
        stop = f"stopped early: the pair chosen for {who} occurs fewer than max(--min-frequency, 1) = {max(opts.min_frequency, 1)} times"
    tokens = table_bytes(t_data, t_off)
    raw = [(a + n_sp, b + n_sp) for a, b in zip(m_a.tolist(), m_b.tolist())]
    train_bytes = sum(wc.total_bytes for wc in train.values())
    bpe = BPEResult(
        special_tokens=specials,
        tokens=tokens,
        merges=dedupe_merges(raw),
        merges_raw=len(raw),
        train_tokens=int(train_len.sum()),
        train_bytes=train_bytes,
        timings={"kernel": kernel, "merge_s": round(time.perf_counter() - t0, 3)},
    )
    dev_init = {}
    if dev and not ratio_mode:
        for code in inp.codes:
            dev_init[code] = dev[code].total_bytes
    chosen = [None if li < 0 else inp.codes[li] for li in m_lang.tolist()]
    table = []
    for i, code in enumerate(inp.codes):
        row = {
            "language": code,
            "train_bytes": int(init_len[i]),
            "train_tokens": int(train_len[i]),
            "train_bytes_per_token": round(int(init_len[i]) / max(1, int(train_len[i])), 6),
            "merges_chosen": chosen.count(code),
        }
        if dev_init:
            row["dev_bytes"] = dev_init[code]
            row["dev_tokens"] = int(dev_len[i])
        if ratio_mode:
            row["target_ratio"] = float(targets[i])
        table.append(row)
    return ParityResult(bpe=bpe, merge_languages=chosen, table=table, stop=stop)
