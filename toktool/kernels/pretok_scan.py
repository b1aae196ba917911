"""Pre-tokenizers of the byte-level presets (gpt2, gpt4 = cl100k, o200k, llama3) as Numba scanners.

Why: counting pre-tokens through the `regex` module is nearly all of a BPE training run's time (the
merge loop is seconds; see design.md §7). The four patterns are small ordered alternations over a
handful of character classes, so their `findall` can be replayed by hand: classify each code point
with a table (built from `regex` itself by count.scan_counter.scan_tables, so \\p{L}, \\p{N}, \\s and the
o200k letter sets mean exactly what they mean to the pattern, in `regex`'s Unicode version), then at
each position find where the first matching alternative ends, following the regex engine's rules
(alternatives in order, greedy quantifiers that backtrack, possessive ones that do not, lookaheads,
`$` without MULTILINE). Pieces are counted in an open-addressing table of byte strings and sorted
(piece_sort.py) into the arrays (bytes, offsets, counts) whose sorted runs from several processes
count.sorted_runs.merge_parts merges. Tests hold every preset equal to `regex` findall + Counter.
SuperBPE's stage-2 rule (pretokenize.SUPERBPE_PATTERN: whole lines with digit runs, punctuation runs
and multi-space runs split off) is one more preset here, so its many unique lines use the same table.

The patterns replayed (pretokenize/presets.py holds them verbatim, from the GPT-2 encoder.py and tiktoken's
tiktoken_ext/openai_public.py; llama3 from Meta's Llama 3 tokenizer):
  gpt2:   's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+
  cl100k: '(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}++|\\p{N}{1,3}+| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*+
          |\\s++$|\\s*[\\r\\n]|\\s+(?!\\S)|\\s
  o200k:  X?U*W+C?|X?U+W*C?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+
          with X = [^\\r\\n\\p{L}\\p{N}], U = [\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}],
          W = [\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}], C = (?i:'s|'t|'re|'ve|'m|'ll|'d)
  llama3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*
          |\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+

This module imports only numpy and numba: the table is built by the caller and passed in.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .charclass import CL100K, F_L, F_N, F_P, F_S, F_U, F_W, F_X, GPT2, LLAMA3, O200K, SUPERBPE  # noqa: F401
from .hashtable import fnv1a, grow, same_bytes

# The fold table maps a code point to the ASCII character it matches under (?i) in the contractions
# (e.g. U+017F LONG S to "s"), else 0; the apostrophe maps to itself.
_APOS = 0x27
_S, _T, _M, _D = 0x73, 0x74, 0x6D, 0x64
_L, _V, _R, _E = 0x6C, 0x76, 0x72, 0x65


@njit(cache=True, nogil=True, inline="always")
def _run(fl, n, j, f):
    """First position >= j whose class has none of the bits f (n at the end)."""
    while j < n and (fl[j] & f) != 0:
        j += 1
    return j


@njit(cache=True, nogil=True, inline="always")
def _digits(fl, n, i):
    """End of \\p{N}{1,3} at i (fl[i] has F_N)."""
    j = i + 1
    while j < n and j < i + 3 and (fl[j] & F_N) != 0:
        j += 1
    return j


@njit(cache=True, nogil=True, inline="always")
def _spaces(cp, fl, n, i, dollar, newline):
    """End of the whitespace alternatives at i (cp[i] is \\s): with `dollar`, \\s++$ (possessive, so
    the whole run, and only when it reaches the end: a final \\n is part of the run, so `$` before it
    never applies); with `newline`, \\s*[\\r\\n] / \\s*[\\r\\n]+ (the backtracking \\s* stops after the run's
    last \\r or \\n); then \\s+(?!\\S) (the run less its last character when a non-space follows) and
    \\s+ / \\s (a single \\s before a non-space)."""
    j = _run(fl, n, i + 1, F_S)
    if dollar and j == n:
        return j
    if newline:
        k = j - 1
        while k >= i and cp[k] != 10 and cp[k] != 13:
            k -= 1
        if k >= i:
            return k + 1
    if j == n or j - i == 1:
        return j
    return j - 1


@njit(cache=True, nogil=True, inline="always")
def _contraction(cp, fold, n, i, fold_apos):
    """Length (0, 2 or 3) of a contraction 's 't 'm 'd 're 've 'll at i, letters matched as (?i) does;
    the apostrophe too with `fold_apos` (llama3 and o200k put it inside the (?i:...) group)."""
    if i + 1 >= n:
        return 0
    a = cp[i]
    if fold_apos:
        if fold[a] != _APOS:
            return 0
    elif a != _APOS:
        return 0
    d = fold[cp[i + 1]]
    if d == _S or d == _T or d == _M or d == _D:
        return 2
    if i + 2 < n:
        e = fold[cp[i + 2]]
        if (d == _R and e == _E) or (d == _V and e == _E) or (d == _L and e == _L):
            return 3
    return 0


@njit(cache=True, nogil=True, inline="always")
def _gpt2_end(cp, fl, n, i):
    """End of the gpt2 piece at i."""
    c = cp[i]
    if c == _APOS and i + 1 < n:  # 's|'t|'re|'ve|'m|'ll|'d, case-sensitive
        d = cp[i + 1]
        if d == _S or d == _T or d == _M or d == _D:
            return i + 2
        if i + 2 < n:
            e = cp[i + 2]
            if (d == _R and e == _E) or (d == _V and e == _E) or (d == _L and e == _L):
                return i + 3
    # " ?X+" for X = \p{L}, \p{N}, [^\s\p{L}\p{N}] in turn: a space is taken only if X follows it (a
    # space is none of them, so without it the alternative fails too)
    k = i + 1 if (c == 0x20 and i + 1 < n) else i
    f = fl[k]
    if f & F_L:
        return _run(fl, n, k + 1, F_L)
    if f & F_N:
        return _run(fl, n, k + 1, F_N)
    if f & F_P:
        return _run(fl, n, k + 1, F_P)
    return _spaces(cp, fl, n, i, False, False)


@njit(cache=True, nogil=True, inline="always")
def _cl100k_end(cp, fl, fold, n, i, dollar, fold_apos):
    """End of the cl100k piece at i (`dollar`, plain apostrophe), or of the llama3 one: llama3's
    pattern is cl100k's without \\s++$ and without possessive quantifiers, which change nothing there
    (nothing after them in their alternative could match what backtracking would give back)."""
    m = _contraction(cp, fold, n, i, fold_apos)
    if m:
        return i + m
    f = fl[i]
    # [^\r\n\p{L}\p{N}]?+\p{L}++: the optional character is not a letter, so a letter at i starts
    # the run, else the optional character must be followed by one
    if f & F_L:
        return _run(fl, n, i + 1, F_L)
    if (f & F_X) and i + 1 < n and (fl[i + 1] & F_L):
        return _run(fl, n, i + 2, F_L)
    if f & F_N:
        return _digits(fl, n, i)
    # " ?[^\s\p{L}\p{N}]++[\r\n]*+"
    k = i + 1 if (cp[i] == 0x20 and i + 1 < n) else i
    if fl[k] & F_P:
        j = _run(fl, n, k + 1, F_P)
        while j < n and (cp[j] == 10 or cp[j] == 13):
            j += 1
        return j
    return _spaces(cp, fl, n, i, dollar, True)


@njit(cache=True, nogil=True, inline="always")
def _o200k_words(cp, fl, fold, n, i):
    """End of o200k's first two alternatives at i, or -1.

    X?U*W+C? first: the regex engine takes the optional X when it can (greedy), the longest U run,
    then needs a W: if the run is followed by a W, the W run and an optional contraction follow;
    otherwise U* gives characters back until the W+ can start at one of them (U and W share Lm, Lo
    and M), the last such character in the run, where W+ takes that one character (the next is not
    a W). With no such character it retries without the optional X (which can itself be an M and so
    a U and a W). Then X?U+W*C?, which cannot fail once a U follows."""
    first = i + 1 if (fl[i] & F_X) else i
    k = first
    while True:
        m = _run(fl, n, k, F_U)
        if m < n and (fl[m] & F_W):
            e = _run(fl, n, m + 1, F_W)
            return e + _contraction(cp, fold, n, e, True)
        p = m - 1
        while p >= k and (fl[p] & F_W) == 0:
            p -= 1
        if p >= k:
            return p + 1 + _contraction(cp, fold, n, p + 1, True)
        if k == i:
            break
        k = i
    k = first
    while True:
        m = _run(fl, n, k, F_U)
        if m > k:
            e = _run(fl, n, m, F_W)
            return e + _contraction(cp, fold, n, e, True)
        if k == i:
            return -1
        k = i


@njit(cache=True, nogil=True, inline="always")
def _o200k_end(cp, fl, fold, n, i):
    """End of the o200k piece at i."""
    e = _o200k_words(cp, fl, fold, n, i)
    if e >= 0:
        return e
    if fl[i] & F_N:
        return _digits(fl, n, i)
    # " ?[^\s\p{L}\p{N}]+[\r\n/]*"
    k = i + 1 if (cp[i] == 0x20 and i + 1 < n) else i
    if fl[k] & F_P:
        j = _run(fl, n, k + 1, F_P)
        while j < n and (cp[j] == 10 or cp[j] == 13 or cp[j] == 0x2F):
            j += 1
        return j
    return _spaces(cp, fl, n, i, False, True)


@njit(cache=True, nogil=True, inline="always")
def _sp(cp, n, k):
    return k < n and cp[k] == 0x20


@njit(cache=True, nogil=True, inline="always")
def _has(fl, n, k, f):
    return k < n and (fl[k] & f) != 0


@njit(cache=True, nogil=True, inline="always")
def _superbpe_end(cp, fl, n, i):
    """End of the SuperBPE stage-2 piece at i (pretokenize.SUPERBPE_PATTERN, alternatives in order):
    \\p{N}{1,3} | " ?P{2,}[\\r/]*\\n?" | " +(?!\\S)" | (?:\\p{L}+|P(?!P)| (?=\\S)(?!PP)|[^\\S \\n])+\\n? | \\n,
    with P = [^\\s\\p{L}\\p{N}]. A space is \\s, so (?!\\S) after a space run holds at the end or
    before other whitespace."""
    f = fl[i]
    if f & F_N:
        return _digits(fl, n, i)
    k = i + 1 if cp[i] == 0x20 else i
    if _has(fl, n, k, F_P) and _has(fl, n, k + 1, F_P):
        j = _run(fl, n, k + 2, F_P)
        while j < n and (cp[j] == 13 or cp[j] == 0x2F):
            j += 1
        if j < n and cp[j] == 10:
            j += 1
        return j
    if cp[i] == 0x20:
        j = i
        while _sp(cp, n, j):
            j += 1
        if j == n or (fl[j] & F_S) != 0:
            return j
        if j - i >= 2:
            return j - 1
    j = i
    while j < n:
        g = fl[j]
        if g & F_L:
            j = _run(fl, n, j + 1, F_L)
        elif g & F_P:
            if _has(fl, n, j + 1, F_P):
                break
            j += 1
        elif cp[j] == 0x20:
            # " (?=\\S)(?!PP)"
            if j + 1 >= n or (fl[j + 1] & F_S) != 0 or (_has(fl, n, j + 1, F_P) and _has(fl, n, j + 2, F_P)):
                break
            j += 1
        elif (g & F_S) and cp[j] != 10:
            j += 1
        else:
            break
    if j > i:
        if j < n and cp[j] == 10:
            j += 1
        return j
    return i + 1


@njit(cache=True, nogil=True, inline="always")
def _piece_end(preset, cp, fl, fold, n, i):
    """End (exclusive, in code points) of the preset's piece that starts at character i."""
    if preset == GPT2:
        return _gpt2_end(cp, fl, n, i)
    if preset == CL100K:
        return _cl100k_end(cp, fl, fold, n, i, True, False)
    if preset == O200K:
        return _o200k_end(cp, fl, fold, n, i)
    if preset == SUPERBPE:
        return _superbpe_end(cp, fl, n, i)
    return _cl100k_end(cp, fl, fold, n, i, False, True)


