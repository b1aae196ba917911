"""Trained tokenizers load unchanged in `tokenizers` and `transformers` and round-trip any text."""

from __future__ import annotations

import json

import pytest
from conftest import SAMPLE, UDHR
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer

import toktool
from toktool.hf import load_hf_tokenizer as load_tokenizer
from toktool.pretokenize import PRESETS

SPECIALS = ["<|endoftext|>", "<pad>"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, str]:
    """One tokenizer per preset, trained on English + 5 other scripts, with two special tokens."""
    root = tmp_path_factory.mktemp("toks")
    inputs = [str(SAMPLE)] + [str(UDHR / f"{c}.txt") for c in ("hin", "cmn_hans", "rus", "arb", "amh")]
    out = {}
    for preset in PRESETS:
        toktool.train_bpe(inputs, vocab_size=1500, pretokenizer=preset, special_tokens=SPECIALS, workers=1).save(root / preset)
        out[preset] = str(root / preset)
    return out


def _unicode_text():
    any_char = st.characters(blacklist_categories=("Cs",))  # every plane; surrogates cannot be UTF-8
    combining = st.characters(min_codepoint=0x300, max_codepoint=0x36F)
    emoji = st.sampled_from(["😀", "👍🏽", "👩‍👩‍👧", "🇯🇵", "\u2764\ufe0f", "🧑🏿‍🚀"])
    spaces = st.sampled_from([" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2028", "   \n\n "])
    piece = st.one_of(any_char, combining, emoji, spaces, st.just("\x00"), st.sampled_from(SPECIALS), st.sampled_from(["the", " of", "42", "'s", "日本"]))
    return st.lists(piece, max_size=40).map("".join)


@pytest.mark.parametrize("preset", list(PRESETS))
def test_roundtrip_2000_generated_strings(trained, preset):
    tok = Tokenizer.from_file(f"{trained[preset]}/tokenizer.json")

    @settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck))
    @given(text=_unicode_text())
    def check(text):
        ids = tok.encode(text, add_special_tokens=False).ids
        assert tok.decode(ids, skip_special_tokens=False) == text

    check()


@pytest.mark.parametrize("preset", ["gpt2", "gpt4", "o200k"])
def test_transformers_loads_and_encodes_identically(trained, preset):
    transformers = pytest.importorskip("transformers")
    path = f"{trained[preset]}/tokenizer.json"
    hf = transformers.PreTrainedTokenizerFast(tokenizer_file=path)
    ours = load_tokenizer(trained[preset])
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()[:300] + (UDHR / "hin.txt").read_text(encoding="utf-8").splitlines()
    lines.append("héllo wörld <|endoftext|> 12345 tab\there")
    for line in lines:
        ids = hf.encode(line, add_special_tokens=False)
        assert ids == ours.tokenizer.encode(line, add_special_tokens=False).ids
        assert hf.decode(ids) == line
    assert hf.convert_tokens_to_ids("<|endoftext|>") == 0


def test_vocab_and_merges_files_load_to_the_same_tokenizer(trained, tmp_path):
    import shutil

    src = trained["gpt2"]
    d = tmp_path / "vm"
    d.mkdir()
    for f in ("vocab.json", "merges.txt"):
        shutil.copy(f"{src}/{f}", d / f)
    a = load_tokenizer(src)
    b = load_tokenizer(d)
    text = SAMPLE.read_text(encoding="utf-8")[:20000]
    assert a.tokenizer.encode(text).ids == b.tokenizer.encode(text).ids


def test_train_json_records_what_reproduces_the_run(trained):
    info = json.loads(open(f"{trained['gpt4']}/train.json", encoding="utf-8").read())
    assert info["options"]["pretokenizer"] == "gpt4"
    assert info["options"]["special_tokens"] == SPECIALS
    assert info["corpus"]["inputs"][0]["sha256"] and info["corpus"]["inputs"][0]["path"].endswith("botchan.txt")
    assert info["result"]["vocab_size"] == 1500
    for name in ("tokenizer.json", "vocab.json", "merges.txt"):
        import hashlib

        assert info["outputs"][name] == hashlib.sha256(open(f"{trained['gpt4']}/{name}", "rb").read()).hexdigest()


def test_special_tokens_have_the_first_ids_and_are_matched_whole(trained):
    tok = Tokenizer.from_file(f"{trained['gpt2']}/tokenizer.json")
    assert tok.token_to_id("<|endoftext|>") == 0 and tok.token_to_id("<pad>") == 1
    enc = tok.encode("a<|endoftext|>b")
    assert 0 in enc.ids and "<|endoftext|>" in enc.tokens
