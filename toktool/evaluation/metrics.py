"""Tokenizer metrics as pure functions on counts. Each docstring names the definition's source.

Everything here takes plain numbers or numpy arrays and returns floats (or None where a metric is
undefined for the input), so the functions are usable from Python without the CLI, and each one has a
hand-computed unit test.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

# Scripts written without spaces between words: "tokens per whitespace word" means nothing there.
NO_SPACE_SCRIPTS = frozenset(
    {"Cjk", "Han", "Hiragana", "Katakana", "Thai", "Lao", "Khmer", "Myanmar", "Tibetan", "Javanese", "Balinese", "Yi", "Tai"}
)


def _ratio(num: float, den: float) -> float | None:
    return None if den == 0 else num / den


def bytes_per_token(n_bytes: int, n_tokens: int) -> float | None:
    """|x|_b / |T(x)| — UTF-8 bytes per token; higher compresses better. Standard compression measure
    (e.g. Liu et al. 2025, SuperBPE; Dagan et al. 2024)."""
    return _ratio(n_bytes, n_tokens)


def chars_per_token(n_chars: int, n_tokens: int) -> float | None:
    """|x|_c / |T(x)| — Unicode code points per token; unlike bytes/token it does not reward scripts
    whose letters take more UTF-8 bytes."""
    return _ratio(n_chars, n_tokens)


def fertility(n_tokens: int, n_words: int, script: str | None = None) -> float | None:
    """|T(x)| / |x|_w — tokens per whitespace-separated word (Rust et al. 2021, "How Good is Your
    Tokenizer?"). Undefined (None) for scripts written without spaces, where a "word" is a sentence."""
    if script in NO_SPACE_SCRIPTS:
        return None
    return _ratio(n_tokens, n_words)


def nsl(n_tokens: int, n_baseline_tokens: int) -> float | None:
    """Normalized sequence length Σ|T(x)| / Σ|B(x)| against a baseline tokenizer B on the same text
    (Dagan et al. 2024, "Getting the most out of your tokenizer..."). Below 1: T is shorter."""
    return _ratio(n_tokens, n_baseline_tokens)


def token_premium(n_tokens: int, n_pivot_tokens: int) -> float | None:
    """|T(x_ℓ)| / |T(x_pivot)| on parallel text, corpus level (Petrov et al. 2023, "Language Model
    Tokenizers Introduce Unfairness Between Languages"). 1.5 means ℓ pays 50% more tokens."""
    return _ratio(n_tokens, n_pivot_tokens)


def parity_ratio(values: Sequence[float]) -> float | None:
    """max/min of per-language token counts on parallel text: the spread of the token premium
    (Petrov et al. 2023 report the same ratio between the most and least favoured languages)."""
    vals = [v for v in values if v is not None]
    if len(vals) < 2 or min(vals) <= 0:
        return None
    return max(vals) / min(vals)


def gini(values: Sequence[float]) -> float | None:
    """Gini coefficient G = Σ_i Σ_j |c_i − c_j| / (2 n² μ) of per-language costs, as in Tok##Suite,
    the evaluation of parity-aware BPE (Foroutan et al. 2025). 0 = every language pays the same."""
    c = np.asarray([v for v in values if v is not None], dtype=np.float64)
    n = c.size
    if n < 2:
        return None
    mu = c.mean()
    if mu == 0:
        return None
    # Σ_i Σ_j |c_i − c_j| = 2 Σ_k (2k − n + 1) c_(k) over the sorted values (k from 0): O(n log n)
    s = np.sort(c)
    k = np.arange(n, dtype=np.float64)
    total = 2.0 * float(np.sum((2.0 * k - n + 1.0) * s))
    return float(total / (2.0 * n * n * mu))


def lorenz_curve(values: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative share of languages (x) against cumulative share of the total cost (y), sorted from
    the cheapest language up; the area between it and the diagonal is half the Gini coefficient."""
    c = np.sort(np.asarray([v for v in values if v is not None], dtype=np.float64))
    x = np.linspace(0.0, 1.0, c.size + 1)
    y = np.concatenate([[0.0], np.cumsum(c) / c.sum()]) if c.size and c.sum() > 0 else np.zeros(c.size + 1)
    return x, y


def _probs(counts: np.ndarray) -> np.ndarray:
    c = np.asarray(counts, dtype=np.float64)
    c = c[c > 0]
    return c / c.sum() if c.size else c


def shannon_entropy(counts: np.ndarray) -> float | None:
    """H(p) = −Σ p log2 p of the unigram token distribution, in bits (Zouhar et al. 2023, "Tokenization
    and the Noiseless Channel"). Higher: the vocabulary's capacity is spread more evenly."""
    p = _probs(counts)
    if p.size == 0:
        return None
    return float(-np.sum(p * np.log2(p)))


def unk_rate(counts: np.ndarray, unk_id: int | None) -> float | None:
    """Share of tokens that are the unknown token. Tokenizers without byte fallback (WordPiece,
    most sentencepiece models) squash unseen characters into one <unk>, which makes bytes/token look
    excellent on scripts they cannot represent at all; this column exposes it. 0 for byte-level BPE."""
    c = np.asarray(counts)
    total = int(c.sum())
    if total == 0:
        return None
    if unk_id is None or unk_id >= c.size:
        return 0.0
    return float(c[unk_id]) / total


def renyi_entropy(counts: np.ndarray, alpha: float) -> float | None:
    """H_α(p) = 1/(1−α) · log2 Σ p^α in bits (Rényi 1961; used by Zouhar et al. 2023). α = 1 is Shannon."""
    p = _probs(counts)
    if p.size == 0:
        return None
    if alpha == 1.0:
        return shannon_entropy(counts)
    return float(np.log2(np.sum(p**alpha)) / (1.0 - alpha))


def renyi_efficiency(counts: np.ndarray, vocab_size: int, alpha: float = 2.5) -> float | None:
    """H_α(p) / log2 |V| (Zouhar et al. 2023; α = 2.5 correlated best with BLEU there). |V| is the
    tokenizer's vocabulary size, so unused tokens lower the score. Matches the PyPI package
    tokenization-scorer (`renyi` with `vocab=|V|`)."""
    h = renyi_entropy(counts, alpha)
    if h is None or vocab_size < 2:
        return None
    return h / math.log2(vocab_size)


def vocab_utilization(counts: np.ndarray, usable: np.ndarray | None = None) -> float | None:
    """Share of the (non-special) vocabulary produced at least once on the text. `usable` masks the
    ids that count (special tokens never appear in plain encodings, so they are left out)."""
    c = np.asarray(counts)
    if usable is not None:
        c = c[usable]
    if c.size == 0:
        return None
    return float(np.count_nonzero(c)) / c.size