@njit(cache=True, nogil=True, inline="always")
def _find(src, start, end, h, slots, pc, p_data, state):
    """Slot of src[start:end] (hash h) in the table: its piece's slot, or the free slot where it
    belongs (slots[s] == -1). Returns an index only, no arrays: returning arrays from a call costs
    reference-count updates on every piece, and nearly every piece is found."""
    mask = (np.int64(1) << state[2]) - 1
    tag = np.int64(h >> np.uint64(33))
    ln = end - start
    s = np.int64(h & np.uint64(mask))
    while True:
        v = slots[s]
        if v == -1:
            return s
        if (v >> 32) == tag:
            q = 2 * (v & 0xFFFFFFFF)
            o = pc[q]
            if pc[q + 2] - o == ln and same_bytes(p_data, o, src, start, ln):
                return s
        s = (s + 1) & mask


@njit(cache=True, nogil=True)
def _make_room(slots, pc, p_data, state):
    """Grow the table for one more piece of state[3] bytes; returns the (maybe new) arrays. The slots
    stay at most half full and are rebuilt from the pieces' bytes when they double (no hashes kept)."""
    npc = state[0]
    if 2 * (npc + 1) > (np.int64(1) << state[2]):
        state[2] += 1
        mask = (np.int64(1) << state[2]) - 1
        slots = np.full(mask + 1, np.int64(-1), dtype=np.int64)
        for q in range(npc):
            g = fnv1a(p_data, pc[2 * q], pc[2 * q + 2])
            s = np.int64(g & np.uint64(mask))
            while slots[s] != -1:
                s = (s + 1) & mask
            slots[s] = (np.int64(g >> np.uint64(33)) << 32) | q
    return slots, grow(pc, 2 * npc + 3), grow(p_data, state[1] + state[3])


