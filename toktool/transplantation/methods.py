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
    if not rows:
        return {}
    o = old.astype(np.float64)
    mean = o.mean(axis=0)
    if method == "zero":
        return {j: np.zeros(old.shape[1]) for j in rows}
    if method == "mean" or (method == "random" and bias):
        return {j: mean for j in rows}
    if method == "random":
        cov = np.cov(o, rowvar=False)
        # a tiny ridge keeps the factorisation defined for rank-deficient embeddings
        chol = np.linalg.cholesky(cov + np.eye(cov.shape[0]) * (1e-8 * max(float(np.trace(cov)) / cov.shape[0], 1e-12)))
        draws = mean + rng.standard_normal((len(rows), old.shape[1])) @ chol.T
        return {j: draws[i] for i, j in enumerate(rows)}
    if method == "fvt":
        return {j: (o[pieces[j]].mean(axis=0) if pieces.get(j) else mean) for j in rows}
    raise ValueError(f"unknown method {method}")
