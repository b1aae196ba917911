"""Transplant: new embedding rows for a new tokenizer, training-free, and the model directory
that carries them. The steps are plain functions so each can be used (and tested) on its own:
match vocabularies (vocab.py) -> decide each new row's recipe (plan) -> compute rows (methods.py,
OMP in omp.py / omp_torch.py) -> write the directory (model_io.py).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import CodecError, InputError, ToktoolError
from ..options import METHODS, TransplantOptions
from . import methods
from .match import ROLES, Mapping, TokInfo, load_old_tokenizer, match_vocab, old_pieces, tok_info
from .model_io import ModelDir, open_model, write_model

# the options under their older name, for callers of core.transplant
Options = TransplantOptions


@dataclass
class Plan:
    """Everything decided before any row is computed (what --dry-run reports)."""

    model: ModelDir
    old: TokInfo
    new: TokInfo
    mapping: Mapping
    method: str
    pieces: dict[int, list[int]]  # new id -> old ids (FVT input) for rows that are not copied
    added_specials: list[str]
    new_source: str = ""  # the new tokenizer's file, named in messages
    auto: bool = False  # --method auto with a donor space: fvt or omp, measured when rows are computed

    def summary(self) -> dict:
        c = self.mapping.counts()
        fvt_empty = sum(1 for p in self.pieces.values() if not p)
        return {
            "base_model": str(self.model.path),
            "input_embeddings": self.model.input_name,
            "output_head": self.model.output_name or ("tied to input" if self.model.tied else None),
            "tied": self.model.tied,
            "old_vocab": self.old.size,
            "old_family": self.old.family,
            "new_vocab": self.new.size,
            "new_family": self.new.family,
            "hidden": self.model.hidden,
            "method": "auto (omp or fvt, measured on held-out shared tokens)" if self.auto else self.method,
            "copied_exact": c["exact"],
            "copied_normalized": c["normalized"],
            "special_by_role": c["special"],
            "new_rows": c["new"],
            "new_without_old_pieces": fvt_empty,
            "byte_fallback_shadowed": len(self.mapping.shadowed),
            "added_special_tokens": self.added_specials,
        }


def _load_new_tokenizer(path: str) -> tuple:
    from ..hf import load_hf_tokenizer
    from .spm import find_spm, spm_tokenizer

    p = Path(path)
    sp = find_spm(p)
    if sp is not None:  # a sentencepiece model: converted, the output gets it as tokenizer.json
        return spm_tokenizer(sp), (p if p.is_dir() else p.parent)
    loaded = load_hf_tokenizer(path)
    return loaded.tokenizer, (p if p.is_dir() else p.parent)


def _add_missing_specials(old: TokInfo, new: TokInfo, mapping: Mapping, new_dir: Path) -> tuple[TokInfo, Mapping, list[str]]:
    """Give the new tokenizer the special tokens the model was trained with and it lacks
    (a BERT needs [CLS] ... [SEP] around every input), and the old post-processor that inserts
    them when the new tokenizer has none."""
    from tokenizers import AddedToken, Tokenizer

    tok = Tokenizer.from_str(new.tokenizer.to_str())
    wanted = [old.tokens[i] for _, i in sorted(mapping.missing_roles.items(), key=lambda kv: kv[1])]
    wanted = list(dict.fromkeys(wanted))
    if wanted:
        tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in wanted])
    spec = json.loads(tok.to_str())
    old_spec = json.loads(old.tokenizer.to_str())
    vocab = tok.get_vocab(with_added_tokens=True)
    mine, theirs = spec.get("post_processor"), old_spec.get("post_processor")
    if not _adds_specials(mine) and _adds_specials(theirs):
        pp = _remap_post_processor(theirs, vocab)
        if pp is not None:
            # keep the new tokenizer's own step (ByteLevel offset trimming) and add the template
            spec["post_processor"] = pp if mine is None else {"type": "Sequence", "processors": [mine, pp]}
            tok = Tokenizer.from_str(json.dumps(spec))
    info = tok_info(tok, None)
    info.roles = {**{r: i for r, i in new.roles.items()}, **{r: vocab[old.tokens[i]] for r, i in mapping.missing_roles.items()}}
    info.model_max_length = new.model_max_length or old.model_max_length
    source = list(mapping.source) + [-1] * (info.size - new.size)
    how = list(mapping.how) + ["new"] * (info.size - new.size)
    old_ids = {old.tokens[i]: i for i in mapping.missing_roles.values()}
    for s in wanted:
        source[vocab[s]], how[vocab[s]] = old_ids[s], "special"
    return info, Mapping(source, how, {}), wanted


def _adds_specials(pp) -> bool:
    if not isinstance(pp, dict):
        return False
    if pp.get("type") == "Sequence":
        return any(_adds_specials(p) for p in pp.get("processors", []))
    return pp.get("type") in ("TemplateProcessing", "BertProcessing", "RobertaProcessing")


def _remap_post_processor(node, vocab: dict[str, int]):
    """The old post-processor with ids of the new vocabulary; None if it names a token the new
    tokenizer does not have."""
    ok = True

    def walk(n):
        nonlocal ok
        if isinstance(n, dict):
            out = {}
            for key, v in n.items():
                if key in ("sep", "cls") and isinstance(v, list) and len(v) == 2 and isinstance(v[0], str):
                    if v[0] not in vocab:
                        ok = False
                    out[key] = [v[0], vocab.get(v[0], v[1])]
                elif key == "special_tokens" and isinstance(v, dict):
                    out[key] = {}
                    for name, st in v.items():
                        toks = st.get("tokens", [])
                        if any(t not in vocab for t in toks):
                            ok = False
                        out[key][name] = {**st, "ids": [vocab.get(t, -1) for t in toks]}
                else:
                    out[key] = walk(v)
            return out
        if isinstance(n, list):
            return [walk(x) for x in n]
        return n

    res = walk(node)
    return res if ok else None


def make_plan(base: str, tokenizer: str, opts: Options) -> Plan:
    if opts.method not in METHODS:
        raise ToktoolError(f"unknown method {opts.method!r} (choose from {', '.join(METHODS)})")
    method = opts.resolved_method()
    if method == "omp" and not (opts.donor or opts.aux_corpus):
        raise ToktoolError("--method omp needs a donor space: --donor MODEL_DIR (a model that uses the new tokenizer) or --aux-corpus TEXT")
    model = open_model(base, opts.allow_pickle)
    old = load_old_tokenizer(model.path)
    if old.size > model.vocab_rows:
        raise InputError(f"{model.path}: the tokenizer has {old.size} tokens but {model.input_name} has only {model.vocab_rows} rows")
    tok, new_dir = _load_new_tokenizer(tokenizer)
    new = tok_info(tok, new_dir)
    mapping = match_vocab(old, new)
    c = mapping.counts()
    if c["exact"] + c["normalized"] == 0:
        raise InputError(f"{tokenizer}: no token in common with the model's tokenizer; nothing to anchor the new embeddings to")
    added: list[str] = []
    if opts.add_specials and mapping.missing_roles:
        new, mapping, added = _add_missing_specials(old, new, mapping, new_dir)
    pieces = _fvt_pieces(old, new, mapping, model.path)
    source = Path(tokenizer) / "tokenizer.json" if Path(tokenizer).is_dir() else Path(tokenizer)
    return Plan(model, old, new, mapping, method, pieces, added, str(source), auto=opts.method == "auto" and method == "omp")


def _fvt_pieces(old: TokInfo, new: TokInfo, mapping: Mapping, model_dir: Path) -> dict[int, list[int]]:
    """new id -> the old tokenizer's ids for the token's text, for every row that is not copied.
    Raises CodecError naming the model's tokenizer and the new token when `tokenizers` fails."""
    from ..formats import failure_reason, library_failure

    pieces: dict[int, list[int]] = {}
    for j in range(new.size):
        if mapping.source[j] < 0:
            a, b = new.canonical(j)
            try:
                pieces[j] = old_pieces(old, a or b) if (a or b) and j not in mapping.shadowed else []
            except BaseException as e:
                if not library_failure(e):
                    raise
                f = model_dir / "tokenizer.json"
                raise CodecError(str(f if f.is_file() else model_dir), failure_reason("tokenizers", e), where=f"the new token {new.tokens[j]!r}") from None
    return pieces


