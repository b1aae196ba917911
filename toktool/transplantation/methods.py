"""Rows for tokens the old vocabulary does not have, from the old rows alone.

- zero: all zeros (the baseline every method must beat).
- mean: the mean of all old rows (Hewitt 2021, "Initializing new word embeddings for pretrained
  language models": new rows near the mean keep the softmax close to the old model's).
- random: a sample of a normal with the old rows' mean and covariance (same reference); seeded.
- fvt: Fast Vocabulary Transfer (Gee et al. 2022): the mean of the old rows of the old
  tokenizer's pieces of the new token's text; the mean row when there are no pieces.

Bias vectors (an output head's bias) take the same rules, with `random` falling back to the mean.
"""

from __future__ import annotations

import numpy as np


def fill_rows(old: np.ndarray, method: str, rows: list[int], pieces: dict[int, list[int]], rng: np.random.Generator, bias: bool = False) -> dict[int, np.ndarray]:
    """New rows for the ids in `rows`.

    Args:
        old: the old rows (V_old x d, float32 or float64); only read, never copied whole (for a
            262k x 640 matrix a float64 copy would be 1.3 GB on top of the matrix itself).
        method: zero | mean | random | fvt (see the module docstring).
        rows: new ids to fill.
        pieces: new id -> old ids (the old tokenizer's encoding of the token's text), for fvt.
        rng: for random.
        bias: `old` is a bias column (V_old x 1): random falls back to the mean.

    Returns:
        new id -> row (float64, shape (d,)).

    Raises:
        ValueError: unknown method.
    """
    if not rows:
        return {}
    mean = old.mean(axis=0, dtype=np.float64)  # buffered float64 accumulation, no full copy
    if method == "zero":
        return {j: np.zeros(old.shape[1]) for j in rows}
    if method == "mean" or (method == "random" and bias):
        return {j: mean for j in rows}
    if method == "random":
        cov = _covariance(old, mean)
        # a tiny ridge keeps the factorisation defined for rank-deficient embeddings
        chol = np.linalg.cholesky(cov + np.eye(cov.shape[0]) * (1e-8 * max(float(np.trace(cov)) / cov.shape[0], 1e-12)))
        draws = mean + rng.standard_normal((len(rows), old.shape[1])) @ chol.T
        return {j: draws[i] for i, j in enumerate(rows)}
    if method == "fvt":
        return {j: (old[pieces[j]].astype(np.float64).mean(axis=0) if pieces.get(j) else mean) for j in rows}
    raise ValueError(f"unknown method {method}")


def _covariance(old: np.ndarray, mean: np.ndarray, chunk: int = 1 << 14) -> np.ndarray:
    """np.cov(old, rowvar=False) accumulated over row blocks in float64 (no full-size copy)."""
    d = old.shape[1]
    acc = np.zeros((d, d))
    for a in range(0, old.shape[0], chunk):
        x = old[a : a + chunk].astype(np.float64) - mean
        acc += x.T @ x
    return acc / max(old.shape[0] - 1, 1)


MIN_RANK_R2 = 0.25  # below this the rows say too little about frequency to move any


def rank_calibration(old: np.ndarray, shared_old: np.ndarray, shared_new: np.ndarray, targets: np.ndarray, new_rows: np.ndarray,
                     min_id: int = 256, chunk: int = 1 << 12) -> dict:
    """Move approximated rows along the embedding's frequency direction towards the rank their id
    has in the new vocabulary, never towards frequent (`--calibrate rank`); in place.

    A trained embedding matrix encodes how frequent each token is: log(rank) is close to a linear
    function of the row, and in a tied output head that direction works as the token's prior
    logit. BPE, WordPiece and Unigram vocabularies are numbered in (roughly) frequency order, so a
    new token's id estimates its rank. The map row -> log(1 + id) is fitted by least squares on the
    shared tokens (their old rows against their new ids). The mean of several pieces' rows reads as
    a token as frequent as its pieces, but a concatenation is never more frequent than its pieces:
    each row whose reading is more frequent than its id moves along the fitted direction g until
    the map reads log(1 + id): row + max(log(1 + id) - (row·g + c), 0) g / |g|². Rows that already
    read rarer are left as they are.

    Args:
        old: old rows (V_old x d); only read.
        shared_old, shared_new: old and new ids of the shared tokens (the fit).
        targets: new ids of the rows to move, rows of `new_rows` (n_new x d), changed in place.
        min_id: shared tokens with a new id below this are not fitted (byte alphabets and specials
            come first in most vocabularies, not in frequency order).

    Nothing moves when the fit explains less than MIN_RANK_R2 of log(rank)'s variance (a model
    with random embeddings) or there are fewer than 4·d shared tokens to fit.

    Returns:
        report: r2 of the fit, tokens fitted, rows moved, mean shift in log rank.
    """
    keep = shared_new >= min_id
    so, sn = shared_old[keep], shared_new[keep]
    d = old.shape[1]
    if len(so) < 4 * d or len(targets) == 0:
        return {"applied": False, "fitted": int(len(so)), "why": "too few shared tokens to fit" if len(targets) else "no rows"}
    xtx = np.zeros((d + 1, d + 1))
    xty = np.zeros(d + 1)
    y = np.log1p(sn.astype(np.float64))
    for a in range(0, len(so), chunk):
        x = np.c_[old[so[a : a + chunk]].astype(np.float64), np.ones(len(so[a : a + chunk]))]
        xtx += x.T @ x
        xty += x.T @ y[a : a + chunk]
    ridge = 1e-6 * float(np.trace(xtx[:d, :d])) / d
    w = np.linalg.solve(xtx + ridge * np.diag(np.r_[np.ones(d), 0.0]), xty)
    g, c = w[:d], w[d]
    sse = 0.0
    for a in range(0, len(so), chunk):
        sse += float(((old[so[a : a + chunk]].astype(np.float64) @ g + c - y[a : a + chunk]) ** 2).sum())
    r2 = 1.0 - sse / max(float(((y - y.mean()) ** 2).sum()), 1e-30)
    if r2 < MIN_RANK_R2:
        return {"applied": False, "fitted": int(len(so)), "r2": round(r2, 4), "why": f"the old rows do not encode rank (r2 < {MIN_RANK_R2})"}
    gg = max(float(g @ g), 1e-30)
    moved, total = 0, 0.0
    for a in range(0, len(targets), chunk):
        ids = targets[a : a + chunk]
        rows = new_rows[ids].astype(np.float64)
        shift = np.maximum(np.log1p(ids.astype(np.float64)) - (rows @ g + c), 0.0)
        new_rows[ids] = rows + (shift / gg)[:, None] * g[None, :]
        moved += int((shift > 0).sum())
        total += float(shift.sum())
    return {"applied": True, "fitted": int(len(so)), "r2": round(r2, 4), "rows": int(len(targets)), "moved": moved, "mean_log_rank_shift": round(total / len(targets), 4)}
