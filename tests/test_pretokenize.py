from __future__ import annotations

import inspect
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import pre_tokenizers

from toktool.count import count_plain, count_words
from toktool.hf import byte_level_pre_tokenizer
from toktool.pretokenize import (
    BYTE_TO_CHAR,
    PRESETS,
    byte_alphabet_order,
    from_byte_level,
    make_splitter,
    to_byte_level,
)
from toktool.pretokenize.presets import CL100K_PATTERN, GPT2_PATTERN, O200K_PATTERN


def test_presets_are_tiktokens_patterns_verbatim():
    tiktoken_ext = pytest.importorskip("tiktoken_ext.openai_public")
    src = inspect.getsource(tiktoken_ext)
    assert CL100K_PATTERN in src
    for part in O200K_PATTERN.split("|\\p{N}{1,3}|")[0:1]:
        assert part.split("(?i:")[0] in src
    # o200k is assembled from the same pieces, in the same order, as tiktoken assembles it
    pieces = [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
    ]
    for p in pieces:
        assert p in src and p in O200K_PATTERN


def test_gpt2_pattern_is_the_original():
    # encoder.py of GPT-2 (also HF ByteLevel's built-in regex)
    assert GPT2_PATTERN == r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def test_byte_level_map_matches_hf_alphabet():
    assert sorted(BYTE_TO_CHAR.values()) == sorted(pre_tokenizers.ByteLevel.alphabet())
    order = byte_alphabet_order()
    assert [BYTE_TO_CHAR[b] for b in order] == sorted(pre_tokenizers.ByteLevel.alphabet(), key=ord)
    data = bytes(range(256))
    assert from_byte_level(to_byte_level(data)) == data


def _hf_split(preset: str, text: str) -> list[str]:
    pt = byte_level_pre_tokenizer(preset)
    return [from_byte_level(w).decode("utf-8") for w, _ in pt.pre_tokenize_str(text)]


@pytest.mark.parametrize("preset", list(PRESETS))
def test_our_split_equals_hf_pre_tokenizer_in_tokenizer_json(preset, sample_lines, multi_lines):
    """Counting and the exported tokenizer.json must split identically, or merges would not apply."""
    split = make_splitter(preset)
    lines = sample_lines[:1500] + multi_lines[::3]
    for line in lines:
        assert split(line) == _hf_split(preset, line), line


@pytest.mark.parametrize("preset", list(PRESETS))
@settings(max_examples=200, deadline=None)
@given(text=st.text(st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_presets_are_lossless(preset, text):
    assert "".join(make_splitter(preset)(text)) == text


@pytest.mark.parametrize("preset", ["gpt2", "gpt4", "o200k", "whitespace"])
def test_fast_path_counts_equal_plain_regex(preset, sample_lines, multi_lines):
    texts = sample_lines + multi_lines
    plain = count_plain(texts, preset)
    fast = count_words(texts, preset, workers=2, batch_chars=4096)
    assert fast == plain
    assert count_words(texts, preset, workers=1) == plain


def test_special_tokens_are_cut_out_before_counting():
    c = count_plain(["hello<|endoftext|>world <|endoftext|> again"], "gpt2", ["<|endoftext|>"])
    assert c == Counter({"hello": 1, "world": 1, " ": 1, " again": 1})
    assert "<|" not in "".join(c)


def test_none_preset_keeps_whole_text():
    assert count_plain(["a b\n", "a b\n"], "none") == Counter({"a b\n": 2})


def test_unknown_preset_is_an_error():
    from toktool.errors import ToktoolError

    with pytest.raises(ToktoolError, match="unknown pre-tokenizer"):
        make_splitter("gpt5")
