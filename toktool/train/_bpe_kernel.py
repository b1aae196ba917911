"""The Numba merge loop. Flat arrays only; no Python objects inside.

Semantics follow Hugging Face's BpeTrainer (tokenizers/src/models/bpe/trainer.rs and word.rs) so that
the merges come out identical:
- a max-heap of entries (count, pair, position list) with lazy invalidation: a popped entry whose
  count is stale is re-pushed with the current count;
- ties: higher count first, then the smaller pair (a, b) by id, i.e. by creation order;
- a merge is applied to the words in the popped entry's own position list; the pairs it creates are
  collected per pair and pushed as new entries (so one pair may have several entries when a token
  string is produced by two different pairs and its id is reused);
- per-occurrence count changes exactly as `Word::merge` produces them.
Differences, both documented: `max_len` allows tokens of up to max_len bytes (HF: strictly shorter),
and entries whose current count is <= 0 are dropped rather than re-pushed (same merges).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_EMPTY = np.int64(-1)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, nogil=True, inline="always")
def _slot(key: np.int64, shift: np.uint64) -> np.int64:
    return np.int64((np.uint64(key) * _GOLDEN) >> shift)


@njit(cache=True, nogil=True)
def _pairs_rehash(keys, vals, new_bits):
    """An int64-keyed open-addressing table (any value type) moved into 2**new_bits slots."""
    cap = np.int64(1) << new_bits
    shift = np.uint64(64 - new_bits)
    nk = np.full(cap, _EMPTY, dtype=np.int64)
    nv = np.zeros(cap, dtype=vals.dtype)
    mask = cap - 1
    for i in range(keys.shape[0]):
        k = keys[i]
        if k != _EMPTY:
            s = _slot(k, shift)
            while nk[s] != _EMPTY:
                s = (s + 1) & mask
            nk[s] = k
            nv[s] = vals[i]
    return nk, nv


@njit(cache=True, nogil=True)
def _grow(a, need):
    """A copy of `a` with room for `need` items (amortised doubling); `a` itself if it fits."""
    n = a.shape[0]
    if need <= n:
        return a
    m = max(need, 2 * n + 16)
    b = np.empty(m, dtype=a.dtype)
    b[:n] = a
    return b


@njit(cache=True, nogil=True)
def _trim(a, used):
    """A copy of `a` cut to `used` items plus 1/8 slack, when that frees much."""
    want = used + used // 8 + 1024
    if a.shape[0] <= want + want // 4:
        return a
    b = np.empty(want, dtype=a.dtype)
    b[:used] = a[:used]
    return b


@njit(cache=True, nogil=True, inline="always")
def _better(c1, p1, l1, c2, p2, l2, pa, pb):
    """Heap order: count desc, then pair (a, b) asc, then older position list first."""
    if c1 != c2:
        return c1 > c2
    if p1 != p2:
        if pa[p1] != pa[p2]:
            return pa[p1] < pa[p2]
        return pb[p1] < pb[p2]
    return l1 < l2


@njit(cache=True, nogil=True)
def _heap_push(hc, hp, hl, size, c, p, lst, pa, pb):
    i = size
    hc[i] = c
    hp[i] = p
    hl[i] = lst
    while i > 0:
        parent = (i - 1) >> 1
        if _better(hc[i], hp[i], hl[i], hc[parent], hp[parent], hl[parent], pa, pb):
            hc[i], hc[parent] = hc[parent], hc[i]
            hp[i], hp[parent] = hp[parent], hp[i]
            hl[i], hl[parent] = hl[parent], hl[i]
            i = parent
        else:
            break


@njit(cache=True, nogil=True)
def _heap_pop(hc, hp, hl, size, pa, pb):
    """Remove the root (caller reads it first). `size` is the size before popping."""
    last = size - 1
    hc[0] = hc[last]
    hp[0] = hp[last]
    hl[0] = hl[last]
    n = last
    i = 0
    while True:
        left = 2 * i + 1
        if left >= n:
            break
        best = left
        right = left + 1
        if right < n and _better(hc[right], hp[right], hl[right], hc[left], hp[left], hl[left], pa, pb):
            best = right
        if _better(hc[best], hp[best], hl[best], hc[i], hp[i], hl[i], pa, pb):
            hc[i], hc[best] = hc[best], hc[i]
            hp[i], hp[best] = hp[best], hp[i]
            hl[i], hl[best] = hl[best], hl[i]
            i = best
        else:
            break


@njit(cache=True, nogil=True)
def _fnv(data, start, end):
    h = np.uint64(0xCBF29CE484222325)
    for i in range(start, end):
        h = (h ^ np.uint64(data[i])) * np.uint64(0x100000001B3)
    return h


@njit(cache=True, nogil=True)
def _token_table(tok_data, tok_off, vocab_target):
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
        s = np.int64(_fnv(t_data, t_off[t], t_off[t + 1]) & np.uint64(th_mask))
        while th[s] != -1:
            s = (s + 1) & th_mask
        th[s] = t
    return ntok, t_off, t_data, t_len, th, th_mask


@njit(cache=True, nogil=True)
def _concat(t_data, t_off, t_len, ntok, a, b):
    """Write bytes(a) + bytes(b) after the last token (not yet added); returns (data, start, length)."""
    la = t_len[a]
    lb = t_len[b]
    nl = la + lb
    base = t_off[ntok]
    t_data = _grow(t_data, base + nl)
    for k in range(la):
        t_data[base + k] = t_data[t_off[a] + k]
    for k in range(lb):
        t_data[base + la + k] = t_data[t_off[b] + k]
    return t_data, base, nl


@njit(cache=True, nogil=True)
def _intern(t_data, t_off, t_len, th, th_mask, ntok, base, nl):
    """The id of the token just written by _concat: an existing one with the same bytes (HF reuses
    ids), or a new one. Returns (id, token count)."""
    s = np.int64(_fnv(t_data, base, base + nl) & np.uint64(th_mask))
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
def _rejected(data, start, n, max_words, no_colon_space):
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


@njit(cache=True, nogil=True, inline="always")
def _pair_id(key, pkeys, pvals, pbits, pa, pb, pcount, npairs):
    """Id of pair `key` (a << 32 | b), adding it with count 0 if new; the table grows at load 1/2.

    Returns the id and the (possibly reallocated) table arrays, since Numba cannot grow in place.
    """
    if 2 * (npairs + 1) > (np.int64(1) << pbits):
        pbits += 1
        pkeys, pvals = _pairs_rehash(pkeys, pvals, pbits)
    mask = (np.int64(1) << pbits) - 1
    s = _slot(key, np.uint64(64 - pbits))
    while pkeys[s] != _EMPTY and pkeys[s] != key:
        s = (s + 1) & mask
    if pkeys[s] == _EMPTY:
        pkeys[s] = key
        pvals[s] = npairs
        if npairs >= pa.shape[0]:
            pa = _grow(pa, npairs + 1)
            pb = _grow(pb, npairs + 1)
            pcount = _grow(pcount, npairs + 1)
        pa[npairs] = np.int32(key >> 32)
        pb[npairs] = np.int32(key & 0xFFFFFFFF)
        pcount[npairs] = 0
        npairs += 1
    return pvals[s], pkeys, pvals, pbits, pa, pb, pcount, npairs


@njit(cache=True, nogil=True)
def _add_lists(keys, pool, npool, lstart, llen, nlists, hc, hp, hl, hsize, pcount, pa, pb, min_push):
    """Sort (pair << 32 | word) keys and push a heap entry with its deduplicated word list for each
    pair whose count is at least `min_push` (HF: draining `where_to_update`, which pushes counts > 0;
    a list without an entry is never read, so it is not stored)."""
    keys.sort()
    n = keys.shape[0]
    pool = _grow(pool, npool + n)
    i = 0
    while i < n:
        pid = keys[i] >> 32
        j = i
        if pcount[pid] < min_push:
            while j < n and (keys[j] >> 32) == pid:
                j += 1
            i = j
            continue
        if nlists >= lstart.shape[0]:
            lstart = _grow(lstart, nlists + 1)
            llen = _grow(llen, nlists + 1)
        lstart[nlists] = npool
        prev = np.int64(-1)
        while j < n and (keys[j] >> 32) == pid:
            if keys[j] != prev:
                pool[npool] = np.int32(keys[j] & 0xFFFFFFFF)
                npool += 1
                prev = keys[j]
            j += 1
        llen[nlists] = npool - lstart[nlists]
        if hsize >= hc.shape[0]:
            hc = _grow(hc, hsize + 1)
            hp = _grow(hp, hsize + 1)
            hl = _grow(hl, hsize + 1)
        _heap_push(hc, hp, hl, hsize, pcount[pid], np.int32(pid), np.int32(nlists), pa, pb)
        hsize += 1
        nlists += 1
        i = j
    return pool, npool, lstart, llen, nlists, hc, hp, hl, hsize


@njit(cache=True, nogil=True)
def _table_for(pa, pb, n, spare):
    """A fresh pair table for pairs 0..n-1 at load <= 1/spare."""
    bits = np.int64(16)
    while (np.int64(1) << bits) < spare * (n + 1):
        bits += 1
    keys = np.full(np.int64(1) << bits, _EMPTY, dtype=np.int64)
    vals = np.empty(np.int64(1) << bits, dtype=np.int32)
    mask = (np.int64(1) << bits) - 1
    shift = np.uint64(64 - bits)
    for p in range(n):
        key = (np.int64(pa[p]) << 32) | np.int64(pb[p])
        s = _slot(key, shift)
        while keys[s] != _EMPTY:
            s = (s + 1) & mask
        keys[s] = key
        vals[s] = np.int32(p)
    return keys, vals, bits


@njit(cache=True, nogil=True)
def _compact_pairs(pa, pb, pcount, npairs, hp, hsize, theta):
    """Forget pairs below `theta` that no heap entry refers to; pair ids are renumbered (ties are
    broken by the pairs' token ids, never by pair id). Returns (npairs, table, bits)."""
    keep = np.zeros(npairs, dtype=np.uint8)
    for p in range(npairs):
        if pcount[p] >= theta:
            keep[p] = 1
    for i in range(hsize):
        keep[hp[i]] = 1
    newid = np.empty(npairs, dtype=np.int32)
    n = 0
    for p in range(npairs):
        if keep[p] != 0:
            newid[p] = np.int32(n)
            pa[n] = pa[p]
            pb[n] = pb[p]
            pcount[n] = pcount[p]
            n += 1
    for i in range(hsize):
        hp[i] = newid[hp[i]]
    keys, vals, bits = _table_for(pa, pb, n, 4)
    return n, keys, vals, bits


@njit(cache=True, nogil=True)
def _compact_lists(pool, lstart, llen, hl, hsize):
    """Keep only the position lists that heap entries refer to, renumbered in their old order (list
    ids break ties between entries of one pair). Returns (pool, npool, lstart, llen, nlists)."""
    live = np.sort(hl[:hsize].astype(np.int64))
    total = 0
    for k in range(hsize):
        total += llen[live[k]]
    npool_ = np.empty(max(total + total // 8, 1024), dtype=np.int32)
    nstart = np.empty(max(hsize + hsize // 8, 1024), dtype=np.int64)
    nlen = np.empty(nstart.shape[0], dtype=np.int64)
    o = 0
    for k in range(hsize):
        old = live[k]
        nstart[k] = o
        nlen[k] = llen[old]
        st = lstart[old]
        for q in range(llen[old]):
            npool_[o + q] = pool[st + q]
        o += llen[old]
    for i in range(hsize):
        hl[i] = np.int32(np.searchsorted(live, np.int64(hl[i])))
    return npool_, o, nstart, nlen, hsize


@njit(cache=True, nogil=True)
def _recount(keys_rc, sym, wstart, wlen, wcnt, nw):
    """Exact counts of the given pairs over all words: for pairs that a merge reusing an existing
    token id recreated after they had been forgotten below theta (their old occurrences are back)."""
    bits = np.int64(4)
    while (np.int64(1) << bits) < 2 * keys_rc.shape[0] + 2:
        bits += 1
    keys = np.full(np.int64(1) << bits, _EMPTY, dtype=np.int64)
    vals = np.empty(np.int64(1) << bits, dtype=np.int64)
    mask = (np.int64(1) << bits) - 1
    for k in range(keys_rc.shape[0]):
        s = _slot(keys_rc[k], np.uint64(64 - bits))
        while keys[s] != _EMPTY and keys[s] != keys_rc[k]:
            s = (s + 1) & mask
        keys[s] = keys_rc[k]
        vals[s] = k
    out = np.zeros(keys_rc.shape[0], dtype=np.int64)
    for w in range(nw):
        st = wstart[w]
        for i in range(st, st + wlen[w] - 1):
            k = _lookup(keys, vals, bits, (np.int64(sym[i]) << 32) | np.int64(sym[i + 1]), np.int64(-1))
            if k >= 0:
                out[k] += wcnt[w]
    return out


@njit(cache=True, nogil=True, inline="always")
def _local_find(lkeys, lgen, lvals, lbits, gen, key):
    """(slot, id or -1) of `key` in the step-local pair table; slots of earlier steps are free."""
    mask = (np.int64(1) << lbits) - 1
    s = _slot(key, np.uint64(64 - lbits))
    while lgen[s] == gen:
        if lkeys[s] == key:
            return s, np.int64(lvals[s])
        s = (s + 1) & mask
    return s, np.int64(-1)


@njit(cache=True, nogil=True)
def _local_add(key, s, lkeys, lgen, lvals, lbits, gen, lkey, lcount, nloc):
    """Add `key` (absent, its free slot `s`) to the step-local table with count 0; grows at load 1/2.
    Returns (id, lkeys, lgen, lvals, lbits, gen, lkey, lcount, nloc + 1)."""
    lkeys[s] = key
    lgen[s] = gen
    lvals[s] = np.int32(nloc)
    lkey = _grow(lkey, nloc + 1)
    lcount = _grow(lcount, nloc + 1)
    lkey[nloc] = key
    lcount[nloc] = 0
    nloc += 1
    if 2 * nloc > (np.int64(1) << lbits):
        lbits += 1
        gen = np.int64(1)
        lkeys = np.empty(np.int64(1) << lbits, dtype=np.int64)
        lgen = np.zeros(np.int64(1) << lbits, dtype=np.int64)
        lvals = np.empty(np.int64(1) << lbits, dtype=np.int32)
        mask = (np.int64(1) << lbits) - 1
        for q in range(nloc):
            t = _slot(lkey[q], np.uint64(64 - lbits))
            while lgen[t] == gen:
                t = (t + 1) & mask
            lkeys[t] = lkey[q]
            lgen[t] = gen
            lvals[t] = np.int32(q)
    return nloc - 1, lkeys, lgen, lvals, lbits, gen, lkey, lcount, nloc


@njit(cache=True, nogil=True)
def bpe_train_kernel(
    sym,  # int32[total]: initial symbol ids of all words, concatenated (modified in place)
    woff,  # int64[nw+1]
    wcnt,  # int64[nw]
    tok_data,  # uint8: bytes of the initial tokens
    tok_off,  # int64[n0+1]
    vocab_target,  # stop when this many tokens exist (specials excluded)
    min_freq,
    max_len,  # max token length in bytes
    max_words,  # > 0: skip a merge whose token has more space-separated words (SuperBPE stage 2)
    no_colon_space,  # 1: skip a merge whose token contains ": " (SuperBPE stage 2)
    prune,  # > 0: forget pairs below theta = max(2, c_M // prune) (see below); 0: keep every pair
    progress,  # int64[2]: merges done, vocab size (read by another thread)
    stop,  # int64[1]: set to 1 by another thread to stop early
):
    """Returns the merges, the token table, the words' final lengths and
    stats = [theta, smallest merged count, 1 if the heap ran out before the target, recounts].

    Pruning (stage 2, where most pairs occur once or twice in unique lines): with c_M the count of the
    M-th most frequent initial pair (M merges to make), pairs whose count is below theta get no
    position list or heap entry and are dropped from the pair table. Counts only fall, except for
    pairs made by a merge that reuses an existing token id, which are recounted exactly. So if every
    merge taken has a count >= theta, no forgotten pair could have been chosen and the merges are the
    same as without pruning; the caller checks that in `stats` and reruns unpruned otherwise."""
    nw = woff.shape[0] - 1
    wstart = woff  # word w starts at woff[w] for good: merges shorten words in place
    wlen = np.empty(nw, dtype=np.int64)
    for w in range(nw):
        wlen[w] = woff[w + 1] - woff[w]

    # --- token table (dedupe by bytes, like HF's word_to_id) -----------------------------
    ntok, t_off, t_data, t_len, th, th_mask = _token_table(tok_data, tok_off, vocab_target)

    # --- pair table ------------------------------------------------------------------------
    pbits = np.int64(16)
    pkeys = np.full(np.int64(1) << pbits, _EMPTY, dtype=np.int64)
    pvals = np.empty(np.int64(1) << pbits, dtype=np.int32)
    pa = np.empty(1 << 16, dtype=np.int32)
    pb = np.empty(1 << 16, dtype=np.int32)
    pcount = np.zeros(1 << 16, dtype=np.int64)
    npairs = 0
    hc = np.empty(1 << 16, dtype=np.int64)
    hp = np.empty(1 << 16, dtype=np.int32)
    hl = np.empty(1 << 16, dtype=np.int32)
    hsize = 0
    stats = np.zeros(4, dtype=np.int64)

    # pruning: pairs that occur once can never reach theta >= 2; a byte per hash bucket, saturating at
    # 2, finds them first, so the exact table below holds only the others (on the bench corpus's
    # stage 2: 0.4 M of 1.0 M distinct pairs, half the table)
    seen = np.zeros(0, dtype=np.uint8)
    sbits = np.int64(16)
    if prune > 0:
        npos = 0
        for w in range(nw):
            npos += max(wlen[w] - 1, 0)
        while (np.int64(1) << sbits) < 2 * npos and sbits < 24:
            sbits += 1
        seen = np.zeros(np.int64(1) << sbits, dtype=np.uint8)
        for w in range(nw):
            st = wstart[w]
            c = wcnt[w]
            for i in range(st, st + wlen[w] - 1):
                h = _slot((np.int64(sym[i]) << 32) | np.int64(sym[i + 1]), np.uint64(64 - sbits))
                if seen[h] < 2:
                    seen[h] = 2 if (c > 1 or seen[h] == 1) else 1

    # initial pair counts
    for w in range(nw):
        st = wstart[w]
        c = wcnt[w]
        for i in range(st, st + wlen[w] - 1):
            a = sym[i]
            b = sym[i + 1]
            if t_len[a] + t_len[b] > max_len:
                continue
            key = (np.int64(a) << 32) | np.int64(b)
            if prune > 0 and seen[_slot(key, np.uint64(64 - sbits))] < 2:
                continue  # a pair seen once (with a word count of 1)
            pid, pkeys, pvals, pbits, pa, pb, pcount, npairs = _pair_id(key, pkeys, pvals, pbits, pa, pb, pcount, npairs)
            pcount[pid] += c
    seen = np.zeros(0, dtype=np.uint8)

    theta = np.int64(0)
    if prune > 0 and npairs > 0:
        # c_M is the same as over all pairs: the pairs left out count 1, and when fewer than M pairs
        # count >= 2, theta is 2 either way
        m = max(vocab_target - ntok, 1)
        srt = np.sort(pcount[:npairs])
        theta = max(np.int64(2), srt[max(npairs - m, 0)] // prune)
        srt = np.empty(0, dtype=np.int64)
        npairs, pkeys, pvals, pbits = _compact_pairs(pa, pb, pcount, npairs, hp, 0, theta)
    stats[0] = theta
    min_push = max(theta, np.int64(1))

    # position lists (the distinct words of each pair that gets an entry), laid out by counting:
    # one pass counts each pair's words, one fills the pool in place. Pair by pair in id order and word
    # by word, as sorting (pair << 32 | word) keys would, without a buffer of every position.
    lcur = np.zeros(npairs, dtype=np.int64)
    lastw = np.full(npairs, -1, dtype=np.int64)
    for w in range(nw):
        st = wstart[w]
        for i in range(st, st + wlen[w] - 1):
            key = (np.int64(sym[i]) << 32) | np.int64(sym[i + 1])
            pid = _lookup(pkeys, pvals, pbits, key, np.int32(-1))
            if pid >= 0 and pcount[pid] >= min_push and lastw[pid] != w:
                lastw[pid] = w
                lcur[pid] += 1
    nlists = 0
    for p in range(npairs):
        if lcur[p] > 0:
            nlists += 1
    lstart = np.empty(max(nlists, 16), dtype=np.int64)
    llen = np.empty(max(nlists, 16), dtype=np.int64)
    hc = _grow(hc, nlists)
    hp = _grow(hp, nlists)
    hl = _grow(hl, nlists)
    npool = 0
    nlists = 0
    for p in range(npairs):
        if lcur[p] > 0:
            lstart[nlists] = npool
            llen[nlists] = lcur[p]
            _heap_push(hc, hp, hl, hsize, pcount[p], np.int32(p), np.int32(nlists), pa, pb)
            hsize += 1
            nlists += 1
            npool += lcur[p]
            lcur[p] = npool - lcur[p]  # now the pair's write position in the pool
            lastw[p] = -1
    pool = np.empty(max(npool, 16), dtype=np.int32)
    for w in range(nw):
        st = wstart[w]
        for i in range(st, st + wlen[w] - 1):
            key = (np.int64(sym[i]) << 32) | np.int64(sym[i + 1])
            pid = _lookup(pkeys, pvals, pbits, key, np.int32(-1))
            if pid >= 0 and pcount[pid] >= min_push and lastw[pid] != w:
                lastw[pid] = w
                pool[lcur[pid]] = np.int32(w)
                lcur[pid] += 1
    lcur = np.empty(0, dtype=np.int64)
    lastw = np.empty(0, dtype=np.int64)
    buf = np.empty(1 << 16, dtype=np.int64)  # per-step changes (pair << 32 | word keys) are small
    # trim the doubling slack of the initial pass (up to half of each array): later growth is small
    pa = _trim(pa, npairs)
    pb = _trim(pb, npairs)
    pcount = _trim(pcount, npairs)
    lstart = _trim(lstart, nlists)
    llen = _trim(llen, nlists)
    hc = _trim(hc, hsize)
    hp = _trim(hp, hsize)
    hl = _trim(hl, hsize)
    pool = _trim(pool, npool)
    live_pairs = npairs
    live_pool = npool
    rc = np.empty(64, dtype=np.int64)  # pairs to recount after a merge that reused a token id
    # step-local pair table (pruning only): a slot is taken when its generation is the current step's
    lbits = np.int64(12)
    lkeys = np.empty(np.int64(1) << lbits, dtype=np.int64)
    lgen = np.zeros(np.int64(1) << lbits, dtype=np.int64)
    lvals = np.empty(np.int64(1) << lbits, dtype=np.int32)
    gen = np.int64(1)
    lkey = np.empty(1024, dtype=np.int64)
    lcount = np.empty(1024, dtype=np.int64)
    lmap = np.empty(1024, dtype=np.int64)
    nloc = 0
    lbuf = np.empty(1024, dtype=np.int64)

    # --- merges ----------------------------------------------------------------------------
    m_a = np.empty(max(vocab_target - ntok, 16), dtype=np.int32)
    m_b = np.empty(max(vocab_target - ntok, 16), dtype=np.int32)
    m_new = np.empty(max(vocab_target - ntok, 16), dtype=np.int32)
    nmerges = 0
    min_merged = np.int64(-1)

    while ntok < vocab_target and hsize > 0:
        if stop[0] != 0:
            break
        c0 = hc[0]
        pid = hp[0]
        lid = hl[0]
        _heap_pop(hc, hp, hl, hsize, pa, pb)
        hsize -= 1
        cur = pcount[pid]
        if c0 != cur:
            if cur >= min_push:
                _heap_push(hc, hp, hl, hsize, cur, pid, lid, pa, pb)
                hsize += 1
            continue
        if cur < 1 or cur < min_freq:
            break
        a = pa[pid]
        b = pb[pid]

        # new token = bytes(a) + bytes(b); reuse the id if that string exists already
        t_data, base, nl = _concat(t_data, t_off, t_len, ntok, a, b)
        if (max_words > 0 or no_colon_space != 0) and _rejected(t_data, base, nl, max_words, no_colon_space):
            continue  # dropped like the SuperBPE reference: later entries for this pair are tried again
        ntok_before = ntok
        new, ntok = _intern(t_data, t_off, t_len, th, th_mask, ntok, base, nl)
        reused = ntok == ntok_before
        if min_merged < 0 or cur < min_merged:
            min_merged = cur

        if nmerges >= m_a.shape[0]:
            m_a = _grow(m_a, nmerges + 1)
            m_b = _grow(m_b, nmerges + 1)
            m_new = _grow(m_new, nmerges + 1)
        m_a[nmerges] = a
        m_b[nmerges] = b
        m_new[nmerges] = new
        nmerges += 1

        # apply to the words of this entry's position list, collecting count changes
        nbuf = 0
        nlbuf = 0
        nrc = 0
        ls = lstart[lid]
        for q in range(ls, ls + llen[lid]):
            w = pool[q]
            st = wstart[w]
            end = st + wlen[w]
            c = wcnt[w]
            r = st
            o = st
            while r < end:
                if r + 1 < end and sym[r] == a and sym[r + 1] == b:
                    for side in range(2):
                        if side == 0:
                            if o == st:
                                continue
                            x = sym[o - 1]
                            k_minus = (np.int64(x) << 32) | np.int64(a)
                            k_plus = (np.int64(x) << 32) | np.int64(new)
                            ok = t_len[x] + nl <= max_len
                        else:
                            if r + 2 >= end:
                                continue
                            y = sym[r + 2]
                            k_minus = (np.int64(b) << 32) | np.int64(y)
                            k_plus = (np.int64(new) << 32) | np.int64(y)
                            ok = nl + t_len[y] <= max_len
                        if theta > 0:
                            # forgotten pairs are not tracked; a recreated one is recounted below.
                            # Pairs new in this step are counted in the step-local table first.
                            p2 = _lookup(pkeys, pvals, pbits, k_minus, np.int32(-1))
                            if p2 >= 0:
                                pcount[p2] -= c
                            elif nloc > 0:
                                _, q = _local_find(lkeys, lgen, lvals, lbits, gen, k_minus)
                                if q >= 0:
                                    lcount[q] -= c
                            if not ok:
                                continue
                            p2 = _lookup(pkeys, pvals, pbits, k_plus, np.int32(-1))
                            if p2 >= 0:
                                pcount[p2] += c
                                if nbuf >= buf.shape[0]:
                                    buf = _grow(buf, nbuf + 1)
                                buf[nbuf] = (np.int64(p2) << 32) | np.int64(w)
                                nbuf += 1
                                continue
                            slot, q = _local_find(lkeys, lgen, lvals, lbits, gen, k_plus)
                            if q < 0:
                                if reused:
                                    rc = _grow(rc, nrc + 1)
                                    rc[nrc] = k_plus
                                    nrc += 1
                                q, lkeys, lgen, lvals, lbits, gen, lkey, lcount, nloc = _local_add(
                                    k_plus, slot, lkeys, lgen, lvals, lbits, gen, lkey, lcount, nloc
                                )
                            lcount[q] += c
                            if nlbuf >= lbuf.shape[0]:
                                lbuf = _grow(lbuf, nlbuf + 1)
                            lbuf[nlbuf] = (q << 32) | np.int64(w)
                            nlbuf += 1
                            continue
                        for sign in range(2):
                            if sign == 0:
                                key = k_minus
                            else:
                                if not ok:
                                    continue
                                key = k_plus
                            p2, pkeys, pvals, pbits, pa, pb, pcount, npairs = _pair_id(
                                key, pkeys, pvals, pbits, pa, pb, pcount, npairs
                            )
                            if sign == 0:
                                pcount[p2] -= c
                            else:
                                pcount[p2] += c
                                if nbuf >= buf.shape[0]:
                                    buf = _grow(buf, nbuf + 1)
                                buf[nbuf] = (np.int64(p2) << 32) | np.int64(w)
                                nbuf += 1
                    sym[o] = new
                    o += 1
                    r += 2
                else:
                    sym[o] = sym[r]
                    o += 1
                    r += 1
            wlen[w] = o - st

        if nrc > 0:  # (pairs absent from the pair table: all in the step-local one)
            counts_rc = _recount(rc[:nrc], sym, wstart, wlen, wcnt, nw)
            for k in range(nrc):
                lcount[_local_find(lkeys, lgen, lvals, lbits, gen, rc[k])[1]] = counts_rc[k]
            stats[3] += 1

        # the step's new pairs that reach theta join the pair table (in order of first occurrence),
        # the others are forgotten at once: their counts can only fall (or are recounted, as above)
        if nloc > 0:
            lmap = _grow(lmap, nloc)
            for q in range(nloc):
                lmap[q] = -1
                if lcount[q] >= min_push:
                    pnew, pkeys, pvals, pbits, pa, pb, pcount, npairs = _pair_id(
                        lkey[q], pkeys, pvals, pbits, pa, pb, pcount, npairs
                    )
                    pcount[pnew] = lcount[q]
                    lmap[q] = np.int64(pnew)
            for e in range(nlbuf):
                pk = lmap[lbuf[e] >> 32]
                if pk >= 0:
                    if nbuf >= buf.shape[0]:
                        buf = _grow(buf, nbuf + 1)
                    buf[nbuf] = (pk << 32) | (lbuf[e] & 0xFFFFFFFF)
                    nbuf += 1
            gen += 1
            nloc = 0
            nlbuf = 0

        # new entries for the pairs this step created (HF: where_to_update, then drained)
        if nbuf > 0:
            pool, npool, lstart, llen, nlists, hc, hp, hl, hsize = _add_lists(
                buf[:nbuf], pool, npool, lstart, llen, nlists, hc, hp, hl, hsize, pcount, pa, pb, min_push
            )
        if theta > 0 and (npairs > 2 * live_pairs + 65536 or npool > 2 * live_pool + (1 << 20)):
            npairs, pkeys, pvals, pbits = _compact_pairs(pa, pb, pcount, npairs, hp, hsize, theta)
            pool, npool, lstart, llen, nlists = _compact_lists(pool, lstart, llen, hl, hsize)
            pa = _trim(pa, npairs)
            pb = _trim(pb, npairs)
            pcount = _trim(pcount, npairs)
            live_pairs = npairs
            live_pool = npool
        progress[0] = nmerges
        progress[1] = ntok

    stats[1] = min_merged
    if ntok < vocab_target and stop[0] == 0:
        stats[2] = 1
    progress[0] = nmerges
    progress[1] = ntok
    return m_a[:nmerges].copy(), m_b[:nmerges].copy(), m_new[:nmerges].copy(), t_data[: t_off[ntok]].copy(), t_off[: ntok + 1].copy(), wlen, stats


# --- BPE encoding of words with a ranked merge list (replaying a base tokenizer's merges) ---------


@njit(cache=True, nogil=True, inline="always")
def _qless(r1, p1, r2, p2):
    return r1 < r2 or (r1 == r2 and p1 < p2)


@njit(cache=True, nogil=True)
def _lookup(keys, vals, bits, key, default):
    """vals[key] in an open-addressing table keyed by int64 (_EMPTY = free), or `default`."""
    mask = (np.int64(1) << bits) - 1
    s = _slot(key, np.uint64(64 - bits))
    while keys[s] != _EMPTY:
        if keys[s] == key:
            return vals[s]
        s = (s + 1) & mask
    return default


@njit(cache=True, nogil=True, inline="always")
def _qswap(qr, qp, qn, i, j):
    qr[i], qr[j] = qr[j], qr[i]
    qp[i], qp[j] = qp[j], qp[i]
    qn[i], qn[j] = qn[j], qn[i]


@njit(cache=True, nogil=True, inline="always")
def same_bytes(a, ao, b, bo, n):
    """a[ao:ao+n] == b[bo:bo+n], for the byte-keyed hash tables (chunks here, pieces in _split_kernel)."""
    for i in range(n):
        if a[ao + i] != b[bo + i]:
            return False
    return True


@njit(cache=True, nogil=True)
def _qpush(qr, qp, qn, qs, r, pos, new):
    """Push (rank, position, result id) on the encoder's min-queue of `qs` items; returns the new size."""
    k = qs
    qr[k] = r
    qp[k] = pos
    qn[k] = new
    while k > 0:
        parent = (k - 1) >> 1
        if _qless(qr[k], qp[k], qr[parent], qp[parent]):
            _qswap(qr, qp, qn, k, parent)
            k = parent
        else:
            break
    return qs + 1


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
        v = _lookup(keys, vals, bits, (np.int64(ids[i]) << 32) | np.int64(ids[i + 1]), np.int64(-1))
        if v >= 0:
            qs = _qpush(qr, qp, qn, qs, v >> 32, i, v & 0xFFFFFFFF)
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
            if left + 1 < qs and _qless(qr[left + 1], qp[left + 1], qr[left], qp[left]):
                best = left + 1
            if _qless(qr[best], qp[best], qr[k], qp[k]):
                _qswap(qr, qp, qn, k, best)
                k = best
            else:
                break
        if ids[pos] < 0:
            continue
        j = nxt[pos]
        if j < 0:
            continue
        v = _lookup(keys, vals, bits, (np.int64(ids[pos]) << 32) | np.int64(ids[j]), np.int64(-1))
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
            v = _lookup(keys, vals, bits, key, np.int64(-1))
            if v >= 0:
                qs = _qpush(qr, qp, qn, qs, v >> 32, at, v & 0xFFFFFFFF)


_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@njit(cache=True, nogil=True, inline="always")
def _chunk_end(data, cs, en, cut):
    """End of the chunk starting at cs: the next position whose byte pair no merge can join."""
    ce = cs + 1
    while ce < en and cut[(np.int64(data[ce - 1]) << 8) | np.int64(data[ce])] == 0:
        ce += 1
    return ce


@njit(cache=True, nogil=True)
def _chunk_hash(data, cs, ce):
    h = _FNV_OFFSET
    for i in range(cs, ce):
        h = (h ^ np.uint64(data[i])) * _FNV_PRIME
    return h


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
    With the stage-1 merges of SuperBPE, stage-2 lines fall apart into their words, which repeat: the
    475k unique lines of the bench corpus hold ~100k distinct chunks. Later duplicates of a merge pair
    win, as in HF's merge map."""
    nm = m_a.shape[0]
    bits = np.int64(4)
    while (np.int64(1) << bits) < 2 * nm + 2:
        bits += 1
    keys = np.full(np.int64(1) << bits, _EMPTY, dtype=np.int64)
    vals = np.empty(np.int64(1) << bits, dtype=np.int64)  # rank << 32 | new id
    mask = (np.int64(1) << bits) - 1
    for r in range(nm):
        key = (np.int64(m_a[r]) << 32) | np.int64(m_b[r])
        s = _slot(key, np.uint64(64 - bits))
        while keys[s] != _EMPTY and keys[s] != key:
            s = (s + 1) & mask
        keys[s] = key
        vals[s] = (np.int64(r) << 32) | np.int64(m_new[r])

    # pass 1: the chunks as ids of distinct chunks. A distinct chunk's bytes are copied to `arena`
    # (1.2 MB for the bench corpus's 20 MB of lines) so that checking a hash hit reads cached memory;
    # a table entry is (hash, arena offset, length, id).
    nw = offsets.shape[0] - 1
    tbits = np.int64(12)
    ent = np.full(np.int64(4) << tbits, -1, dtype=np.int64)
    arena = np.empty(1 << 16, dtype=np.uint8)
    na = 0
    nu = 0
    occ = np.empty(max(np.int64(16), data.shape[0] // 4), dtype=np.int32)
    nocc = 0
    coff = np.zeros(nw + 1, dtype=np.int64)  # word w's chunks are occ[coff[w]:coff[w + 1]]
    longest = 1
    for w in range(nw):
        en = offsets[w + 1]
        cs = offsets[w]
        while cs < en:
            ce = _chunk_end(data, cs, en, cut)
            n = ce - cs
            h = np.int64(_chunk_hash(data, cs, ce))
            tmask = (np.int64(1) << tbits) - 1
            s = _slot(h, np.uint64(64 - tbits))
            while ent[4 * s + 3] >= 0:
                if ent[4 * s] == h and ent[4 * s + 2] == n and same_bytes(arena, ent[4 * s + 1], data, cs, n):
                    break
                s = (s + 1) & tmask
            u = ent[4 * s + 3]
            if u < 0:
                u = nu
                arena = _grow(arena, na + n)
                arena[na : na + n] = data[cs:ce]
                ent[4 * s] = h
                ent[4 * s + 1] = na
                ent[4 * s + 2] = n
                ent[4 * s + 3] = u
                na += n
                nu += 1
                longest = max(longest, n)
                if 2 * nu > (np.int64(1) << tbits):
                    tbits += 1
                    old = ent
                    ent = np.full(np.int64(4) << tbits, -1, dtype=np.int64)
                    tmask = (np.int64(1) << tbits) - 1
                    for j in range(old.shape[0] // 4):
                        if old[4 * j + 3] >= 0:
                            t = _slot(old[4 * j], np.uint64(64 - tbits))
                            while ent[4 * t + 3] >= 0:
                                t = (t + 1) & tmask
                            ent[4 * t : 4 * t + 4] = old[4 * j : 4 * j + 4]
            if nocc == occ.shape[0]:
                occ = _grow(occ, nocc + 1)
            occ[nocc] = u
            nocc += 1
            cs = ce
        coff[w + 1] = nocc
    ustart = np.empty(nu, dtype=np.int64)
    ulen = np.empty(nu, dtype=np.int64)
    for j in range(ent.shape[0] // 4):
        if ent[4 * j + 3] >= 0:
            ustart[ent[4 * j + 3]] = ent[4 * j + 1]
            ulen[ent[4 * j + 3]] = ent[4 * j + 2]
    ent = np.empty(0, dtype=np.int64)

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
