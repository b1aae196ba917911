"""The tokenizer × language table behind `toktool evaluate`.

Each tokenizer encodes every line once, with its own library's batch API; all metrics are then computed
from the resulting id arrays (per-language unigram counts and totals), so adding a metric never adds an
encoding pass. The result is plain data (rows + metadata) that report.py renders in any format.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._version import __version__
from ..errors import CodecError, ToktoolError
from ..formats import Adapter
from ..options import EvalOptions
from . import metrics
from .catalog import METRICS
from .data import EvalData

SCHEMA = "toktool-evaluate/1"

PARALLEL = frozenset({"token_premium", "parity_ratio", "gini_lines"})
MULTI_LANG = frozenset({"token_premium", "parity_ratio", "gini", "gini_lines"})
BASE_COLUMNS = ["tokenizer", "language", "script", "lines", "bytes", "chars", "words", "tokens"]
ALL = "ALL"
_MIN_BATCH_LINES = 4096


@dataclass
class EvalResult:
    rows: list[dict]
    columns: list[str]
    tokenizers: list[dict]
    data: dict
    options: dict
    signature: str
    notes: list[str] = field(default_factory=list)

    @property
    def metric_columns(self) -> list[str]:
        """The columns after the base ones (tokenizer, language, ..., tokens): the metrics."""
        return [c for c in self.columns if c not in BASE_COLUMNS]

    def as_json(self) -> dict:
        return {
            "schema": SCHEMA,
            "signature": self.signature,
            "toktool_version": __version__,
            "options": self.options,
            "data": self.data,
            "tokenizers": self.tokenizers,
            "notes": self.notes,
            "columns": self.columns,
            "rows": [{c: r.get(c) for c in self.columns} for r in self.rows],
        }


def parse_metrics(spec: str | None) -> list[str] | None:
    """"a,b,c" as a list of metric names (None for an empty spec). Raises ToktoolError naming any
    unknown metric."""
    if not spec:
        return None
    names = [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise ToktoolError(f"--metrics: unknown metric {', '.join(map(repr, unknown))} (one of: {', '.join(METRICS)})")
    return list(dict.fromkeys(names))


def _resolve_metrics(data: EvalData, opts: EvalOptions) -> tuple[list[str], str | None, list[str]]:
    """Which metrics this run computes. Asked-for metrics the data cannot support are errors; the
    default set silently narrows to what the data supports and says so in the notes."""
    explicit = opts.metrics is not None
    wanted = list(opts.metrics) if explicit else list(METRICS)
    notes: list[str] = []
    codes = data.codes()

    def drop(names: set[str], why: str) -> None:
        hit = [m for m in wanted if m in names]
        if not hit:
            return
        if explicit:
            raise ToktoolError(f"{', '.join(hit)}: {why}")
        notes.append(f"skipped {', '.join(hit)}: {why}")
        wanted[:] = [m for m in wanted if m not in names]

    if opts.pivot is not None and opts.pivot not in codes:
        raise ToktoolError(f"--pivot: no data for {opts.pivot!r} (have: {', '.join(codes[:8])}{' ...' if len(codes) > 8 else ''})")
    if len(codes) < 2:
        drop(set(MULTI_LANG), "needs at least two languages")
    problem = data.parallel_problem()
    if problem:
        if opts.pivot is not None:
            raise ToktoolError(f"--pivot needs line-parallel data; {problem}")
        drop(set(PARALLEL), f"needs line-parallel data; {problem}")
    pivot = opts.pivot if opts.pivot is not None else ("eng" if "eng" in codes else None)
    if pivot is None:
        drop({"token_premium"}, "needs a pivot language (pass --pivot CODE)")
    if opts.baseline is None:
        if explicit:
            drop({"nsl"}, "needs --baseline TOKENIZER")
        wanted[:] = [m for m in wanted if m != "nsl"]  # no baseline is the usual case: no note
    return wanted, (pivot if "token_premium" in wanted else None), notes


def _encode_all(tok: Adapter, data: EvalData, advance: Callable[[int], None] | None) -> list[np.ndarray]:
    """Per-language id arrays, encoding many languages per batch call so the library's thread pool has
    enough lines to spread (UDHR languages have 30 lines each)."""
    out: list[np.ndarray] = []
    langs = data.languages
    i = 0
    while i < len(langs):
        j, n = i, 0
        while j < len(langs) and (n < _MIN_BATCH_LINES or j == i):
            n += len(langs[j].lines)
            j += 1
        batch = [s for lang in langs[i:j] for s in lang.lines]
        try:
            enc = tok.encode_lines(batch)
        except CodecError as e:
            raise _at_line(e, langs[i:j]) from None
        ends = np.cumsum(enc.lengths)
        start_line = 0
        for lang in langs[i:j]:
            stop_line = start_line + len(lang.lines)
            a = int(ends[start_line - 1]) if start_line else 0
            b = int(ends[stop_line - 1]) if stop_line else 0
            out.append(enc.ids[a:b])
            start_line = stop_line
        if advance is not None:
            advance(j - i)
        i = j
    return out


def _at_line(e: CodecError, langs: list) -> CodecError:
    """`e` naming the file and line of the failing item of a batch made of the languages' lines."""
    k = e.index
    if k is None:
        return e
    for lang in langs:
        if k < len(lang.lines):
            return e.at(lang.where(k))
        k -= len(lang.lines)
    return e


