"""transplant across tokenizer families (issue 15, kind 3; issue 16): every tokenizer.json layout in
use today gets its family from its whole pipeline, and the same text unit gets the same row.

Each layout is built here from the bundled sample text with `tokenizers` (no downloads). The oracle
for "the same text unit" is each tokenizer's own decoder: the text of token t is what the decoder
makes of [anchor, t] minus what it makes of [anchor] (the anchor keeps Strip / prepend rules that
act on the first token out of the way), so the test does not reuse the code it checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLE

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers  # noqa: E402

from toktool.transplantation.core import Options, compute_rows, make_plan  # noqa: E402
from toktool.transplantation.match import TokInfo, match_vocab, pipeline_family, tok_info  # noqa: E402
from toktool.transplantation.spm import spm_tokenizer  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "data" / "tokenizers"
BYTES = [f"<0x{b:02X}>" for b in range(256)]
LLAMA3_SPLIT = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"


def _train(tok: Tokenizer, trainer) -> dict:
    tok.train([str(SAMPLE)], trainer)
    return json.loads(tok.to_str())


def _with_bytes(spec: dict) -> dict:
    """Give a trained sentencepiece-style BPE its 256 <0xXX> tokens as ordinary (not special)
    vocabulary entries, as Llama-2/Mistral/Gemma files have them, and switch byte_fallback on."""
    vocab = spec["model"]["vocab"]
    for b in BYTES:
        vocab.setdefault(b, len(vocab))
    spec["model"]["byte_fallback"] = True
    return spec


def _gpt2() -> Tokenizer:
    from toktool.hf import load_hf_tokenizer as load_tokenizer

    return load_tokenizer(DATA / "gpt2").tokenizer


def _llama3(size: int = 900) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(LLAMA3_SPLIT), "isolated"), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    spec = _train(tok, trainers.BpeTrainer(vocab_size=size, special_tokens=["<|begin_of_text|>", "<|end_of_text|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    return Tokenizer.from_str(json.dumps(spec))


def _llama2(size: int = 700, prepend: bool = True) -> Tokenizer:
    """The Llama-2/Mistral layout (prepend=True) or Gemma's (no Prepend, no Strip): no
    pre-tokenizer, spaces written as ▁ by the normalizer and read back by the decoder."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()  # for training only: pieces do not cross words
    spec = _with_bytes(_train(tok, trainers.BpeTrainer(vocab_size=size - 256, special_tokens=["<unk>", "<s>", "</s>"], show_progress=False)))
    spec["pre_tokenizer"] = None
    steps = [{"type": "Prepend", "prepend": "▁"}] if prepend else []
    steps.append({"type": "Replace", "pattern": {"String": " "}, "content": "▁"})
    spec["normalizer"] = {"type": "Sequence", "normalizers": steps}
    dec = [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}]
    if prepend:
        dec.append({"type": "Strip", "content": " ", "start": 1, "stop": 0})
    spec["decoder"] = {"type": "Sequence", "decoders": dec}
    return Tokenizer.from_str(json.dumps(spec))


