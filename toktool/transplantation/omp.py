"""Batched orthogonal matching pursuit (Pati et al. 1993; Tropp & Gilbert 2007) on the CPU.

Each target vector x (a new token in the donor space) is written as a sparse combination of at
most k atoms (shared anchor tokens): pick the atom most correlated with the residual, re-fit x on
all picked atoms, repeat. The re-fit is kept incremental with a QR factorisation (modified
Gram-Schmidt, applied twice for stability), so a step costs one pass over the candidates.

Cost is what shapes this file: correlating every residual with every anchor at every step is
n·m·d·k flops (30k tokens x 30k anchors x 384 x 64 = 2e13, hours on two cores). Each target
therefore first keeps its `candidates` most correlated anchors (one BLAS matrix product for all
targets), and the pursuit runs over those in a Numba kernel, one target per thread, with the
candidate block in cache. `candidates=0` keeps every anchor: exact OMP (what the tests compare
with scikit-learn's `orthogonal_mp`). The torch twin in omp_torch.py runs the same algorithm.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..kernels.omp import omp_kernel, top_rows


@dataclass
class OMPResult:
    """idx[t, j]: j-th picked atom of target t (-1 past the last); coef[t, j]: its weight."""

    idx: np.ndarray
    coef: np.ndarray

    def apply(self, rows: np.ndarray) -> np.ndarray:
        """Σ_j coef[t, j] · rows[idx[t, j]] for every target (rows: one per atom)."""
        safe = np.where(self.idx >= 0, self.idx, 0)
        w = np.where(self.idx >= 0, self.coef, 0).astype(np.float64)
        out = np.zeros((self.idx.shape[0], rows.shape[1]), dtype=np.float64)
        for j in range(self.idx.shape[1]):
            out += w[:, j : j + 1] * rows[safe[:, j]].astype(np.float64)
        return out


def inverse_norms(atoms: np.ndarray) -> np.ndarray:
    n = np.sqrt(np.einsum("ij,ij->i", atoms.astype(np.float64), atoms.astype(np.float64)))
    return np.where(n > 0, 1.0 / np.maximum(n, 1e-300), 0.0).astype(atoms.dtype)


def select_candidates(targets: np.ndarray, atoms: np.ndarray, inv_norm: np.ndarray, n_cand: int, chunk: int = 512, workers: int | None = None) -> np.ndarray:
    """For each target, the n_cand atoms of largest |cosine|, in ascending atom order.

    A multi-threaded BLAS may round a product differently depending on how many threads split
    it, which could move a candidate across the cut and change the output with the thread
    count. So BLAS runs single-threaded on fixed-size row blocks, and the blocks are spread over
    Python threads: each block's rounding is the same however many threads there are.
    """
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    m = atoms.shape[0]
    if n_cand <= 0 or n_cand >= m:
        return np.broadcast_to(np.arange(m, dtype=np.int64), (targets.shape[0], m))
    unit = np.ascontiguousarray(atoms * inv_norm[:, None])
    out = np.empty((targets.shape[0], n_cand), dtype=np.int64)

    def block(a: int) -> None:
        out[a : a + chunk] = top_rows(targets[a : a + chunk] @ unit.T, n_cand)

    with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(workers or os.cpu_count() or 1) as pool:
        list(pool.map(block, range(0, targets.shape[0], chunk)))
    return out


def _exact_block(x: np.ndarray, unit: np.ndarray, atoms: np.ndarray, k: int, tol2: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact OMP for a block of targets, every step's correlations as one matrix product.

    The same algorithm, stopping rules and float64 factorisation as `kernels.omp.omp_kernel` with every atom
    a candidate; only the scan differs: |x_t - P x_t| against all m unit atoms is a (b x d) @ (d x m)
    product in the input dtype (BLAS), instead of a per-target loop. Targets that have stopped
    drop out of the product.
    """
    b, d = x.shape
    r = x.astype(np.float64)
    xx = np.einsum("ij,ij->i", r, r)
    q = np.zeros((b, k, d))
    rr = np.zeros((b, k, k))
    z = np.zeros((b, k))
    picked = np.full((b, k), -1, dtype=np.int64)
    count = np.zeros(b, dtype=np.int64)
    live = np.flatnonzero(xx > 0)
    for step in range(k):
        if len(live) == 0:
            break
        corr = np.abs(r[live].astype(x.dtype) @ unit.T)
        if step:
            np.put_along_axis(corr, picked[live, :step], -1, axis=1)
        best = np.argmax(corr, axis=1)
        ok = corr[np.arange(len(live)), best] > 0
        live, best = live[ok], best[ok]
        v = atoms[best].astype(np.float64)
        an = np.einsum("ij,ij->i", v, v)
        for _ in range(2):
            if step:
                h = np.einsum("bkd,bd->bk", q[live, :step], v)
                rr[live, :step, step] += h
                v -= np.einsum("bk,bkd->bd", h, q[live, :step])
        nv2 = np.einsum("ij,ij->i", v, v)
        ok = nv2 > 1e-10 * an  # the atom lies in the span already: nothing left to gain
        live, best, v, nv2 = live[ok], best[ok], v[ok], nv2[ok]
        nv = np.sqrt(nv2)
        rr[live, step, step] = nv
        qs = v / nv[:, None]
        q[live, step] = qs
        zs = np.einsum("ij,ij->i", qs, r[live])
        z[live, step] = zs
        r[live] -= zs[:, None] * qs
        picked[live, step] = best
        count[live] = step + 1
        res = np.einsum("ij,ij->i", r[live], r[live])
        live = live[res > tol2 * xx[live]]
    coef = np.zeros((b, k))
    diag = np.einsum("bii->bi", rr).copy()
    diag[diag == 0] = 1.0  # unused steps: z = 0 there, so their weight is 0
    for i in range(k - 1, -1, -1):
        coef[:, i] = (z[:, i] - np.einsum("bj,bj->b", rr[:, i, i + 1 :], coef[:, i + 1 :])) / diag[:, i]
    coef[picked < 0] = 0.0
    return picked, coef


