"""The Numba kernels of batched orthogonal matching pursuit (transplantation/omp.py drives them).

JIT-compiled only (not in the AOT build): `transplant` runs once per model, so the compile is paid
where the run is long anyway, and `parallel=True` needs Numba's threading layer at run time. The
pure-Python reference they are tested against is scikit-learn's `orthogonal_mp` (tests/test_transplant.py).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True)
def top_rows(c, n_cand):  # pragma: no cover - compiled
    """Indices of the n_cand largest |c| per row, ascending; ties go to the lower index.

    Exact, but a full partition of every row is the slow part of candidate selection: a strided
    sample gives a threshold that keeps a few times n_cand entries, and only those are partitioned
    (the full partition remains the fallback when the sample guessed too high).
    """
    rows, m = c.shape
    out = np.empty((rows, n_cand), dtype=np.int64)
    stride = max(1, m // 1024)
    for i in range(rows):
        a = np.abs(c[i])
        sample = np.sort(a[::stride])
        keep = min(sample.shape[0] - 1, (3 * n_cand * sample.shape[0]) // m + 1)
        guess = sample[sample.shape[0] - 1 - keep]
        pool = 0
        for j in range(m):
            if a[j] >= guess:
                pool += 1
        if pool >= n_cand:
            vals = np.empty(pool, dtype=a.dtype)
            w = 0
            for j in range(m):
                if a[j] >= guess:
                    vals[w] = a[j]
                    w += 1
            th = np.partition(vals, pool - n_cand)[pool - n_cand]
        else:
            th = np.partition(a, m - n_cand)[m - n_cand]
        above = 0
        for j in range(m):
            if a[j] > th:
                above += 1
        ties = n_cand - above  # how many entries equal to the threshold to keep
        w = 0
        for j in range(m):
            if a[j] > th or (a[j] == th and ties > 0):
                if a[j] == th:
                    ties -= 1
                out[i, w] = j
                w += 1
    return out


@njit(cache=True, nogil=True, parallel=True, fastmath=True)
def omp_kernel(targets, atoms, inv_norm, cand, k, tol2):  # pragma: no cover - compiled
    """The scan over candidates (the hot loop) runs in the input dtype so that float32 vectorises;
    the factorisation and the residual are kept in float64."""
    n, d = targets.shape
    n_cand = cand.shape[1]
    idx = np.full((n, k), -1, dtype=np.int64)
    coef = np.zeros((n, k), dtype=np.float64)
    zero = targets[0, 0] - targets[0, 0]  # a zero of the scan dtype (the wrapper never passes n == 0)
    for t in prange(n):
        r = targets[t].astype(np.float64)
        rs = targets[t].copy()  # the residual in the scan dtype
        xx = 0.0
        for e in range(d):
            xx += r[e] * r[e]
        if xx == 0.0:
            continue
        q = np.zeros((k, d), dtype=np.float64)
        rr = np.zeros((k, k), dtype=np.float64)
        z = np.zeros(k, dtype=np.float64)
        used = np.zeros(n_cand, dtype=np.bool_)
        picked = np.zeros(k, dtype=np.int64)
        count = 0
        for step in range(k):
            best = -1
            bestv = 0.0
            for c in range(n_cand):
                if used[c]:
                    continue
                a = cand[t, c]
                s = zero
                for e in range(d):
                    s += atoms[a, e] * rs[e]
                sv = abs(s) * inv_norm[a]
                if sv > bestv:
                    bestv = sv
                    best = c
            if best < 0:
                break
            a = cand[t, best]
            v = atoms[a].astype(np.float64)
            an = 0.0
            for e in range(d):
                an += v[e] * v[e]
            for _ in range(2):
                for j in range(step):
                    h = 0.0
                    for e in range(d):
                        h += q[j, e] * v[e]
                    rr[j, step] += h
                    for e in range(d):
                        v[e] -= h * q[j, e]
            nv = 0.0
            for e in range(d):
                nv += v[e] * v[e]
            if nv <= 1e-10 * an:  # the atom lies in the span already: nothing left to gain
                break
            nv = np.sqrt(nv)
            rr[step, step] = nv
            zs = 0.0
            for e in range(d):
                q[step, e] = v[e] / nv
                zs += q[step, e] * r[e]
            z[step] = zs
            res = 0.0
            for e in range(d):
                r[e] -= zs * q[step, e]
                rs[e] = r[e]
                res += r[e] * r[e]
            used[best] = True
            picked[step] = a
            count = step + 1
            if res <= tol2 * xx:
                break
        for i in range(count - 1, -1, -1):
            s2 = z[i]
            for j in range(i + 1, count):
                s2 -= rr[i, j] * coef[t, j]
            coef[t, i] = s2 / rr[i, i]
            idx[t, i] = picked[i]
    return idx, coef