def _metaspace(size: int = 700) -> Tokenizer:
    """Newer Llama/Mistral files: a Metaspace pre-tokenizer and decoder, byte fallback."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="first")
    spec = _with_bytes(_train(tok, trainers.BpeTrainer(vocab_size=size - 256, special_tokens=["<unk>", "<s>", "</s>"], show_progress=False)))
    return Tokenizer.from_str(json.dumps(spec))


def _wordpiece(lowercase: bool, size: int = 900) -> Tokenizer:
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    _train(tok, trainers.WordPieceTrainer(vocab_size=size, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], show_progress=False))
    return tok


def _unigram(albert: bool, size: int = 800) -> Tokenizer:
    """T5 (albert=False) or ALBERT (lowercasing normalizer) Unigram with a Metaspace pre-tokenizer."""
    tok = Tokenizer(models.Unigram())
    if albert:
        tok.normalizer = normalizers.Sequence([normalizers.Replace("``", '"'), normalizers.Replace("''", '"'), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    _train(tok, trainers.UnigramTrainer(vocab_size=size, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>", show_progress=False))
    return tok


LAYOUTS = {
    "gpt2-bytelevel": (_gpt2, "bytelevel"),
    "llama3-split-bytelevel": (_llama3, "bytelevel"),
    "llama2-normalizer-bytefallback": (_llama2, "metaspace"),
    "gemma-normalizer-bytefallback": (lambda: _llama2(prepend=False), "metaspace"),
    "metaspace-pretokenizer": (_metaspace, "metaspace"),
    "bert-cased": (lambda: _wordpiece(False), "wordpiece"),
    "bert-uncased": (lambda: _wordpiece(True), "wordpiece"),
    "t5-unigram": (lambda: _unigram(False), "metaspace"),
    "albert-unigram": (lambda: _unigram(True), "metaspace"),
    "sentencepiece-model": (lambda: spm_tokenizer(DATA / "sp-botchan-1k.model"), "metaspace"),
}


@pytest.fixture(scope="module")
def layouts() -> dict[str, TokInfo]:
    return {name: tok_info(build(), None) for name, (build, _) in LAYOUTS.items()}


def _gpt2_byte_chars() -> dict[str, int]:
    """GPT-2's bytes_to_unicode (openai/gpt-2 encoder.py), inverted: printable char -> byte."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


BYTE_CHARS = _gpt2_byte_chars()


def unit_texts(info: TokInfo) -> dict[int, bytes]:
    """The oracle: token id -> the bytes its own decoder writes for it in running text (after a
    plain anchor token); byte-fallback tokens -> their byte. Tokens whose text is not valid UTF-8
    on its own (a lone byte of a multi-byte character) and special tokens are left out."""
    dec = info.tokenizer.decoder
    if info.family == "wordpiece":  # without the cleanup that glues punctuation to the word before
        dec = decoders.WordPiece(prefix=info.prefix, cleanup=False)
    vocab = info.vocab
    anchor = next(s for s in ("a", "▁a", "Ġa", "t") if s in vocab)
    head = dec.decode([anchor]) if dec is not None else anchor
    out: dict[int, bytes] = {}
    for s, i in vocab.items():
        if i in info.specials:
            continue
        if s.startswith("<0x") and len(s) == 6 and info.byte_fallback:
            out[i] = bytes([int(s[3:5], 16)])
            continue
        if info.family == "bytelevel" and len(s) == 1 and s in BYTE_CHARS:
            out[i] = bytes([BYTE_CHARS[s]])  # a lone byte: its decoder would write U+FFFD
            continue
        text = dec.decode([anchor, s]) if dec is not None else anchor + s
        if "\ufffd" in text or not text.startswith(head):
            continue
        out[i] = text[len(head) :].encode("utf-8")
    return out


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_family_read_from_the_pipeline(layouts, name):
    info = layouts[name]
    assert info.family == LAYOUTS[name][1]
    if info.family == "metaspace":
        assert info.replacement == "▁"


def test_pipeline_family_of_the_llama2_layout_alone():
    spec = json.loads(_llama2().to_str())
    assert spec["pre_tokenizer"] is None  # nothing but the normalizer and decoder to go on
    assert pipeline_family(spec) == ("metaspace", "▁")
    spec["normalizer"] = None  # the decoder alone is enough
    assert pipeline_family(spec) == ("metaspace", "▁")
    spec["decoder"] = None
    assert pipeline_family(spec) == ("other", None)


