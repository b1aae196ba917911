"""PNG figures for `evaluate --plot DIR`: token premium per language, Lorenz curves, bytes/token by script.

matplotlib is an optional extra (`toktool[eval]`); it is imported only here, with the Agg backend, so
plotting works on headless cluster nodes. Every figure is written atomically.
"""

from __future__ import annotations

import io
from collections import defaultdict
from pathlib import Path

from ..atomic import check_output, write_bytes_atomic
from ..errors import ToktoolError
from . import metrics
from .table import ALL, EvalResult

_MAX_BARS = 40
PLOTS = ("premium.png", "lorenz.png", "bytes_per_token_by_script.png")


def _plt():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ToktoolError("--plot needs matplotlib (pip install 'toktool[eval]')") from None
    return plt


def check_plot_dir(out: str | Path, force: bool) -> Path:
    d = Path(out)
    if d.exists() and not d.is_dir():
        raise ToktoolError(f"--plot {d}: exists and is not a directory")
    for name in PLOTS:
        check_output(d / name, force)
    return d


def _save(fig, path: Path, force: bool) -> None:
    buf = io.BytesIO()
    # fixed metadata so the same numbers give the same bytes
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight", metadata={"Software": None})
    write_bytes_atomic(path, buf.getvalue(), force=force)


def _by_tokenizer(result: EvalResult) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    for r in result.rows:
        if r["language"] != ALL:
            out[r["tokenizer"]].append(r)
    return out


def write_plots(result: EvalResult, out: str | Path, force: bool = False) -> list[Path]:
    """Write the figures the data supports; returns the paths written."""
    plt = _plt()
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    per_tok = _by_tokenizer(result)
    written: list[Path] = []
    toks = list(per_tok)
    codes = [r["language"] for r in per_tok[toks[0]]] if toks else []

    if "token_premium" in result.columns and codes:
        pivot = result.options.get("pivot")
        if len(codes) <= _MAX_BARS:
            first = {r["language"]: r["token_premium"] or 0.0 for r in per_tok[toks[0]]}
            order = sorted(codes, key=lambda c: first[c])
            width = 0.8 / len(toks)
            fig, ax = plt.subplots(figsize=(max(6.0, 0.25 * len(order) * len(toks) + 2), 4.5))
            for k, t in enumerate(toks):
                vals = {r["language"]: r["token_premium"] or 0.0 for r in per_tok[t]}
                ax.bar([i + k * width for i in range(len(order))], [vals[c] for c in order], width=width, label=t)
            ax.set_xticks([i + 0.4 - width / 2 for i in range(len(order))])
            ax.set_xticklabels(order, rotation=90, fontsize=8)
        else:
            # too many languages for bars: each tokenizer's premiums sorted, on a log scale
            fig, ax = plt.subplots(figsize=(8, 4.5))
            for t in toks:
                vals = sorted(r["token_premium"] for r in per_tok[t] if r["token_premium"])
                ax.plot(range(1, len(vals) + 1), vals, label=t)
            ax.set_yscale("log")
            ax.set_xlabel(f"languages, sorted by premium ({len(codes)})")
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_ylabel(f"token premium vs {pivot}")
        ax.set_title("Tokens per language relative to the pivot (parallel text)")
        ax.legend()
        _save(fig, d / PLOTS[0], force)
        plt.close(fig)
        written.append(d / PLOTS[0])

    if len(codes) >= 2:
        fig, ax = plt.subplots(figsize=(5.5, 5))
        for t in toks:
            cost = [r["tokens"] / r["bytes"] for r in per_tok[t] if r["bytes"]]
            x, y = metrics.lorenz_curve(cost)
            g = metrics.gini(cost)
            ax.plot(x, y, label=f"{t} (Gini {g:.3f})" if g is not None else t)
        ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=0.8)
        ax.set_xlabel("cumulative share of languages (cheapest first)")
        ax.set_ylabel("cumulative share of tokens per byte")
        ax.set_title("Lorenz curves of per-language cost")
        ax.legend()
        _save(fig, d / PLOTS[1], force)
        plt.close(fig)
        written.append(d / PLOTS[1])

    if codes:
        scripts = sorted({r["script"] for r in per_tok[toks[0]]})
        width = 0.8 / len(toks)
        fig, ax = plt.subplots(figsize=(min(16.0, max(6.0, 0.3 * len(scripts) * len(toks) + 2)), 4.5))
        top = []
        for k, t in enumerate(toks):
            agg: dict[str, list[int]] = defaultdict(lambda: [0, 0])
            for r in per_tok[t]:
                agg[r["script"]][0] += r["bytes"]
                agg[r["script"]][1] += r["tokens"]
            vals = [agg[s][0] / agg[s][1] if agg[s][1] else 0.0 for s in scripts]
            top += [v for v in vals if v > 0]
            ax.bar([i + k * width for i in range(len(scripts))], vals, width=width, label=t)
        if top and max(top) / min(top) > 20:  # e.g. <unk>-squashed scripts: keep the rest readable
            ax.set_yscale("log")
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(scripts))])
        ax.set_xticklabels(scripts, rotation=60, ha="right", fontsize=8)
        ax.set_ylabel("bytes per token")
        ax.set_title("Compression by script (all languages of a script pooled)")
        ax.legend()
        _save(fig, d / PLOTS[2], force)
        plt.close(fig)
        written.append(d / PLOTS[2])
    return written
