"""Issue 15: real-world tokenizer files and corpora, every format in every command, errors that name
the input. Each fixture is built here, shaped like the files people report in the issue trackers of
`tokenizers`, `sentencepiece`, `tiktoken` and SuperBPE; nothing is downloaded.

    kind 1  errors `tokenizers` raises while encoding: refused at load, or one line naming file and line
    kind 2  model-specific fields behind the metrics (unknown token, specials, byte fallback, prefixes)
    kind 4  one rule for text with NUL bytes; UTF-16/UTF-32 and binary files refused
    kind 5  encode, decode and count-tokens read every format, with the format's own library's ids
    and the smaller ones: byte-order marks, null JSON-lines fields, SuperBPE reachability, Llama 3's
    tiktoken `tokenizer.model`
"""

from __future__ import annotations

import base64
import gzip
import json
import shutil
from pathlib import Path

import pytest
import sentencepiece as spm
from conftest import DATA, SAMPLE, UDHR, assert_clean_error, run_cli
from test_adapters import write_gpt2_tiktoken
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from toktool.corpus import CorpusStats, expand_inputs, iter_texts, text_problem
from toktool.errors import CodecError, InputError, ToktoolError
from toktool.evaluation import evaluate
from toktool.evaluation.table import unreachable_tokens
from toktool.formats import HFAdapter, SPAdapter, TiktokenAdapter, load_tokenizer
from toktool.hf import load_hf_tokenizer
from toktool.pretokenize import BYTE_TO_CHAR, PRESETS

GPT2 = DATA / "tokenizers" / "gpt2"
SP = DATA / "tokenizers" / "sp-botchan-1k.model"
SAMPLE_TEXT = SAMPLE.read_bytes().decode("utf-8-sig")  # as toktool reads it: CRLF kept, the BOM dropped


def _spec(model: dict, pre_tokenizer=None, decoder=None, normalizer=None, added=(), post_processor=None, truncation=None) -> dict:
    """A tokenizer.json as `tokenizers` writes it."""
    return {
        "version": "1.0",
        "truncation": truncation,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
            for c, i in added
        ],
        "normalizer": normalizer,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": post_processor,
        "decoder": decoder,
        "model": model,
    }


def _write(path: Path, spec: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    return path


WHITESPACE = {"type": "Whitespace"}
METASPACE = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}


def _bpe(vocab: dict, merges: list, **kw) -> dict:
    model = {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None, "end_of_word_suffix": None,
             "fuse_unk": False, "byte_fallback": False, "ignore_merges": False, "vocab": vocab, "merges": merges}  # fmt: skip
    model.update(kw)
    return model


def _wordpiece(vocab: dict, unk: str = "[UNK]", prefix: str = "##") -> dict:
    return {"type": "WordPiece", "unk_token": unk, "continuing_subword_prefix": prefix, "max_input_chars_per_word": 100, "vocab": vocab}


def _unigram(vocab: list, unk_id: int | None, byte_fallback: bool = False) -> dict:
    return {"type": "Unigram", "unk_id": unk_id, "vocab": vocab, "byte_fallback": byte_fallback}


BYTE_PIECES = [f"<0x{b:02X}>" for b in range(256)]


# --- the three broken files of the issue, as people meet them ----------------------------------------

# BERT-style WordPiece whose vocab.txt lost its [UNK] line before conversion
WP_NO_UNK = _spec(_wordpiece({"[CLS]": 0, "[SEP]": 1, "hello": 2, "world": 3, "##s": 4}), WHITESPACE,
                  {"type": "WordPiece", "prefix": "##", "cleanup": True}, added=[("[CLS]", 0), ("[SEP]", 1)])  # fmt: skip
# T5/ALBERT-style Unigram converted without an unknown piece
UG_NULL_UNK = _spec(_unigram([["</s>", 0.0], ["▁hello", -1.0], ["▁world", -1.5], ["▁", -2.0], *[[c, -3.0] for c in "helowrds"]], None), METASPACE,
                    {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}, added=[("</s>", 0)])  # fmt: skip
# a character-level BPE that names an <unk> it does not have
BPE_MISSING_UNK = _spec(_bpe({c: i for i, c in enumerate(["h", "e", "l", "o", "w", "r", "d", "he", "ll", "hell", "hello"])}, [["h", "e"], ["l", "l"], ["he", "ll"], ["hell", "o"]], unk_token="<unk>"), WHITESPACE)
# the same as WordLevel (a word-per-id vocabulary)
WL_NO_UNK = _spec({"type": "WordLevel", "vocab": {"hello": 0, "world": 1}, "unk_token": "[UNK]"}, WHITESPACE)

BROKEN = {
    "wordpiece": (WP_NO_UNK, "the WordPiece model's unk_token '[UNK]' is not in its vocabulary, so tokenizers fails on any word its pieces cannot spell"),
    "unigram": (UG_NULL_UNK, 'the Unigram model has "unk_id": null, so tokenizers fails on any character that is not a piece of its own'),
    "bpe": (BPE_MISSING_UNK, "the BPE model's unk_token '<unk>' is not in its vocabulary, so tokenizers fails on any character outside its vocabulary (no complete byte fallback or byte-level alphabet covers them)"),
    "wordlevel": (WL_NO_UNK, "the WordLevel model's unk_token '[UNK]' is not in its vocabulary, so tokenizers fails on any word outside its vocabulary"),
}


def _stdout_empty(proc) -> None:
    assert proc.stdout == b"", proc.stdout[:200]


