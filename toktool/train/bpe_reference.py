"""Pure-Python twin of the Numba merge loop, written for clarity, used by the tests.

It mirrors Hugging Face's BpeTrainer step by step (heap entries that carry their own position sets,
lazy re-push of stale counts, per-occurrence changes from `Word::merge`) with plain dicts, sets and
heapq. Slow, but small enough to read against the Rust source.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

from ..counts import WordCounts
from ..pretokenize import byte_alphabet_order
from .bpe import UNLIMITED, BPEResult, check_vocab_size, dedupe_merges


def rejected(token: bytes, max_words: int, no_colon_space: bool) -> bool:
    """SuperBPE's stage-2 filter: more than `max_words` space-separated words, or ': ' inside."""
    if no_colon_space and b": " in token:
        return True
    return max_words > 0 and sum(1 for part in token.split(b" ") if part) > max_words


def merge_loop_reference(
    words: list[list[int]],
    counts: list[int],
    tokens: list[bytes],
    target: int,
    min_frequency: int = 0,
    max_len: int = int(UNLIMITED),
    max_words: int = 0,
    no_colon_space: bool = False,
) -> tuple[list[tuple[int, int]], list[bytes], list[list[int]]]:
    """The loop itself, from any initial token table; returns (merge steps, tokens, merged words)."""
    tokens = list(tokens)
    tok_id: dict[bytes, int] = {}
    for i, t in enumerate(tokens):
        tok_id.setdefault(t, i)
    words = [list(w) for w in words]
    pair_counts: dict[tuple[int, int], int] = {}
    where: dict[tuple[int, int], set[int]] = {}
    for i, w in enumerate(words):
        for a, b in zip(w, w[1:]):
            if len(tokens[a]) + len(tokens[b]) > max_len:
                continue
            pair_counts[(a, b)] = pair_counts.get((a, b), 0) + counts[i]
            where.setdefault((a, b), set()).add(i)

    heap: list[tuple[int, int, int, int, int]] = []  # (-count, a, b, list_seq, list_slot)
    lists: list[set[int]] = []

    def push_where() -> None:
        for pair in sorted(where):
            lists.append(where[pair])
            if pair_counts[pair] > 0:
                heapq.heappush(heap, (-pair_counts[pair], pair[0], pair[1], len(lists) - 1, len(lists) - 1))
        where.clear()

    push_where()
    raw: list[tuple[int, int]] = []
    while len(tokens) < target and heap:
        negc, a, b, seq, slot = heapq.heappop(heap)
        cur = pair_counts[(a, b)]
        if -negc != cur:
            if cur > 0:
                heapq.heappush(heap, (-cur, a, b, seq, slot))
            continue
        if cur < 1 or cur < min_frequency:
            break
        new_tok = tokens[a] + tokens[b]
        if (max_words > 0 or no_colon_space) and rejected(new_tok, max_words, no_colon_space):
            continue
        new = tok_id.get(new_tok)
        if new is None:
            new = len(tokens)
            tokens.append(new_tok)
            tok_id[new_tok] = new
        raw.append((a, b))
        nl = len(new_tok)
        for wi in sorted(lists[slot]):
            w = words[wi]
            c = counts[wi]
            out: list[int] = []
            i = 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    changes = []
                    if out:
                        x = out[-1]
                        changes.append(((x, a), -1))
                        if len(tokens[x]) + nl <= max_len:
                            changes.append(((x, new), 1))
                    if i + 2 < len(w):
                        y = w[i + 2]
                        changes.append(((b, y), -1))
                        if nl + len(tokens[y]) <= max_len:
                            changes.append(((new, y), 1))
                    for pair, ch in changes:
                        pair_counts[pair] = pair_counts.get(pair, 0) + ch * c
                        if ch > 0:
                            where.setdefault(pair, set()).add(wi)
                    out.append(new)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            words[wi] = out
        push_where()
    return raw, tokens, words


def train_bpe_reference(
    wc: WordCounts,
    vocab_size: int,
    min_frequency: int = 0,
    special_tokens: Sequence[str] = (),
    max_token_length: int | None = None,
) -> BPEResult:
    specials = list(dict.fromkeys(special_tokens))
    check_vocab_size(vocab_size, specials)
    max_len = int(UNLIMITED) if max_token_length is None else max_token_length
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
