"""Every metric on a small case worked out by hand, and a cross-check against tokenization-scorer."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from toktool.evaluation import metrics as m


def test_ratios():
    assert m.bytes_per_token(12, 4) == 3.0
    assert m.bytes_per_token(12, 0) is None
    assert m.chars_per_token(10, 4) == 2.5
    assert m.fertility(10, 4) == 2.5
    assert m.fertility(10, 4, "Cjk") is None  # no spaces between words: undefined
    assert m.fertility(10, 4, "Thai") is None
    assert m.fertility(10, 4, "Latin") == 2.5
    assert m.nsl(90, 120) == 0.75
    assert m.token_premium(150, 100) == 1.5


def test_parity_ratio():
    assert m.parity_ratio([10, 20, 40]) == 4.0
    assert m.parity_ratio([10]) is None
    assert m.parity_ratio([0, 5]) is None


def test_gini_hand_computed():
    # 1,2,3,4: sum over ordered pairs of |ci-cj| = 2*(1+2+3+1+2+1) = 20; mu = 2.5; 20 / (2*16*2.5) = 0.25
    assert m.gini([1, 2, 3, 4]) == pytest.approx(0.25, abs=1e-15)
    assert m.gini([4, 1, 3, 2]) == pytest.approx(0.25, abs=1e-15)  # order does not matter
    assert m.gini([5, 5, 5]) == 0.0
    # 0,0,1: pairs (0,1) four times ordered = 4; mu = 1/3; 4 / (2*9/3) = 2/3
    assert m.gini([0, 0, 1]) == pytest.approx(2 / 3, abs=1e-15)
    assert m.gini([7]) is None


def test_gini_matches_double_sum_definition():
    rng = np.random.default_rng(0)
    c = rng.random(37) + 0.1
    direct = np.abs(c[:, None] - c[None, :]).sum() / (2 * len(c) ** 2 * c.mean())
    assert m.gini(c) == pytest.approx(direct, rel=1e-12)


def test_lorenz_curve():
    x, y = m.lorenz_curve([2, 1, 1])
    assert np.allclose(x, [0, 1 / 3, 2 / 3, 1])
    assert np.allclose(y, [0, 0.25, 0.5, 1])
    # the area between the diagonal and the curve is G/2
    area = 0.5 - np.trapezoid(y, x) if hasattr(np, "trapezoid") else 0.5 - np.trapz(y, x)
    assert 2 * area == pytest.approx(m.gini([2, 1, 1]))


def test_entropies_hand_computed():
    counts = np.array([1, 1, 2, 4, 0])  # p = 1/8, 1/8, 1/4, 1/2; the zero is ignored
    assert m.shannon_entropy(counts) == pytest.approx(1.75, abs=1e-15)
    # alpha = 2: sum p^2 = 22/64; H2 = log2(64/22)
    assert m.renyi_entropy(counts, 2.0) == pytest.approx(math.log2(64 / 22), abs=1e-15)
    assert m.renyi_entropy(counts, 1.0) == pytest.approx(1.75)
    assert m.renyi_efficiency(counts, 16, 2.0) == pytest.approx(math.log2(64 / 22) / 4, abs=1e-15)
    # uniform over the whole vocabulary: efficiency 1 at any alpha
    assert m.renyi_efficiency(np.ones(256), 256, 2.5) == pytest.approx(1.0, abs=1e-15)
    assert m.shannon_entropy(np.zeros(3)) is None


def test_utilization_and_unk():
    counts = np.array([0, 3, 0, 1])
    assert m.vocab_utilization(counts) == 0.5
    assert m.vocab_utilization(counts, np.array([True, True, False, True])) == pytest.approx(2 / 3)
    assert m.unk_rate(np.array([5, 1, 4]), 1) == pytest.approx(0.1)
    assert m.unk_rate(np.array([5, 1, 4]), None) == 0.0


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tokenization-scorer needs Python >= 3.11")
def test_renyi_and_entropy_agree_with_tokenization_scorer():
    """Same token sequences (real GPT-2 encodings of UDHR lines) through both implementations."""
    import contextlib
    import io

    from conftest import DATA, UDHR
    from tokenization_scorer import score

    from toktool.formats import load_tokenizer

    tok = load_tokenizer(DATA / "tokenizers" / "gpt2")
    lines = (UDHR / "eng.txt").read_text(encoding="utf-8").splitlines() + (UDHR / "rus.txt").read_text(encoding="utf-8").splitlines()
    enc = tok.encode_lines(lines)
    counts = np.bincount(enc.ids, minlength=tok.vocab_size)
    seqs = []
    start = 0
    for n in enc.lengths:
        seqs.append(" ".join(str(i) for i in enc.ids[start : start + n]))
        start += n
    text = "\n".join(seqs)
    with contextlib.redirect_stderr(io.StringIO()):
        for alpha in (2.5, 3.0, 0.5):
            ref = score(text, metric="renyi", power=alpha, vocab=tok.vocab_size)
            assert m.renyi_efficiency(counts, tok.vocab_size, alpha) == pytest.approx(ref, abs=1e-9)
            ref_h = score(text, metric="renyi_entropy", power=alpha)
            assert m.renyi_entropy(counts, alpha) == pytest.approx(ref_h, abs=1e-9)
        ref = score(text, metric="shannon_entropy")
        assert m.shannon_entropy(counts) == pytest.approx(ref, abs=1e-9)