@pytest.mark.parametrize("kind", list(BROKEN))
def test_kind1_broken_unknown_token_is_refused_at_load(tmp_path, kind):
    spec, why = BROKEN[kind]
    f = _write(tmp_path / kind / "tokenizer.json", spec)
    # the premise: tokenizers loads the file and fails only at the first text it has no piece for
    raw = Tokenizer.from_file(str(f))
    assert raw.encode("hello").ids
    with pytest.raises(Exception):  # noqa: B017 - tokenizers raises a bare Exception
        raw.encode("hello zzz €")
    text = tmp_path / "in.txt"
    text.write_text("hello world\nhello zzz €\n", encoding="utf-8")
    p = run_cli("encode", str(f), str(text))
    assert assert_clean_error(p) == f"toktool: error: {f}: {why}"
    _stdout_empty(p)
    # a model directory names the tokenizer.json inside it
    p = run_cli("count-tokens", str(f.parent), str(text))
    assert assert_clean_error(p) == f"toktool: error: {f}: {why}"
    _stdout_empty(p)


def test_kind1_every_command_refuses_the_broken_wordpiece(tmp_path):
    spec, why = BROKEN["wordpiece"]
    f = _write(tmp_path / "bert" / "tokenizer.json", spec)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "eng.txt").write_text("hello worlds\nhello zzz\n", encoding="utf-8")
    plots = tmp_path / "plots"
    for args in (
        ["evaluate", str(f), "--data", str(tmp_path / "data"), "--plot", str(plots)],
        ["decode", str(f)],
        ["count-tokens", str(f), str(tmp_path / "data" / "eng.txt")],
    ):
        p = run_cli(*args, input="2 3\n")
        assert assert_clean_error(p) == f"toktool: error: {f}: {why}", args
        _stdout_empty(p)
    assert not plots.exists()


def _tiny_model(d: Path) -> Path:
    """A model directory transplant accepts: GPT-2's tokenizer and an 8-dimensional embedding."""
    import numpy as np
    from safetensors.numpy import save_file

    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"vocab_size": 50257, "tie_word_embeddings": True}))
    rows = np.random.default_rng(0).normal(size=(50257, 8)).astype(np.float32)
    save_file({"model.embed_tokens.weight": rows}, str(d / "model.safetensors"))
    load_hf_tokenizer(GPT2).tokenizer.save(str(d / "tokenizer.json"))
    return d


def test_kind1_transplant_refuses_broken_new_and_base_tokenizers(tmp_path):
    base = _tiny_model(tmp_path / "base")
    out = tmp_path / "out"
    spec, why = BROKEN["unigram"]
    new = _write(tmp_path / "t5" / "tokenizer.json", spec)
    p = run_cli("transplant", str(base), "--tokenizer", str(new.parent), "-o", str(out))
    assert assert_clean_error(p) == f"toktool: error: {new}: {why}"
    p = run_cli("transplant", str(base), "--tokenizer", str(new.parent), "--aux-corpus", str(SAMPLE), "-o", str(out))
    assert assert_clean_error(p) == f"toktool: error: {new}: {why}"
    # the model's own tokenizer.json broken the same way (it encodes the FVT pieces)
    broken_base = tmp_path / "broken-base"
    shutil.copytree(base, broken_base)
    spec, why = BROKEN["wordpiece"]
    _write(broken_base / "tokenizer.json", spec)
    good_new = tmp_path / "good"
    p = run_cli("train", str(SAMPLE), "--vocab-size", "400", "-o", str(good_new), "-q")
    assert p.returncode == 0, p.stderr.decode()
    p = run_cli("transplant", str(broken_base), "--tokenizer", str(good_new), "-o", str(out))
    assert assert_clean_error(p) == f"toktool: error: {broken_base / 'tokenizer.json'}: {why}"
    assert not out.exists()