@pytest.mark.parametrize("new_name", list(LAYOUTS))
@pytest.mark.parametrize("old_name", ["gpt2-bytelevel", "llama2-normalizer-bytefallback"])
def test_same_text_unit_same_row(layouts, old_name, new_name):
    """Every new token whose text unit the old tokenizer has is copied from a token with that text
    unit, and no other token is copied exactly: the copy count is the number of shared units."""
    old, new = layouts[old_name], layouts[new_name]
    old_units, new_units = unit_texts(old), unit_texts(new)
    # a byte-level and a byte-fallback tokenizer both have every byte: lone-byte units count too
    have = {}
    for i, t in sorted(old_units.items(), reverse=True):
        have[t] = i
    m = match_vocab(old, new)
    assert m.shadowed == shadowed_bytes(new, new_units)
    shared = [j for j, t in new_units.items() if t in have and j not in m.shadowed]
    exact = [j for j in range(new.size) if m.how[j] == "exact"]
    for j in shared:
        assert m.how[j] in ("exact", "normalized"), (new.tokens[j], new_units[j])
        assert old_units.get(m.source[j]) == new_units[j] or m.how[j] == "normalized", (new.tokens[j], old.tokens[m.source[j]])
    for j in exact:
        if j in new_units and m.source[j] in old_units:
            # a word-initial WordPiece piece also stands for its text at a line start (no space)
            ok = (new_units[j], new_units[j][1:]) if new.family == "wordpiece" else (new_units[j],)
            assert old_units[m.source[j]] in ok, (new.tokens[j], old.tokens[m.source[j]])
    assert len(shared) > 100
    # the WordPiece oracle has one unit per token; its word-initial pieces are also matched to
    # line-start text without a space (the second key), so exact may exceed the oracle's count
    if new.family != "wordpiece":
        assert len([j for j in exact if j in new_units]) == len(shared)


def shadowed_bytes(info: TokInfo, units: dict[int, bytes]) -> set[int]:
    """Byte-fallback tokens whose byte is also the unit of an ordinary token of the same vocabulary."""
    ordinary = {t for i, t in units.items() if not (info.byte_fallback and info.tokens[i].startswith("<0x") and len(info.tokens[i]) == 6)}
    return {i for i, t in units.items() if info.byte_fallback and info.tokens[i].startswith("<0x") and len(info.tokens[i]) == 6 and t in ordinary}


def test_llama2_layout_copies_every_shared_token(layouts):
    """The issue's case: a 700-token Llama-2-layout tokenizer onto a byte-level model. Classed as
    an unknown family, `▁the` stayed `▁the` and `<0x41>` matched nothing; now every shared unit
    (the 256 bytes and every piece whose text GPT-2 has) is copied."""
    old, new = layouts["gpt2-bytelevel"], layouts["llama2-normalizer-bytefallback"]
    assert new.size == 700 + 3 or new.size == 700
    m = match_vocab(old, new)
    units = unit_texts(new)
    gpt2_units = set(unit_texts(old).values())
    shared = sum(1 for j, t in units.items() if t in gpt2_units and j not in m.shadowed)
    c = m.counts()
    assert c["exact"] == shared
    assert shared >= 256 + 200  # all bytes (as byte tokens or as ordinary tokens) and most pieces
    assert old.tokens[m.source[new.vocab["▁the"]]] == "Ġthe"
    # a byte with no ordinary token (0xE2, the lead byte of ’ “ ”) is copied from GPT-2's byte
    assert "\u00e2" not in new.vocab and old.tokens[m.source[new.vocab["<0xE2>"]]] == "â"
    # "A" is an ordinary token, so byte fallback never writes <0x41>: not copied, no pieces
    assert new.vocab["<0x41>"] in m.shadowed and m.source[new.vocab["<0x41>"]] == -1
    assert old.tokens[m.source[new.vocab["A"]]] == "A"


def _llama_model(tmp: Path, tok: Tokenizer, roles: dict[str, str], tied: bool = True) -> Path:
    torch.manual_seed(0)
    size = tok.get_vocab_size(with_added_tokens=True)
    cfg = transformers.LlamaConfig(vocab_size=size, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2, tie_word_embeddings=tied)
    tmp.mkdir(parents=True, exist_ok=True)
    transformers.LlamaForCausalLM(cfg).save_pretrained(str(tmp))
    tok.save(str(tmp / "tokenizer.json"))
    (tmp / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "PreTrainedTokenizerFast", **{f"{r}_token": s for r, s in roles.items()}}))
    return tmp


