"""transplant --fit-head: which dropped old tokens each new token takes over, the least-squares rows
against a direct solve, and whole runs on small synthetic causal LMs (tied and untied heads), with
the errors a user can provoke."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLE, assert_clean_error, run_cli

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
from test_transplant import _bert, _llama, _tensor  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

from toktool.transplantation.head_fit import Absorbed, absorbed_tokens, fit_head_rows  # noqa: E402
from toktool.transplantation.match import load_old_tokenizer, match_vocab, old_pieces, tok_info  # noqa: E402


def _infos(base: Path, new_tok: Path):
    old = load_old_tokenizer(base)
    new = tok_info(Tokenizer.from_file(str(new_tok / "tokenizer.json")), new_tok)
    return old, new, match_vocab(old, new)


def test_dropped_old_tokens_go_to_the_first_new_token_of_their_text(tmp_path, new_tok):
    old, new, mapping = _infos(_llama(tmp_path / "base", tied=True), new_tok)
    ab = absorbed_tokens(old, new, mapping)
    copied = {s for s in mapping.source if s >= 0}
    assert not copied & set(ab.old_ids.tolist())  # a copied token is never "dropped"
    assert 50256 not in ab.old_ids  # <|endoftext|> is special
    # " potato" is one GPT-2 token; the 1,200-token vocabulary spells it in pieces, the first takes it
    potato = old.vocab["Ġpotato"]
    assert potato not in copied
    k = int(np.flatnonzero(ab.old_ids == potato)[0])
    first = old_pieces(new, b" potato")[0]
    assert ab.first_new[k] == first and new.tokens[first].startswith("Ġ")
    # grouped: targets sorted, each group contiguous from its start
    assert (np.diff(ab.first_new) >= 0).all() and (np.diff(ab.targets) > 0).all()
    assert (ab.first_new[ab.starts] == ab.targets).all()
    # a partial UTF-8 byte of GPT-2 (no text of its own) is left out
    assert old.vocab["Ã"] not in ab.old_ids


def test_rows_are_the_ridge_least_squares_solution():
    rng = np.random.default_rng(0)
    n, d, v_old, v_new = 400, 6, 30, 8
    h = rng.standard_normal((n, d)).astype(np.float32)
    head_old = rng.standard_normal((v_old, d)).astype(np.float32)
    head_new = rng.standard_normal((v_new, d)).astype(np.float32)
    # new tokens 2 and 5 take over old tokens {3, 7, 9} and {11}
    ab = Absorbed(np.array([3, 7, 9, 11]), np.array([2, 2, 2, 5]), np.array([2, 5]), np.array([0, 3]))
    rows, stats = fit_head_rows(h, head_new, head_old, ab, ridge=1e-3)
    h64 = h.astype(np.float64)
    gram = h64.T @ h64
    lam = 1e-3 * np.trace(gram) / d
    for t, olds, row in ((2, [3, 7, 9], rows[0]), (5, [11], rows[1])):
        logits = np.concatenate([h64 @ head_new[t : t + 1].T.astype(np.float64), h64 @ head_old[olds].T.astype(np.float64)], axis=1)
        z = np.log(np.exp(logits).sum(1))
        want = np.linalg.solve(gram + lam * np.eye(d), h64.T @ z + lam * head_new[t])
        np.testing.assert_allclose(row, want, rtol=1e-4, atol=1e-5)
    assert stats["targets"] == 2 and stats["absorbed_old_tokens"] == 4 and stats["positions"] == n
    assert stats["rmse_after"] < stats["rmse_before"]


def _fit(tmp_path: Path, base: Path, new_tok: Path, name: str, *extra: str) -> tuple[Path, dict]:
    out = tmp_path / name
    rep = tmp_path / f"{name}.json"
    proc = run_cli("transplant", str(base), "--tokenizer", str(new_tok), "-o", str(out), "--method", "fvt", "--report", str(rep), "-q", *extra)
    assert proc.returncode == 0, proc.stderr
    return out, json.loads(rep.read_text())


@pytest.mark.parametrize("tied", [True, False])
def test_fit_head_on_a_small_llama(tmp_path, new_tok, tied):
    base = _llama(tmp_path / "base", tied)
    plain, _ = _fit(tmp_path, base, new_tok, "plain")
    fitted, report = _fit(tmp_path, base, new_tok, "fitted", "--fit-head", str(SAMPLE), "--fit-head-positions", "3000")
    fh = report["fit_head"]
    assert 2500 < fh["positions"] <= 3000 and fh["targets"] > 100 and fh["rmse_after"] < fh["rmse_before"]
    assert fh["weight"] == (0.5 if tied else 1.0)
    old, new, mapping = _infos(base, new_tok)
    targets = absorbed_tokens(old, new, mapping).targets
    e0, e1 = _tensor(plain, "model.embed_tokens.weight"), _tensor(fitted, "model.embed_tokens.weight")
    others = np.setdiff1d(np.arange(len(e0)), targets)
    if tied:
        assert e1[others].tobytes() == e0[others].tobytes()  # only the targets' rows move
        assert not np.allclose(e1[targets], e0[targets])
    else:
        assert e1.tobytes() == e0.tobytes()  # the input rows are the copies and FVT rows
        h0, h1 = _tensor(plain, "lm_head.weight"), _tensor(fitted, "lm_head.weight")
        assert h1[others].tobytes() == h0[others].tobytes()
        assert not np.allclose(h1[targets], h0[targets])
    model = transformers.AutoModelForCausalLM.from_pretrained(str(fitted), local_files_only=True)
    tok = transformers.AutoTokenizer.from_pretrained(str(fitted), local_files_only=True)
    assert torch.isfinite(model(**tok("Botchan went to Shikoku.", return_tensors="pt")).logits).all()
    # the same input and options give the same bytes
    again, _ = _fit(tmp_path, base, new_tok, "again", "--fit-head", str(SAMPLE), "--fit-head-positions", "3000")
    assert (again / "model.safetensors").read_bytes() == (fitted / "model.safetensors").read_bytes()


def test_fit_head_weight_blends_a_tied_row(tmp_path, new_tok):
    base = _llama(tmp_path / "base", tied=True)
    plain, _ = _fit(tmp_path, base, new_tok, "plain")
    full, _ = _fit(tmp_path, base, new_tok, "full", "--fit-head", str(SAMPLE), "--fit-head-positions", "2000", "--fit-head-weight", "1")
    half, _ = _fit(tmp_path, base, new_tok, "half", "--fit-head", str(SAMPLE), "--fit-head-positions", "2000")
    e0, e1, eh = (_tensor(p, "model.embed_tokens.weight") for p in (plain, full, half))
    np.testing.assert_allclose(eh, 0.5 * e0 + 0.5 * e1, atol=1e-6)


def test_fit_head_bad_inputs(tmp_path, new_tok):
    base = _llama(tmp_path / "base", tied=True)
    out = str(tmp_path / "out")
    assert_clean_error(run_cli("transplant", str(base), "--tokenizer", str(new_tok), "-o", out, "--fit-head", str(tmp_path / "missing.txt")), "missing.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n")
    assert_clean_error(run_cli("transplant", str(base), "--tokenizer", str(new_tok), "-o", out, "--fit-head", str(empty)), "empty.txt", "no text")
    assert_clean_error(run_cli("transplant", str(base), "--tokenizer", str(new_tok), "-o", out, "--fit-head", str(SAMPLE), "--fit-head-weight", "2"), "--fit-head-weight")
    bad = tmp_path / "bad8.txt"
    bad.write_bytes(b"hello there\n\xff\xfe not UTF-8\n")
    for opt in ("--fit-head", "--aux-corpus"):
        assert_clean_error(run_cli("transplant", str(base), "--tokenizer", str(new_tok), "-o", out, opt, str(bad)), "bad8.txt:2", "invalid UTF-8")
    short = tmp_path / "short.txt"
    short.write_text("hello\n")
    assert_clean_error(run_cli("transplant", str(base), "--tokenizer", str(new_tok), "-o", out, "--fit-head", str(short), "-q"), "--fit-head", "only", "at least 16")
    assert_clean_error(run_cli("transplant", str(base), "--tokenizer", str(new_tok), "-o", out, "--fit-head-weight", "0.3"), "--fit-head-weight", "--fit-head")
    # a dry run reads the text and says what the fit would do
    proc = run_cli("transplant", str(base), "--tokenizer", str(new_tok), "--dry-run", "--fit-head", str(SAMPLE), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)["fit_head"]
    assert plan["weight"] == 0.5 and plan["lines"] > 100 and plan["rows"] == "tied input/output"
    assert_clean_error(run_cli("transplant", str(base), "--tokenizer", str(new_tok), "--dry-run", "--fit-head", str(tmp_path / "missing.txt")), "missing.txt")
    bert = _bert(tmp_path / "bert")
    assert_clean_error(run_cli("transplant", str(bert), "--tokenizer", str(new_tok), "-o", out, "--fit-head", str(SAMPLE)), "causal LM")
    assert not Path(out).exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]  # no scratch left behind


@pytest.mark.parametrize("dtype", [None, "bf16"])
def test_read_rows_equals_the_whole_matrix_indexed(tmp_path, dtype):
    from toktool.transplantation.model_io import open_model

    base = _llama(tmp_path / "base", tied=False, dtype=torch.bfloat16 if dtype else None)
    model = open_model(str(base))
    ids = np.array([50256, 3, 17, 3, 40000, 0], dtype=np.int64)
    for name in ("model.embed_tokens.weight", "lm_head.weight"):
        whole = model.read(name)
        assert model.read_rows(name, ids, block=1000).tobytes() == whole[ids].tobytes()


def test_calibration_bits_per_byte_equals_the_model_s_own_loss(tmp_path):
    from toktool.hf import load_hf_tokenizer
    from toktool.transplantation.head_fit import head_inputs

    base = _llama(tmp_path / "base", tied=False)
    tok = load_hf_tokenizer(base / "tokenizer.json").tokenizer
    texts = ["Botchan went to Shikoku.", "The school was small, and the town was smaller."]
    cal = head_inputs(str(base), tok, texts, 10_000)
    model = transformers.AutoModelForCausalLM.from_pretrained(str(base), local_files_only=True).eval()
    nats = 0.0
    with torch.no_grad():
        for t in texts:
            ids = torch.tensor([[50256, *tok.encode(t, add_special_tokens=False).ids]])
            lg = model(input_ids=ids).logits[0, :-1].double()
            nats += float(torch.nn.functional.cross_entropy(lg, ids[0, 1:], reduction="sum"))
    want = nats / np.log(2) / sum(len(t.encode()) for t in texts)
    assert cal.text_bytes == sum(len(t.encode()) for t in texts)
    assert abs(cal.bits_per_byte(_tensor(base, "lm_head.weight")) - want) < 1e-4


def test_auto_with_fit_head_text_chooses_by_bits_per_byte(tmp_path, new_tok):
    import toktool

    base = _llama(tmp_path / "base", tied=True)
    donor = tmp_path / "donor"
    toktool.transplant(str(base), str(new_tok), str(donor), method="fvt")
    rep = toktool.transplant(str(base), str(new_tok), str(tmp_path / "out"), donor=str(donor), k=8, fit_head=[str(SAMPLE)], fit_head_positions=2000)
    auto = rep["auto"]
    assert "bits per byte" in auto["criterion"] and auto["positions"] > 0 and auto["held_out_lines"] > 0
    best = "omp" if auto["omp_bits_per_byte"] < auto["fvt_bits_per_byte"] else "fvt"
    assert auto["chosen"] == rep["method"] == best and best in auto["why"]
    # the fit leaves the measured lines out
    assert rep["fit_head"]["lines"] > 0 and rep["fit_head"]["positions"] <= 2000
    again = toktool.transplant(str(base), str(new_tok), str(tmp_path / "again"), donor=str(donor), k=8, fit_head=[str(SAMPLE)], fit_head_positions=2000)
    assert again["auto"] == auto
    assert (tmp_path / "out" / "model.safetensors").read_bytes() == (tmp_path / "again" / "model.safetensors").read_bytes()
