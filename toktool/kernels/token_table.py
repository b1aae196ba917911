"""The growing table of token byte strings that the merge loops intern new tokens into.

Tokens are bytes concatenated in `t_data` (uint8) with offsets `t_off` (int64[n+1]); a hash table of
their FNV-1a hashes finds an existing token with the same bytes (a token string produced by two
different pairs keeps one id, as in Hugging Face's trainer). `rejected` is SuperBPE's stage-2 filter.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .hashtable import fnv1a, grow


@njit(cache=True, nogil=True)
def token_table(tok_data, tok_off, vocab_target):
    """Token bytes with room for `vocab_target` tokens, and a hash of them for dedupe by string."""
    ntok = tok_off.shape[0] - 1
    tcap = max(vocab_target, ntok) + 1
    t_off = np.empty(tcap + 1, dtype=np.int64)
    t_off[: ntok + 1] = tok_off
    t_data = tok_data.copy()
    t_len = np.empty(tcap, dtype=np.int64)
    for t in range(ntok):
        t_len[t] = tok_off[t + 1] - tok_off[t]
    th_bits = 4
    while (np.int64(1) << th_bits) < 4 * tcap:
        th_bits += 1
    th_mask = (np.int64(1) << th_bits) - 1
    th = np.full(np.int64(1) << th_bits, np.int32(-1), dtype=np.int32)
    for t in range(ntok):
        s = np.int64(fnv1a(t_data, t_off[t], t_off[t + 1]) & np.uint64(th_mask))
        while th[s] != -1:
            s = (s + 1) & th_mask
        th[s] = t
    return ntok, t_off, t_data, t_len, th, th_mask


@njit(cache=True, nogil=True)
def concat(t_data, t_off, t_len, ntok, a, b):
    """Write bytes(a) + bytes(b) after the last token (not yet added); returns (data, start, length)."""
    la = t_len[a]
    lb = t_len[b]
    nl = la + lb
    base = t_off[ntok]
    t_data = grow(t_data, base + nl)
    for k in range(la):
        t_data[base + k] = t_data[t_off[a] + k]
    for k in range(lb):
        t_data[base + la + k] = t_data[t_off[b] + k]
    return t_data, base, nl


@njit(cache=True, nogil=True)
def intern(t_data, t_off, t_len, th, th_mask, ntok, base, nl):
    """The id of the token just written by concat: an existing one with the same bytes (HF reuses
    ids), or a new one. Returns (id, token count)."""
    s = np.int64(fnv1a(t_data, base, base + nl) & np.uint64(th_mask))
    while th[s] != -1:
        t = th[s]
        if t_len[t] == nl:
            same = True
            for k in range(nl):
                if t_data[t_off[t] + k] != t_data[base + k]:
                    same = False
                    break
            if same:
                return t, ntok
        s = (s + 1) & th_mask
    th[s] = ntok
    t_len[ntok] = nl
    t_off[ntok + 1] = base + nl
    return ntok, ntok + 1


@njit(cache=True, nogil=True)
def rejected(data, start, n, max_words, no_colon_space):
    """SuperBPE's stage-2 filter on a candidate token's bytes: more than `max_words` words (runs of
    non-space bytes; a space is GPT-2's Ġ), or a colon followed by a space."""
    if no_colon_space != 0:
        for k in range(start, start + n - 1):
            if data[k] == 58 and data[k + 1] == 32:
                return True
    if max_words > 0:
        words = 0
        inside = False
        for k in range(start, start + n):
            if data[k] == 32:
                inside = False
            elif not inside:
                inside = True
                words += 1
        if words > max_words:
            return True
    return False