def test_rows_copied_both_directions(tmp_path, layouts):
    """Whole plans both ways between a byte-level and a Gemma-layout model: the Gemma-layout
    model's ▁ pieces and byte tokens are found, and each copied row is the row of its text."""
    gemma_tok = layouts["gemma-normalizer-bytefallback"].tokenizer
    gemma = _llama_model(tmp_path / "gemma", gemma_tok, {"bos": "<s>", "eos": "</s>", "unk": "<unk>"})
    bl_dir = tmp_path / "bl"
    bl_dir.mkdir()
    layouts["llama3-split-bytelevel"].tokenizer.save(str(bl_dir / "tokenizer.json"))
    bl = _llama_model(tmp_path / "blmodel", layouts["llama3-split-bytelevel"].tokenizer, {"bos": "<|begin_of_text|>", "eos": "<|end_of_text|>"})
    from safetensors.numpy import load_file

    for base, tokdir in ((gemma, bl_dir), (bl, gemma)):
        plan = make_plan(str(base), str(tokdir), Options(method="fvt"))
        old_units, new_units = unit_texts(plan.old), unit_texts(plan.new)
        by_text = {t: i for i, t in old_units.items()}
        shared = [j for j, t in new_units.items() if t in by_text and j not in plan.mapping.shadowed]
        assert plan.summary()["copied_exact"] == len(shared)
        assert plan.summary()["byte_fallback_shadowed"] == len(shadowed_bytes(plan.new, new_units))
        for j in plan.mapping.shadowed:
            assert plan.pieces[j] == []  # the token never occurs: no decomposition
        tensors, _ = compute_rows(plan, Options(method="fvt"))
        old_e = load_file(str(base / "model.safetensors"))["model.embed_tokens.weight"]
        new_e = tensors["model.embed_tokens.weight"]
        mean = old_e.astype(np.float64).mean(axis=0)
        for j in plan.mapping.shadowed:  # the mean row, not a second copy of the byte's row
            np.testing.assert_allclose(new_e[j], mean, atol=1e-6)
        assert len(plan.mapping.shadowed) > 50 if plan.new.byte_fallback else not plan.mapping.shadowed
        checked = 0
        for text in (b" the", b"A", b"\n", b" of", b"\xe2"):
            for j in (j for j, t in new_units.items() if t == text and j not in plan.mapping.shadowed):
                src = plan.mapping.source[j]
                assert old_units[src] == text and np.array_equal(new_e[j], old_e[src])
                checked += 1
        assert checked >= 5