def donor_space(plan: Plan, opts: Options, log) -> tuple[np.ndarray, np.ndarray, str]:
    """(vectors per new id, has-vector mask, description)."""
    n = plan.new.size
    if opts.donor:
        donor = open_model(opts.donor, opts.allow_pickle)
        dvec = donor.read(donor.input_name)
        base_size = n - len(plan.added_specials)
        if dvec.shape[0] < base_size:
            raise InputError(f"{opts.donor}: donor embeddings have {dvec.shape[0]} rows but the new tokenizer has {base_size} tokens (the donor must use the new tokenizer)")
        dtok = donor.path / "tokenizer.json"
        if dtok.is_file():
            dinfo = load_old_tokenizer(donor.path)
            if dinfo.tokens[: min(dinfo.size, base_size)] != plan.new.tokens[: min(dinfo.size, base_size)]:
                raise InputError(f"{opts.donor}: the donor's tokenizer is not the new tokenizer (their vocabularies differ)")
        vec = np.zeros((n, dvec.shape[1]), dtype=np.float32)
        vec[:base_size] = dvec[:base_size]
        seen = np.zeros(n, dtype=bool)
        seen[:base_size] = np.linalg.norm(vec[:base_size], axis=1) > 0
        return vec, seen, f"donor model {opts.donor} (d = {dvec.shape[1]})"
    from ..corpus import expand_inputs, iter_located_texts
    from ..formats import HFAdapter
    from .donor import donor_from_text

    located = [(f"{name}:{lineno}", t) for name, lineno, t in iter_located_texts(expand_inputs(opts.aux_corpus), errors="strict") if t.strip()]
    lines = [t for _, t in located]
    log(f"encoding the aux corpus ({len(lines)} lines) with the new tokenizer")
    # through the adapter: a library failure names the tokenizer and the line, and a truncation
    # setting of the tokenizer.json does not cut the corpus lines
    adapter = HFAdapter("new", plan.new_source or "the new tokenizer", plan.new.tokenizer, "")
    try:
        enc = adapter.encode_lines(lines)
    except CodecError as e:
        raise (e.at(located[e.index][0]) if e.index is not None else e) from None
    log(f"co-occurrence PPMI + SVD on {len(enc.ids)} tokens")
    space = donor_from_text(enc.ids, enc.lengths, n, opts.aux_dim, opts.aux_window, opts.aux_min_count, source=",".join(opts.aux_corpus))
    return space.vectors, space.seen, f"PPMI+SVD of --aux-corpus ({space.tokens} tokens, d = {space.vectors.shape[1]}, window {opts.aux_window}, min count {opts.aux_min_count})"