@njit(cache=True, nogil=True, inline="always")
def _code_point(buf, b):
    """The code point of the UTF-8 sequence at buf[b] and its length in bytes (buf is valid UTF-8)."""
    x = np.int64(buf[b])
    if x < 0x80:
        return x, np.int64(1)
    if x < 0xE0:
        ln = np.int64(2)
        x &= 0x1F
    elif x < 0xF0:
        ln = np.int64(3)
        x &= 0x0F
    else:
        ln = np.int64(4)
        x &= 0x07
    for k in range(1, ln):
        x = (x << 6) | (np.int64(buf[b + k]) & 0x3F)
    return x, ln


@njit(cache=True, nogil=True, inline="always")
def _decode(buf, b, n, flags, cp, fl, at):
    """Decode n code points of UTF-8 from buf[b:] into cp, their classes into fl and their byte
    offsets into at (at[n] = the end); returns the end."""
    for q in range(n):
        x, ln = _code_point(buf, b)
        at[q] = b
        cp[q] = x
        fl[q] = flags[x]
        b += ln
    at[n] = b
    return b


@njit(cache=True, nogil=True, inline="always")
def _decode_line(buf, b, flags, cp, fl, at):
    """Decode the line that starts at buf[b] (up to and including its newline, or to the end of buf)
    into cp, fl and at as _decode does; returns its length in code points (at[n] = its end)."""
    nb = buf.shape[0]
    q = 0
    while b < nb:
        x, ln = _code_point(buf, b)
        at[q] = b
        cp[q] = x
        fl[q] = flags[x]
        b += ln
        q += 1
        if x == 10:
            break
    at[q] = b
    return q


