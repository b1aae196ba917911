"""Test-only wrappers that run the kernels' pure-Python twins (toktool/kernels/reference.py) on the
same inputs as the library's trainers, so the two results can be compared whole."""

from __future__ import annotations

from collections.abc import Sequence

from toktool.count import WordCounts
from toktool.kernels.reference import UNLIMITED, merge_loop_reference
from toktool.pretokenize import byte_alphabet_order, unique_specials
from toktool.vocab import BPEResult, check_vocab_size, dedupe_merges


def train_bpe_reference(
    wc: WordCounts,
    vocab_size: int,
    min_frequency: int = 0,
    special_tokens: Sequence[str] = (),
    max_token_length: int | None = None,
) -> BPEResult:
    """`learn_bpe` through the merge loop's pure-Python twin."""
    specials = unique_specials(special_tokens)
    check_vocab_size(vocab_size, specials)
    max_len = UNLIMITED if max_token_length is None else max_token_length
    order = byte_alphabet_order()
    byte_id = {b: i for i, b in enumerate(order)}
    words = [[byte_id[b] for b in w] for w, _ in wc.items()]
    counts = [c for _, c in wc.items()]
    raw, tokens, words = merge_loop_reference(words, counts, [bytes([b]) for b in order], vocab_size - len(specials), min_frequency, max_len)
    n_sp = len(specials)
    raw_ids = [(x + n_sp, y + n_sp) for x, y in raw]
    return BPEResult(
        special_tokens=specials,
        tokens=tokens,
        merges=dedupe_merges(raw_ids),
        merges_raw=len(raw_ids),
        train_tokens=sum(len(w) * c for w, c in zip(words, counts)),
        train_bytes=wc.total_bytes,
    )