def test_kind1_complete_coverage_needs_no_unknown_token(tmp_path, multi_lines):
    """Not refused: a byte-level BPE or a byte-fallback model never reaches its unknown token, so a
    missing one is harmless (GPT-2 style files name <|endoftext|> or nothing)."""
    alphabet = {BYTE_TO_CHAR[b]: b for b in range(256)}
    byte_level = _spec(_bpe(alphabet, [], unk_token="<unk>"), {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
                       {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True})  # fmt: skip
    fallback_bpe = _spec(_bpe({p: i for i, p in enumerate(BYTE_PIECES)} | {"▁": 256}, [], unk_token="<unk>", byte_fallback=True), METASPACE)
    for name, spec in (("bytelevel", byte_level), ("fallback-bpe", fallback_bpe)):
        a = load_tokenizer(_write(tmp_path / f"{name}.json", spec))
        assert len(a.encode_batch(multi_lines[:300])) == 300
    # a Unigram model is different: its search needs unk_id for a character that is not a piece,
    # and only then spells that piece in bytes, so byte fallback does not save "unk_id": null
    fallback_ug = _spec(_unigram([[p, -5.0] for p in BYTE_PIECES] + [["▁", -1.0], ["▁the", -1.0]], None, byte_fallback=True), METASPACE)
    f = _write(tmp_path / "fallback-ug.json", fallback_ug)
    with pytest.raises(Exception, match="unk_id` is missing"):
        Tokenizer.from_file(str(f)).encode("the €")
    with pytest.raises(InputError, match='"unk_id": null'):
        load_tokenizer(f)


def test_kind1_library_failure_names_file_and_line(tmp_path):
    """Where nothing can be checked at load: tiktoken's regex engine gives up on a run of a million
    spaces (a Rust panic). count-tokens, encode and evaluate say which file, which line, exit 2."""
    tk = tmp_path / "r50k_base.tiktoken"
    write_gpt2_tiktoken(tk)
    big = tmp_path / "big.txt"
    big.write_text("one line\n" + "x" + " " * 1_000_000 + "y\n" + "last\n", encoding="utf-8")
    (tmp_path / "data").mkdir()
    shutil.copy(big, tmp_path / "data" / "eng.txt")
    head = f"toktool: error: {tk}: cannot encode "
    reason = "tiktoken panicked: called `Result::unwrap()` on an `Err` value: RuntimeError(StackOverflow)"
    cases = [
        (["count-tokens", str(tk), str(SAMPLE), str(big)], f"{big}:2"),
        (["encode", str(tk), str(big)], f"{big}:2"),
        (["evaluate", str(GPT2), str(tk), "--data", str(tmp_path / "data")], f"{tmp_path / 'data' / 'eng.txt'}:2"),
    ]
    for args, where in cases:
        p = run_cli(*args, env={"RUST_BACKTRACE": "0"})
        err = p.stderr.decode()
        assert p.returncode == 2, err
        # Rust's panic hook prints its own lines before Python sees the panic; ours is the last
        assert err.strip().splitlines()[-1] == head + where + ": " + reason, err
        assert "Traceback" not in err and "internal error" not in err
        _stdout_empty(p)


def test_kind1_adapter_and_evaluate_name_the_failing_line(tmp_path):
    """The Python API: an in-memory tokenizer (no file check) that fails while encoding gives a
    CodecError with the item and, through evaluate, the data file and line."""
    tok = Tokenizer.from_str(json.dumps(BPE_MISSING_UNK))
    a = HFAdapter("bpe", "in-memory.json", tok, "0" * 64)
    with pytest.raises(CodecError) as e:
        a.encode_batch(["hello", "hello", "hello\nhello zzz\n"])
    assert (e.value.index, e.value.line) == (2, 2)
    assert str(e.value) == "in-memory.json: cannot encode text: tokenizers: Unk token `<unk>` not found in the vocabulary"
    f = tmp_path / "eng.txt"
    f.write_text("hello\n\nhello\nhello zzz\n", encoding="utf-8")
    with pytest.raises(CodecError, match=rf"^in-memory.json: cannot encode {f}:4: tokenizers: Unk token"):
        evaluate([a], texts=[str(f)])


def test_kind1_transplant_fvt_pieces_name_the_new_token(tmp_path):
    """The Python API with an in-memory base tokenizer (no file check): the FVT step names the model's
    tokenizer and the new token whose text the library could not encode."""
    from toktool.transplantation.core import _fvt_pieces
    from toktool.transplantation.match import match_vocab, tok_info

    old = tok_info(Tokenizer.from_str(json.dumps(BPE_MISSING_UNK)), None)
    new = tok_info(Tokenizer.from_str(json.dumps(_spec({"type": "WordLevel", "vocab": {"hello": 0, "zzz": 1, "[UNK]": 2}, "unk_token": "[UNK]"}, WHITESPACE))), None)
    mapping = match_vocab(old, new)
    assert mapping.how[:2] == ["exact", "new"]
    with pytest.raises(CodecError) as e:
        _fvt_pieces(old, new, mapping, tmp_path)
    assert str(e.value) == f"{tmp_path}: cannot encode the new token 'zzz': tokenizers: Unk token `<unk>` not found in the vocabulary"


# --- kind 2: model-specific fields behind the metrics -------------------------------------------------


def _pb_fields(buf: bytes):
    """(field number, wire type, value) of a protobuf message: enough to read a sentencepiece model
    without the protobuf package."""

    def varint(i):
        v = shift = 0
        while True:
            b = buf[i]
            i += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return v, i

    i = 0
    while i < len(buf):
        key, i = varint(i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(i)
        elif wt == 2:
            n, i = varint(i)
            v, i = buf[i : i + n], i + n
        elif wt == 5:
            v, i = buf[i : i + 4], i + 4
        elif wt == 1:
            v, i = buf[i : i + 8], i + 8
        else:
            raise ValueError(f"wire type {wt}")
        yield num, wt, v


def sentencepiece_as_tokenizer_json(model: Path, out: Path) -> Path:
    """The T5/ALBERT-style tokenizer.json of a sentencepiece Unigram model, as transformers' converter
    writes it: Unigram with `unk_id`, the model's precompiled normalizer, whitespace handling and
    Metaspace, the unknown and control pieces as special added tokens."""
    buf = model.read_bytes()
    norm = next(v for n, _, v in _pb_fields(buf) if n == 3)
    charsmap = next(bytes(v) for n, _, v in _pb_fields(norm) if n == 2)
    sp = spm.SentencePieceProcessor(model_file=str(model))
    n = sp.get_piece_size()
    tok = Tokenizer(models.Unigram([(sp.id_to_piece(i), sp.get_score(i)) for i in range(n)], unk_id=sp.unk_id(), byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(charsmap), normalizers.Replace(Regex(r"\A +| +\z"), ""), normalizers.Replace(Regex(" {2,}"), " "), normalizers.Replace(" ", "▁")]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    tok.add_special_tokens([AddedToken(sp.id_to_piece(i), special=True, normalized=False) for i in range(n) if sp.is_control(i) or sp.is_unknown(i)])
    out.parent.mkdir(parents=True, exist_ok=True)
    tok.save(str(out))
    return out


UNK_LANGS = ["eng", "rus", "amh", "cmn_hans", "hin"]


def test_kind2_unigram_json_and_sentencepiece_model_report_the_same_unk_rate(tmp_path):
    """The exact case: the same model as .model and as a T5-style tokenizer.json encodes identically
    and reports the same unk_rate (it was 0 for the JSON: Unigram stores unk_id, not unk_token)."""
    ug = sentencepiece_as_tokenizer_json(SP, tmp_path / "t5ish" / "tokenizer.json")
    assert json.loads(ug.read_text())["model"]["unk_id"] == 0
    p = run_cli("evaluate", str(SP), str(ug.parent), "--data", str(UDHR), "--langs", ",".join(UNK_LANGS), "--format", "json", "-q")
    assert p.returncode == 0, p.stderr.decode()
    report = json.loads(p.stdout)
    rows = {(r["tokenizer"], r["language"]): r for r in report["rows"]}
    sp = spm.SentencePieceProcessor(model_file=str(SP))
    for code in [*UNK_LANGS, "ALL"]:
        a, b = rows[("sp-botchan-1k", code)], rows[("t5ish", code)]
        assert {k: v for k, v in a.items() if k != "tokenizer"} == {k: v for k, v in b.items() if k != "tokenizer"}, code
        if code != "ALL":
            ids = [i for s in (UDHR / f"{code}.txt").read_text(encoding="utf-8").split("\n")[:-1] for i in sp.encode(s)]
            assert a["tokens"] == len(ids) and a["unk_rate"] == pytest.approx(ids.count(sp.unk_id()) / len(ids), abs=0, rel=1e-12)
    assert rows[("t5ish", "amh")]["unk_rate"] > 0.3  # an English model on Ethiopic: mostly <unk>
    a, b = report["tokenizers"]
    for key in ("vocab_size", "special_tokens", "never_used_count", "reachability_tested", "unreachable_count"):
        assert a[key] == b[key], key
    assert a["special_tokens"] == 3  # <unk>, <s>, </s>


UNK_TEXT = "the cat sat\nthe dog\n"


@pytest.mark.parametrize(
    "name, spec, unk_id, tokens, unk_count",
    [
        # WordLevel: the cat sat | the [UNK]
        ("wordlevel", _spec({"type": "WordLevel", "vocab": {"[UNK]": 0, "the": 1, "cat": 2, "sat": 3, "mat": 4}, "unk_token": "[UNK]"}, WHITESPACE, added=[("[CLS]", 5)]), 0, 5, 1),
        # WordPiece: the cat s ##at | the [UNK]
        ("wordpiece", _spec(_wordpiece({"[UNK]": 0, "the": 1, "cat": 2, "s": 3, "##at": 4, "mat": 5}), WHITESPACE, added=[("[CLS]", 6)]), 0, 6, 1),
        # BPE, characters and an <unk>: the c at s at | the <unk> <unk> <unk>
        ("bpe", _spec(_bpe({"<unk>": 0, "t": 1, "h": 2, "e": 3, "c": 4, "a": 5, "s": 6, "th": 7, "the": 8, "at": 9, "m": 10}, [["t", "h"], ["th", "e"], ["a", "t"]], unk_token="<unk>"), WHITESPACE, added=[("<s>", 11)]), 0, 9, 3),
        # Unigram with unk_id 3: ▁the ▁cat ▁sat | ▁the ▁ <unk> (consecutive unknown characters fuse)
        ("unigram", _spec(_unigram([["▁the", -1.0], ["▁cat", -1.0], ["▁sat", -1.0], ["<unk>", 0.0], ["▁", -2.0], ["▁mat", -1.0]], 3), METASPACE, added=[("<unk>", 3), ("</s>", 6)]), 3, 6, 1),
    ],
)
def test_kind2_unknown_token_and_specials_per_model_type(tmp_path, name, spec, unk_id, tokens, unk_count):
    if name == "unigram":
        spec["model"]["vocab"].append(["</s>", 0.0])
    f = _write(tmp_path / f"{name}.json", spec)
    a = load_tokenizer(f)
    assert a.unk_id == unk_id
    raw = Tokenizer.from_file(str(f))
    ids = [i for line in UNK_TEXT.splitlines() for i in raw.encode(line, add_special_tokens=False).ids]
    assert len(ids) == tokens and ids.count(unk_id) == unk_count  # the fixture is what the comment says
    text = tmp_path / "eng.txt"
    text.write_text(UNK_TEXT, encoding="utf-8")
    res = evaluate([a], texts=[str(text)])
    total = next(r for r in res.rows if r["language"] == "ALL")
    assert total["tokens"] == tokens
    assert total["unk_rate"] == unk_count / tokens
    info = res.tokenizers[0]
    # special: the added special token and the unknown token; the rest is the usable vocabulary, of
    # which one word ("mat" / "▁mat") never occurs
    assert info["special_tokens"] == 2
    usable = a.vocab_size - 2
    assert total["never_used"] == 1 + (usable - 1 - len(set(ids) - {unk_id}))
    assert total["vocab_utilization"] == len(set(ids) - {unk_id}) / usable


def test_kind2_byte_fallback_pieces_are_bytes_not_unknowns(tmp_path):
    """Llama-2 style BPE and a Unigram with byte fallback: a character outside the vocabulary is its
    UTF-8 bytes (<0xE2> <0x82> <0xAC> for €), not <unk>; byte pieces are not reachability probes."""
    vocab = {"<unk>": 0, **{p: i + 1 for i, p in enumerate(BYTE_PIECES)}}
    vocab |= {"▁": 257, "▁the": 258, "▁cat": 259, "t": 260, "h": 261, "e": 262, "c": 263, "a": 264, "▁t": 265, "▁th": 266, "▁c": 267, "▁ca": 268}
    merges = [["▁", "t"], ["▁t", "h"], ["▁th", "e"], ["▁", "c"], ["▁c", "a"], ["▁ca", "t"]]
    # the decoder both layouts share (transformers' converters write it)
    byte_decoder = {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    llama2 = _spec(
        _bpe(vocab, merges, unk_token="<unk>", byte_fallback=True, fuse_unk=True),
        None,
        byte_decoder,
        {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
        added=[("<unk>", 0)],
    )
    ug = _spec(_unigram([["<unk>", 0.0], *[[p, -10.0] for p in BYTE_PIECES], ["▁the", -1.0], ["▁cat", -1.0], ["▁", -2.0]], 0, byte_fallback=True), METASPACE,
               byte_decoder, added=[("<unk>", 0)])  # fmt: skip
    text = tmp_path / "eng.txt"
    text.write_text("the cat €\n", encoding="utf-8")
    for name, spec in (("llama2", llama2), ("unigram", ug)):
        a = load_tokenizer(_write(tmp_path / name / "tokenizer.json", spec))
        ids, toks = a.encode_with_tokens(["the cat €"])[0]
        assert toks[-3:] == ["<0xE2>", "<0x82>", "<0xAC>"], (name, toks)
        total = next(r for r in evaluate([a], texts=[str(text)]).rows if r["language"] == "ALL")
        assert total["unk_rate"] == 0.0
        probes = a.reachability_probes()
        assert not any(a.token_strings()[i].startswith("<0x") for i in probes)
        assert unreachable_tokens(a) == ([], len(probes))
        assert a.decode_batch([ids]) == ["the cat €"]


def test_kind2_word_position_marks_in_reachability():
    """A continuing-subword prefix (WordPiece `##`, or BPE trained with one) and an end-of-word suffix
    (CharBPE's `</w>`): pieces that only occur inside or at the start of a word are not probes, and
    suffixed pieces are probed on their word. Before, every CharBPE token looked unreachable."""
    from tokenizers import trainers

    char_bpe = Tokenizer(models.BPE(unk_token="<unk>", end_of_word_suffix="</w>"))
    char_bpe.normalizer = normalizers.BertNormalizer(lowercase=True)
    char_bpe.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    char_bpe.decoder = decoders.BPEDecoder(suffix="</w>")
    char_bpe.train([str(SAMPLE)], trainers.BpeTrainer(vocab_size=800, special_tokens=["<unk>"], end_of_word_suffix="</w>", show_progress=False))
    prefixed = Tokenizer(models.BPE(unk_token="<unk>", continuing_subword_prefix="##"))
    prefixed.pre_tokenizer = pre_tokenizers.Whitespace()
    prefixed.decoder = decoders.WordPiece(prefix="##")
    prefixed.train([str(SAMPLE)], trainers.BpeTrainer(vocab_size=800, special_tokens=["<unk>"], continuing_subword_prefix="##", show_progress=False))
    wp = Tokenizer(models.WordPiece(unk_token="[UNK]", continuing_subword_prefix="@@"))
    wp.pre_tokenizer = pre_tokenizers.Whitespace()
    wp.train([str(SAMPLE)], trainers.WordPieceTrainer(vocab_size=800, special_tokens=["[UNK]"], continuing_subword_prefix="@@", show_progress=False))
    for tok, mark, at_end in ((char_bpe, "</w>", True), (prefixed, "##", False), (wp, "@@", False)):
        a = HFAdapter("t", "t", tok, "0" * 64)
        vocab = tok.get_vocab()
        marked = [t for t in vocab if (t.endswith(mark) if at_end else t.startswith(mark)) and t != mark]
        probes = a.reachability_probes()
        if at_end:  # the suffixed pieces are the probes, each on its word
            assert sorted(probes.values()) == sorted(t[: -len(mark)] for t in marked if t[: -len(mark)].strip())
        else:  # the prefixed pieces are left out; every other piece but <unk>/[UNK] is probed
            assert len(probes) == len(vocab) - len(marked) - 1
        bad, tested = unreachable_tokens(a)
        assert (bad, tested) == ([], len(probes))


# --- kind 4: one rule for NUL, UTF-16/32 and binary -----------------------------------------------------


def _nul_early_and_late(tmp_path) -> tuple[Path, Path]:
    body = SAMPLE_TEXT
    early = tmp_path / "early.txt"
    early.write_text("id\x00name\x00\x00\x00\x00\x00\x00\x00\x00value\n" * 400 + body, encoding="utf-8")
    late = tmp_path / "late.txt"
    late.write_text(body + "id\x00name\x00\x00\x00\x00\x00\x00\x00\x00value\n" * 400, encoding="utf-8")
    return early, late


def test_kind4_text_problem_rule():
    ascii_text = ("Hello, world.\n" * 40).encode()
    assert text_problem(ascii_text) is None
    assert text_problem(b"a\x00b\n" + ascii_text) is None  # NUL early in UTF-8 text: text
    assert text_problem("héllo\x00wörld\n".encode() * 30) is None
    assert text_problem(b"\xe9t\xe9\n" * 10) is None  # Latin-1 without NUL: left to --errors
    for enc in ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le"):
        assert "UTF-16" in text_problem(ascii_text.decode().encode(enc)) or "UTF-32" in text_problem(ascii_text.decode().encode(enc)), enc
    assert "UTF-16 byte-order mark" in text_problem("\ufeffhi".encode("utf-16-le"))
    assert "UTF-32 byte-order mark" in text_problem("hi".encode("utf-32"))
    assert "binary" in text_problem(gzip.compress(ascii_text))  # 44 bytes
    assert "binary" in text_problem(gzip.compress(SAMPLE.read_bytes())[:8192])
    assert text_problem(b"id\x00name\x00\x00\x00\x00\x00\x00\x00\x00value\n" * 400) is None  # NUL runs fall everywhere
    assert "binary" in text_problem(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))


def test_kind4_nul_is_text_everywhere(tmp_path):
    """Valid UTF-8 with NUL trains, counts, evaluates and encodes, whether the NUL comes in the first
    8 KiB or after; the trained merges equal Hugging Face's BpeTrainer on the same lines."""
    from conftest import hf_train, lines_of

    early, late = _nul_early_and_late(tmp_path)
    for f in (early, late):
        out = tmp_path / f"tok-{f.stem}"
        p = run_cli("train", str(f), "--vocab-size", "400", "-o", str(out), "-q")
        assert p.returncode == 0, p.stderr.decode()
        ours = json.loads((out / "tokenizer.json").read_text())["model"]["merges"]
        ref = json.loads(hf_train(lines_of(f), 400, pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)).to_str())["model"]["merges"]
        assert ours == ref
        assert ["Ā", "Ā"] in ours  # NUL NUL (byte-level Ā) is learnt: the NULs were trained on
        p = run_cli("count", str(f), "-o", str(tmp_path / f"{f.stem}.counts"), "-q")
        assert p.returncode == 0, p.stderr.decode()
        tok = Tokenizer.from_file(str(out / "tokenizer.json"))
        text = f.read_bytes().decode("utf-8")
        p = run_cli("count-tokens", str(out), str(f), "--format", "json")
        assert p.returncode == 0, p.stderr.decode()
        assert json.loads(p.stdout)["rows"][0]["tokens"] == len(tok.encode(text, add_special_tokens=False).ids)
        p = run_cli("encode", str(out), str(f))
        assert p.returncode == 0, p.stderr.decode()
        assert run_cli("decode", str(out), input=p.stdout).stdout.decode("utf-8") == text
        (tmp_path / "data").mkdir(exist_ok=True)
        shutil.copy(f, tmp_path / "data" / "eng.txt")
        p = run_cli("evaluate", str(out), "--data", str(tmp_path / "data"), "--format", "json", "-q")
        assert p.returncode == 0, p.stderr.decode()
        assert json.loads(p.stdout)["rows"][0]["lines"] == text.count("\n")


def test_kind4_utf16_utf32_and_binary_are_refused_by_every_command(tmp_path):
    sample = SAMPLE_TEXT[:20000]
    files = {
        "utf16-bom.txt": (sample.encode("utf-16"), "looks like UTF-16 text (it starts with a UTF-16 byte-order mark)"),
        "utf16-nobom.txt": (sample.encode("utf-16-le"), "looks like UTF-16 or UTF-32 text (NUL in every other byte near the start)"),
        "utf32-bom.txt": (sample.encode("utf-32"), "looks like UTF-32 text (it starts with a UTF-32 byte-order mark)"),
        "gzip.txt": (gzip.compress(sample.encode()), "looks like a binary file (NUL bytes and invalid UTF-8 near the start)"),
        "png.txt": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "looks like a binary file (NUL bytes and invalid UTF-8 near the start)"),
    }
    for name, (data, _) in files.items():
        (tmp_path / name).write_bytes(data)
    tok = tmp_path / "tok"
    assert run_cli("train", str(SAMPLE), "--vocab-size", "300", "-o", str(tok), "-q").returncode == 0
    for name, (_, why) in files.items():
        f = tmp_path / name
        p = run_cli("train", str(f), "--vocab-size", "300", "-o", str(tmp_path / "o"))
        line = assert_clean_error(p)
        assert line.startswith(f"toktool: error: {f}: {why}"), line
    f, why = tmp_path / "utf16-bom.txt", files["utf16-bom.txt"][1]
    (tmp_path / "data").mkdir()
    shutil.copy(f, tmp_path / "data" / "eng.txt")
    for args, shown in (
        (["count", str(f), "-o", str(tmp_path / "c.counts")], f),
        (["evaluate", str(tok), "--data", str(tmp_path / "data")], tmp_path / "data" / "eng.txt"),
        (["encode", str(tok), str(f)], f),
        (["decode", str(tok), str(f)], f),
        (["count-tokens", str(tok), str(f)], f),
    ):
        line = assert_clean_error(run_cli(*args))
        assert line == f"toktool: error: {shown}: {why}; toktool reads UTF-8 text (convert it first, e.g. iconv -f UTF-16 -t UTF-8)", args
    assert not (tmp_path / "o").exists() and not (tmp_path / "c.counts").exists()


# --- kind 5: every command reads every format, with the format's own ids ------------------------------


@pytest.fixture(scope="module")
def formats(tmp_path_factory) -> dict[str, tuple[Path, object]]:
    """One tokenizer of each format, with the reference encoder of its own library."""
    import tiktoken

    d = tmp_path_factory.mktemp("formats")
    tk = d / "r50k_base.tiktoken"
    write_gpt2_tiktoken(tk)
    ranks = {base64.b64decode(t): int(r) for t, r in (ln.split() for ln in tk.read_text().splitlines())}
    enc = tiktoken.Encoding("r50k", pat_str=PRESETS["gpt2"].pattern, mergeable_ranks=ranks, special_tokens={})
    sp = spm.SentencePieceProcessor(model_file=str(SP))
    hf = load_hf_tokenizer(GPT2).tokenizer  # GPT-2's vocab.json + merges.txt, as tokenizers reads them
    json_file = d / "gpt2.json"
    json_file.write_text(hf.to_str(), encoding="utf-8")
    model_dir = d / "gpt2-model"
    model_dir.mkdir()
    shutil.copy(json_file, model_dir / "tokenizer.json")
    return {
        "tokenizer.json": (json_file, lambda s: hf.encode(s, add_special_tokens=False).ids),
        "hf model dir": (model_dir, lambda s: hf.encode(s, add_special_tokens=False).ids),
        "vocab.json + merges.txt": (GPT2, lambda s: hf.encode(s, add_special_tokens=False).ids),
        "sentencepiece .model": (SP, sp.encode),
        ".tiktoken": (tk, enc.encode_ordinary),
    }


ROUND_TRIP = "The quick brown fox, 1234 times.\nНа берегу пустынных волн\n\tdouble  spaces and a NUL \x00 😀 日本語\nlast line without newline"


@pytest.mark.parametrize("fmt", ["tokenizer.json", "hf model dir", "vocab.json + merges.txt", "sentencepiece .model", ".tiktoken"])
def test_kind5_encode_decode_count_tokens_read_every_format(tmp_path, formats, fmt):
    path, own = formats[fmt]
    f = tmp_path / "in.txt"
    text = SAMPLE_TEXT[:30000] + ROUND_TRIP
    f.write_text(text, encoding="utf-8")
    lines = text.split("\n")
    p = run_cli("count-tokens", str(path), str(f), "--format", "json")
    assert p.returncode == 0, p.stderr.decode()
    assert json.loads(p.stdout)["rows"][0]["tokens"] == len(own(text))
    p = run_cli("encode", str(path), str(f))
    assert p.returncode == 0, p.stderr.decode()
    got = p.stdout.decode().split("\n")
    assert [[int(x) for x in g.split()] for g in got] == [own(s) for s in lines]
    back = run_cli("decode", str(path), input=p.stdout)
    assert back.returncode == 0, back.stderr.decode()
    if fmt == "sentencepiece .model":
        # sentencepiece's own decode(encode(x)) is the reference: its normaliser folds spaces, and
        # characters outside the vocabulary come back as ⁇
        sp = spm.SentencePieceProcessor(model_file=str(SP))
        assert back.stdout.decode() == "\n".join(sp.decode(sp.encode(s)) for s in lines)
        assert back.stdout.decode().split("\n")[0] == lines[0]
    else:
        assert back.stdout.decode() == text
    p = run_cli("encode", str(path), str(f), "--format", "json")
    rows = [json.loads(s) for s in p.stdout.decode().split("\n")]
    assert [r["ids"] for r in rows] == [own(s) for s in lines] and all(len(r["tokens"]) == len(r["ids"]) for r in rows)


def test_kind5_token_strings_and_special_tokens(tmp_path, formats):
    # tiktoken tokens are spelt like GPT-2's vocabulary (byte-level), so both give the same strings
    tk, _ = formats[".tiktoken"]
    a = run_cli("encode", str(tk), "--tokens", input="Hello wörld  x\n").stdout
    b = run_cli("encode", str(GPT2), "--tokens", input="Hello wörld  x\n").stdout
    assert a == b == "Hello Ġw Ã¶r ld Ġ Ġx\n".encode()
    assert run_cli("encode", str(SP), "--tokens", input="the cat\n").stdout == b"\xe2\x96\x81the \xe2\x96\x81c at\n"
    # --add-special-tokens keeps the post-processor's behaviour for tokenizer.json ...
    bert = Tokenizer(models.WordPiece({"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "hello": 3}, unk_token="[UNK]"))
    bert.pre_tokenizer = pre_tokenizers.Whitespace()
    bert.add_special_tokens(["[CLS]", "[SEP]"])
    bert.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 1), ("[SEP]", 2)])
    bert.save(str(tmp_path / "bert.json"))
    assert run_cli("encode", str(tmp_path / "bert.json"), "--add-special-tokens", input="hello\n").stdout == b"1 3 2\n"
    assert run_cli("encode", str(tmp_path / "bert.json"), input="hello\n").stdout == b"3\n"
    assert run_cli("decode", str(tmp_path / "bert.json"), "--skip-special-tokens", input="1 3 2\n").stdout == b"hello\n"
    # ... and is refused, in one line, where the format has no post-processor
    line = assert_clean_error(run_cli("encode", str(SP), "--add-special-tokens", input="hello\n"))
    assert line == f"toktool: error: {SP}: a sentencepiece model does not say which special tokens to add (a tokenizer.json post-processor does); encode without adding special tokens"
    assert_clean_error(run_cli("count-tokens", str(tk), "--add-special-tokens", input="hello\n"), "no special tokens to add")
    # an id a tiktoken file leaves out, named with its line
    gap = tmp_path / "gpt2.tiktoken"
    gap.write_text("\n".join(ln for ln in tk.read_text().splitlines() if not ln.endswith(" 100")) + "\n")
    line = assert_clean_error(run_cli("decode", str(gap), input="1 2\n5 100\n"))
    assert line == f"toktool: error: {gap}: cannot decode <stdin>:2: token id 100 is not in the vocabulary"


def test_kind5_truncation_and_padding_of_a_tokenizer_json_do_not_cut_counts(tmp_path):
    """A tokenizer.json saved with truncation and padding (model-input settings) still counts every
    token of a file, and encode pads nothing."""
    hf = load_hf_tokenizer(GPT2).tokenizer
    spec = json.loads(hf.to_str())
    spec["truncation"] = {"direction": "Right", "max_length": 8, "strategy": "LongestFirst", "stride": 0}
    spec["padding"] = {"strategy": {"Fixed": 16}, "direction": "Right", "pad_to_multiple_of": None, "pad_id": 50256, "pad_type_id": 0, "pad_token": "<|endoftext|>"}
    f = _write(tmp_path / "tokenizer.json", spec)
    p = run_cli("count-tokens", str(f), str(SAMPLE), "--format", "json")
    assert json.loads(p.stdout)["rows"][0]["tokens"] == len(hf.encode(SAMPLE_TEXT, add_special_tokens=False).ids)
    assert run_cli("encode", str(f), input="hi\n").stdout.decode() == " ".join(map(str, hf.encode("hi").ids)) + "\n"


def test_kind5_help_lists_the_formats():
    for cmd in ("encode", "decode", "count-tokens", "evaluate"):
        out = " ".join(run_cli(cmd, "--help").stdout.decode().split())
        assert "a Hugging Face tokenizer.json or model dir (tokenizer.json, or vocab.json + merges.txt), a sentencepiece .model, or a tiktoken rank file" in out, cmd
        assert "--tiktoken-pattern" in out, cmd


# --- the smaller things -----------------------------------------------------------------------------------


def test_bom_is_dropped_in_every_text_input(tmp_path):
    records = [json.dumps({"text": s}) for s in ("first record", "second record")]
    jl = tmp_path / "bom.jsonl"
    jl.write_bytes(b"\xef\xbb\xbf" + ("\n".join(records) + "\n").encode())
    stats = CorpusStats()
    assert list(iter_texts(expand_inputs([str(jl)]), text_field="text", stats=stats)) == ["first record", "second record"]
    p = run_cli("train", str(jl), "--text-field", "text", "--vocab-size", "270", "-o", str(tmp_path / "t"), "-q")
    assert p.returncode == 0, p.stderr.decode()
    txt = tmp_path / "bom.txt"
    txt.write_bytes(b"\xef\xbb\xbfhello world\nsecond\n")
    hf = Tokenizer.from_file(str(tmp_path / "t" / "tokenizer.json"))
    assert run_cli("encode", str(tmp_path / "t"), str(txt)).stdout.decode().split("\n")[0] == " ".join(map(str, hf.encode("hello world").ids))
    p = run_cli("count-tokens", str(tmp_path / "t"), str(txt), "--format", "json")
    row = json.loads(p.stdout)["rows"][0]
    assert (row["tokens"], row["bytes"]) == (len(hf.encode("hello world\nsecond\n").ids), 19)  # 19: without the 3-byte mark
    res = evaluate([str(tmp_path / "t")], texts=[f"eng={txt}"])
    assert res.rows[1]["chars"] == len("hello world") + len("second")


def test_null_text_fields_are_counted_and_reported(tmp_path):
    jl = tmp_path / "notes.jsonl"
    jl.write_text('{"text": "one two"}\n{"text": null}\n{"text": "three"}\n{"text": null}\n' * 20, encoding="utf-8")
    p = run_cli("train", str(jl), "--text-field", "text", "--vocab-size", "270", "-o", str(tmp_path / "t"))
    assert p.returncode == 0, p.stderr.decode()
    corpus = json.loads((tmp_path / "t" / "train.json").read_text())["corpus"]
    assert corpus["null_texts"] == 40 and corpus["texts"] == 40
    assert "40 skipped (the text field is null)" in p.stderr.decode()
    p = run_cli("count", str(jl), "--text-field", "text", "-o", str(tmp_path / "c.counts"))
    assert p.returncode == 0 and "null text: 40 skipped (the text field is null)" in p.stderr.decode()


def test_superbpe_stage2_tokens_ending_in_a_space_are_reachable(tmp_path):
    """Stage-2 tokens such as `.Ġ` end in a space: alone, the pre-tokenizer splits that space off
    (` +(?!\\S)` at the end of a text), but stock `tokenizers` produces them in running text. The
    reachability check must not list a token that stock tokenizers produces on the training text."""
    out = tmp_path / "sb"
    p = run_cli("train", str(SAMPLE), "--algo", "superbpe", "--vocab-size", "1200", "--transition", "0.5", "-o", str(out), "-q")
    assert p.returncode == 0, p.stderr.decode()
    tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    produced = {i for e in tok.encode_batch(SAMPLE_TEXT.splitlines(True)) for i in e.ids}
    vocab = tok.get_vocab()
    trailing = {t for t, i in vocab.items() if t.endswith("Ġ") and len(t) > 1 and i in produced}
    assert ".Ġ" in trailing and tok.encode(". ").tokens == [".", "Ġ"]  # the case: split off alone
    p = run_cli("evaluate", str(out), "--text", str(SAMPLE), "--format", "json", "--list-tokens", "-q")
    info = json.loads(p.stdout)["tokenizers"][0]
    assert not set(info["unreachable"]) & {t for t, i in vocab.items() if i in produced}
    assert info["unreachable_count"] == len(info["unreachable"])


def test_llama3_tiktoken_tokenizer_model(tmp_path, formats):
    """Llama 3's original layout: a tiktoken rank file named tokenizer.model (here with GPT-2's ranks)."""
    d = tmp_path / "original"
    d.mkdir()
    shutil.copy(formats[".tiktoken"][0], d / "tokenizer.model")
    with pytest.raises(ToktoolError) as e:
        load_tokenizer(d)
    assert str(e.value).startswith(f"{d / 'tokenizer.model'}: a tiktoken rank file (the layout of Llama 3's original tokenizer.model)")
    assert "--tiktoken-pattern (llama3 for Llama 3" in str(e.value)
    a = load_tokenizer(d / "tokenizer.model", tiktoken_pattern="gpt2")
    assert isinstance(a, TiktokenAdapter) and a.kind == "tiktoken/gpt2"
    own = formats[".tiktoken"][1]
    p = run_cli("count-tokens", str(d), str(SAMPLE), "--tiktoken-pattern", "r50k_base", "--format", "json")
    assert json.loads(p.stdout)["rows"][0]["tokens"] == len(own(SAMPLE_TEXT))
    line = assert_clean_error(run_cli("count-tokens", str(d), str(SAMPLE)))
    assert "a tiktoken rank file" in line and "llama3" in line
    # a real sentencepiece tokenizer.model is still sentencepiece
    shutil.copy(SP, d / "tokenizer.model")
    assert isinstance(load_tokenizer(d), SPAdapter)


def test_input_error_family():
    assert issubclass(CodecError, InputError)
