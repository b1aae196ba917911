"""The Numba loop of parity-aware BPE (Foroutan et al. 2025). Flat arrays only.

Words are the union of all languages' pre-tokens; each word carries per-language training counts
and per-language dev counts (CSR). Pair counts are kept per (pair, language) in a hash table (only
the combinations that occur), with one lazy max-heap per language (count desc, then pair ids asc,
as in our BPE trainer) and one over the summed counts (hybrid mode). A merge rewrites every word
that holds the pair, training and dev alike, and updates counts from the difference of the word's
pair multiset before and after, so counts stay exact. Each pair's word list is a chain of segments
appended as occurrences are created; stale entries are skipped when the word no longer has the pair.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .hashtable import EMPTY, grow, lookup, pair_id, pairs_rehash, slot
from .token_table import concat, intern, token_table


@njit(cache=True, nogil=True)
def _kv_add(keys, vals, bits, n, key, delta):
    """vals[key] += delta in an open-addressing table (grown at load 1/2); returns the new value."""
    if 2 * (n + 1) > (np.int64(1) << bits):
        bits += 1
        keys, vals = pairs_rehash(keys, vals, bits)
    mask = (np.int64(1) << bits) - 1
    s = slot(key, np.uint64(64 - bits))
    while keys[s] != EMPTY and keys[s] != key:
        s = (s + 1) & mask
    if keys[s] == EMPTY:
        keys[s] = key
        vals[s] = 0
        n += 1
    vals[s] += delta
    return vals[s], keys, vals, bits, n


@njit(cache=True, nogil=True, inline="always")
def _hbetter(c1, p1, c2, p2, pa, pb):
    if c1 != c2:
        return c1 > c2
    if pa[p1] != pa[p2]:
        return pa[p1] < pa[p2]
    return pb[p1] < pb[p2]


@njit(cache=True, nogil=True)
def _hpush(hc, hp, hbase, hsize, hcap, top, h, c, p, pa, pb):
    """Push (c, p) on heap h; heaps live in regions of the shared hc/hp arrays, moved to the end
    (twice the size) when full."""
    if hsize[h] == hcap[h]:
        ncap = max(np.int64(16), 2 * hcap[h])
        hc = grow(hc, top + ncap)
        hp = grow(hp, top + ncap)
        for i in range(hsize[h]):
            hc[top + i] = hc[hbase[h] + i]
            hp[top + i] = hp[hbase[h] + i]
        hbase[h] = top
        hcap[h] = ncap
        top += ncap
    b = hbase[h]
    i = hsize[h]
    hc[b + i] = c
    hp[b + i] = p
    hsize[h] += 1
    while i > 0:
        parent = (i - 1) >> 1
        if _hbetter(hc[b + i], hp[b + i], hc[b + parent], hp[b + parent], pa, pb):
            hc[b + i], hc[b + parent] = hc[b + parent], hc[b + i]
            hp[b + i], hp[b + parent] = hp[b + parent], hp[b + i]
            i = parent
        else:
            break
    return hc, hp, top


@njit(cache=True, nogil=True)
def _hpop(hc, hp, hbase, hsize, h, pa, pb):
    b = hbase[h]
    n = hsize[h] - 1
    hsize[h] = n
    hc[b] = hc[b + n]
    hp[b] = hp[b + n]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= n:
            break
        best = left
        if left + 1 < n and _hbetter(hc[b + left + 1], hp[b + left + 1], hc[b + left], hp[b + left], pa, pb):
            best = left + 1
        if _hbetter(hc[b + best], hp[b + best], hc[b + i], hp[b + i], pa, pb):
            hc[b + i], hc[b + best] = hc[b + best], hc[b + i]
            hp[b + i], hp[b + best] = hp[b + best], hp[b + i]
            i = best
        else:
            break


@njit(cache=True, nogil=True)
def _word_pairs(sym, st, n, out):
    """Sorted pair keys of one word (into `out`); returns how many."""
    k = 0
    for i in range(st, st + n - 1):
        out[k] = (np.int64(sym[i]) << 32) | np.int64(sym[i + 1])
        k += 1
    out[:k].sort()
    return k


@njit(cache=True, nogil=True)
def parity_train_kernel(
    sym,  # int32[total]: initial symbol ids of all words (modified in place)
    woff,  # int64[nw+1]
    wl_off,  # int64[nw+1]: each word's language entries
    wl_lang,  # int32: language index of the entry
    wl_train,  # int64: training count of the word in that language
    wl_dev,  # int64: dev count of the word in that language
    n_lang,
    tok_data,  # uint8: bytes of the initial tokens
    tok_off,  # int64[n0+1]
    vocab_target,
    min_freq,
    n_global,  # first merges chosen on summed counts (hybrid)
    window,  # > 0: moving window of the last `window` choices ...
    alpha,  # ... where no language may hold more than alpha / n_lang of them
    use_ratio,  # 1: choose by training compression / target ratio instead of dev length
    target,  # float64[n_lang]: target compression ratios (ratio mode)
    skip_exhausted,  # 1: a language whose best pair is too rare drops out instead of stopping all
    progress,  # int64[2]
    stop,  # int64[1]
):
    nw = woff.shape[0] - 1
    L = n_lang
    wstart = woff[:-1].copy()
    wlen = np.empty(nw, dtype=np.int64)
    longest = 2
    for w in range(nw):
        wlen[w] = woff[w + 1] - woff[w]
        longest = max(longest, wlen[w])
    wtot = np.zeros(nw, dtype=np.int64)
    dev_len = np.zeros(L, dtype=np.int64)
    train_len = np.zeros(L, dtype=np.int64)
    for w in range(nw):
        for e in range(wl_off[w], wl_off[w + 1]):
            wtot[w] += wl_train[e]
            dev_len[wl_lang[e]] += wl_dev[e] * wlen[w]
            train_len[wl_lang[e]] += wl_train[e] * wlen[w]
    init_len = train_len.copy()

    # token table (dedupe by bytes, like the BPE trainer)
    ntok, t_off, t_data, t_len, th, th_mask = token_table(tok_data, tok_off, vocab_target)

    # pairs, per-(pair, language) counts, word-list segments
    pbits = np.int64(12)
    pkeys = np.full(np.int64(1) << pbits, EMPTY, dtype=np.int64)
    pvals = np.empty(np.int64(1) << pbits, dtype=np.int32)
    pa = np.empty(1024, dtype=np.int32)
    pb = np.empty(1024, dtype=np.int32)
    ptot = np.zeros(1024, dtype=np.int64)
    npairs = 0
    cbits = np.int64(12)
    ckeys = np.full(np.int64(1) << cbits, EMPTY, dtype=np.int64)
    cvals = np.zeros(np.int64(1) << cbits, dtype=np.int64)
    ncounts = 0
    head = np.full(1024, -1, dtype=np.int64)  # first segment of each pair
    seg_next = np.empty(1024, dtype=np.int64)
    seg_start = np.empty(1024, dtype=np.int64)
    seg_len = np.empty(1024, dtype=np.int64)
    nseg = 0
    pool = np.empty(1024, dtype=np.int32)
    npool = 0
    # heaps: 0..L-1 per language, L = summed counts
    hbase = np.zeros(L + 1, dtype=np.int64)
    hsize = np.zeros(L + 1, dtype=np.int64)
    hcap = np.zeros(L + 1, dtype=np.int64)
    hc = np.empty(1024, dtype=np.int64)
    hp = np.empty(1024, dtype=np.int32)
    htop = np.int64(0)

    # buffers: (pid << 32 | word) for new positions; (pid * (L+1) + lang) for heap refreshes
    buf = np.empty(1024, dtype=np.int64)
    nbuf = 0
    ref = np.empty(1024, dtype=np.int64)
    nref = 0
    before = np.empty(longest, dtype=np.int64)
    after = np.empty(longest, dtype=np.int64)

    for w in range(nw):
        st = wstart[w]
        for i in range(st, st + wlen[w] - 1):
            key = (np.int64(sym[i]) << 32) | np.int64(sym[i + 1])
            p0, pkeys, pvals, pbits, pa, pb, ptot, npairs = pair_id(key, pkeys, pvals, pbits, pa, pb, ptot, npairs)
            p = np.int64(p0)
            ptot[p] += wtot[w]
            for e in range(wl_off[w], wl_off[w + 1]):
                if wl_train[e] > 0:
                    _, ckeys, cvals, cbits, ncounts = _kv_add(ckeys, cvals, cbits, ncounts, np.int64(p) * (L + 1) + wl_lang[e], wl_train[e])
                    ref = grow(ref, nref + 1)
                    ref[nref] = np.int64(p) * (L + 1) + wl_lang[e]
                    nref += 1
            ref = grow(ref, nref + 1)
            ref[nref] = np.int64(p) * (L + 1) + L
            nref += 1
            buf = grow(buf, nbuf + 1)
            buf[nbuf] = (np.int64(p) << 32) | np.int64(w)
            nbuf += 1

    stamp = np.full(nw, -1, dtype=np.int64)
    m_a = np.empty(max(vocab_target - ntok, 16), dtype=np.int32)
    m_b = np.empty(max(vocab_target - ntok, 16), dtype=np.int32)
    m_lang = np.empty(max(vocab_target - ntok, 16), dtype=np.int32)
    nmerges = 0
    recent = np.full(max(window, 1), -1, dtype=np.int32)
    in_window = np.zeros(L, dtype=np.int64)
    dead = np.zeros(L, dtype=np.bool_)
    mask = np.zeros(L, dtype=np.bool_)
    nchosen = 0
    step = 0
    why = np.int64(-2)  # -2: vocabulary full (or stopped), -3: every language exhausted, >= 0 / -1: that
    # language (-1: summed counts) had no pair as frequent as min_freq
    while True:
        # --- flush: segments for new positions, heap entries for changed (pair, language) counts
        if nbuf > 0:
            keys = buf[:nbuf]
            keys.sort()
            i = 0
            while i < nbuf:
                p = keys[i] >> 32
                if p >= head.shape[0]:
                    old = head.shape[0]
                    head = grow(head, p + 1)
                    head[old:] = -1
                seg_next = grow(seg_next, nseg + 1)
                seg_start = grow(seg_start, nseg + 1)
                seg_len = grow(seg_len, nseg + 1)
                seg_start[nseg] = npool
                prev = np.int64(-1)
                j = i
                while j < nbuf and (keys[j] >> 32) == p:
                    if keys[j] != prev:
                        pool = grow(pool, npool + 1)
                        pool[npool] = np.int32(keys[j] & 0xFFFFFFFF)
                        npool += 1
                        prev = keys[j]
                    j += 1
                seg_len[nseg] = npool - seg_start[nseg]
                seg_next[nseg] = head[p]
                head[p] = nseg
                nseg += 1
                i = j
            nbuf = 0
        if nref > 0:
            rk = ref[:nref]
            rk.sort()
            prev = np.int64(-1)
            for i in range(nref):
                if rk[i] == prev:
                    continue
                prev = rk[i]
                p = rk[i] // (L + 1)
                lang = rk[i] % (L + 1)
                if lang == L:
                    c = ptot[p]
                else:
                    c = lookup(ckeys, cvals, cbits, rk[i], np.int64(0))
                if c > 0:
                    hc, hp, htop = _hpush(hc, hp, hbase, hsize, hcap, htop, lang, c, np.int32(p), pa, pb)
            nref = 0

        if ntok >= vocab_target or stop[0] != 0:
            break

        # --- choose the heap: summed counts, or the worst-compressed language
        chosen = -1
        if nmerges < n_global:
            chosen = L
        else:
            for h in range(L):
                mask[h] = dead[h]
            while True:
                best_l = -1
                best_v = 0.0
                for h in range(L):
                    if mask[h]:
                        continue
                    if use_ratio != 0:
                        # least compressed relative to its target: smallest (initial / current) / target
                        v = -(init_len[h] / max(train_len[h], 1)) / target[h]
                    else:
                        v = float(dev_len[h])
                    if best_l == -1 or v > best_v:
                        best_l = h
                        best_v = v
                if best_l == -1:
                    break
                if window > 0 and in_window[best_l] * L > alpha * window:
                    mask[best_l] = True
                    continue
                chosen = best_l
                break
            if chosen == -1:
                why = np.int64(-3)
                break
        # --- pop the chosen heap until its top is current
        found = False
        while hsize[chosen] > 0:
            b0 = hbase[chosen]
            c0 = hc[b0]
            p = np.int64(hp[b0])
            _hpop(hc, hp, hbase, hsize, chosen, pa, pb)
            if chosen == L:
                cur = ptot[p]
            else:
                cur = lookup(ckeys, cvals, cbits, np.int64(p) * (L + 1) + chosen, np.int64(0))
            if c0 != cur:
                if cur > 0:
                    hc, hp, htop = _hpush(hc, hp, hbase, hsize, hcap, htop, chosen, cur, np.int32(p), pa, pb)
                continue
            found = True
            break
        if not found:
            if chosen == L:
                why = np.int64(-1)
                break
            dead[chosen] = True  # nothing left to merge in this language
            continue
        if cur < max(min_freq, 1):
            if skip_exhausted != 0 and chosen < L:
                dead[chosen] = True
                if cur > 0:  # keep the entry: counts may rise again through other languages' merges
                    hc, hp, htop = _hpush(hc, hp, hbase, hsize, hcap, htop, chosen, cur, np.int32(p), pa, pb)
                continue
            why = np.int64(-1) if chosen == L else np.int64(chosen)
            break  # the reference stops entirely when the chosen language has nothing frequent left
        a = pa[p]
        b = pb[p]
        t_data, base, nl = concat(t_data, t_off, t_len, ntok, a, b)
        new, ntok = intern(t_data, t_off, t_len, th, th_mask, ntok, base, nl)
        m_a = grow(m_a, nmerges + 1)
        m_b = grow(m_b, nmerges + 1)
        m_lang = grow(m_lang, nmerges + 1)
        m_a[nmerges] = a
        m_b[nmerges] = b
        m_lang[nmerges] = -1 if chosen == L else chosen
        nmerges += 1
        if window > 0 and chosen < L:
            slot = nchosen % window
            if recent[slot] >= 0:
                in_window[recent[slot]] -= 1
            recent[slot] = chosen
            in_window[chosen] += 1
            nchosen += 1

        # --- apply to every word holding the pair
        step += 1
        sg = head[p] if p < head.shape[0] else -1
        while sg != -1:
            for q in range(seg_start[sg], seg_start[sg] + seg_len[sg]):
                w = pool[q]
                if stamp[w] == step:
                    continue
                stamp[w] = step
                st = wstart[w]
                n = wlen[w]
                has = False
                for i in range(st, st + n - 1):
                    if sym[i] == a and sym[i + 1] == b:
                        has = True
                        break
                if not has:
                    continue
                nb = _word_pairs(sym, st, n, before)
                r = st
                o = st
                end = st + n
                while r < end:
                    if r + 1 < end and sym[r] == a and sym[r + 1] == b:
                        sym[o] = new
                        r += 2
                    else:
                        sym[o] = sym[r]
                        r += 1
                    o += 1
                wlen[w] = o - st
                shrink = n - wlen[w]
                na = _word_pairs(sym, st, wlen[w], after)
                for e in range(wl_off[w], wl_off[w + 1]):
                    dev_len[wl_lang[e]] -= shrink * wl_dev[e]
                    train_len[wl_lang[e]] -= shrink * wl_train[e]
                # multiset difference of the sorted pair lists
                x = 0
                y = 0
                while x < nb or y < na:
                    if y >= na or (x < nb and before[x] < after[y]):
                        key = before[x]
                        delta = -1
                        x += 1
                    elif x >= nb or after[y] < before[x]:
                        key = after[y]
                        delta = 1
                        y += 1
                    else:
                        x += 1
                        y += 1
                        continue
                    q0, pkeys, pvals, pbits, pa, pb, ptot, npairs = pair_id(key, pkeys, pvals, pbits, pa, pb, ptot, npairs)
                    q2 = np.int64(q0)
                    ptot[q2] += delta * wtot[w]
                    if delta > 0:
                        ref = grow(ref, nref + 1)
                        ref[nref] = np.int64(q2) * (L + 1) + L
                        nref += 1
                        buf = grow(buf, nbuf + 1)
                        buf[nbuf] = (np.int64(q2) << 32) | np.int64(w)
                        nbuf += 1
                    for e in range(wl_off[w], wl_off[w + 1]):
                        if wl_train[e] > 0:
                            ck = np.int64(q2) * (L + 1) + wl_lang[e]
                            _, ckeys, cvals, cbits, ncounts = _kv_add(ckeys, cvals, cbits, ncounts, ck, delta * wl_train[e])
                            if delta > 0:
                                ref = grow(ref, nref + 1)
                                ref[nref] = ck
                                nref += 1
            sg = seg_next[sg]
        progress[0] = nmerges
        progress[1] = ntok

    progress[0] = nmerges
    progress[1] = ntok
    return (
        m_a[:nmerges].copy(),
        m_b[:nmerges].copy(),
        m_lang[:nmerges].copy(),
        t_data[: t_off[ntok]].copy(),
        t_off[: ntok + 1].copy(),
        dev_len,
        train_len,
        init_len,
        why,
    )
