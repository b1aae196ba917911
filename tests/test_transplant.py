"""toktool transplant: OMP against scikit-learn, the torch path against the CPU path, vocabulary
matching across tokenizer families, and whole transplants of small synthetic models (built here
with transformers, random weights) that transformers must load and run afterwards."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLE, assert_clean_error, run_cli

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
from safetensors import safe_open  # noqa: E402
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers  # noqa: E402

from toktool.transplantation import model_io  # noqa: E402
from toktool.transplantation.core import Options, make_plan  # noqa: E402
from toktool.transplantation.match import TokInfo, match_vocab, old_pieces, tok_info  # noqa: E402
from toktool.transplantation.omp import omp  # noqa: E402
from toktool.transplantation.omp_torch import omp_torch  # noqa: E402

GPT2 = Path(__file__).resolve().parent.parent / "data" / "tokenizers" / "gpt2"


# --- OMP ------------------------------------------------------------------------------------------


def _dense(res, m):
    out = np.zeros((res.idx.shape[0], m))
    for t in range(res.idx.shape[0]):
        for j in range(res.idx.shape[1]):
            if res.idx[t, j] >= 0:
                out[t, res.idx[t, j]] = res.coef[t, j]
    return out


def test_omp_equals_scikit_learn():
    sk = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(0)
    atoms = rng.normal(size=(300, 40)) * rng.uniform(0.5, 2, size=(300, 1))  # unequal norms
    x = rng.normal(size=(60, 40))
    mine = _dense(omp(x, atoms, k=12, candidates=0, tol=0, dtype=np.float64), 300)
    norms = np.linalg.norm(atoms, axis=1)
    ref = sk.orthogonal_mp((atoms / norms[:, None]).T, x.T, n_nonzero_coefs=12).T / norms[None, :]
    np.testing.assert_allclose(mine, ref, atol=1e-10)


def test_omp_exact_member_needs_one_atom():
    rng = np.random.default_rng(1)
    atoms = rng.normal(size=(100, 16))
    x = np.stack([atoms[7] * 3.0, np.zeros(16)])
    res = omp(x, atoms, k=8, candidates=20, dtype=np.float64)
    assert res.idx[0, 0] == 7 and abs(res.coef[0, 0] - 3.0) < 1e-9 and (res.idx[0, 1:] == -1).all()
    assert (res.idx[1] == -1).all()  # a zero target gets no atoms


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-10), (np.float32, 1e-4)])
def test_torch_path_matches_cpu_path(dtype, tol):
    rng = np.random.default_rng(2)
    atoms = rng.normal(size=(2000, 48))
    x = np.concatenate([rng.normal(size=(300, 48)), atoms[:3] * 2])
    a = omp(x, atoms, k=16, candidates=96, dtype=dtype)
    b = omp_torch(x, atoms, k=16, candidates=96, dtype=dtype, device="cpu", block=37)
    assert (a.idx == b.idx).all()
    rows = rng.normal(size=(2000, 24))  # coefficients applied to other rows, as in a transplant
    np.testing.assert_allclose(a.apply(rows), b.apply(rows), atol=tol)


# --- vocabulary matching ----------------------------------------------------------------------------


def _wordpiece(tmp: Path, vocab_size: int = 1500) -> Path:
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok.train([str(SAMPLE)], trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=specials, show_progress=False))
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    tmp.mkdir(parents=True, exist_ok=True)
    tok.save(str(tmp / "tokenizer.json"))
    (tmp / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "PreTrainedTokenizerFast", "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"}))
    return tmp


def _info(path: Path) -> TokInfo:
    return tok_info(Tokenizer.from_file(str(path / "tokenizer.json")), path)


def test_canonical_forms_across_families(tmp_path):
    bl = _info(GPT2.parent / "gpt2") if (GPT2 / "tokenizer.json").exists() else None
    from toktool.hf import load_hf_tokenizer as load_tokenizer

    g = tok_info(load_tokenizer(GPT2).tokenizer, None)
    assert g.family == "bytelevel"
    assert g.canonical(g.vocab["Ġthe"]) == (b" the", None)
    assert g.canonical(g.vocab["Ċ"]) == (b"\n", None)
    wp = _info(_wordpiece(tmp_path / "wp"))
    assert wp.family == "wordpiece"
    cont = next(s for s in wp.vocab if s.startswith("##") and len(s) > 3)
    assert wp.canonical(wp.vocab[cont]) == (cont[2:].encode(), None)
    assert wp.canonical(wp.vocab["the"]) == (b" the", b"the")
    sp = Tokenizer(models.BPE(vocab={"<unk>": 0, "<0x41>": 1, "▁the": 2, "A": 3, "▁": 4}, merges=[], byte_fallback=True, unk_token="<unk>"))
    sp.pre_tokenizer = pre_tokenizers.Metaspace()
    sp.decoder = decoders.Metaspace()
    ms = tok_info(sp, None)
    assert ms.family == "metaspace"
    assert ms.canonical(2) == (b" the", None) and ms.canonical(1) == (None, b"A")
    assert bl is None or bl.family == "bytelevel"


def test_match_wordpiece_to_bytelevel(tmp_path, new_tok):
    old = _info(_wordpiece(tmp_path / "wp"))
    new = _info(new_tok)
    m = match_vocab(old, new)
    # "Ġthe" is the old word-initial "the"; "The" (no space) finds the uncased "the" via the normalizer
    assert old.tokens[m.source[new.vocab["Ġthe"]]] == "the"
    if "ĠThe" in new.vocab:
        assert old.tokens[m.source[new.vocab["ĠThe"]]] == "the" and m.how[new.vocab["ĠThe"]] == "normalized"
    # a mid-word piece maps to the ## continuation when the old vocabulary has it
    for s, j in new.vocab.items():
        if s.isalpha() and s.islower() and len(s) > 2 and "##" + s in old.vocab:
            assert old.tokens[m.source[j]] == "##" + s
            break
    assert m.counts()["exact"] > 200
    assert set(m.missing_roles) == {"unk", "pad", "cls", "sep", "mask"}  # the new tokenizer has no specials
    # FVT pieces: the old tokenizer's own encoding of the text
    j = next(j for s, j in new.vocab.items() if s.startswith("Ġ") and len(s) > 3 and m.source[j] < 0 and s[1:].isalpha())
    text = new.canonical(j)[0].decode()
    assert old_pieces(old, new.canonical(j)[0]) == old.tokenizer.encode(text, add_special_tokens=False).ids


def test_wordpiece_continuations_that_never_occur_are_not_copied(new_tok):
    """BERT's vocabulary has "##," and "##中" (as all-MiniLM-L6-v2's does), but its pre-tokenizer makes
    every punctuation character a word and its normalizer every CJK character: those rows are never
    trained. A byte-level "," must copy the word-initial ","; "##ing" stays the continuation."""
    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "##,", "##.", "##中", "##ing", "##1", ",", ".", "中", "ing", "the", "a", "1"])}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    old = tok_info(tok, None)
    new = _info(new_tok)
    m = match_vocab(old, new)
    for text in (",", "."):
        assert old.tokens[m.source[new.vocab[text]]] == text
    assert old.tokens[m.source[new.vocab["ing"]]] == "##ing"  # inside a word: the continuation
    if "1" in new.vocab:
        assert old.tokens[m.source[new.vocab["1"]]] == "##1"  # "a1" is one word: "##1" does occur


# --- whole transplants on synthetic models ------------------------------------------------------------


def _files_sha(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.rglob("*")) if p.is_file()}


def _llama(tmp: Path, tied: bool, shards: bool = False, dtype=None) -> Path:
    from toktool.hf import load_hf_tokenizer as load_tokenizer

    torch.manual_seed(0)
    cfg = transformers.LlamaConfig(vocab_size=50257, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2, tie_word_embeddings=tied, bos_token_id=50256, eos_token_id=50256)
    model = transformers.LlamaForCausalLM(cfg)
    if dtype is not None:
        model = model.to(dtype)
    tmp.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(tmp), max_shard_size="500KB" if shards else "5GB")
    load_tokenizer(GPT2).tokenizer.save(str(tmp / "tokenizer.json"))
    (tmp / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}))
    return tmp


def _bert(tmp: Path) -> Path:
    wp = _wordpiece(tmp)
    torch.manual_seed(0)
    vocab = Tokenizer.from_file(str(wp / "tokenizer.json")).get_vocab_size()
    cfg = transformers.BertConfig(vocab_size=vocab, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, max_position_embeddings=128)
    transformers.BertForMaskedLM(cfg).save_pretrained(str(tmp))
    return tmp


def _tensor(path: Path, name: str) -> np.ndarray:
    files = [path / "model.safetensors"] if (path / "model.safetensors").exists() else sorted(path.glob("model-*.safetensors"))
    for f in files:
        with safe_open(str(f), framework="pt") as st:
            if name in st.keys():
                return st.get_tensor(name).float().numpy()
    raise KeyError(name)


def _tensor_bytes(path: Path) -> dict[str, bytes]:
    out = {}
    for f in sorted(path.glob("*.safetensors")):
        header, base = model_io.read_header(f)
        raw = f.read_bytes()
        for k, meta in header.items():
            if k != "__metadata__":
                a, b = meta["data_offsets"]
                out[k] = raw[base + a : base + b]
    return out


@pytest.mark.parametrize("tied", [True, False])
def test_llama_transplant_loads_runs_and_copies_exactly(tmp_path, new_tok, tied):
    base = _llama(tmp_path / "base", tied)
    before = _files_sha(base)
    out = tmp_path / "out"
    proc = run_cli("transplant", str(base), "--tokenizer", str(new_tok), "-o", str(out), "--method", "fvt", "--report", str(tmp_path / "r.json"), "-q")
    assert proc.returncode == 0, proc.stderr
    assert _files_sha(base) == before  # the base is only read
    report = json.loads((tmp_path / "r.json").read_text())
    cfg = json.loads((out / "config.json").read_text())
    new = _info(out)  # the new tokenizer plus the model's <|endoftext|>, which it lacked
    assert cfg["vocab_size"] == new.size == report["new_vocab"] == _info(new_tok).size + 1
    assert report["added_special_tokens"] == ["<|endoftext|>"]
    old_e = _tensor(base, "model.embed_tokens.weight")
    new_e = _tensor(out, "model.embed_tokens.weight")
    old = tok_info(Tokenizer.from_file(str(base / "tokenizer.json")), base)
    m = match_vocab(old, new)
    src = np.array(m.source)
    shared = np.flatnonzero(src >= 0)
    assert len(shared) >= 256  # at least every byte
    assert new_e[shared].tobytes() == old_e[src[shared]].tobytes()  # bit for bit
    # special token by role: <|endoftext|> is bos/eos in both
    eot = new.vocab["<|endoftext|>"]
    assert new_e[eot].tobytes() == old_e[50256].tobytes()
    assert cfg["bos_token_id"] == cfg["eos_token_id"] == eot
    # fvt row = mean of the old rows of the old pieces
    j = next(j for j in range(new.size) if src[j] < 0)
    pieces = old_pieces(old, new.canonical(j)[0])
    np.testing.assert_allclose(new_e[j], old_e[pieces].astype(np.float64).mean(0), atol=1e-6)
    # every other tensor is byte-identical
    ob, nb = _tensor_bytes(base), _tensor_bytes(out)
    changed = {k for k in ob if ob[k] != nb.get(k)}
    assert changed <= {"model.embed_tokens.weight", "lm_head.weight"}
    if tied:
        assert "lm_head.weight" not in nb and cfg["tie_word_embeddings"] is True
    else:
        head = _tensor(out, "lm_head.weight")
        old_head = _tensor(base, "lm_head.weight")
        assert head.tobytes() != new_e.tobytes()
        assert head[shared].tobytes() == old_head[src[shared]].tobytes()
    model = transformers.AutoModelForCausalLM.from_pretrained(str(out), local_files_only=True)
    tok = transformers.AutoTokenizer.from_pretrained(str(out), local_files_only=True)
    ids = tok("Botchan went to Shikoku.", return_tensors="pt")
    logits = model(**ids).logits
    assert logits.shape[-1] == new.size and torch.isfinite(logits).all()
    if tied:
        assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()


def test_bert_gets_its_specials_and_template(tmp_path, new_tok):
    base = _bert(tmp_path / "bert")
    out = tmp_path / "out"
    proc = run_cli("transplant", str(base), "--tokenizer", str(new_tok), "-o", str(out), "--method", "mean", "-q")
    assert proc.returncode == 0, proc.stderr
    tok = transformers.AutoTokenizer.from_pretrained(str(out), local_files_only=True)
    enc = tok("Hello there")
    toks = tok.convert_ids_to_tokens(enc["input_ids"])
    assert toks[0] == "[CLS]" and toks[-1] == "[SEP]"
    old = Tokenizer.from_file(str(base / "tokenizer.json"))
    old_e = _tensor(base, "bert.embeddings.word_embeddings.weight")
    new_e = _tensor(out, "bert.embeddings.word_embeddings.weight")
    for s in ("[CLS]", "[SEP]", "[MASK]", "[PAD]"):
        assert new_e[tok.convert_tokens_to_ids(s)].tobytes() == old_e[old.token_to_id(s)].tobytes()
    assert tok.cls_token == "[CLS]" and tok.mask_token == "[MASK]"
    # the MLM decoder is tied; its bias follows the vocabulary
    bias = _tensor(out, "cls.predictions.bias")
    assert bias.shape == (len(tok),)
    model = transformers.AutoModelForMaskedLM.from_pretrained(str(out), local_files_only=True)
    assert model(**tok("a b c", return_tensors="pt")).logits.shape[-1] == len(tok)


def test_sharded_and_bf16(tmp_path, new_tok):
    base = _llama(tmp_path / "base", tied=False, shards=True, dtype=torch.bfloat16)
    assert (base / "model.safetensors.index.json").exists()
    out = tmp_path / "out"
    proc = run_cli("transplant", str(base), "--tokenizer", str(new_tok), "-o", str(out), "--method", "zero", "-q")
    assert proc.returncode == 0, proc.stderr
    idx = json.loads((out / "model.safetensors.index.json").read_text())
    total = sum(f.stat().st_size - 8 - model_io.read_header(f)[1] + 8 for f in out.glob("model-*.safetensors"))
    assert idx["metadata"]["total_size"] == total
    emb_file = idx["weight_map"]["model.embed_tokens.weight"]
    head_file = idx["weight_map"]["lm_head.weight"]
    for f in base.glob("model-*.safetensors"):  # shards without an embedding are copied as they are
        if f.name not in (emb_file, head_file):
            assert f.read_bytes() == (out / f.name).read_bytes()
    with safe_open(str(out / emb_file), framework="pt") as st:
        e = st.get_tensor("model.embed_tokens.weight")
    assert e.dtype == torch.bfloat16
    with safe_open(str(base / emb_file), framework="pt") as st:
        old = st.get_tensor("model.embed_tokens.weight")
    new = _info(new_tok)
    assert torch.equal(e[new.vocab["Ġthe"]], old[50256 - 50256 + 262])  # "Ġthe" is GPT-2 id 262
    transformers.AutoModelForCausalLM.from_pretrained(str(out), local_files_only=True)


def test_bf16_codec_round_trip():
    x = np.array([0.0, -1.5, 3.1415926, 1e-30, 65504.0, -0.0, np.inf], dtype=np.float32)
    bits = model_io.encode(x, "BF16")
    ref = torch.from_numpy(x).to(torch.bfloat16).view(torch.int16).numpy().astype("<i2").tobytes()
    assert bits == ref
    back = model_io.decode(bits, "BF16", (len(x),))
    assert model_io.encode(back, "BF16") == bits


def test_omp_with_aux_corpus_and_donor(tmp_path, new_tok):
    base = _llama(tmp_path / "base", tied=True)
    a, b = tmp_path / "a", tmp_path / "b"
    for out, env in ((a, {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}), (b, {"NUMBA_NUM_THREADS": "2", "OMP_NUM_THREADS": "2"})):
        proc = run_cli("transplant", str(base), "--tokenizer", str(new_tok), "-o", str(out), "--method", "omp", "--aux-corpus", str(SAMPLE), "--aux-min-count", "2", "--k", "8", "--report", str(out) + ".json", "-q", env=env)
        assert proc.returncode == 0, proc.stderr
    rep = json.loads(Path(str(a) + ".json").read_text())
    assert rep["method"] == "omp" and rep["rows"].get("omp", 0) > 20
    assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()
    # torch on the CPU gives the same rows
    c = tmp_path / "c"
    proc = run_cli("transplant", str(base), "--tokenizer", str(new_tok), "-o", str(c), "--method", "omp", "--aux-corpus", str(SAMPLE), "--aux-min-count", "2", "--k", "8", "--device", "cpu", "-q")
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_allclose(_tensor(c, "model.embed_tokens.weight"), _tensor(a, "model.embed_tokens.weight"), atol=1e-4)
    # a donor model that uses the new tokenizer (here: the transplanted model itself)
    d = tmp_path / "d"
    proc = run_cli("transplant", str(base), "--tokenizer", str(a), "--donor", str(a), "--k", "8", "-o", str(d), "-q")
    assert proc.returncode == 0, proc.stderr


def test_dry_run_writes_nothing(tmp_path, new_tok):
    base = _llama(tmp_path / "base", tied=True)
    proc = run_cli("transplant", str(base), "--tokenizer", str(new_tok), "--dry-run", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    rep = json.loads(proc.stdout)
    assert rep["dry_run"] and rep["copied_exact"] >= 256 and rep["method"] == "fvt"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base"]


# --- bad input ---------------------------------------------------------------------------------------


def test_bad_inputs(tmp_path, new_tok):
    base = _llama(tmp_path / "base", tied=True)
    before = _files_sha(base)
    out = str(tmp_path / "out")
    assert_clean_error(run_cli("transplant", str(tmp_path / "nope"), "--tokenizer", str(new_tok), "-o", out), "no such model directory")
    # corrupt weights
    bad = tmp_path / "bad"
    shutil.copytree(base, bad)
    (bad / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}......")
    assert_clean_error(run_cli("transplant", str(bad), "--tokenizer", str(new_tok), "-o", out), "not a safetensors file")
    raw = (base / "model.safetensors").read_bytes()
    (bad / "model.safetensors").write_bytes(raw[: len(raw) // 2])
    assert_clean_error(run_cli("transplant", str(bad), "--tokenizer", str(new_tok), "-o", out), "truncated")
    # no weights / pickles refused
    (bad / "model.safetensors").unlink()
    assert_clean_error(run_cli("transplant", str(bad), "--tokenizer", str(new_tok), "-o", out), "no model weights")
    torch.save({"x": torch.zeros(2)}, bad / "pytorch_model.bin")
    assert_clean_error(run_cli("transplant", str(bad), "--tokenizer", str(new_tok), "-o", out), "pickle", "--allow-pickle")
    # no embedding tensor
    (bad / "pytorch_model.bin").unlink()
    from safetensors.numpy import save_file

    save_file({"foo.weight": np.zeros((4, 4), dtype=np.float32)}, str(bad / "model.safetensors"))
    assert_clean_error(run_cli("transplant", str(bad), "--tokenizer", str(new_tok), "-o", out), "no input embedding tensor")
    # donor with fewer rows than the new tokenizer
    small = tmp_path / "small"
    small.mkdir()
    (small / "config.json").write_text("{}")
    save_file({"model.embed_tokens.weight": np.ones((10, 8), dtype=np.float32)}, str(small / "model.safetensors"))
    assert_clean_error(run_cli("transplant", str(base), "--tokenizer", str(new_tok), "--donor", str(small), "-o", out), "rows")
    # no overlap at all
    alien = tmp_path / "alien"
    alien.mkdir()
    t = Tokenizer(models.WordLevel({"ぁ": 0, "ぃ": 1, "[UNK]": 2}, unk_token="[UNK]"))
    t.save(str(alien / "tokenizer.json"))
    wpbase = _bert(tmp_path / "bert")
    assert_clean_error(run_cli("transplant", str(wpbase), "--tokenizer", str(alien), "-o", out), "no token in common")
    # omp without a donor space; output exists
    assert_clean_error(run_cli("transplant", str(base), "--tokenizer", str(new_tok), "--method", "omp", "-o", out), "--aux-corpus")
    Path(out).mkdir()
    assert_clean_error(run_cli("transplant", str(base), "--tokenizer", str(new_tok), "-o", out), "already exists")
    assert_clean_error(run_cli("transplant", str(base), "--tokenizer", str(tmp_path / "missing"), "-o", out + "2"), "no such tokenizer")
    # a corrupt tokenizer.json in the base model; devices torch does not have
    shutil.rmtree(bad)
    shutil.copytree(base, bad)
    (bad / "tokenizer.json").write_text('{"model": ')
    assert_clean_error(run_cli("transplant", str(bad), "--tokenizer", str(new_tok), "-o", out + "2"), "not a valid tokenizer.json")
    assert_clean_error(run_cli("transplant", str(base), "--tokenizer", str(new_tok), "--aux-corpus", str(SAMPLE), "--device", "bogus", "-o", out + "2"), "not a torch device")
    if not torch.cuda.is_available():
        assert_clean_error(run_cli("transplant", str(base), "--tokenizer", str(new_tok), "--aux-corpus", str(SAMPLE), "--device", "cuda", "-o", out + "2"), "no CUDA device")
    assert _files_sha(base) == before
    assert not Path(out + "2").exists()


def test_plan_library_api(tmp_path, new_tok):
    base = _llama(tmp_path / "base", tied=True)
    plan = make_plan(str(base), str(new_tok), Options(method="fvt"))
    s = plan.summary()
    assert s["copied_exact"] + s["copied_normalized"] + s["special_by_role"] + s["new_rows"] == s["new_vocab"]


def test_random_and_mean_rows_follow_the_old_rows():
    from toktool.transplantation.methods import fill_rows

    rng = np.random.default_rng(3)
    old = rng.normal(size=(4000, 6)) @ rng.normal(size=(6, 6)) + 5.0
    rows = list(range(20000))
    a = fill_rows(old, "random", rows, {}, np.random.default_rng(7))
    b = fill_rows(old, "random", rows, {}, np.random.default_rng(7))
    draws = np.stack([a[j] for j in rows])
    assert all((a[j] == b[j]).all() for j in rows[:50])  # seeded: the same rows again
    np.testing.assert_allclose(draws.mean(0), old.mean(0), atol=0.1)
    np.testing.assert_allclose(np.cov(draws, rowvar=False), np.cov(old, rowvar=False), rtol=0.1, atol=0.1)
    m = fill_rows(old, "mean", [1, 2], {}, np.random.default_rng(0))
    np.testing.assert_allclose(m[1], old.mean(0))
    f = fill_rows(old, "fvt", [1, 2], {1: [0, 3]}, np.random.default_rng(0))
    np.testing.assert_allclose(f[1], (old[0] + old[3]) / 2)
    np.testing.assert_allclose(f[2], old.mean(0))  # no pieces: the mean row
    z = fill_rows(old, "zero", [1], {}, np.random.default_rng(0))
    assert not z[1].any()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_exact_omp_blas_path_equals_the_kernel(dtype):
    """omp(..., candidates=0) runs the BLAS-batched exact OMP; it picks the same atoms as the
    per-target Numba kernel given every atom as a candidate, with the same weights."""
    from toktool.kernels.omp import omp_kernel as _omp_kernel
    from toktool.transplantation.omp import inverse_norms, omp_exact

    rng = np.random.default_rng(5)
    atoms = (rng.normal(size=(700, 32)) * rng.uniform(0.5, 2, size=(700, 1))).astype(dtype)
    x = np.concatenate([rng.normal(size=(90, 32)), atoms[:4] * 2, np.zeros((1, 32))]).astype(dtype)
    inv = inverse_norms(atoms)
    cand = np.ascontiguousarray(np.broadcast_to(np.arange(700), (len(x), 700)))
    idx, coef = _omp_kernel(x, atoms, inv, cand, 24, 1e-8)
    res = omp_exact(x, atoms, 24, tol=1e-4, dtype=dtype, block=17)
    same = (res.idx == idx).all(axis=1)
    assert same.mean() >= (1.0 if dtype == np.float64 else 0.95)
    np.testing.assert_allclose(res.coef[same], coef[same], atol=1e-8 if dtype == np.float64 else 1e-4)
    assert res.idx[90, 0] == 0 and (res.idx[90, 1:] == -1).all() and abs(res.coef[90, 0] - 2) < 1e-5
    assert (res.idx[-1] == -1).all()
