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

from .hashtable import EMPTY, grow, lookup, pair_id, pair_slot, slot, trim
from .heap import heap_pop, heap_push
from .token_table import concat, intern, rejected, token_table


@njit(cache=True, nogil=True)
def _add_lists(keys, pool, npool, lstart, llen, nlists, hc, hp, hl, hsize, pcount, pa, pb, min_push):
    """Sort (pair << 32 | word) keys and push a heap entry with its deduplicated word list for each
    pair whose count is at least `min_push` (HF: draining `where_to_update`, which pushes counts > 0;
    a list without an entry is never read, so it is not stored)."""
    keys.sort()
    n = keys.shape[0]
    pool = grow(pool, npool + n)
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
            lstart = grow(lstart, nlists + 1)
            llen = grow(llen, nlists + 1)
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
            hc = grow(hc, hsize + 1)
            hp = grow(hp, hsize + 1)
            hl = grow(hl, hsize + 1)
        heap_push(hc, hp, hl, hsize, pcount[pid], np.int32(pid), np.int32(nlists), pa, pb)
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
    keys = np.full(np.int64(1) << bits, EMPTY, dtype=np.int64)
    vals = np.empty(np.int64(1) << bits, dtype=np.int32)
    mask = (np.int64(1) << bits) - 1
    shift = np.uint64(64 - bits)
    for p in range(n):
        key = (np.int64(pa[p]) << 32) | np.int64(pb[p])
        s = slot(key, shift)
        while keys[s] != EMPTY:
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
    keys = np.full(np.int64(1) << bits, EMPTY, dtype=np.int64)
    vals = np.empty(np.int64(1) << bits, dtype=np.int64)
    mask = (np.int64(1) << bits) - 1
    for k in range(keys_rc.shape[0]):
        s = slot(keys_rc[k], np.uint64(64 - bits))
        while keys[s] != EMPTY and keys[s] != keys_rc[k]:
            s = (s + 1) & mask
        keys[s] = keys_rc[k]
        vals[s] = k
    out = np.zeros(keys_rc.shape[0], dtype=np.int64)
    for w in range(nw):
        st = wstart[w]
        for i in range(st, st + wlen[w] - 1):
            k = lookup(keys, vals, bits, (np.int64(sym[i]) << 32) | np.int64(sym[i + 1]), np.int64(-1))
            if k >= 0:
                out[k] += wcnt[w]
    return out


@njit(cache=True, nogil=True, inline="always")
def _local_find(lkeys, lgen, lvals, lbits, gen, key):
    """(slot, id or -1) of `key` in the step-local pair table; slots of earlier steps are free."""
    mask = (np.int64(1) << lbits) - 1
    s = slot(key, np.uint64(64 - lbits))
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
    lkey = grow(lkey, nloc + 1)
    lcount = grow(lcount, nloc + 1)
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
            t = slot(lkey[q], np.uint64(64 - lbits))
            while lgen[t] == gen:
                t = (t + 1) & mask
            lkeys[t] = lkey[q]
            lgen[t] = gen
            lvals[t] = np.int32(q)
    return nloc - 1, lkeys, lgen, lvals, lbits, gen, lkey, lcount, nloc