def test_two_roles_take_the_eos_row(tmp_path, layouts):
    """SmolLM2's <|im_end|> is both eos and pad: it gets the old eos row (ranked eos > bos > sep >
    cls > mask > unk > pad), not the row of whichever role came last."""
    gemma_tok = layouts["gemma-normalizer-bytefallback"].tokenizer
    base = _llama_model(tmp_path / "base", gemma_tok, {"bos": "<s>", "eos": "</s>", "unk": "<unk>", "pad": "<unk>"})
    from tokenizers import AddedToken

    tok = Tokenizer.from_str(layouts["llama3-split-bytelevel"].tokenizer.to_str())
    tok.add_special_tokens([AddedToken("<|im_end|>", special=True), AddedToken("<|im_start|>", special=True)])
    new_dir = tmp_path / "new"
    new_dir.mkdir()
    tok.save(str(new_dir / "tokenizer.json"))
    (new_dir / "tokenizer_config.json").write_text(json.dumps({"bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "pad_token": "<|im_end|>", "unk_token": "<|end_of_text|>"}))
    plan = make_plan(str(base), str(new_dir), Options(method="fvt"))
    old, new = plan.old, plan.new
    j = new.vocab["<|im_end|>"]
    assert new.roles["eos"] == new.roles["pad"] == j
    assert plan.mapping.source[j] == old.vocab["</s>"]
    assert plan.mapping.source[new.vocab["<|im_start|>"]] == old.vocab["<s>"]
    assert plan.mapping.source[new.vocab["<|end_of_text|>"]] == old.vocab["<unk>"]


def test_output_config_is_complete(tmp_path, layouts):
    """A base whose config.json has `"architectures": null` (what a GGUF conversion leaves) and an
    eos list in generation_config.json: the output names its class, its vocabulary size and the
    new ids of every role, which transformers then loads."""
    gemma_tok = layouts["gemma-normalizer-bytefallback"].tokenizer
    base = _llama_model(tmp_path / "base", gemma_tok, {"bos": "<s>", "eos": "</s>", "unk": "<unk>"})
    cfg = json.loads((base / "config.json").read_text())
    cfg["architectures"] = None
    cfg.pop("pad_token_id", None)
    (base / "config.json").write_text(json.dumps(cfg))
    old_eos = gemma_tok.token_to_id("</s>")
    (base / "generation_config.json").write_text(json.dumps({"bos_token_id": gemma_tok.token_to_id("<s>"), "eos_token_id": [old_eos, 5]}))
    new_dir = tmp_path / "new"
    new_dir.mkdir()
    layouts["llama3-split-bytelevel"].tokenizer.save(str(new_dir / "tokenizer.json"))
    (new_dir / "tokenizer_config.json").write_text(json.dumps({"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>", "pad_token": "<|end_of_text|>"}))
    out = tmp_path / "out"
    from conftest import run_cli

    proc = run_cli("transplant", str(base), "--tokenizer", str(new_dir), "-o", str(out), "--method", "fvt", "-q")
    assert proc.returncode == 0, proc.stderr
    new = tok_info(Tokenizer.from_file(str(out / "tokenizer.json")), out)
    got = json.loads((out / "config.json").read_text())
    assert got["architectures"] == ["LlamaForCausalLM"]
    assert got["vocab_size"] == new.size
    eot = new.vocab["<|end_of_text|>"]
    assert got["eos_token_id"] == got["pad_token_id"] == eot and got["bos_token_id"] == new.vocab["<|begin_of_text|>"]
    gen = json.loads((out / "generation_config.json").read_text())
    assert gen["eos_token_id"] == [eot] and gen["bos_token_id"] == new.vocab["<|begin_of_text|>"]
    model = transformers.AutoModelForCausalLM.from_pretrained(str(out), local_files_only=True)
    assert type(model).__name__ == "LlamaForCausalLM" and model.config.vocab_size == new.size


def test_sentencepiece_model_converts_to_the_same_ids():
    """A `.model` read for transplant encodes as sentencepiece does (the bundled botchan unigram
    model on the sample text), and carries its control tokens as specials."""
    import sentencepiece as spm

    path = DATA / "sp-botchan-1k.model"
    sp = spm.SentencePieceProcessor(model_file=str(path))
    tok = spm_tokenizer(path)
    lines = [ln for ln in SAMPLE.read_text(encoding="utf-8").splitlines() if ln.strip()][:300]
    assert [e.ids for e in tok.encode_batch(lines, add_special_tokens=False)] == sp.encode(lines)
    info = tok_info(tok, None)
    assert info.family == "metaspace" and {info.tokens[i] for i in info.specials} == {"<unk>", "<s>", "</s>"}


def test_sentencepiece_model_as_new_tokenizer(tmp_path):
    """transplant takes a `.model` as the new tokenizer and writes it as tokenizer.json."""
    from conftest import run_cli

    base = _llama_model(tmp_path / "base", _gpt2(), {"bos": "<|endoftext|>", "eos": "<|endoftext|>"})
    out = tmp_path / "out"
    proc = run_cli("transplant", str(base), "--tokenizer", str(DATA / "sp-botchan-1k.model"), "-o", str(out), "--method", "fvt", "--report", str(tmp_path / "r.json"), "-q")
    assert proc.returncode == 0, proc.stderr
    rep = json.loads((tmp_path / "r.json").read_text())
    new = tok_info(Tokenizer.from_file(str(out / "tokenizer.json")), out)
    units, gpt2_units = unit_texts(new), set(unit_texts(tok_info(_gpt2(), None)).values())
    assert rep["new_family"] == "metaspace"
    assert rep["copied_exact"] == sum(1 for t in units.values() if t in gpt2_units) > 500
    tok = transformers.AutoTokenizer.from_pretrained(str(out), local_files_only=True)
    assert tok("Botchan went to Shikoku.")["input_ids"]