def omp_sets(mapping: Mapping, seen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(anchor ids, target ids) in the new vocabulary: shared tokens with a donor vector, and new
    tokens with one."""
    src = np.array(mapping.source, dtype=np.int64)
    how = np.array(mapping.how)
    anchors = np.flatnonzero((src >= 0) & seen & np.isin(how, ["exact", "normalized"]))
    # one anchor per old row: "ĠThe" and "Ġthe" are two donor vectors but one row of an uncased
    # model, and least squares would happily give them opposite weights that cancel in the base
    order = anchors[np.lexsort((anchors, how[anchors] != "exact"))]
    _, first = np.unique(src[order], return_index=True)
    targets = np.flatnonzero((src < 0) & seen)
    # shadowed byte-fallback tokens never occur: they keep the mean row rather than an OMP row
    return np.sort(order[first]), targets[~np.isin(targets, list(mapping.shadowed))]


def compute_rows(plan: Plan, opts: Options, log=lambda s: None) -> tuple[dict[str, np.ndarray], dict]:
    """The new tensors (by name) and a report of how every row was made."""
    model, new, mapping = plan.model, plan.new, plan.mapping
    n = new.size
    src = np.array(mapping.source, dtype=np.int64)
    copy = src >= 0
    rest = np.flatnonzero(~copy)
    recipe = np.array(["copy"] * n, dtype=object)
    info: dict = {}
    matrices = {"input": model.read(model.input_name)[: plan.old.size]}
    if not model.tied and model.output_name:
        matrices["output"] = model.read(model.output_name)[: plan.old.size]
    if model.bias_name:
        matrices["bias"] = model.read(model.bias_name).reshape(-1)[: plan.old.size, None]
    method = plan.method
    omp_rows: np.ndarray = np.zeros(0, dtype=np.int64)
    omp_res = None
    if method == "omp":
        t0 = time.perf_counter()
        vec, seen, desc = donor_space(plan, opts, log)
        anchors, omp_rows = omp_sets(mapping, seen)
        if len(anchors) == 0:
            raise InputError("no shared token has a donor vector: OMP has no anchors (a larger --aux-corpus would help)")
        info["donor"] = desc
        info["donor_seconds"] = round(time.perf_counter() - t0, 3)
        dtype = np.float64 if opts.precision == "fp64" else np.float32

        def run_omp(targets: np.ndarray, atoms: np.ndarray):
            if opts.device:
                from .omp_torch import omp_torch

                return omp_torch(targets, atoms, opts.k, opts.candidates, dtype=dtype, device=opts.device)
            from .omp import omp

            return omp(targets, atoms, opts.k, opts.candidates, dtype=dtype)

        if plan.auto:
            from .choose import measure

            t0 = time.perf_counter()
            log("auto: measuring fvt and omp on shared tokens held out as if new")
            method, info["auto"] = measure(plan.old, new, mapping, vec, anchors, matrices, run_omp, opts.seed)
            info["auto"]["seconds"] = round(time.perf_counter() - t0, 3)
            log(f"auto: {info['auto']['why']}")
            if method == "fvt":
                omp_rows = np.zeros(0, dtype=np.int64)
    if method == "omp":
        t0 = time.perf_counter()
        log(f"OMP: {len(omp_rows)} tokens over {len(anchors)} anchors, k = {opts.k}")
        omp_res = run_omp(vec[omp_rows], vec[anchors])
        info["omp_seconds"] = round(time.perf_counter() - t0, 3)
        info["omp_device"] = opts.device or "cpu (numba)"
        info["anchors"] = int(len(anchors))
        nz = (omp_res.idx >= 0).sum(1)
        info["omp_mean_atoms"] = round(float(nz.mean()), 2) if len(nz) else 0.0
        approx = omp_res.apply(vec[anchors])
        tgt = vec[omp_rows].astype(np.float64)
        rel = np.linalg.norm(tgt - approx, axis=1) / np.maximum(np.linalg.norm(tgt, axis=1), 1e-30)
        info["omp_mean_relative_residual"] = round(float(rel.mean()), 4) if len(rel) else 0.0
        # coefficients index the anchor list; rows come from the anchors' old ids
        omp_src = src[anchors]
    info["method"] = method
    out: dict[str, np.ndarray] = {}
    fvt_set = set(int(j) for j in rest) - set(int(j) for j in omp_rows)
    for key, old_rows in matrices.items():
        new_rows = np.zeros((n, old_rows.shape[1]), dtype=np.float64 if old_rows.dtype == np.float64 else np.float32)
        new_rows[copy] = old_rows[src[copy]]
        fill = methods.fill_rows(old_rows, method if method != "omp" else "fvt", sorted(fvt_set), plan.pieces, np.random.default_rng(opts.seed), bias=(key == "bias"))
        for j, row in fill.items():
            new_rows[j] = row
        if method == "omp" and len(omp_rows):
            rows = omp_res.apply(old_rows[omp_src])
            if opts.omp_norm == "fvt" and key != "bias":
                # least-squares weights can be large; keep each row at the length FVT would give it
                ref = methods.fill_rows(old_rows, "fvt", [int(j) for j in omp_rows], plan.pieces, np.random.default_rng(0))
                target = np.array([np.linalg.norm(ref[int(j)]) for j in omp_rows])
                have = np.linalg.norm(rows, axis=1)
                rows = rows * (target / np.maximum(have, 1e-30))[:, None]
            new_rows[omp_rows] = rows
        if opts.calibrate == "rank" and key != "bias" and method in ("fvt", "omp"):
            moved = np.array(sorted({int(j) for j in fvt_set if plan.pieces.get(j)} | {int(j) for j in omp_rows}), dtype=np.int64)
            shared = np.flatnonzero(np.isin(np.array(mapping.how), ["exact", "normalized"]))
            info.setdefault("calibration", {})[key] = methods.rank_calibration(old_rows, src[shared], shared, moved, new_rows)
        out[key] = new_rows
    for j in fvt_set:
        recipe[j] = method if method != "omp" else "fvt"
        if method in ("fvt", "omp") and not plan.pieces.get(j):
            recipe[j] = "mean"  # no old pieces (a partial UTF-8 byte for a WordPiece model, say)
    for j in omp_rows:
        recipe[j] = "omp"
    info["rows"] = {k: int(v) for k, v in zip(*np.unique(recipe, return_counts=True))}
    tensors = {model.input_name: out["input"]}
    if "output" in out:
        tensors[model.output_name] = out["output"]
    elif model.output_name and model.tied:
        tensors[model.output_name] = out["input"]  # a tied head stored twice stays identical
    if "bias" in out:
        shape = model.tensors[model.bias_name].shape
        tensors[model.bias_name] = out["bias"].reshape((1, n) if len(shape) == 2 else (n,))
    return tensors, info


def tokenizer_files(plan: Plan) -> dict[str, bytes]:
    """tokenizer.json plus the config files transformers' AutoTokenizer reads, roles included."""
    new = plan.new
    cfg: dict = {"tokenizer_class": "PreTrainedTokenizerFast", "clean_up_tokenization_spaces": False}
    special_map: dict = {}
    for role in ROLES:
        if role in new.roles:
            s = new.tokens[new.roles[role]]
            cfg[f"{role}_token"] = s
            special_map[f"{role}_token"] = s
    if new.model_max_length:
        cfg["model_max_length"] = new.model_max_length
    return {
        "tokenizer.json": new.tokenizer.to_str(pretty=True).encode("utf-8"),
        "tokenizer_config.json": (json.dumps(cfg, indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
        "special_tokens_map.json": (json.dumps(special_map, indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
    }


def _new_role_ids(plan: Plan, role: str, old_value):
    """A config's token id for `role` in the new vocabulary. A list (Gemma's eos_token_id is [1, 106])
    maps element by element through the special rows (ids the new tokenizer has no row for are
    dropped); a single id becomes the new tokenizer's token of that role."""
    if isinstance(old_value, list):
        back = {s: j for j, (s, h) in enumerate(zip(plan.mapping.source, plan.mapping.how)) if h == "special"}
        out = [back[i] for i in old_value if isinstance(i, int) and i in back]
        if role in plan.new.roles and plan.new.roles[role] not in out:
            out.insert(0, plan.new.roles[role])
        return out
    return plan.new.roles.get(role)


def _architectures(model: ModelDir) -> list[str] | None:
    """The transformers class for a config without `architectures` (GGUF conversions leave it
    None; tokensurgeon and pipelines need it): the causal-LM class of its model_type when the
    checkpoint has an output head (stored or tied), else the bare model class. None when
    transformers is not installed or does not know the model_type."""
    mt = model.config.get("model_type")
    try:
        from transformers.models.auto import modeling_auto as auto
    except ImportError:
        return None
    causal = model.output_name is not None or bool(model.config.get("tie_word_embeddings"))
    for table in ((auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,) if causal else ()) + (auto.MODEL_MAPPING_NAMES,):
        if mt in table:
            return [table[mt]]
    return None


def config_updates(plan: Plan) -> dict:
    """Keys of the base config.json to change: vocab_size, every *_token_id by role (kept or added
    when the new tokenizer has the role), architectures when the base lacks them."""
    cfg = plan.model.config
    upd: dict = {"vocab_size": plan.new.size}
    for role in ("bos", "eos", "pad", "sep", "cls", "unk", "mask"):
        key = f"{role}_token_id"
        if key in cfg:
            upd[key] = _new_role_ids(plan, role, cfg[key])
        elif role in ("bos", "eos", "pad") and role in plan.new.roles:
            upd[key] = plan.new.roles[role]
    if not cfg.get("architectures"):
        arch = _architectures(plan.model)
        if arch:
            upd["architectures"] = arch
    return upd


def _fit_texts(opts: Options) -> list[str]:
    """The --fit-head text: one text per non-empty line."""
    from ..corpus import expand_inputs, iter_located_texts

    texts = [t.strip() for _, _, t in iter_located_texts(expand_inputs(opts.fit_head), errors="strict") if t.strip()]
    if not texts:
        raise InputError(f"{', '.join(opts.fit_head)}: no text for --fit-head")
    return texts


def fit_head_plan(plan: Plan, opts: Options) -> dict:
    """What --fit-head will do, for --dry-run: the text is read (and refused as a real run would),
    the model checked to be a causal LM with an output head."""
    from .head_fit import check_causal

    check_causal(plan.model.config, str(plan.model.path))
    head_key = _head_key(plan)
    texts = _fit_texts(opts)
    untied = head_key != plan.model.input_name
    return {"text": list(opts.fit_head), "lines": len(texts), "max_positions": opts.fit_head_positions, "weight": 1.0 if untied else opts.fit_head_weight, "rows": "output head" if untied else "tied input/output"}


def _head_key(plan: Plan) -> str:
    """The tensor whose rows are the output head: the stored head, or the tied input matrix."""
    model = plan.model
    if not model.tied and model.output_name is not None:
        return model.output_name
    if not model.tied:
        raise InputError(f"{model.path}: --fit-head needs a model with an output head (a causal LM); this one has none")
    return model.input_name


@contextlib.contextmanager
def _scratch_model(plan: Plan, tensors: dict[str, np.ndarray], files: dict[str, bytes], tmp: Path, name: str) -> Iterator[Path]:
    """The model with `tensors` written into a scratch directory beside the output's temporary one
    (for transformers to load), removed afterwards whatever happens."""
    scratch = tmp.parent / f"{tmp.name}.{name}"
    scratch.mkdir()
    try:
        write_model(plan.model, scratch, tensors, config_updates(plan), files)
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _auto_by_text(plan: Plan, opts: Options, files: dict[str, bytes], tmp: Path, log) -> tuple[dict[str, np.ndarray], dict, list[str]]:
    """--method auto with a donor space and --fit-head text: make the fvt rows and the omp rows,
    run every 4th line of the text through each model and keep the rows with the lower bits per
    byte (a tie goes to fvt). Returns (tensors, report, the other lines, for the fit)."""
    import dataclasses

    from .head_fit import head_inputs

    texts = _fit_texts(opts)
    held, rest = texts[::4], [t for i, t in enumerate(texts) if i % 4]
    if not rest:
        rest = held
    head_key = _head_key(plan)
    softcap = plan.model.config.get("final_logit_softcapping")
    made: dict[str, tuple[float, dict, dict]] = {}
    positions = 0
    for method in ("fvt", "omp"):
        tensors, info = compute_rows(dataclasses.replace(plan, method=method, auto=False), opts, log)
        with _scratch_model(plan, tensors, files, tmp, method) as scratch:
            cal = head_inputs(str(scratch), plan.new.tokenizer, held, max(16, opts.fit_head_positions // 4), log=log, where=str(plan.model.path))
        positions = len(cal.h)
        made[method] = (cal.bits_per_byte(tensors[head_key], softcap), tensors, info)
        log(f"auto: {method} rows score {made[method][0]:.4f} bits per byte on the held-out lines")
    fvt, omp = made["fvt"][0], made["omp"][0]
    chosen = "omp" if omp < fvt else "fvt"
    _, tensors, info = made[chosen]
    info["auto"] = {
        "criterion": "bits per byte of the model on --fit-head text (every 4th line, left out of the fit)",
        "held_out_lines": len(held),
        "positions": positions,
        "fvt_bits_per_byte": round(fvt, 4),
        "omp_bits_per_byte": round(omp, 4),
        "chosen": chosen,
        "why": f"{len(held)} lines of --fit-head text ({positions} positions): bits per byte fvt {fvt:.4f}, omp {omp:.4f}; {chosen} is lower" + (" (a tie goes to fvt)" if omp == fvt else ""),
    }
    return tensors, info, rest


def _fit_head(plan: Plan, opts: Options, tensors: dict[str, np.ndarray], files: dict[str, bytes], tmp: Path, log, texts: list[str] | None = None) -> tuple[dict[str, np.ndarray], dict]:
    """--fit-head: write the model once into a scratch directory beside the output, run the
    calibration text (`texts`, default all of --fit-head) through it, and return the tensors with
    the fitted head rows (head_fit.py). `tensors` is emptied once written: while the model runs,
    the new matrices live only in the scratch files, and are read back from them for the fit."""
    from .head_fit import fit_head

    model = plan.model
    head_key = _head_key(plan)
    untied = head_key != model.input_name
    texts = _fit_texts(opts) if texts is None else texts
    with _scratch_model(plan, tensors, files, tmp, "fit") as scratch:
        names = list(tensors)
        tensors.clear()
        written = open_model(str(scratch))
        targets, rows, stats = fit_head(str(scratch), plan.new.tokenizer, texts, plan.old, plan.new, plan.mapping, lambda: written.read(head_key), lambda ids: model.read_rows(head_key, ids), opts.fit_head_positions, log, where=str(model.path))
        out = {name: written.read(name) for name in names}
    weight = 1.0 if untied else opts.fit_head_weight
    m = out[head_key]
    m[targets] = ((1 - weight) * m[targets].astype(np.float64) + weight * rows).astype(m.dtype)
    if not untied and model.output_name:
        out[model.output_name] = m  # a tied head stored twice stays identical
    stats.update(text=list(opts.fit_head), lines=len(texts), weight=weight, rows=("output head" if untied else "tied input/output"))
    return out, stats


def transplant(base: str, tokenizer: str, out: str, opts: Options, force: bool = False, log=lambda s: None) -> dict:
    """Plan, compute and write; returns the report. The base model is only read."""
    from ..atomic import atomic_dir, check_output

    check_output(out, force)
    if Path(out).resolve() == Path(base).resolve():
        raise ToktoolError("the output directory must not be the base model's directory")
    t0 = time.perf_counter()
    plan = make_plan(base, tokenizer, opts)
    if opts.fit_head:
        from .head_fit import check_causal

        check_causal(plan.model.config, str(plan.model.path))
    by_text = plan.auto and bool(opts.fit_head)
    if not by_text:
        tensors, info = compute_rows(plan, opts, log)
    files = tokenizer_files(plan)
    gen = plan.model.path / "generation_config.json"
    if gen.is_file():
        try:
            g = json.loads(gen.read_text(encoding="utf-8"))
            for role in ("bos", "eos", "pad"):
                if f"{role}_token_id" in g:
                    g[f"{role}_token_id"] = _new_role_ids(plan, role, g[f"{role}_token_id"])
            files["generation_config.json"] = (json.dumps(g, indent=2) + "\n").encode("utf-8")
        except (OSError, ValueError):
            pass
    with atomic_dir(out, force) as tmp:
        fit_texts = None
        if by_text:  # auto measures fvt and omp on part of the text, the fit takes the rest
            tensors, info, fit_texts = _auto_by_text(plan, opts, files, Path(tmp), log)
        if opts.fit_head:
            tensors, info["fit_head"] = _fit_head(plan, opts, tensors, files, Path(tmp), log, fit_texts)
        write_model(plan.model, tmp, tensors, config_updates(plan), files)
    report = {**plan.summary(), **info, "output": str(out), "seconds": round(time.perf_counter() - t0, 3)}
    return report
