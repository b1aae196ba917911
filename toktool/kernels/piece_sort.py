"""Pieces counted by the scanners, put in byte order and merged across processes.

Every counting process ends with a table of unique pieces (UTF-8 bytes, offsets, counts) in the
order it met them; WordCounts keeps them in byte order, so that a process's table can be sent as one
sorted run and the parent merges runs (summing equal pieces' counts) instead of hashing them again,
and so that the result is the same whichever process counted what. Sorting is by an 8-byte
big-endian key first (most pieces differ there), bytes only for ties.
"""

from __future__ import annotations

import numpy as np
from numba import njit


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
