"""`transplant --method auto` with a donor: FVT and OMP are measured on shared tokens held out as
if new, and the method whose rows come closer to the true rows is used (numbers and choice in the
report). Small synthetic Llama models built here; the donor is chosen so that one method is right
by construction."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
from safetensors.torch import load_file, save_file  # noqa: E402

import toktool  # noqa: E402
from toktool.hf import load_hf_tokenizer  # noqa: E402
from toktool.transplantation.choose import held_out_pieces  # noqa: E402
from toktool.transplantation.match import old_pieces, tok_info  # noqa: E402

GPT2 = Path(__file__).resolve().parent.parent / "data" / "tokenizers" / "gpt2"


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


# --- --calibrate rank --------------------------------------------------------------------------------


def _rank_rows(v: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows that encode rank: noise plus log(1 + id) along one direction u (as trained embeddings do)."""
    rng = np.random.default_rng(seed)
    u = rng.standard_normal(d)
    u /= np.linalg.norm(u)
    rows = 0.05 * rng.standard_normal((v, d)) + np.log1p(np.arange(v))[:, None] * u[None, :]
    return rows.astype(np.float32), u


def test_rank_calibration_moves_frequent_looking_rows_to_their_rank_only():
    from toktool.transplantation.methods import rank_calibration

    old, u = _rank_rows(4000, 16, 0)
    shared = np.arange(300, 3000)  # shared tokens keep their ids
    new_rows = np.zeros((5000, 16), dtype=np.float32)
    new_rows[shared] = old[shared]
    # approximated tokens 3000..4999: a mean of frequent pieces reads as frequent (log id ~ 3)
    targets = np.arange(3000, 5000)
    new_rows[targets] = old[[20, 21]].mean(axis=0)
    rare = np.array([4999])
    new_rows[rare] = old[3999] + 3 * u  # reads rarer than its id: left alone
    before = new_rows.copy()
    rep = rank_calibration(old, shared, shared, targets, new_rows)
    assert rep["applied"] and rep["r2"] > 0.99 and rep["moved"] == len(targets) - 1
    moved = targets[:-1]
    # the moved rows now read their own log(1 + id) along u, and only their u component changed
    np.testing.assert_allclose(new_rows[moved] @ u - before[moved] @ u, np.log1p(moved) - before[moved] @ u, atol=0.05)
    # every row moved along one and the same direction (the fitted g), close to u
    sv = np.linalg.svd((new_rows[moved] - before[moved]).astype(np.float64), compute_uv=False)
    assert sv[1] < 1e-4 * sv[0]
    delta = (new_rows[moved[0]] - before[moved[0]]).astype(np.float64)
    assert abs(delta @ u) / np.linalg.norm(delta) > 0.99
    np.testing.assert_array_equal(new_rows[rare], before[rare])
    np.testing.assert_array_equal(new_rows[shared], before[shared])


def test_rank_calibration_leaves_rows_that_do_not_encode_rank():
    from toktool.transplantation.methods import rank_calibration

    rng = np.random.default_rng(1)
    old = rng.standard_normal((4000, 16)).astype(np.float32)
    new_rows = rng.standard_normal((5000, 16)).astype(np.float32)
    before = new_rows.copy()
    rep = rank_calibration(old, np.arange(300, 3000), np.arange(300, 3000), np.arange(3000, 5000), new_rows)
    assert not rep["applied"] and rep["r2"] < 0.25
    np.testing.assert_array_equal(new_rows, before)


def test_calibrate_rank_is_the_default_and_none_is_plain_fvt(tmp_path, new_tok):
    base = _llama(tmp_path / "base", 0)
    st = load_file(str(base / "model.safetensors"))
    rows, _ = _rank_rows(50257, 16, 2)
    st["model.embed_tokens.weight"] = torch.tensor(rows)
    save_file(st, str(base / "model.safetensors"), metadata={"format": "pt"})
    rep = toktool.transplant(str(base), str(new_tok), str(tmp_path / "cal"), method="fvt")
    plain = toktool.transplant(str(base), str(new_tok), str(tmp_path / "plain"), method="fvt", calibrate="none")
    assert rep["calibration"]["input"]["applied"] and "calibration" not in plain
    cal = load_file(str(tmp_path / "cal" / "model.safetensors"))["model.embed_tokens.weight"].numpy()
    fvt = load_file(str(tmp_path / "plain" / "model.safetensors"))["model.embed_tokens.weight"].numpy()
    from toktool.transplantation.core import Options as Opts
    from toktool.transplantation.core import make_plan

    plan = make_plan(str(base), str(new_tok), Opts(method="fvt"))
    src = np.array(plan.mapping.source)
    copied = np.flatnonzero(src >= 0)
    made = np.array([j for j, p in plan.pieces.items() if p])
    np.testing.assert_array_equal(cal[copied], fvt[copied])  # copies are never moved
    for j in made[:50]:  # plain: FVT's mean of the old pieces
        np.testing.assert_allclose(fvt[j], rows[plan.pieces[j]].mean(axis=0), atol=1e-5)
    assert (np.abs(cal[made] - fvt[made]).max(axis=1) > 1e-4).mean() > 0.5
