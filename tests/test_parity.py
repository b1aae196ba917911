"""Parity-aware BPE: Numba loop == pure-Python twin in every variant, CLI contract, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import UDHR, assert_clean_error, run_cli
from tokenizers import Tokenizer

from toktool.count import count_corpus
from toktool.evaluation import metrics
from toktool.kernels.reference import parity_reference
from toktool.pretokenize import byte_alphabet_order
from toktool.train.parity import ParityOptions, build_input
from toktool.train.parity import learn_parity as train_parity

CODES = ["eng", "deu_1996", "rus", "hin", "cmn_hans", "amh", "arb", "kor"]


def _udhr(code: str, a: int, b: int) -> str:
    return "\n".join((UDHR / f"{code}.txt").read_text(encoding="utf-8").split("\n")[a:b]) + "\n"


@pytest.fixture(scope="module")
def dirs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("parity")
    for part, (a, b) in {"train": (0, 20), "dev": (20, 25), "heldout": (25, 30)}.items():
        (root / part).mkdir()
        for c in CODES:
            (root / part / f"{c}.txt").write_text(_udhr(c, a, b), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def counts(dirs):
    train = {c: count_corpus([str(dirs / "train" / f"{c}.txt")], "gpt2", workers=1) for c in CODES[:6]}
    dev = {c: count_corpus([str(dirs / "dev" / f"{c}.txt")], "gpt2", workers=1) for c in CODES[:6]}
    return train, dev


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"global_merges": 25},
        {"window": 10, "alpha": 2.0},
        {"targets": {"eng": 1.0, "deu_1996": 1.0, "rus": 1.2, "hin": 0.8, "cmn_hans": 1.0, "amh": 1.0}},
        {"skip_exhausted": True},
        {"skip_exhausted": True, "window": 20, "alpha": 1.5, "global_merges": 10},
    ],
    ids=["base", "hybrid", "window", "ratio", "skip", "skip-window-hybrid"],
)
def test_numba_loop_equals_the_twin(counts, kw):
    train, dev = counts
    targets = kw.get("targets")
    target = 256 + (500 if kw.get("skip_exhausted") else 200)
    inp = build_input(train, None if targets else dev)
    raw, chosen, tokens = parity_reference(
        inp.sym, inp.woff, inp.wl_off, inp.wl_lang, inp.wl_train, inp.wl_dev, len(inp.codes),
        [bytes([b]) for b in byte_alphabet_order()], target, 2, kw.get("global_merges", 0), kw.get("window", 0), kw.get("alpha", 2.0),
        [targets[c] for c in inp.codes] if targets else None, kw.get("skip_exhausted", False),
    )
    opts = ParityOptions(target, 2, [], kw.get("global_merges", 0), kw.get("window", 0), kw.get("alpha", 2.0), targets, kw.get("skip_exhausted", False))
    r = train_parity(train, dev, opts)
    assert r.bpe.tokens == tokens
    assert r.bpe.merges_raw == len(raw)
    assert [(-1 if x is None else inp.codes.index(x)) for x in r.merge_languages] == chosen
    if kw.get("global_merges"):
        assert chosen[: kw["global_merges"]] == [-1] * kw["global_merges"]


def test_window_caps_each_language(counts):
    train, dev = counts
    r = train_parity(train, dev, ParityOptions(256 + 300, 2, [], 0, 30, 2.0, None, True))
    chosen = r.merge_languages
    for i in range(30, len(chosen)):
        window = chosen[i - 30 : i]
        assert max(window.count(c) for c in set(window)) * 6 <= 2.0 * 30 + 6  # alpha/L share, +1 for the newest


def test_cli_output_contract(dirs, tmp_path):
    out = tmp_path / "pa"
    p = run_cli("train", "--algo", "parity", "--langs", str(dirs / "train"), "--dev", str(dirs / "dev"), "--vocab-size", "1200", "--exhausted", "skip", "-o", str(out), "-q")
    assert p.returncode == 0, p.stderr.decode()
    tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    assert tok.get_vocab_size() == 1200
    for c in CODES:  # round-trip in every language, stock tokenizers
        text = _udhr(c, 25, 30)
        assert tok.decode(tok.encode(text).ids) == text
    info = json.loads((out / "train.json").read_text(encoding="utf-8"))
    assert info["algo"] == "parity" and len(info["merge_languages"]) == info["result"]["merge_steps"]
    assert {r["language"] for r in info["per_language"]} == set(CODES)
    assert sum(r["merges_chosen"] for r in info["per_language"]) == info["result"]["merge_steps"]
    # the same languages given one by one, in the directory's (sorted) order: byte-identical output
    # (the order matters: ties between equally bad languages go to the first)
    items = [x for c in sorted(CODES) for x in ("--lang", f"{c}={dirs / 'train' / (c + '.txt')}", "--dev-lang", f"{c}={dirs / 'dev' / (c + '.txt')}")]
    out2 = tmp_path / "pa2"
    p = run_cli("train", "--algo", "parity", *items, "--vocab-size", "1200", "--exhausted", "skip", "-o", str(out2), "-q")
    assert p.returncode == 0, p.stderr.decode()
    assert (out / "tokenizer.json").read_bytes() == (out2 / "tokenizer.json").read_bytes()


def test_parity_evens_out_tokens_per_aligned_text(dirs, tmp_path):
    """On held-out parallel text the spread of token counts across languages shrinks against BPE."""
    pa, bpe = tmp_path / "pa", tmp_path / "bpe"
    assert run_cli("train", "--algo", "parity", "--langs", str(dirs / "train"), "--dev", str(dirs / "dev"), "--vocab-size", "1500", "--exhausted", "skip", "-o", str(pa), "-q").returncode == 0
    assert run_cli("train", str(dirs / "train"), "--vocab-size", "1500", "-o", str(bpe), "-q").returncode == 0
    ginis = {}
    for name, d in (("pa", pa), ("bpe", bpe)):
        tok = Tokenizer.from_file(str(d / "tokenizer.json"))
        ginis[name] = metrics.gini([len(tok.encode(_udhr(c, 25, 30)).ids) for c in CODES])
    assert ginis["pa"] < 0.8 * ginis["bpe"], ginis


def test_bad_input(dirs, tmp_path):
    def train(*args):
        return run_cli("train", "--algo", "parity", "--vocab-size", "1000", "-o", str(tmp_path / "x"), *args)

    lang = [x for c in ("eng", "rus") for x in ("--lang", f"{c}={dirs / 'train' / (c + '.txt')}")]
    dev = [x for c in ("eng", "rus") for x in ("--dev-lang", f"{c}={dirs / 'dev' / (c + '.txt')}")]
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    assert_clean_error(train(*lang, "--lang", f"fra={empty}", *dev, "--dev-lang", f"fra={dirs / 'dev' / 'eng.txt'}"), "empty")
    short = tmp_path / "short.txt"
    short.write_text(_udhr("rus", 20, 23), encoding="utf-8")
    assert_clean_error(train(*lang, "--dev-lang", f"eng={dirs / 'dev' / 'eng.txt'}", "--dev-lang", f"rus={short}"), "not line-parallel", "rus has 3")
    assert_clean_error(train(*lang, "--dev-lang", f"eng={dirs / 'dev' / 'eng.txt'}"), "no dev text", "rus")
    assert_clean_error(train(*lang, *dev, "--dev-lang", f"hin={dirs / 'dev' / 'hin.txt'}"), "no training text", "hin")
    assert_clean_error(train("--lang", f"eng={dirs / 'train' / 'eng.txt'}", "--dev-lang", f"eng={dirs / 'dev' / 'eng.txt'}"), "at least two languages")
    assert_clean_error(train(*lang), "dev set")
    assert_clean_error(train(*lang, "--target-ratio", "xyz=1.0"), "--target-ratio", "xyz")
    assert_clean_error(train(*lang, "--target-ratio", "eng=lots"), "--target-ratio")
    assert_clean_error(train(str(dirs / "train" / "eng.txt")), "--algo parity")
    assert not (tmp_path / "x").exists()


def test_aot_and_jit_loops_agree(counts, monkeypatch):
    from toktool.kernels.loader import load_aot

    train, dev = counts
    if load_aot() is None:
        pytest.skip("the AOT build is missing (make builds it)")
    opts = ParityOptions(256 + 400, 2, [], 10, 20, 2.0, None, True)
    aot = train_parity(train, dev, opts)
    monkeypatch.setenv("TOKTOOL_KERNEL", "jit")
    jit = train_parity(train, dev, opts)
    assert aot.bpe.timings["kernel"] == "aot" and jit.bpe.timings["kernel"] == "jit"
    assert aot.bpe.tokens == jit.bpe.tokens and aot.merge_languages == jit.merge_languages
