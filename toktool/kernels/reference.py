"""Pure-Python twins of the Numba kernels, written for clarity and used by the tests.

Each twin takes the same kind of arguments as its kernel (symbol ids, counts, a token table), so a
test can run both on one input and compare. They mirror Hugging Face's BpeTrainer step by step (heap
entries that carry their own position sets, lazy re-push of stale counts, per-occurrence changes from
`Word::merge`) and the parity-aware reference (swiss-ai/parity-aware-bpe) with plain dicts, sets and
heapq: slow, but small enough to read against their sources.

Example: two words "abab" (count 2) and "ab" (count 1) over the tokens a=0, b=1:

    >>> merge_loop_reference([[0, 1, 0, 1], [0, 1]], [2, 1], [b"a", b"b"], target=4)[:2]
    ([(0, 1), (2, 2)], [b'a', b'b', b'ab', b'abab'])
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

# the kernels' "no limit" for the token length, in bytes
UNLIMITED = 1 << 40


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
    max_len: int = UNLIMITED,
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



def parity_reference(sym, woff, wl_off, wl_lang, wl_train, wl_dev, n_langs: int, tokens: Sequence[bytes], vocab_target: int, min_frequency: int = 2, global_merges: int = 0, window: int = 0, alpha: float = 2.0, targets: Sequence[float] | None = None, skip_exhausted: bool = False) -> tuple[list[tuple[int, int]], list[int], list[bytes]]:
    """The selection loop written plainly (dicts, full scans) for the tests: (merge steps, chosen
    language per step (-1 global), tokens)."""
    L = n_langs
    tokens = list(tokens)
    tok_id = {t: i for i, t in enumerate(tokens)}
    words = [sym[woff[i] : woff[i + 1]].tolist() for i in range(len(woff) - 1)]
    entries = [
        [(int(wl_lang[e]), int(wl_train[e]), int(wl_dev[e])) for e in range(wl_off[i], wl_off[i + 1])] for i in range(len(words))
    ]
    ratio_mode = targets is not None

    def pair_counts() -> tuple[list[dict], dict]:
        per = [dict() for _ in range(L)]
        tot: dict = {}
        for w, ents in zip(words, entries):
            for pair in zip(w, w[1:]):
                for li, tr, _ in ents:
                    if tr:
                        per[li][pair] = per[li].get(pair, 0) + tr
                        tot[pair] = tot.get(pair, 0) + tr
        return per, tot

    def lengths(k: int) -> list[int]:
        out = [0] * L
        for w, ents in zip(words, entries):
            for ent in ents:
                out[ent[0]] += len(w) * ent[k]
        return out

    init = lengths(1)
    recent: list[int] = []
    dead = [False] * L
    raw: list[tuple[int, int]] = []
    chosen_list: list[int] = []
    while len(tokens) < vocab_target:
        per, tot = pair_counts()
        if len(raw) < global_merges:
            chosen, counts = -1, tot
        else:
            dev_len, train_len = lengths(2), lengths(1)
            masked = list(dead)
            chosen = -1
            while True:
                cands = [h for h in range(L) if not masked[h]]
                if not cands:
                    break
                if ratio_mode:
                    best = max(cands, key=lambda h: (-(init[h] / max(train_len[h], 1)) / targets[h], -h))
                else:
                    best = max(cands, key=lambda h: (dev_len[h], -h))
                if window > 0 and recent[-window:].count(best) * L > alpha * window:
                    masked[best] = True
                    continue
                chosen = best
                break
            if chosen == -1:
                break
            counts = per[chosen]
            if not any(c > 0 for c in counts.values()):
                dead[chosen] = True
                continue
        live = [(c, p) for p, c in counts.items() if c > 0]
        if not live:
            break
        c, pair = min(live, key=lambda cp: (-cp[0], cp[1]))
        if c < max(min_frequency, 1):
            if skip_exhausted and chosen >= 0:
                dead[chosen] = True
                continue
            break
        a, b = pair
        new_tok = tokens[a] + tokens[b]
        new = tok_id.get(new_tok)
        if new is None:
            new = len(tokens)
            tokens.append(new_tok)
            tok_id[new_tok] = new
        raw.append((a, b))
        chosen_list.append(chosen)
        if chosen >= 0:
            recent.append(chosen)
        for i, w in enumerate(words):
            out, j = [], 0
            while j < len(w):
                if j + 1 < len(w) and w[j] == a and w[j + 1] == b:
                    out.append(new)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = out
    return raw, chosen_list, tokens
