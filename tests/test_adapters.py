"""Every tokenizer format reads through its own library and encodes exactly as that library does."""

from __future__ import annotations

import json
import shutil

import pytest
import sentencepiece as spm
from conftest import DATA, MULTI, UDHR, lines_of
from tokenizers import Tokenizer, models, pre_tokenizers

from toktool.errors import ToktoolError
from toktool.evaluation.table import unreachable_tokens
from toktool.formats import HFAdapter, SPAdapter, TiktokenAdapter, load_tokenizer
from toktool.pretokenize import from_byte_level

GPT2 = DATA / "tokenizers" / "gpt2"
SP = DATA / "tokenizers" / "sp-botchan-1k.model"


@pytest.fixture(scope="module")
def udhr_lines() -> list[str]:
    out = []
    for code in MULTI:
        out += [s.rstrip("\n") for s in lines_of(UDHR / f"{code}.txt")]
    return out


def write_gpt2_tiktoken(path) -> None:
    """GPT-2's vocab as a tiktoken rank file: rank = GPT-2 id (how tiktoken's r50k_base is built)."""
    import base64

    vocab = json.loads((GPT2 / "vocab.json").read_text(encoding="utf-8"))
    lines = [f"{base64.b64encode(from_byte_level(t)).decode()} {i}" for t, i in sorted(vocab.items(), key=lambda kv: kv[1]) if t != "<|endoftext|>"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_hf_vocab_merges_dir(udhr_lines):
    a = load_tokenizer(GPT2)
    assert isinstance(a, HFAdapter) and a.name == "gpt2" and a.vocab_size == 50257
    enc = a.encode_lines(udhr_lines)
    ref = a.tokenizer.encode_batch(udhr_lines, add_special_tokens=False)
    assert enc.lengths.tolist() == [len(e.ids) for e in ref]
    assert enc.ids.tolist() == [i for e in ref for i in e.ids]


def test_tiktoken_file_equals_gpt2(tmp_path, udhr_lines):
    """Two libraries, one vocabulary: tiktoken on our rank file gives GPT-2's ids on 14 languages."""
    f = tmp_path / "r50k_base.tiktoken"
    write_gpt2_tiktoken(f)
    t = load_tokenizer(f)
    assert isinstance(t, TiktokenAdapter) and t.kind == "tiktoken/gpt2"
    h = load_tokenizer(GPT2)
    assert t.encode_lines(udhr_lines).ids.tolist() == h.encode_lines(udhr_lines).ids.tolist()


def test_tiktoken_pattern_needed_for_unknown_names(tmp_path):
    f = tmp_path / "mine.tiktoken"
    write_gpt2_tiktoken(f)
    with pytest.raises(ToktoolError, match="--tiktoken-pattern"):
        load_tokenizer(f)
    assert load_tokenizer(f, tiktoken_pattern="cl100k_base").kind == "tiktoken/gpt4"
    with pytest.raises(ToktoolError, match="unknown tiktoken split pattern"):
        load_tokenizer(f, tiktoken_pattern="nope")


def test_sentencepiece_model_and_model_dir(tmp_path, udhr_lines):
    sp = spm.SentencePieceProcessor(model_file=str(SP))
    a = load_tokenizer(SP)
    assert isinstance(a, SPAdapter) and a.name == "sp-botchan-1k" and a.vocab_size == 1000
    enc = a.encode_lines(udhr_lines)
    assert enc.ids.tolist() == [i for ids in sp.encode(udhr_lines) for i in ids]
    assert a.unk_id == sp.unk_id()
    # an HF model directory that only has a sentencepiece model
    d = tmp_path / "model"
    d.mkdir()
    shutil.copy(SP, d / "tokenizer.model")
    b = load_tokenizer(d)
    assert isinstance(b, SPAdapter) and b.name == "model" and b.sha256 == a.sha256


def test_tokenizer_json_and_wordpiece(tmp_path):
    """A WordPiece tokenizer.json (BERT-style) reads through tokenizers; ## pieces are not probed."""
    vocab = {"[UNK]": 0, "[CLS]": 1, "hello": 2, "world": 3, "##s": 4, "w": 5, "##orld": 6}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.add_special_tokens(["[CLS]"])
    f = tmp_path / "bert.json"
    tok.save(str(f))
    a = load_tokenizer(f)
    assert a.kind == "hf-wordpiece" and a.unk_id == 0 and a.special_ids == {0, 1}  # [UNK] counts as special, as in sentencepiece
    assert a.encode_lines(["hello worlds", "zzz"]).ids.tolist() == [2, 3, 4, 0]
    probes = a.reachability_probes()
    assert 4 not in probes and 6 not in probes and 1 not in probes
    bad, tested = unreachable_tokens(a)
    assert tested == len(probes) and bad == []


def test_unreachable_token_hand_built():
    """merges b c (rank 0), a b (1), ab c (2): 'abc' always splits a|bc first, so token abc is never produced."""
    vocab = {"a": 0, "b": 1, "c": 2, "bc": 3, "ab": 4, "abc": 5}
    tok = Tokenizer(models.BPE(vocab, [("b", "c"), ("a", "b"), ("ab", "c")]))
    a = HFAdapter("toy", "toy", tok, "0" * 64)
    assert a.encode_lines(["abc"]).ids.tolist() == [0, 3]
    bad, tested = unreachable_tokens(a)
    assert bad == [5] and tested == 6


def test_gpt2_every_token_but_endoftext_is_reachable():
    a = load_tokenizer(GPT2)
    bad, tested = unreachable_tokens(a)
    strings = a.token_strings()
    assert [strings[i] for i in bad] == ["<|endoftext|>"]
    assert tested > 49_000  # the rest are byte tokens that are not valid UTF-8 alone


@pytest.mark.parametrize(
    "content, needle",
    [
        (b"\x00\x01\x02garbage" * 50, "not a valid"),
        (b'{"version": "1.0", "model": {"type": "BPE", "vocab": {"a": 0}', "not a valid tokenizer.json"),
        (b"", "not a valid"),
    ],
)
def test_corrupt_files(tmp_path, content, needle):
    f = tmp_path / "broken.json"
    f.write_bytes(content)
    with pytest.raises(ToktoolError, match=needle):
        load_tokenizer(f)


def test_corrupt_sentencepiece_and_tiktoken(tmp_path):
    f = tmp_path / "x.model"
    f.write_bytes(SP.read_bytes()[:1000])
    with pytest.raises(ToktoolError, match="not a valid sentencepiece model"):
        load_tokenizer(f)
    t = tmp_path / "gpt2.tiktoken"
    t.write_text("aGVsbG8= 0\nnot base64 at all!\n", encoding="utf-8")
    with pytest.raises(ToktoolError, match="gpt2.tiktoken:2: not a tiktoken rank file"):
        load_tokenizer(t)


def test_directory_without_tokenizer(tmp_path):
    (tmp_path / "notes.txt").write_text("hi", encoding="utf-8")
    with pytest.raises(ToktoolError, match="directory has no tokenizer"):
        load_tokenizer(tmp_path)
