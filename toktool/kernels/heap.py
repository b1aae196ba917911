"""Binary heaps on parallel arrays: the merge loop's lazy max-heap and the encoder's min-queue.

The max-heap orders entries (count, pair, position list) as Hugging Face's BpeTrainer does: count
descending, then the pair (a, b) ascending by id, then the older position list first. The encoder's
queue orders candidate merges by (rank, position), as `tokenizers`' `Word::merge_all` does.
"""

from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True, inline="always")
def better(c1, p1, l1, c2, p2, l2, pa, pb):
    """Heap order: count desc, then pair (a, b) asc, then older position list first."""
    if c1 != c2:
        return c1 > c2
    if p1 != p2:
        if pa[p1] != pa[p2]:
            return pa[p1] < pa[p2]
        return pb[p1] < pb[p2]
    return l1 < l2


@njit(cache=True, nogil=True, inline="always")
def heap_push(hc, hp, hl, size, c, p, lst, pa, pb):
    i = size
    hc[i] = c
    hp[i] = p
    hl[i] = lst
    while i > 0:
        parent = (i - 1) >> 1
        if better(hc[i], hp[i], hl[i], hc[parent], hp[parent], hl[parent], pa, pb):
            hc[i], hc[parent] = hc[parent], hc[i]
            hp[i], hp[parent] = hp[parent], hp[i]
            hl[i], hl[parent] = hl[parent], hl[i]
            i = parent
        else:
            break


@njit(cache=True, nogil=True, inline="always")
def heap_pop(hc, hp, hl, size, pa, pb):
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
        if right < n and better(hc[right], hp[right], hl[right], hc[left], hp[left], hl[left], pa, pb):
            best = right
        if better(hc[best], hp[best], hl[best], hc[i], hp[i], hl[i], pa, pb):
            hc[i], hc[best] = hc[best], hc[i]
            hp[i], hp[best] = hp[best], hp[i]
            hl[i], hl[best] = hl[best], hl[i]
            i = best
        else:
            break


@njit(cache=True, nogil=True, inline="always")
def qless(r1, p1, r2, p2):
    return r1 < r2 or (r1 == r2 and p1 < p2)



@njit(cache=True, nogil=True, inline="always")
def qswap(qr, qp, qn, i, j):
    qr[i], qr[j] = qr[j], qr[i]
    qp[i], qp[j] = qp[j], qp[i]
    qn[i], qn[j] = qn[j], qn[i]



@njit(cache=True, nogil=True, inline="always")
def qpush(qr, qp, qn, qs, r, pos, new):
    """Push (rank, position, result id) on the encoder's min-queue of `qs` items; returns the new size."""
    k = qs
    qr[k] = r
    qp[k] = pos
    qn[k] = new
    while k > 0:
        parent = (k - 1) >> 1
        if qless(qr[k], qp[k], qr[parent], qp[parent]):
            qswap(qr, qp, qn, k, parent)
            k = parent
        else:
            break
    return qs + 1
