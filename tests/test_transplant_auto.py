"""`transplant --method auto` with a donor: FVT and OMP are measured on shared tokens held out as
if new, and the method whose rows come closer to the true rows is used (numbers and choice in the
report). Small synthetic Llama models built here; the donor is chosen so that one method is right
by construction."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLE, run_cli

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
from safetensors.torch import load_file, save_file  # noqa: E402

import toktool  # noqa: E402
from toktool.hf import load_hf_tokenizer  # noqa: E402
from toktool.transplantation.choose import held_out_pieces  # noqa: E402
from toktool.transplantation.match import old_pieces, tok_info  # noqa: E402

GPT2 = Path(__file__).resolve().parent.parent / "data" / "tokenizers" / "gpt2"


@pytest.fixture(scope="module")
def new_tok(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("autotok") / "tok"
    proc = run_cli("train", str(SAMPLE), "--vocab-size", "1200", "-o", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    return out


def _llama(tmp: Path, seed: int, compositional: bool = False) -> Path:
    """A tiny tied Llama with GPT-2's tokenizer. compositional: each token's row is the sum of fixed
    random vectors of its bytes, so the mean of any pieces' rows points exactly along the row of
    their concatenation (FVT is exact up to length)."""
    from toktool.hf import load_hf_tokenizer

    torch.manual_seed(seed)
    cfg = transformers.LlamaConfig(vocab_size=50257, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2, tie_word_embeddings=True, bos_token_id=50256, eos_token_id=50256)
    model = transformers.LlamaForCausalLM(cfg)
    tmp.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(tmp))
    tok = load_hf_tokenizer(GPT2).tokenizer
    tok.save(str(tmp / "tokenizer.json"))
    (tmp / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>"}))
    if compositional:
        info = tok_info(tok, tmp)
        rng = np.random.default_rng(seed)
        byte_vec = rng.standard_normal((256, 16))
        rows = np.zeros((50257, 16))
        for i in range(info.size):
            key, _ = info.canonical(i)
            rows[i] = byte_vec[list(key)].sum(axis=0) if key else rng.standard_normal(16)
        st = load_file(str(tmp / "model.safetensors"))
        st["model.embed_tokens.weight"] = torch.tensor(rows, dtype=torch.float32)
        save_file(st, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    return tmp


def _fvt_donor(tmp: Path, new_tok: Path, base: Path) -> Path:
    """A model that uses the new tokenizer (what --donor needs): `base` moved onto it with FVT."""
    toktool.transplant(str(base), str(new_tok), str(tmp), method="fvt")
    return tmp


def test_held_out_pieces_spell_the_token_without_it():
    info = tok_info(load_hf_tokenizer(GPT2).tokenizer, None)
    for text in (" the", "ing", " transplant", " Hello"):
        key = text.encode()
        own = info.vocab.get("".join("Ġ" if c == " " else c for c in text))
        pieces = held_out_pieces(info, key, own if own is not None else -1)
        assert len(pieces) >= 2 and own not in pieces
        assert info.tokenizer.decode(pieces) == text
        if own is not None:
            assert old_pieces(info, key) == [own]  # the real FVT would just copy it
    assert held_out_pieces(info, b"a", info.vocab["a"]) == []  # one character: nothing to hold out


def test_auto_picks_fvt_when_fvt_is_exact(tmp_path, new_tok):
    base = _llama(tmp_path / "base", 0, compositional=True)
    donor = _fvt_donor(tmp_path / "donor", new_tok, _llama(tmp_path / "other", 1))  # unrelated random space
    rep = toktool.transplant(str(base), str(new_tok), str(tmp_path / "out"), donor=str(donor), k=8)
    auto = rep["auto"]
    assert auto["fvt_mean_cosine"] > 0.999 and auto["omp_mean_cosine"] < 0.9
    assert auto["chosen"] == rep["method"] == "fvt" and auto["held_out"] >= 10
    assert "omp" not in rep["rows"] and rep["rows"]["fvt"] > 0
    # the rows are FVT's: the same output as --method fvt
    ref = toktool.transplant(str(base), str(new_tok), str(tmp_path / "ref"), method="fvt")
    assert ref["rows"] == rep["rows"]
    assert (tmp_path / "out" / "model.safetensors").read_bytes() == (tmp_path / "ref" / "model.safetensors").read_bytes()


def test_auto_picks_omp_when_the_donor_space_is_the_model_s(tmp_path, new_tok):
    base = _llama(tmp_path / "base", 0)  # random rows: the mean of pieces says nothing about a row
    donor = _fvt_donor(tmp_path / "donor", new_tok, base)  # shared tokens' donor vectors are their true rows
    rep = toktool.transplant(str(base), str(new_tok), str(tmp_path / "out"), donor=str(donor), k=8)
    auto = rep["auto"]
    assert auto["omp_mean_cosine"] > auto["fvt_mean_cosine"] + 0.2
    assert auto["chosen"] == rep["method"] == "omp" and rep["rows"].get("omp", 0) > 0
    assert "omp" in auto["why"] and str(auto["held_out"]) in auto["why"]
    # explicit methods are not measured
    explicit = toktool.transplant(str(base), str(new_tok), str(tmp_path / "explicit"), method="omp", donor=str(donor), k=8)
    assert "auto" not in explicit and explicit["method"] == "omp"
    assert (tmp_path / "out" / "model.safetensors").read_bytes() == (tmp_path / "explicit" / "model.safetensors").read_bytes()


def test_auto_report_on_the_cli_and_dry_run(tmp_path, new_tok):
    base = _llama(tmp_path / "base", 0)
    donor = _fvt_donor(tmp_path / "donor", new_tok, base)
    proc = run_cli("transplant", str(base), "--tokenizer", str(new_tok), "--donor", str(donor), "--k", "8", "--dry-run", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["method"].startswith("auto")
    rpt = tmp_path / "r.json"
    proc = run_cli("transplant", str(base), "--tokenizer", str(new_tok), "--donor", str(donor), "--k", "8", "-o", str(tmp_path / "o"), "--report", str(rpt), "-q")
    assert proc.returncode == 0, proc.stderr
    rep = json.loads(rpt.read_text())
    assert rep["auto"]["chosen"] == rep["method"] and {"fvt_mean_cosine", "omp_mean_cosine", "held_out", "why"} <= set(rep["auto"])