# follows a probe that ends in whitespace; a control character that no merge joins to a space
_AFTER_PROBE = "\x01"


def unreachable_tokens(tok: Adapter) -> tuple[list[int], int]:
    """(ids whose own string does not encode back to them, number of ids tested).

    A token that ends in whitespace (SuperBPE's `ofĠ`, `.Ġ`) comes out only with text after it:
    pre-tokenizers split whitespace off at the end of a text (`\\s+(?!\\S)`, SuperBPE's ` +(?!\\S)`).
    Such a token counts as reachable when its string followed by a character encodes to it followed
    by that character's own encoding. Raises CodecError naming the token when the library fails."""
    probes = tok.reachability_probes()
    ids = list(probes)
    texts = [probes[i] for i in ids]

    def encode(batch: list[str], names: list[str]) -> list[list[int]]:
        try:
            return tok.encode_probe_batch(batch)
        except CodecError as e:
            raise (e.at(f"its token {names[e.index]!r} (reachability check)") if e.index is not None else e) from None

    got = encode(texts, texts)
    bad = [i for i, g in zip(ids, got) if list(g) != [i]]
    trailing = [i for i in bad if probes[i][-1:].isspace()]
    if trailing:
        names = [probes[i] for i in trailing]
        *with_next, alone = encode([probes[i] + _AFTER_PROBE for i in trailing] + [_AFTER_PROBE], names + [_AFTER_PROBE])
        reached = {i for i, g in zip(trailing, with_next) if list(g) == [i, *alone]}
        bad = [i for i in bad if i not in reached]
    return bad, len(ids)


def _short(tok: Adapter) -> str:
    return f"{tok.name}@{tok.sha256[:8]}"


def signature(tokenizers: list[Adapter], data: EvalData, opts: EvalOptions, pivot: str | None) -> str:
    """One line that pins every number (sacrebleu style): version, tokenizer and data hashes, options."""
    parts = [
        "toktool-eval",
        f"v:{__version__}",
        "tok:" + ",".join(_short(t) for t in tokenizers),
        f"data:{data.sha256[:12]}",
        f"langs:{len(data.languages)}",
        f"lines:{sum(len(lang.lines) for lang in data.languages)}",
        f"pivot:{pivot or '-'}",
        f"baseline:{_short(opts.baseline) if opts.baseline else '-'}",
        f"alpha:{opts.alpha:g}",
        f"errors:{opts.errors}",
    ]
    return "|".join(parts)


@dataclass
class _Pass:
    """One tokenizer's encoding of all languages, reduced to what the metrics need."""

    rows: list[dict]
    totals: list[int]
    pooled: np.ndarray
    usable: np.ndarray


def _run_tokenizer(tok: Adapter, data: EvalData, want: set[str], alpha: float, advance) -> _Pass:
    per_lang = _encode_all(tok, data, advance)
    vsize = tok.vocab_size
    pooled = np.zeros(vsize, dtype=np.int64)
    rows = []
    for lang, ids in zip(data.languages, per_lang):
        bc = np.bincount(ids, minlength=vsize)
        if bc.size > pooled.size:  # ids beyond the declared size (added tokens): grow
            pooled = np.concatenate([pooled, np.zeros(bc.size - pooled.size, dtype=np.int64)])
        pooled[: bc.size] += bc
        n = int(ids.size)
        rows.append(
            {
                "tokenizer": tok.name,
                "language": lang.code,
                "script": lang.script,
                "lines": len(lang.lines),
                "bytes": lang.n_bytes,
                "chars": lang.n_chars,
                "words": lang.n_words,
                "tokens": n,
                "bytes_per_token": metrics.bytes_per_token(lang.n_bytes, n),
                "chars_per_token": metrics.chars_per_token(lang.n_chars, n),
                "fertility": metrics.fertility(n, lang.n_words, lang.script),
                "unk_rate": metrics.unk_rate(bc, tok.unk_id),
                "entropy": metrics.shannon_entropy(bc) if "entropy" in want else None,
                "renyi_efficiency": metrics.renyi_efficiency(bc, vsize, alpha) if "renyi_efficiency" in want else None,
            }
        )
    usable = np.ones(pooled.size, dtype=bool)
    usable[[i for i in tok.special_ids if i < usable.size]] = False
    return _Pass(rows=rows, totals=[r["tokens"] for r in rows], pooled=pooled, usable=usable)