@njit(cache=True, nogil=True)
def _count_pairs_into(tab, bits, n, sym, wstart, wlen, wcnt, nw, t_len, max_len, seen, sbits, w0, i0):
    """Add the pairs of words w0.. (word w0 from position i0 on) to `tab` (see _pruned_pair_counts)
    while it has room; returns (w, i, n): where to go on after growing the table (w == nw: done),
    and the number of pairs held. The table is never replaced here: an array reassigned in this loop
    would cost reference-count updates on every pair."""
    mask = (np.int64(1) << bits) - 1
    shift = np.uint64(64 - bits)
    sshift = np.uint64(64 - sbits)
    room = (mask + 1) // 2
    for w in range(w0, nw):
        st = wstart[w]
        c = wcnt[w]
        first = i0 if w == w0 else st
        for i in range(first, st + wlen[w] - 1):
            a = sym[i]
            b = sym[i + 1]
            if t_len[a] + t_len[b] > max_len:
                continue
            key = (np.int64(a) << 32) | np.int64(b)
            if seen[slot(key, sshift)] < 2:
                continue
            s = slot(key, shift)
            while tab[3 * s] != EMPTY and tab[3 * s] != key:
                s = (s + 1) & mask
            if tab[3 * s] == key:
                tab[3 * s + 1] += c
                continue
            if n + 1 > room:
                return w, i, n
            tab[3 * s] = key
            tab[3 * s + 1] = c
            tab[3 * s + 2] = i
            n += 1
    return nw, np.int64(0), n