@njit(cache=True, nogil=True, inline="always")
def _count_pieces(preset, buf, cp, fl, fold, at, n, i, slots, pc, p_data, state, ends):
    """Count the pieces of a decoded text (cp, fl, at as _decode leaves them) from character i on,
    and with a non-empty `ends` also record their ends (see scan_count_kernel). A new piece is added
    while the arrays have room for it; returns n when done, else the piece's start, with its length
    in state[3], for the caller to make room and call again. The arrays are never replaced here:
    growing them in this loop would make every piece pay for it."""
    record = ends.shape[0] != 0
    cap = np.int64(1) << state[2]
    while i < n:
        j = _piece_end(preset, cp, fl, fold, n, i)
        a = at[i]
        e = at[j]
        h = fnv1a(buf, a, e)
        s = _find(buf, a, e, h, slots, pc, p_data, state)
        v = slots[s]
        if v >= 0:
            pc[2 * (v & 0xFFFFFFFF) + 1] += 1
        else:
            npc = state[0]
            nd = state[1]
            ln = e - a
            if 2 * (npc + 1) > cap or 2 * npc + 3 > pc.shape[0] or nd + ln > p_data.shape[0]:
                state[3] = ln
                return i
            for k in range(ln):
                p_data[nd + k] = buf[a + k]
            pc[2 * npc + 1] = 1
            pc[2 * npc + 2] = nd + ln
            slots[s] = (np.int64(h >> np.uint64(33)) << 32) | npc
            state[0] = npc + 1
            state[1] = nd + ln
        if record:
            state[4] += 1
            ends[state[4]] = e
        i = j
    return n


