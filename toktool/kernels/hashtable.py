"""Open-addressing hash tables on flat numpy arrays, shared by every kernel.

Numba cannot keep a dict of pairs or byte strings at the speed the merge loops need, so tables are
arrays: int64 keys (a pair (a, b) packed as a << 32 | b, or an FNV-1a hash of a byte string) in
2**bits slots found by Fibonacci hashing, linear probing, `EMPTY` marking a free slot. Tables grow
by rehashing into twice the slots; growth of the other arrays is amortised doubling (`grow`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

EMPTY = np.int64(-1)
GOLDEN = np.uint64(0x9E3779B97F4A7C15)
FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)


@njit(cache=True, nogil=True, inline="always")
def slot(key: np.int64, shift: np.uint64) -> np.int64:
    return np.int64((np.uint64(key) * GOLDEN) >> shift)


@njit(cache=True, nogil=True)
def pairs_rehash(keys, vals, new_bits):
    """An int64-keyed open-addressing table (any value type) moved into 2**new_bits slots."""
    cap = np.int64(1) << new_bits
    shift = np.uint64(64 - new_bits)
    nk = np.full(cap, EMPTY, dtype=np.int64)
    nv = np.zeros(cap, dtype=vals.dtype)
    mask = cap - 1
    for i in range(keys.shape[0]):
        k = keys[i]
        if k != EMPTY:
            s = slot(k, shift)
            while nk[s] != EMPTY:
                s = (s + 1) & mask
            nk[s] = k
            nv[s] = vals[i]
    return nk, nv


@njit(cache=True, nogil=True)
def grow(a, need):
    """A copy of `a` with room for `need` items (amortised doubling); `a` itself if it fits."""
    n = a.shape[0]
    if need <= n:
        return a
    m = max(need, 2 * n + 16)
    b = np.empty(m, dtype=a.dtype)
    b[:n] = a
    return b


@njit(cache=True, nogil=True)
def trim(a, used):
    """A copy of `a` cut to `used` items plus 1/8 slack, when that frees much."""
    want = used + used // 8 + 1024
    if a.shape[0] <= want + want // 4:
        return a
    b = np.empty(want, dtype=a.dtype)
    b[:used] = a[:used]
    return b



@njit(cache=True, nogil=True, inline="always")
def fnv1a(data, start, end):
    """64-bit FNV-1a hash of data[start:end] (uint8), for the byte-string keyed tables.

    Example: fnv1a(np.frombuffer(b"a", np.uint8), 0, 1) == 0xAF63DC4C8601EC8C."""
    h = FNV_OFFSET
    for i in range(start, end):
        h = (h ^ np.uint64(data[i])) * FNV_PRIME
    return h



@njit(cache=True, nogil=True, inline="always")
def pair_slot(key, pkeys, pbits):
    """Slot of pair `key` in the table: where it is, or the free slot where it would go. Returns an
    index only: in hot loops, calling pair_id (which returns the table arrays, for growth) for a pair
    that is usually there costs reference-count updates on every call; look it up with this first."""
    mask = (np.int64(1) << pbits) - 1
    s = slot(key, np.uint64(64 - pbits))
    while pkeys[s] != EMPTY and pkeys[s] != key:
        s = (s + 1) & mask
    return s


@njit(cache=True, nogil=True, inline="always")
def pair_id(key, pkeys, pvals, pbits, pa, pb, pcount, npairs):
    """Id of pair `key` (a << 32 | b), adding it with count 0 if new; the table grows at load 1/2.

    Returns the id and the (possibly reallocated) table arrays, since Numba cannot grow in place.
    """
    if 2 * (npairs + 1) > (np.int64(1) << pbits):
        pbits += 1
        pkeys, pvals = pairs_rehash(pkeys, pvals, pbits)
    s = pair_slot(key, pkeys, pbits)
    if pkeys[s] == EMPTY:
        pkeys[s] = key
        pvals[s] = npairs
        if npairs >= pa.shape[0]:
            pa = grow(pa, npairs + 1)
            pb = grow(pb, npairs + 1)
            pcount = grow(pcount, npairs + 1)
        pa[npairs] = np.int32(key >> 32)
        pb[npairs] = np.int32(key & 0xFFFFFFFF)
        pcount[npairs] = 0
        npairs += 1
    return pvals[s], pkeys, pvals, pbits, pa, pb, pcount, npairs



@njit(cache=True, nogil=True, inline="always")
def lookup(keys, vals, bits, key, default):
    """vals[key] in an open-addressing table keyed by int64 (EMPTY = free), or `default`."""
    mask = (np.int64(1) << bits) - 1
    s = slot(key, np.uint64(64 - bits))
    while keys[s] != EMPTY:
        if keys[s] == key:
            return vals[s]
        s = (s + 1) & mask
    return default



@njit(cache=True, nogil=True, inline="always")
def same_bytes(a, ao, b, bo, n):
    """a[ao:ao+n] == b[bo:bo+n], for the byte-keyed hash tables (chunks here, pieces in _split_kernel)."""
    for i in range(n):
        if a[ao + i] != b[bo + i]:
            return False
    return True