def omp_exact(targets: np.ndarray, atoms: np.ndarray, k: int, tol: float = 1e-4, dtype=np.float32, block: int = 256, workers: int | None = None) -> OMPResult:
    """Exact OMP (every anchor a candidate at every step), BLAS-batched: `omp(..., candidates=0)`.

    Args:
        targets: n x d, the vectors to approximate (float; computed in `dtype`).
        atoms: m x d, the dictionary (anchors).
        k: at most k atoms per target.
        tol: stop a target once ||residual|| <= tol * ||target||.
        dtype: float32 or float64, the dtype of the correlation products.
        block: targets per matrix product.
        workers: threads (default: all cores); each block runs single-threaded BLAS so that the
            rounding, hence the atoms picked, does not depend on the thread count.

    Returns:
        OMPResult with idx (n x k, int64, -1 past the last atom) and coef (n x k, float64).

    Cost is n*m*d*k multiply-adds, as for tokensurgeon's batched torch OMP (Goddard & Neto 2025),
    all of it in sgemm/dgemm.
    """
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    targets = np.ascontiguousarray(targets, dtype=dtype)
    atoms = np.ascontiguousarray(atoms, dtype=dtype)
    n = targets.shape[0]
    idx = np.full((n, k), -1, np.int64)
    coef = np.zeros((n, k))
    if n == 0 or atoms.shape[0] == 0:
        return OMPResult(idx, coef)
    kk = min(k, atoms.shape[0])
    unit = np.ascontiguousarray(atoms * inverse_norms(atoms)[:, None])

    def run(a: int) -> None:
        i, c = _exact_block(targets[a : a + block], unit, atoms, kk, tol * tol)
        idx[a : a + block, :kk], coef[a : a + block, :kk] = i, c

    with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(workers or os.cpu_count() or 1) as pool:
        list(pool.map(run, range(0, n, block)))
    return OMPResult(idx, coef)


def omp(targets: np.ndarray, atoms: np.ndarray, k: int, candidates: int = 256, tol: float = 1e-4, dtype=np.float32) -> OMPResult:
    """Sparse codes of `targets` (n x d) over `atoms` (m x d), at most k atoms each.

    Stops early for a target once its residual is below `tol` of its norm (an exact match needs one
    atom, not k) or when every remaining candidate lies in the span already. `candidates` <= 0 or
    >= m is exact OMP, run by `omp_exact` (BLAS-batched).
    """
    if candidates <= 0 or candidates >= atoms.shape[0]:
        return omp_exact(targets, atoms, k, tol, dtype)
    targets = np.ascontiguousarray(targets, dtype=dtype)
    atoms = np.ascontiguousarray(atoms, dtype=dtype)
    if targets.shape[0] == 0 or atoms.shape[0] == 0:
        return OMPResult(np.full((targets.shape[0], k), -1, np.int64), np.zeros((targets.shape[0], k)))
    inv = inverse_norms(atoms)
    cand = np.ascontiguousarray(select_candidates(targets, atoms, inv, candidates))
    idx, coef = omp_kernel(targets, atoms, inv, cand, min(k, cand.shape[1]), tol * tol)
    if idx.shape[1] < k:
        idx = np.pad(idx, ((0, 0), (0, k - idx.shape[1])), constant_values=-1)
        coef = np.pad(coef, ((0, 0), (0, k - coef.shape[1])))
    return OMPResult(idx, coef)