@njit(cache=True, nogil=True)
def _scan_texts(buf, seg, preset, flags, fold, slots, pc, p_data, state, ends, cp, fl, at, pos):
    """Count the pieces of texts pos[0].. (text pos[0] from character pos[1] on; it starts at byte
    pos[2]) until the table needs room: returns True when every text is done, else False with pos
    set to where to go on. No array is replaced here (the caller grows them): arrays passed to a
    call or reassigned in this loop would cost reference-count updates on every text, which were a
    quarter of the counting time."""
    t = pos[0]
    i = pos[1]
    b = pos[2]
    lines = seg.shape[0] == 0
    nt = buf.shape[0] if lines else seg.shape[0] - 1
    while (b < nt) if lines else (t < nt):
        if lines:
            n = _decode_line(buf, b, flags, cp, fl, at)
            e = at[n]
        else:
            n = seg[t + 1] - seg[t]
            e = _decode(buf, b, n, flags, cp, fl, at)
        i = _count_pieces(preset, buf, cp, fl, fold, at, n, i, slots, pc, p_data, state, ends)
        if i < n:
            pos[0] = t
            pos[1] = i
            pos[2] = b
            return False
        t += 1
        i = 0
        b = e
    return True


@njit(cache=True, nogil=True)
def scan_count_kernel(buf, seg, preset, flags, fold, slots, pc, p_data, state, ends):
    """Split each text into the preset's pre-tokens and count them.

    buf: uint8[B], the texts' UTF-8 one after another (lone surrogates as "surrogatepass" writes
    them: 3-byte sequences, decoded here to their code points, which is what `regex` sees).
    seg: int64[T+1], the texts' boundaries in code points (text t is characters seg[t]:seg[t+1]);
    each text is split on its own, as one `findall` call (lookaheads and `$` stop at its end).
    seg = int64[0]: buf is a block of whole lines and each line (its newline included) is a text,
    found while decoding (what a plain-text file is read as; no boundaries computed beforehand).
    preset: GPT2, CL100K, O200K or LLAMA3. flags: uint8[0x110000], F_* bits per code point;
    fold: uint8[0x110000], see _APOS.
    The piece table, grown as needed: p_data (uint8) holds the pieces' bytes one after another;
    pc (int64) holds per piece q its start pc[2q] and count pc[2q+1], and after the last one the end
    of p_data's used part (pc[0] = 0: offsets and counts side by side, so a found piece costs one
    cache line); slots (int64[2**k]) is the open-addressing index, -1 free, else the piece's number
    in the low 32 bits and the top 31 bits of its FNV-1a hash above them; state (int64[5]): pieces,
    bytes of p_data used, k, scratch, and pieces recorded in `ends`.
    ends: int64[0] when counting; for tests and debugging, int64[seg[-1] + 1] with ends[0] = 0, to
    also get the pieces in text order: piece p is buf[ends[p]:ends[p+1]] for p < state[4] (one
    kernel for both, so that Numba compiles the scanners once).
    Returns (slots, pc, p_data), maybe reallocated. Raises nothing; buf must be valid UTF-8 (as
    str.encode writes it). Scratch memory: 13 bytes per code point of the longest text (decoded
    code points, classes and byte offsets)."""
    longest = 1
    if seg.shape[0] == 0:
        # a line has no more code points than bytes
        last = 0
        for b in range(buf.shape[0]):
            if buf[b] == 10:
                longest = max(longest, b + 1 - last)
                last = b + 1
        longest = max(longest, buf.shape[0] - last)
    for t in range(seg.shape[0] - 1):
        longest = max(longest, seg[t + 1] - seg[t])
    cp = np.empty(longest + 1, dtype=np.int32)
    fl = np.empty(longest + 1, dtype=np.uint8)
    at = np.empty(longest + 1, dtype=np.int64)
    pos = np.zeros(3, dtype=np.int64)
    while not _scan_texts(buf, seg, preset, flags, fold, slots, pc, p_data, state, ends, cp, fl, at, pos):
        slots, pc, p_data = _make_room(slots, pc, p_data, state)
    return slots, pc, p_data
