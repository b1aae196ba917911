"""SuperBPE's stage-2 pre-tokenizer and piece counter as a Numba scanner (no regex, no Python dicts).

Stage 2 counts whole lines with a few pieces split off; run through the `regex` module that split and
a Counter of mostly unique lines cost more time than the stage-1 split itself and much memory per
process (docs/benchmarks.md). This scanner applies the same rules as `pretokenize.SUPERBPE_PATTERN` (ordered alternation, greedy, with
the same lookaheads) to UTF-8 bytes, classifying code points with a table built from `regex` itself
(so \\p{L}, \\p{N} and \\s mean exactly what they mean to the pattern), and counts the pieces in an
open-addressing table of byte strings. Tests hold it equal to the regex counter.

Character classes: see charclass.py.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .charclass import C_L, C_N, C_NL, C_P, C_SP, C_WS
from .hashtable import fnv1a, grow, same_bytes


@njit(cache=True, nogil=True, inline="always")
def _is(cls, n, k, c):
    return k < n and cls[k] == c


@njit(cache=True, nogil=True, inline="always")
def _is_ws(cls, n, k):
    return k < n and cls[k] >= C_SP


@njit(cache=True, nogil=True, inline="always")
def _non_ws(cls, n, k):
    return k < n and cls[k] < C_SP


@njit(cache=True, nogil=True)
def _piece_end(cls, cp, n, i):
    """End (exclusive, in characters) of the stage-2 piece starting at character i."""
    c = cls[i]
    # \p{N}{1,3}
    if c == C_N:
        j = i + 1
        while j < n and j < i + 3 and cls[j] == C_N:
            j += 1
        return j
    # " ?[^\s\p{L}\p{N}]{2,}[\r/]*\n?"
    k = i + 1 if c == C_SP else i
    if _is(cls, n, k, C_P) and _is(cls, n, k + 1, C_P):
        j = k + 2
        while _is(cls, n, j, C_P):
            j += 1
        while j < n and (cp[j] == 13 or cp[j] == 47):
            j += 1
        if j < n and cp[j] == 10:
            j += 1
        return j
    # " +(?!\S)": the run of spaces, less the last one when a non-space follows it
    if c == C_SP:
        j = i
        while _is(cls, n, j, C_SP):
            j += 1
        if not _non_ws(cls, n, j):
            return j
        if j - i >= 2:
            return j - 1
    # "(?:\p{L}+|P(?!P)| (?=\S)(?!PP)|[^\S \n])+\n?"
    j = i
    while j < n:
        c = cls[j]
        if c == C_L:
            j += 1
            while _is(cls, n, j, C_L):
                j += 1
        elif c == C_P and not _is(cls, n, j + 1, C_P):
            j += 1
        elif c == C_SP and _non_ws(cls, n, j + 1) and not (_is(cls, n, j + 1, C_P) and _is(cls, n, j + 2, C_P)):
            j += 1
        elif c == C_WS:
            j += 1
        else:
            break
    if j > i:
        if _is(cls, n, j, C_NL):
            j += 1
        return j
    # "\n" (every other character was covered above: the pattern splits the whole text)
    return i + 1


@njit(cache=True, nogil=True)
def _insert(src, start, end, weight, slots, p_hash, p_off, p_cnt, p_data, state):
    """Add `weight` to the count of the byte string src[start:end]; returns the (maybe regrown) arrays.
    state = [pieces, bytes held, log2 slots]."""
    npc = state[0]
    bits = state[2]
    if 2 * (npc + 1) > (np.int64(1) << bits):
        bits += 1
        cap = np.int64(1) << bits
        mask = cap - 1
        slots = np.full(cap, np.int32(-1), dtype=np.int32)
        for q in range(npc):
            s = np.int64(p_hash[q] & np.uint64(mask))
            while slots[s] != -1:
                s = (s + 1) & mask
            slots[s] = np.int32(q)
        state[2] = bits
    mask = (np.int64(1) << bits) - 1
    h = fnv1a(src, start, end)
    ln = end - start
    s = np.int64(h & np.uint64(mask))
    while slots[s] != -1:
        q = slots[s]
        if p_hash[q] == h and p_off[q + 1] - p_off[q] == ln and same_bytes(p_data, p_off[q], src, start, ln):
            p_cnt[q] += weight
            return slots, p_hash, p_off, p_cnt, p_data
        s = (s + 1) & mask
    nd = state[1]
    p_data = grow(p_data, nd + ln)
    for k in range(ln):
        p_data[nd + k] = src[start + k]
    p_hash = grow(p_hash, npc + 1)
    p_cnt = grow(p_cnt, npc + 1)
    p_off = grow(p_off, npc + 2)
    p_hash[npc] = h
    p_cnt[npc] = weight
    p_off[npc + 1] = nd + ln
    slots[s] = np.int32(npc)
    state[0] = npc + 1
    state[1] = nd + ln
    return slots, p_hash, p_off, p_cnt, p_data


@njit(cache=True, nogil=True)
def sb2_count_kernel(buf, seg_off, table, slots, p_hash, p_off, p_cnt, p_data, state):
    """Split each segment buf[seg_off[s]:seg_off[s+1]] (UTF-8) into stage-2 pieces and count them."""
    longest = 1
    for s in range(seg_off.shape[0] - 1):
        longest = max(longest, seg_off[s + 1] - seg_off[s])
    cls = np.empty(longest + 1, dtype=np.uint8)
    cp = np.empty(longest + 1, dtype=np.int32)
    at = np.empty(longest + 1, dtype=np.int64)
    for s in range(seg_off.shape[0] - 1):
        b = seg_off[s]
        e = seg_off[s + 1]
        n = 0
        while b < e:
            x = np.int32(buf[b])
            if x < 0x80:
                ln = 1
            elif x < 0xE0:
                ln = 2
                x &= 0x1F
            elif x < 0xF0:
                ln = 3
                x &= 0x0F
            else:
                ln = 4
                x &= 0x07
            for k in range(1, ln):
                x = (x << 6) | (np.int32(buf[b + k]) & 0x3F)
            at[n] = b
            cp[n] = x
            cls[n] = table[x]
            n += 1
            b += ln
        at[n] = e
        i = 0
        while i < n:
            j = _piece_end(cls, cp, n, i)
            slots, p_hash, p_off, p_cnt, p_data = _insert(buf, at[i], at[j], np.int64(1), slots, p_hash, p_off, p_cnt, p_data, state)
            i = j
    return slots, p_hash, p_off, p_cnt, p_data


@njit(cache=True, nogil=True, inline="always")
def _cmp2(d1, o1, i, d2, o2, j):
    """-1, 0, 1 as bytes(piece i of run 1) is below, equal to, above bytes(piece j of run 2)."""
    a = o1[i]
    la = o1[i + 1] - a
    b = o2[j]
    lb = o2[j + 1] - b
    for k in range(min(la, lb)):
        if d1[a + k] != d2[b + k]:
            return -1 if d1[a + k] < d2[b + k] else 1
    if la == lb:
        return 0
    return -1 if la < lb else 1


@njit(cache=True, nogil=True)
def _merge_runs(d1, o1, c1, d2, o2, c2, data, off, cnt, fill):
    """Walk two sorted runs in merged order; with `fill`, write the merged run into data/off/cnt.
    Returns (pieces, bytes) of the merged run."""
    n1 = c1.shape[0]
    n2 = c2.shape[0]
    i = 0
    j = 0
    k = 0
    nb = 0
    while i < n1 or j < n2:
        c = -1 if j >= n2 else (1 if i >= n1 else _cmp2(d1, o1, i, d2, o2, j))
        if c <= 0:
            src, so, ln, w = d1, o1[i], o1[i + 1] - o1[i], c1[i]
            i += 1
            if c == 0:
                w += c2[j]
                j += 1
        else:
            src, so, ln, w = d2, o2[j], o2[j + 1] - o2[j], c2[j]
            j += 1
        if fill:
            data[nb : nb + ln] = src[so : so + ln]
            cnt[k] = w
            off[k + 1] = nb + ln
        nb += ln
        k += 1
    return k, nb


@njit(cache=True, nogil=True)
def merge_sorted_kernel(d1, o1, c1, d2, o2, c2):
    """Two processes' pieces, each in byte order, as one run in byte order with equal pieces'
    counts summed. One pass sizes the output exactly, a second fills it."""
    n, nb = _merge_runs(d1, o1, c1, d2, o2, c2, np.empty(0, dtype=np.uint8), np.zeros(1, dtype=np.int64), np.empty(0, dtype=np.int64), False)
    data = np.empty(nb, dtype=np.uint8)
    off = np.zeros(n + 1, dtype=np.int64)
    cnt = np.empty(n, dtype=np.int64)
    _merge_runs(d1, o1, c1, d2, o2, c2, data, off, cnt, True)
    return data, off, cnt


@njit(cache=True, nogil=True, inline="always")
def _less(data, off, x, y):
    """bytes(x) < bytes(y), as Python compares bytes."""
    a = off[x]
    la = off[x + 1] - a
    b = off[y]
    lb = off[y + 1] - b
    m = min(la, lb)
    for k in range(m):
        if data[a + k] != data[b + k]:
            return data[a + k] < data[b + k]
    return la < lb


@njit(cache=True, nogil=True)
def _merge_sort_range(data, off, idx, tmp, lo0, hi0):
    """idx[lo0:hi0] put in byte order of its pieces (bottom-up merge sort)."""
    width = 1
    n = hi0 - lo0
    src, dst = idx, tmp
    while width < n:
        lo = lo0
        while lo < hi0:
            mid = min(lo + width, hi0)
            hi = min(lo + 2 * width, hi0)
            i = lo
            j = mid
            k = lo
            while i < mid and j < hi:
                if _less(data, off, src[j], src[i]):
                    dst[k] = src[j]
                    j += 1
                else:
                    dst[k] = src[i]
                    i += 1
                k += 1
            while i < mid:
                dst[k] = src[i]
                i += 1
                k += 1
            while j < hi:
                dst[k] = src[j]
                j += 1
                k += 1
            lo = hi
        src, dst = dst, src
        width *= 2
    if src is not idx:
        idx[lo0:hi0] = src[lo0:hi0]


@njit(cache=True, nogil=True)
def sort_pieces_kernel(data, off, n):
    """Indices of the n pieces in byte order (pieces are distinct).

    First by their first 8 bytes as one big-endian integer (zero-padded: a smaller key means a
    smaller piece, so only equal keys need the bytes), then each run of equal keys by comparing
    bytes: most pieces are told apart by the integer sort, without touching their bytes."""
    key = np.zeros(n, dtype=np.uint64)
    for i in range(n):
        a = off[i]
        m = min(off[i + 1] - a, 8)
        k = np.uint64(0)
        for j in range(8):
            k = k << np.uint64(8)
            if j < m:
                k |= np.uint64(data[a + j])
        key[i] = k
    idx = np.argsort(key, kind="mergesort").astype(np.int64)
    tmp = np.empty(n, dtype=np.int64)
    lo = 0
    while lo < n:
        hi = lo + 1
        while hi < n and key[idx[hi]] == key[idx[lo]]:
            hi += 1
        if hi - lo > 1:
            _merge_sort_range(data, off, idx, tmp, lo, hi)
        lo = hi
    return idx


@njit(cache=True, nogil=True)
def gather_kernel(data, off, order):
    """Pieces' bytes and offsets in the given order."""
    n = order.shape[0]
    out_off = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        q = order[i]
        out_off[i + 1] = out_off[i] + off[q + 1] - off[q]
    out = np.empty(out_off[n], dtype=np.uint8)
    for i in range(n):
        q = order[i]
        o = off[q]
        d = out_off[i]
        for k in range(off[q + 1] - o):
            out[d + k] = data[o + k]
    return out, out_off
