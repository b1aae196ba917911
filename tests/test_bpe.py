"""The Numba trainer against Hugging Face's BpeTrainer and against its pure-Python twin."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from conftest import hf_train
from tokenizers import pre_tokenizers
from twins import train_bpe_reference

from toktool.count import WordCounts, count_plain
from toktool.errors import ToktoolError
from toktool.hf import byte_level_pre_tokenizer, vocab_strings
from toktool.pretokenize import to_byte_level
from toktool.train.bpe import learn_bpe as train_bpe


def _merge_strings(result):
    return [[to_byte_level(result.token_bytes(a)), to_byte_level(result.token_bytes(b))] for a, b in result.merges]


def _hf_model(tok):
    m = json.loads(tok.to_str())["model"]
    merges = [x if isinstance(x, list) else x.split(" ") for x in m["merges"]]
    return m["vocab"], merges


def _wc(lines, preset="gpt2", specials=()):
    return WordCounts.from_mapping(count_plain(lines, preset, specials), preset, specials)


@pytest.mark.parametrize("vocab_size", [300, 2000, 6000])
def test_merges_identical_to_hf_on_bundled_corpus(sample_lines, vocab_size):
    ours = train_bpe(_wc(sample_lines), vocab_size)
    hf_vocab, hf_merges = _hf_model(hf_train(sample_lines, vocab_size, pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)))
    assert _merge_strings(ours) == hf_merges
    assert {t: i for i, t in enumerate(vocab_strings(ours))} == hf_vocab
    assert ours.vocab_size == len(hf_vocab) == vocab_size


@pytest.mark.parametrize("preset", ["gpt4", "o200k"])
def test_merges_identical_to_hf_multilingual(multi_lines, preset):
    """14 languages, 12 scripts: exercises token strings reached by two different pairs."""
    ours = train_bpe(_wc(multi_lines, preset), 4000)
    hf_vocab, hf_merges = _hf_model(hf_train(multi_lines, 4000, byte_level_pre_tokenizer(preset)))
    assert _merge_strings(ours) == hf_merges
    assert {t: i for i, t in enumerate(vocab_strings(ours))} == hf_vocab


def test_merges_identical_to_hf_with_special_tokens(sample_lines):
    specials = ["<|endoftext|>", "<pad>"]
    ours = train_bpe(_wc(sample_lines, specials=specials), 1500, special_tokens=specials)
    hf_vocab, hf_merges = _hf_model(
        hf_train(sample_lines, 1500, pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True), special_tokens=specials)
    )
    assert _merge_strings(ours) == hf_merges
    assert {t: i for i, t in enumerate(vocab_strings(ours))} == hf_vocab
    assert vocab_strings(ours)[:2] == specials


def test_min_frequency_matches_hf(sample_lines):
    ours = train_bpe(_wc(sample_lines), 50000, min_frequency=20)
    _, hf_merges = _hf_model(
        hf_train(sample_lines, 50000, pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True), min_frequency=20)
    )
    assert _merge_strings(ours) == hf_merges
    assert ours.vocab_size < 50000  # stopped by frequency, not size


SMALL_CASES = {
    "repeats": Counter({"aaaa": 5, "aaa": 3, "abab": 4, "ababab": 2, "ba": 1, "b": 7}),
    "reuse": Counter({"abc": 4, "xabc": 1, "ab": 3, "bc": 5, "abcd": 2, "bcd": 3, "d": 1}),
    "unicode": Counter({"héllo": 3, " wörld": 2, "日本語": 4, "😀😀": 2, " ": 9, "\n\n": 3}),
}


@pytest.mark.parametrize("case", list(SMALL_CASES))
@pytest.mark.parametrize("min_frequency", [0, 2])
@pytest.mark.parametrize("max_len", [None, 3])
def test_numba_equals_python_twin_small(case, min_frequency, max_len):
    wc = WordCounts.from_mapping(SMALL_CASES[case], "gpt2")
    a = train_bpe(wc, 300, min_frequency=min_frequency, max_token_length=max_len)
    b = train_bpe_reference(wc, 300, min_frequency=min_frequency, max_token_length=max_len)
    assert a.merges == b.merges and a.tokens == b.tokens and a.train_tokens == b.train_tokens
    if max_len is not None:
        assert all(len(t) <= max_len for t in a.tokens)


def test_numba_equals_python_twin_real_text(sample_lines, multi_lines):
    wc = _wc(sample_lines[:800] + multi_lines[::4], "gpt4")
    a = train_bpe(wc, 1200, max_token_length=8)
    b = train_bpe_reference(wc, 1200, max_token_length=8)
    assert a.merges == b.merges and a.tokens == b.tokens and a.merges_raw == b.merges_raw


def test_twin_equals_hf(sample_lines):
    wc = _wc(sample_lines[:1500])
    ref = train_bpe_reference(wc, 800)
    _, hf_merges = _hf_model(hf_train(sample_lines[:1500], 800, pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)))
    assert _merge_strings(ref) == hf_merges


def test_vocab_size_below_alphabet_is_an_error():
    wc = WordCounts.from_mapping(Counter({"ab": 1}), "gpt2")
    with pytest.raises(ToktoolError, match="below the byte alphabet"):
        train_bpe(wc, 255)
    with pytest.raises(ToktoolError, match="256 \\+ 1 = 257"):
        train_bpe(wc, 256, special_tokens=["<s>"])


def test_empty_counts_is_an_error():
    wc = WordCounts.from_mapping(Counter(), "gpt2")
    with pytest.raises(ToktoolError, match="empty corpus"):
        train_bpe(wc, 300)


def test_train_tokens_equal_encoding_of_training_words(sample_lines):
    """The summary's bytes/token is what the exported tokenizer really produces on the training text."""
    from toktool.hf import build_tokenizer

    wc = _wc(sample_lines)
    r = train_bpe(wc, 3000)
    tok = build_tokenizer(r, "gpt2")
    words = [w.decode("utf-8") for w, _ in wc.items()]
    encs = tok.encode_batch(words, add_special_tokens=False)
    assert sum(len(e.ids) * c for e, (_, c) in zip(encs, wc.items())) == r.train_tokens


def test_aot_and_jit_kernels_agree(sample_lines, multi_lines, monkeypatch):
    """`make` builds the merge loop ahead of time; it must give exactly what the JIT build gives."""
    from toktool.kernels.loader import load_aot

    if load_aot() is None:
        pytest.skip("AOT merge loop not built for this source (make builds it)")
    wc = _wc(sample_lines + multi_lines, "gpt4")
    monkeypatch.setenv("TOKTOOL_KERNEL", "aot")
    a = train_bpe(wc, 5000, special_tokens=["<s>"])
    monkeypatch.setenv("TOKTOOL_KERNEL", "jit")
    j = train_bpe(wc, 5000, special_tokens=["<s>"])
    assert a.timings["kernel"] == "aot" and j.timings["kernel"] == "jit"
    assert a.merges == j.merges and a.tokens == j.tokens and a.train_tokens == j.train_tokens and a.merges_raw == j.merges_raw


def test_unknown_kernel_choice_is_an_error(monkeypatch):
    monkeypatch.setenv("TOKTOOL_KERNEL", "gpu")
    with pytest.raises(ToktoolError, match="TOKTOOL_KERNEL"):
        train_bpe(WordCounts.from_mapping(Counter({"ab": 1}), "gpt2"), 300)