@njit(cache=True, nogil=True)
def _regrow(old, bits):
    """The (key, count, first position) table moved into 2**bits slots."""
    tab = np.full(np.int64(3) << bits, EMPTY, dtype=np.int64)
    mask = (np.int64(1) << bits) - 1
    for j in range(old.shape[0] // 3):
        if old[3 * j] != EMPTY:
            t = slot(old[3 * j], np.uint64(64 - bits))
            while tab[3 * t] != EMPTY:
                t = (t + 1) & mask
            tab[3 * t] = old[3 * j]
            tab[3 * t + 1] = old[3 * j + 1]
            tab[3 * t + 2] = old[3 * j + 2]
    return tab


@njit(cache=True, nogil=True)
def _pruned_pair_counts(sym, wstart, wlen, wcnt, nw, t_len, max_len, seen, sbits, merges_left, prune):
    """The initial pair counts when pruning: (pa, pb, pcount, npairs, theta) for the pairs whose count
    is at least theta = max(2, c_M // prune), in order of first occurrence (the order the unpruned
    table gives them), c_M being the merges_left-th largest count.

    Pairs the sieve `seen` marks as seen once are left out (they count 1). The others are counted in
    a table of (key, count, first position) triples: one cache line per lookup instead of a key, an
    id and a count in three arrays, which matters when stage 2's unique lines hold millions of pairs."""
    bits = np.int64(16)
    tab = np.full(np.int64(3) << bits, EMPTY, dtype=np.int64)
    n = np.int64(0)
    w = np.int64(0)
    i = np.int64(0)
    while True:
        w, i, n = _count_pairs_into(tab, bits, n, sym, wstart, wlen, wcnt, nw, t_len, max_len, seen, sbits, w, i)
        if w >= nw:
            break
        bits += 1
        tab = _regrow(tab, bits)
    theta = np.int64(0)
    if n > 0:
        counts = np.empty(n, dtype=np.int64)
        k = 0
        for j in range(tab.shape[0] // 3):
            if tab[3 * j] != EMPTY:
                counts[k] = tab[3 * j + 1]
                k += 1
        srt = np.sort(counts)
        theta = max(np.int64(2), srt[max(n - merges_left, 0)] // prune)
    nk = 0
    for j in range(tab.shape[0] // 3):
        if tab[3 * j] != EMPTY and tab[3 * j + 1] >= theta:
            nk += 1
    first = np.empty(nk, dtype=np.int64)
    where = np.empty(nk, dtype=np.int64)
    k = 0
    for j in range(tab.shape[0] // 3):
        if tab[3 * j] != EMPTY and tab[3 * j + 1] >= theta:
            first[k] = tab[3 * j + 2]
            where[k] = j
            k += 1
    order = np.argsort(first)
    cap = max(nk, np.int64(16))
    pa = np.empty(cap, dtype=np.int32)
    pb = np.empty(cap, dtype=np.int32)
    pcount = np.zeros(cap, dtype=np.int64)
    for k in range(nk):
        j = where[order[k]]
        pa[k] = np.int32(tab[3 * j] >> 32)
        pb[k] = np.int32(tab[3 * j] & 0xFFFFFFFF)
        pcount[k] = tab[3 * j + 1]
    return pa, pb, pcount, nk, theta


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
    ntok, t_off, t_data, t_len, th, th_mask = token_table(tok_data, tok_off, vocab_target)

    # --- pair table ------------------------------------------------------------------------
    pbits = np.int64(16)
    pkeys = np.full(np.int64(1) << pbits, EMPTY, dtype=np.int64)
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
    # 2, finds them first, so the exact table below holds only the others (in stage 2, where most
    # pairs occur once, a fraction of all distinct pairs; docs/benchmarks.md)
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
                h = slot((np.int64(sym[i]) << 32) | np.int64(sym[i + 1]), np.uint64(64 - sbits))
                if seen[h] < 2:
                    seen[h] = 2 if (c > 1 or seen[h] == 1) else 1

    # initial pair counts: every pair here; with pruning, _pruned_pair_counts below
    if prune == 0:
        for w in range(nw):
            st = wstart[w]
            c = wcnt[w]
            for i in range(st, st + wlen[w] - 1):
                a = sym[i]
                b = sym[i + 1]
                if t_len[a] + t_len[b] > max_len:
                    continue
                key = (np.int64(a) << 32) | np.int64(b)
                s = pair_slot(key, pkeys, pbits)
                if pkeys[s] == key:
                    pcount[pvals[s]] += c
                    continue
                pid, pkeys, pvals, pbits, pa, pb, pcount, npairs = pair_id(key, pkeys, pvals, pbits, pa, pb, pcount, npairs)
                pcount[pid] += c

    theta = np.int64(0)
    if prune > 0:
        # c_M is the same as over all pairs: the pairs left out count 1, and when fewer than M pairs
        # count >= 2, theta is 2 either way
        pa, pb, pcount, npairs, theta = _pruned_pair_counts(
            sym, wstart, wlen, wcnt, nw, t_len, max_len, seen, sbits, max(vocab_target - ntok, 1), prune
        )
        pkeys, pvals, pbits = _table_for(pa, pb, npairs, 4)
    seen = np.zeros(0, dtype=np.uint8)
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
            pid = lookup(pkeys, pvals, pbits, key, np.int32(-1))
            if pid >= 0 and pcount[pid] >= min_push and lastw[pid] != w:
                lastw[pid] = w
                lcur[pid] += 1
    nlists = 0
    for p in range(npairs):
        if lcur[p] > 0:
            nlists += 1
    lstart = np.empty(max(nlists, 16), dtype=np.int64)
    llen = np.empty(max(nlists, 16), dtype=np.int64)
    hc = grow(hc, nlists)
    hp = grow(hp, nlists)
    hl = grow(hl, nlists)
    npool = 0
    nlists = 0
    for p in range(npairs):
        if lcur[p] > 0:
            lstart[nlists] = npool
            llen[nlists] = lcur[p]
            heap_push(hc, hp, hl, hsize, pcount[p], np.int32(p), np.int32(nlists), pa, pb)
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
            pid = lookup(pkeys, pvals, pbits, key, np.int32(-1))
            if pid >= 0 and pcount[pid] >= min_push and lastw[pid] != w:
                lastw[pid] = w
                pool[lcur[pid]] = np.int32(w)
                lcur[pid] += 1
    lcur = np.empty(0, dtype=np.int64)
    lastw = np.empty(0, dtype=np.int64)
    buf = np.empty(1 << 16, dtype=np.int64)  # per-step changes (pair << 32 | word keys) are small
    # trim the doubling slack of the initial pass (up to half of each array): later growth is small
    pa = trim(pa, npairs)
    pb = trim(pb, npairs)
    pcount = trim(pcount, npairs)
    lstart = trim(lstart, nlists)
    llen = trim(llen, nlists)
    hc = trim(hc, hsize)
    hp = trim(hp, hsize)
    hl = trim(hl, hsize)
    pool = trim(pool, npool)
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
        heap_pop(hc, hp, hl, hsize, pa, pb)
        hsize -= 1
        cur = pcount[pid]
        if c0 != cur:
            if cur >= min_push:
                heap_push(hc, hp, hl, hsize, cur, pid, lid, pa, pb)
                hsize += 1
            continue
        if cur < 1 or cur < min_freq:
            break
        a = pa[pid]
        b = pb[pid]

        # new token = bytes(a) + bytes(b); reuse the id if that string exists already
        t_data, base, nl = concat(t_data, t_off, t_len, ntok, a, b)
        if (max_words > 0 or no_colon_space != 0) and rejected(t_data, base, nl, max_words, no_colon_space):
            continue  # dropped like the SuperBPE reference: later entries for this pair are tried again
        ntok_before = ntok
        new, ntok = intern(t_data, t_off, t_len, th, th_mask, ntok, base, nl)
        reused = ntok == ntok_before
        if min_merged < 0 or cur < min_merged:
            min_merged = cur

        if nmerges >= m_a.shape[0]:
            m_a = grow(m_a, nmerges + 1)
            m_b = grow(m_b, nmerges + 1)
            m_new = grow(m_new, nmerges + 1)
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
                            p2 = lookup(pkeys, pvals, pbits, k_minus, np.int32(-1))
                            if p2 >= 0:
                                pcount[p2] -= c
                            elif nloc > 0:
                                _, q = _local_find(lkeys, lgen, lvals, lbits, gen, k_minus)
                                if q >= 0:
                                    lcount[q] -= c
                            if not ok:
                                continue
                            p2 = lookup(pkeys, pvals, pbits, k_plus, np.int32(-1))
                            if p2 >= 0:
                                pcount[p2] += c
                                if nbuf >= buf.shape[0]:
                                    buf = grow(buf, nbuf + 1)
                                buf[nbuf] = (np.int64(p2) << 32) | np.int64(w)
                                nbuf += 1
                                continue
                            lslot, q = _local_find(lkeys, lgen, lvals, lbits, gen, k_plus)
                            if q < 0:
                                if reused:
                                    rc = grow(rc, nrc + 1)
                                    rc[nrc] = k_plus
                                    nrc += 1
                                q, lkeys, lgen, lvals, lbits, gen, lkey, lcount, nloc = _local_add(
                                    k_plus, lslot, lkeys, lgen, lvals, lbits, gen, lkey, lcount, nloc
                                )
                            lcount[q] += c
                            if nlbuf >= lbuf.shape[0]:
                                lbuf = grow(lbuf, nlbuf + 1)
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
                            p2 = pair_slot(key, pkeys, pbits)
                            if pkeys[p2] == key:
                                p2 = pvals[p2]
                            else:
                                p2, pkeys, pvals, pbits, pa, pb, pcount, npairs = pair_id(
                                    key, pkeys, pvals, pbits, pa, pb, pcount, npairs
                                )
                            if sign == 0:
                                pcount[p2] -= c
                            else:
                                pcount[p2] += c
                                if nbuf >= buf.shape[0]:
                                    buf = grow(buf, nbuf + 1)
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
            lmap = grow(lmap, nloc)
            for q in range(nloc):
                lmap[q] = -1
                if lcount[q] >= min_push:
                    pnew, pkeys, pvals, pbits, pa, pb, pcount, npairs = pair_id(
                        lkey[q], pkeys, pvals, pbits, pa, pb, pcount, npairs
                    )
                    pcount[pnew] = lcount[q]
                    lmap[q] = np.int64(pnew)
            for e in range(nlbuf):
                pk = lmap[lbuf[e] >> 32]
                if pk >= 0:
                    if nbuf >= buf.shape[0]:
                        buf = grow(buf, nbuf + 1)
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
            pa = trim(pa, npairs)
            pb = trim(pb, npairs)
            pcount = trim(pcount, npairs)
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
