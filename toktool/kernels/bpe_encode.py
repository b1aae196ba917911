"""BPE encoding of words with a ranked merge list: replaying a base tokenizer's merges.

Used to extend a tokenizer (SuperBPE stage 2, `--base`): every distinct word is encoded exactly as
`tokenizers`' BPE model would (word.rs `merge_all`), in parallel slices, so the merge loop can go on
from the base's segmentation.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .hashtable import EMPTY, fnv1a, grow, lookup, same_bytes, slot
from .heap import qless, qpush, qswap


@njit(cache=True, nogil=True)
def _encode_span(data, st, n, byte_ids, keys, vals, bits, ids, nxt, prv, qr, qp, qn):
    """One word (or chunk) data[st:st+n] by `tokenizers`' BPE model (word.rs `merge_all`): a queue of
    candidate merges ordered by rank, then position; an entry is stale when the pair now at its
    position maps to another result. The result is left in `ids`, linked by `nxt` from 0."""
    for i in range(n):
        ids[i] = byte_ids[data[st + i]]
        prv[i] = i - 1
        nxt[i] = i + 1 if i + 1 < n else -1
    qs = 0
    for i in range(n - 1):
        v = lookup(keys, vals, bits, (np.int64(ids[i]) << 32) | np.int64(ids[i + 1]), np.int64(-1))
        if v >= 0:
            qs = qpush(qr, qp, qn, qs, v >> 32, i, v & 0xFFFFFFFF)
    while qs > 0:
        pos = qp[0]
        new = qn[0]
        qs -= 1
        qr[0] = qr[qs]
        qp[0] = qp[qs]
        qn[0] = qn[qs]
        k = 0
        while True:
            left = 2 * k + 1
            if left >= qs:
                break
            best = left
            if left + 1 < qs and qless(qr[left + 1], qp[left + 1], qr[left], qp[left]):
                best = left + 1
            if qless(qr[best], qp[best], qr[k], qp[k]):
                qswap(qr, qp, qn, k, best)
                k = best
            else:
                break
        if ids[pos] < 0:
            continue
        j = nxt[pos]
        if j < 0:
            continue
        v = lookup(keys, vals, bits, (np.int64(ids[pos]) << 32) | np.int64(ids[j]), np.int64(-1))
        if v < 0 or (v & 0xFFFFFFFF) != new:
            continue
        ids[pos] = np.int32(new)
        ids[j] = -1
        nxt[pos] = nxt[j]
        if nxt[j] >= 0:
            prv[nxt[j]] = pos
        for side in range(2):
            if side == 0:
                if prv[pos] < 0:
                    continue
                at = prv[pos]
                key = (np.int64(ids[at]) << 32) | np.int64(ids[pos])
            else:
                if nxt[pos] < 0:
                    continue
                at = pos
                key = (np.int64(ids[pos]) << 32) | np.int64(ids[nxt[pos]])
            v = lookup(keys, vals, bits, key, np.int64(-1))
            if v >= 0:
                qs = qpush(qr, qp, qn, qs, v >> 32, at, v & 0xFFFFFFFF)



@njit(cache=True, nogil=True, inline="always")
def _chunk_end(data, cs, en, cut):
    """End of the chunk starting at cs: the next position whose byte pair no merge can join."""
    ce = cs + 1
    while ce < en and cut[(np.int64(data[ce - 1]) << 8) | np.int64(data[ce])] == 0:
        ce += 1
    return ce





@njit(cache=True, nogil=True)
def _chunk_pass(data, offsets, cut, cslots, ustart, ulen, arena, occ, coff, st, w0, cs0):
    """Cut words w0.. (word w0 from byte cs0 on) into chunks and record each as the id of its distinct
    chunk in occ (word w's chunks are occ[coff[w]:coff[w+1]]). A new distinct chunk's bytes go to
    `arena` (small next to the words: chunks repeat, so checking a hash hit reads cached memory);
    cslots is the index, one int64 per slot (top 31 bits of the hash, chunk id). st = [arena bytes,
    distinct chunks, occurrences, longest chunk, log2 slots, bytes needed]. Returns (w, cs) where the
    arrays ran out of room (w == number of words: done); the caller grows them and calls again. No
    array is replaced here: an array reassigned in this loop costs reference-count updates on every
    chunk (they were most of the replay's time)."""
    nw = offsets.shape[0] - 1
    tmask = (np.int64(1) << st[4]) - 1
    na = st[0]
    nu = st[1]
    nocc = st[2]
    for w in range(w0, nw):
        en = offsets[w + 1]
        cs = cs0 if w == w0 else offsets[w]
        while cs < en:
            ce = _chunk_end(data, cs, en, cut)
            n = ce - cs
            h = fnv1a(data, cs, ce)
            tag = np.int64(h >> np.uint64(33))
            s = np.int64(h & np.uint64(tmask))
            u = np.int64(-1)
            while True:
                v = cslots[s]
                if v < 0:
                    break
                if (v >> 32) == tag:
                    q = v & 0xFFFFFFFF
                    if ulen[q] == n and same_bytes(arena, ustart[q], data, cs, n):
                        u = q
                        break
                s = (s + 1) & tmask
            if nocc >= occ.shape[0] or (u < 0 and (na + n > arena.shape[0] or nu >= ustart.shape[0] or 2 * (nu + 1) > tmask + 1)):
                st[0] = na
                st[1] = nu
                st[2] = nocc
                st[5] = n
                return w, cs
            if u < 0:
                u = nu
                for k in range(n):
                    arena[na + k] = data[cs + k]
                ustart[u] = na
                ulen[u] = n
                cslots[s] = (tag << 32) | u
                na += n
                nu += 1
                if n > st[3]:
                    st[3] = n
            occ[nocc] = u
            nocc += 1
            cs = ce
        coff[w + 1] = nocc
    st[0] = na
    st[1] = nu
    st[2] = nocc
    return nw, np.int64(0)


@njit(cache=True, nogil=True)
def _rehash_chunks(arena, ustart, ulen, nu, tbits):
    """The distinct-chunk index rebuilt in 2**tbits slots."""
    cslots = np.full(np.int64(1) << tbits, -1, dtype=np.int64)
    tmask = (np.int64(1) << tbits) - 1
    for q in range(nu):
        g = fnv1a(arena, ustart[q], ustart[q] + ulen[q])
        t = np.int64(g & np.uint64(tmask))
        while cslots[t] >= 0:
            t = (t + 1) & tmask
        cslots[t] = (np.int64(g >> np.uint64(33)) << 32) | q
    return cslots


@njit(cache=True, nogil=True)
def bpe_encode_kernel(
    data,  # uint8: the words' bytes, concatenated
    offsets,  # int64[nw+1]
    byte_ids,  # int32[256]: token id of each single byte
    m_a,  # int32[nm]: merges in rank order (left id, right id, id of the result)
    m_b,
    m_new,
    cut,  # uint8[65536]: 1 where no merge joins byte x (left) to byte y (right), at x << 8 | y
):
    """Encode every word exactly as `tokenizers`' BPE model does, each distinct chunk once.

    A word is cut where its two bytes are such that no merge has a left side ending in the first and a
    right side starting with the second: the first token to span such a place would have to come from
    such a merge, so no token ever does, and the word's encoding is its chunks' encodings in order.
    With the stage-1 merges of SuperBPE, stage-2 lines fall apart into their words, which repeat, so
    there are far fewer distinct chunks than lines (docs/benchmarks.md). Later duplicates of a merge pair
    win, as in HF's merge map."""
    nm = m_a.shape[0]
    bits = np.int64(4)
    while (np.int64(1) << bits) < 2 * nm + 2:
        bits += 1
    keys = np.full(np.int64(1) << bits, EMPTY, dtype=np.int64)
    vals = np.empty(np.int64(1) << bits, dtype=np.int64)  # rank << 32 | new id
    mask = (np.int64(1) << bits) - 1
    for r in range(nm):
        key = (np.int64(m_a[r]) << 32) | np.int64(m_b[r])
        s = slot(key, np.uint64(64 - bits))
        while keys[s] != EMPTY and keys[s] != key:
            s = (s + 1) & mask
        keys[s] = key
        vals[s] = (np.int64(r) << 32) | np.int64(m_new[r])

    # pass 1: the chunks as ids of distinct chunks (see _chunk_pass); arrays grow between calls
    nw = offsets.shape[0] - 1
    cslots = np.full(np.int64(1) << 12, -1, dtype=np.int64)
    ustart = np.empty(1 << 10, dtype=np.int64)
    ulen = np.empty(1 << 10, dtype=np.int64)
    arena = np.empty(1 << 16, dtype=np.uint8)
    occ = np.empty(max(np.int64(16), data.shape[0] // 4), dtype=np.int32)
    coff = np.zeros(nw + 1, dtype=np.int64)  # word w's chunks are occ[coff[w]:coff[w + 1]]
    st = np.array([0, 0, 0, 1, 12, 0], dtype=np.int64)  # arena bytes, chunks, occurrences, longest, log2 slots, need
    w = np.int64(0)
    cs = offsets[0] if nw > 0 else np.int64(0)
    while True:
        w, cs = _chunk_pass(data, offsets, cut, cslots, ustart, ulen, arena, occ, coff, st, w, cs)
        if w >= nw:
            break
        na, nu, nocc = st[0], st[1], st[2]
        arena = grow(arena, na + st[5])
        ustart = grow(ustart, nu + 1)
        ulen = grow(ulen, nu + 1)
        occ = grow(occ, nocc + 1)
        if 2 * (nu + 1) > (np.int64(1) << st[4]):
            st[4] += 1
            cslots = _rehash_chunks(arena, ustart, ulen, nu, st[4])
    na, nu, nocc, longest = st[0], st[1], st[2], st[3]
    cslots = np.empty(0, dtype=np.int64)

    # each distinct chunk encoded once
    ids = np.empty(longest, dtype=np.int32)
    nxt = np.empty(longest, dtype=np.int64)
    prv = np.empty(longest, dtype=np.int64)
    qcap = 3 * longest + 16
    qr = np.empty(qcap, dtype=np.int64)
    qp = np.empty(qcap, dtype=np.int64)
    qn = np.empty(qcap, dtype=np.int64)
    uoff = np.zeros(nu + 1, dtype=np.int64)
    uenc = np.empty(max(np.int64(16), na), dtype=np.int32)
    for u in range(nu):
        _encode_span(arena, ustart[u], ulen[u], byte_ids, keys, vals, bits, ids, nxt, prv, qr, qp, qn)
        k = uoff[u]
        i = 0
        while i >= 0:
            uenc[k] = ids[i]
            k += 1
            i = nxt[i]
        uoff[u + 1] = k

    # the words: their chunks' tokens in order
    woff = np.zeros(nw + 1, dtype=np.int64)
    for w in range(nw):
        n = 0
        for c in range(coff[w], coff[w + 1]):
            n += uoff[occ[c] + 1] - uoff[occ[c]]
        woff[w + 1] = woff[w] + n
    out = np.empty(woff[nw], dtype=np.int32)
    k = 0
    for c in range(nocc):
        u = occ[c]
        for i in range(uoff[u], uoff[u + 1]):
            out[k] = uenc[i]
            k += 1
    return out, woff
