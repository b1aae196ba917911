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