def _tokenizer_info(tok: Adapter, p: _Pass, want: set[str], list_tokens: bool) -> tuple[dict, int, int | None]:
    info: dict = {
        "name": tok.name,
        "path": tok.path,
        "kind": tok.kind,
        "sha256": tok.sha256,
        "vocab_size": tok.vocab_size,
        "special_tokens": len(tok.special_ids),
    }
    never = np.flatnonzero((p.pooled == 0) & p.usable)
    strings: list[str] | None = None
    if "never_used" in want:
        strings = tok.token_strings()
        info["never_used_count"] = int(never.size)
        shown = never if list_tokens else never[:20]
        info["never_used" if list_tokens else "never_used_sample"] = [strings[i] for i in shown if i < len(strings)]
    unreachable_n = None
    if "unreachable" in want:
        bad, tested = unreachable_tokens(tok)
        strings = strings or tok.token_strings()
        unreachable_n = len(bad)
        info["reachability_tested"] = tested
        info["unreachable_count"] = len(bad)
        info["unreachable" if list_tokens else "unreachable_sample"] = [strings[i] for i in (bad if list_tokens else bad[:20])]
    return info, int(never.size), unreachable_n


def evaluate(
    tokenizers: Sequence[str | Path | Adapter],
    data: str | Path | EvalData | None = None,
    *,
    texts: Sequence[str] = (),
    stdin: bool = False,
    langs: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    pivot: str | None = None,
    baseline: str | Path | Adapter | None = None,
    alpha: float = EvalOptions.alpha,
    names: Sequence[str] = (),
    tiktoken_pattern: str | None = None,
    errors: str = EvalOptions.errors,
    list_tokens: bool = EvalOptions.list_tokens,
    advance: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> EvalResult:
    """Compression, fairness and information metrics of tokenizers side by side (design §3).

    tokenizers: paths (any format `load_tokenizer` reads) or Adapters; `names` gives display names in
    order. data: a directory with one text file or sub-directory per language (line-parallel for the
    parity metrics), or an EvalData; `texts` adds files as languages of their own ("CODE=FILE" or
    FILE), `stdin=True` reads stdin as one; `langs` picks and orders language codes. Each line is
    encoded on its own, without special tokens.
    metrics: names from `catalog.METRICS` (None: all the data supports); pivot: the token premium's
    reference language (default eng when present); baseline: the tokenizer NSL is measured against;
    alpha: the order of the Rényi entropy (Zouhar et al. 2023). `on_total(n)` is called once with the
    number of (tokenizer, language) passes, `advance(k)` as they finish.

    Returns an EvalResult (rows per tokenizer x language plus an ALL row each, with a signature that
    pins versions, hashes and options; `as_json()` follows docs/evaluate.schema.json). Raises
    InputError for unreadable tokenizers or data, ToktoolError for unknown metrics or languages."""
    from ..formats import load_tokenizer
    from .data import load_eval_data

    wanted = list(dict.fromkeys(metrics)) if metrics else None
    if wanted:
        parse_metrics(",".join(wanted))
    toks = [
        t if isinstance(t, Adapter) else load_tokenizer(t, names[i] if i < len(names) else None, tiktoken_pattern)
        for i, t in enumerate(tokenizers)
    ]
    base = None
    if baseline is not None:
        if isinstance(baseline, Adapter):
            base = baseline
        else:
            base = next((t for t in toks if t.path == str(baseline) or t.name == str(baseline)), None)
            base = base or load_tokenizer(baseline, None, tiktoken_pattern)
    if not isinstance(data, EvalData):
        data = load_eval_data(None if data is None else str(data), list(texts), stdin, list(langs) if langs else None, errors)
    opts = EvalOptions(metrics=wanted, pivot=pivot, baseline=base, alpha=alpha, errors=errors, list_tokens=list_tokens)
    if on_total is not None:
        on_total(len(toks) * len(data.languages))
    return evaluate_loaded(toks, data, opts, advance)


def evaluate_loaded(
    tokenizers: list[Adapter],
    data: EvalData,
    opts: EvalOptions,
    advance: Callable[[int], None] | None = None,
) -> EvalResult:
    """`evaluate` on tokenizers and data already loaded, with the options as an EvalOptions."""
    names = [t.name for t in tokenizers]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ToktoolError(f"two tokenizers are named {dupes[0]!r}; give them distinct names with --name")
    wanted, pivot, notes = _resolve_metrics(data, opts)
    want = set(wanted)
    langs = data.languages
    pivot_idx = data.codes().index(pivot) if pivot else None

    passes = [_run_tokenizer(t, data, want, opts.alpha, advance) for t in tokenizers]
    base_totals: list[int] | None = None
    if opts.baseline is not None and "nsl" in want:
        b = opts.baseline
        same = next((k for k, t in enumerate(tokenizers) if t.sha256 == b.sha256 and t.kind == b.kind), None)
        base_totals = passes[same].totals if same is not None else [int(x.size) for x in _encode_all(b, data, None)]

    rows: list[dict] = []
    tok_info: list[dict] = []
    tot_b = sum(lang.n_bytes for lang in langs)
    tot_c = sum(lang.n_chars for lang in langs)
    for tok, p in zip(tokenizers, passes):
        if base_totals is not None:
            for row, bt in zip(p.rows, base_totals):
                row["nsl"] = metrics.nsl(row["tokens"], bt)
        if pivot_idx is not None:
            for row in p.rows:
                row["token_premium"] = metrics.token_premium(row["tokens"], p.totals[pivot_idx])
        info, never_n, unreachable_n = _tokenizer_info(tok, p, want, opts.list_tokens)
        tok_info.append(info)
        tot_t = sum(p.totals)
        spaced = [(r["tokens"], r["words"]) for r in p.rows if r["fertility"] is not None]
        rows.append(
            {
                "tokenizer": tok.name,
                "language": ALL,
                "script": None,
                "lines": sum(len(lang.lines) for lang in langs),
                "bytes": tot_b,
                "chars": tot_c,
                "words": sum(lang.n_words for lang in langs),
                "tokens": tot_t,
                "bytes_per_token": metrics.bytes_per_token(tot_b, tot_t),
                "chars_per_token": metrics.chars_per_token(tot_c, tot_t),
                "fertility": metrics.fertility(sum(t for t, _ in spaced), sum(w for _, w in spaced)) if spaced else None,
                "nsl": metrics.nsl(tot_t, sum(base_totals)) if base_totals is not None else None,
                "token_premium": None,
                "unk_rate": metrics.unk_rate(p.pooled, tok.unk_id),
                "entropy": metrics.shannon_entropy(p.pooled) if "entropy" in want else None,
                "renyi_efficiency": metrics.renyi_efficiency(p.pooled, tok.vocab_size, opts.alpha) if "renyi_efficiency" in want else None,
                "parity_ratio": metrics.parity_ratio(p.totals) if "parity_ratio" in want else None,
                # cost per byte = tokens / bytes (the inverse of bytes per token)
                "gini": metrics.gini([r["tokens"] / r["bytes"] for r in p.rows if r["bytes"]]) if "gini" in want else None,
                "gini_lines": metrics.gini(p.totals) if "gini_lines" in want else None,
                "vocab_utilization": metrics.vocab_utilization(p.pooled, p.usable),
                "never_used": never_n,
                "unreachable": unreachable_n,
            }
        )
        rows.extend(p.rows)

    columns = BASE_COLUMNS + wanted
    options = {
        "metrics": wanted,
        "pivot": pivot,
        "baseline": _short(opts.baseline) if opts.baseline else None,
        "alpha": opts.alpha,
        "errors": opts.errors,
    }
    data_info = {
        "sources": data.sources,
        "sha256": data.sha256,
        "parallel": data.parallel,
        "languages": [
            {"code": lang.code, "source": lang.source, "script": lang.script, "lines": len(lang.lines), "bytes": lang.n_bytes, "sha256": lang.sha256}
            for lang in langs
        ],
    }
    return EvalResult(
        rows=rows,
        columns=columns,
        tokenizers=tok_info,
        data=data_info,
        options=options,
        signature=signature(tokenizers, data, opts, pivot),
        notes=notes,
    )
