"""A donor embedding space built from text, for OMP when no donor model exists.

OMP needs every new token and every anchor (shared) token as vectors in one space that already
knows the new tokenizer. A donor model gives that; after `toktool train` there is none, so the
space is learned from a corpus encoded with the new tokenizer: word2vec-style co-occurrence counts
(window ±w, weight 1/distance), positive PMI with context-distribution smoothing α = 0.75 (Levy,
Goldberg & Dagan 2015, "Improving Distributional Similarity with Lessons Learned from Word
Embeddings"), and a truncated SVD, U·√S, the weighting that paper found best. This is the role
fastText plays in FOCUS (Dobler & de Melo 2023); PPMI+SVD needs only numpy/scipy and is
deterministic for a fixed seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ToktoolError


@dataclass
class DonorSpace:
    vectors: np.ndarray  # vocab x dim (zero rows for tokens never seen)
    seen: np.ndarray  # bool per token: has a vector
    tokens: int  # corpus size in tokens
    source: str


def cooccurrence(ids: np.ndarray, lengths: np.ndarray, vocab: int, window: int = 5, chunk: int = 1 << 21):
    """Symmetric weighted co-occurrence counts as a scipy CSR matrix (vocab x vocab)."""
    from scipy import sparse

    line = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    total = sparse.csr_matrix((vocab, vocab), dtype=np.float64)
    for a in range(0, len(ids), chunk):
        # overlap by `window` tokens so that pairs across chunk edges are counted exactly once
        lo, hi = a, min(len(ids), a + chunk + window)
        seg, sl = ids[lo:hi], line[lo:hi]
        rows, cols, vals = [], [], []
        for o in range(1, window + 1):
            n = min(len(seg) - o, chunk)
            if n <= 0:
                break
            same = sl[:n] == sl[o : o + n]
            left, right = seg[:n][same], seg[o : o + n][same]
            w = np.full(len(left), 1.0 / o)
            rows += [left, right]
            cols += [right, left]
            vals += [w, w]
        if rows:
            m = sparse.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(vocab, vocab))
            total = total + m.tocsr()
    total.sum_duplicates()
    return total


def ppmi(counts, alpha: float = 0.75):
    from scipy import sparse

    c = counts.tocoo()
    row = np.asarray(counts.sum(axis=1)).ravel()
    col = np.asarray(counts.sum(axis=0)).ravel() ** alpha
    col_p = col / col.sum() if col.sum() > 0 else col
    with np.errstate(divide="ignore"):
        pmi = np.log(c.data) - np.log(row[c.row]) - np.log(col_p[c.col])
    keep = pmi > 0
    return sparse.csr_matrix((pmi[keep], (c.row[keep], c.col[keep])), shape=counts.shape)


def svd_vectors(m, dim: int, seed: int = 0, power: int = 2) -> np.ndarray:
    """Randomized truncated SVD (Halko, Martinsson & Tropp 2011), U·√S; fixed seed, fixed sign."""
    n = m.shape[0]
    k = min(dim, n - 1)
    if k < 1:
        return np.zeros((n, 0))
    rng = np.random.default_rng(seed)
    omega = rng.standard_normal((m.shape[1], min(n, k + 16)))
    y = m @ omega
    q, _ = np.linalg.qr(y)
    for _ in range(power):
        q, _ = np.linalg.qr(m.T @ q)
        q, _ = np.linalg.qr(m @ q)
    b = (m.T @ q).T
    ub, s, _ = np.linalg.svd(b, full_matrices=False)
    u = (q @ ub)[:, :k]
    s = s[:k]
    # fix each component's sign so the output does not depend on LAPACK's choice
    flip = np.sign(u[np.argmax(np.abs(u), axis=0), np.arange(k)])
    flip[flip == 0] = 1
    return u * flip * np.sqrt(s)


def donor_from_text(ids: np.ndarray, lengths: np.ndarray, vocab: int, dim: int = 256, window: int = 5, min_count: int = 30, source: str = "") -> DonorSpace:
    """Token vectors; tokens seen fewer than `min_count` times get none (their PPMI rows are
    noise, and a transplant does better giving them FVT rows: measured in docs/transplant.md)."""
    if len(ids) == 0:
        raise ToktoolError("--aux-corpus is empty: no text to build the donor space from")
    from threadpoolctl import threadpool_limits

    freq = np.bincount(ids, minlength=vocab)
    counts = cooccurrence(ids, lengths, vocab, window)
    # one BLAS thread: a threaded QR/product may round differently with the thread count, and
    # the same corpus must give the same vectors on any machine size
    with threadpool_limits(1, user_api="blas"):
        vecs = svd_vectors(ppmi(counts), dim)
    norms = np.linalg.norm(vecs, axis=1)
    seen = (freq[:vocab] >= min_count) & (norms > 0)
    vecs[~seen] = 0
    return DonorSpace(vecs.astype(np.float32), seen, int(len(ids)), source)
