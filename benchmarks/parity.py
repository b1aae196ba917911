"""Parity-aware BPE against plain BPE on parallel text, one run: fairness, total tokens, time, memory.

Data: the UDHR (data/udhr/, 30 line-parallel articles per language), split by article into training
(1-20), dev (21-25, parity-aware BPE's parallel dev set) and held-out (26-30, used by neither).
Both tokenizers train on the same training text with the gpt2 pre-tokenizer; plain BPE gets the
vocabulary size that parity-aware BPE reached. Held-out metrics come from toktool.evaluation:
per-language tokens per byte, its Gini coefficient (Tok##Suite formula) and the token premium
against English. Then the same on every UDHR language (521) for time and memory.

    python benchmarks/parity.py [--vocab-size 4000] [--plot docs/parity.png]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from proctree import measure  # noqa: E402

from toktool.evaluation import ALL, EvalOptions  # noqa: E402
from toktool.evaluation import evaluate_loaded as evaluate  # noqa: E402
from toktool.evaluation.data import load_eval_data  # noqa: E402
from toktool.formats import load_tokenizer  # noqa: E402

LANGS = (
    "eng deu_1996 fra spa por_PT ita nld pol ces fin hun tur vie ind swh yor rus ukr bul ell_monotonic "
    "arb pes_1 urd heb hin ben tam tel tha kor jpn cmn_hans amh kat hye"
).split()


def split_udhr(codes: list[str], root: Path, mono: Path | None = None) -> None:
    """train/<code>/udhr.txt (+ mono.txt for languages with monolingual text), dev/, heldout/."""
    for part in ("train", "dev", "heldout"):
        (root / part).mkdir(parents=True, exist_ok=True)
    for c in codes:
        lines = (ROOT / "data" / "udhr" / f"{c}.txt").read_text(encoding="utf-8").split("\n")[:30]
        (root / "train" / c).mkdir(exist_ok=True)
        (root / "train" / c / "udhr.txt").write_text("\n".join(lines[:20]) + "\n", encoding="utf-8")
        if mono is not None and (mono / f"{c}.txt").is_file():
            (root / "train" / c / "mono.txt").write_bytes((mono / f"{c}.txt").read_bytes())
        (root / "dev" / f"{c}.txt").write_text("\n".join(lines[20:25]) + "\n", encoding="utf-8")
        (root / "heldout" / f"{c}.txt").write_text("\n".join(lines[25:30]) + "\n", encoding="utf-8")


def run(codes: list[str], vocab: int, work: Path, env: dict, label: str, mono: Path | None = None, extra: tuple[str, ...] = ()) -> dict:
    split_udhr(codes, work, mono)
    py = [sys.executable, "-m", "toktool", "train", "-q", "--force"]
    pa = measure(py + ["--algo", "parity", "--langs", str(work / "train"), "--dev", str(work / "dev"), "--vocab-size", str(vocab), *extra, "-o", str(work / "parity")], env)
    info = json.loads((work / "parity" / "train.json").read_text(encoding="utf-8"))
    reached = info["result"]["vocab_size"]
    bpe = measure(py + [str(work / "train"), "--vocab-size", str(reached), "-o", str(work / "bpe")], env)
    toks = [load_tokenizer(work / "bpe", name="BPE"), load_tokenizer(work / "parity", name="parity")]
    data = load_eval_data(str(work / "heldout"), [], False, None)
    res = evaluate(toks, data, EvalOptions(metrics=["bytes_per_token", "token_premium", "gini", "gini_lines", "parity_ratio"], pivot="eng"))
    rows = res.rows
    summary = {r["tokenizer"]: r for r in rows if r["language"] == ALL}
    per = {}
    for r in rows:
        if r["language"] != ALL:
            per.setdefault(r["language"], {"script": r["script"], "bytes": r["bytes"]})[r["tokenizer"]] = r
    corpus = sum(f.stat().st_size for f in (work / "train").rglob("*.txt"))
    return {"label": label, "extra": list(extra), "codes": codes, "vocab_asked": vocab, "vocab": reached, "stop": info["result"]["stop"], "parity_run": pa, "bpe_run": bpe,
            "summary": summary, "per": per, "signature": res.signature, "train_bytes": corpus, "timings": info["timings"]}


def report(r: dict) -> None:
    n_scripts = len({v["script"] for v in r["per"].values()})
    print(f"\n## {r['label']}: {len(r['codes'])} languages, {n_scripts} scripts, train {r['train_bytes'] / 1e6:.2f} MB; parity options {' '.join(r['extra']) or '(defaults)'}")
    print(f"vocab asked {r['vocab_asked']}, parity-aware BPE reached {r['vocab']} ({r['stop']}); plain BPE trained to the same size\n")
    if len(r["per"]) <= 40:
        print("| language | script | held-out bytes | BPE tokens | parity tokens | BPE premium | parity premium |")
        print("|---|---|---|---|---|---|---|")
        for code, p in r["per"].items():
            b, q = p["BPE"], p["parity"]
            print(f"| {code} | {p['script']} | {p['bytes']:,} | {b['tokens']:,} | {q['tokens']:,} | {b['token_premium']:.3f} | {q['token_premium']:.3f} |")
        print()
    sb, sp = r["summary"]["BPE"], r["summary"]["parity"]
    print("| | BPE | parity-aware BPE | parity / BPE |")
    print("|---|---|---|---|")
    print(f"| Gini of tokens per byte (held-out) | {sb['gini']:.4f} | {sp['gini']:.4f} | {sp['gini'] / sb['gini']:.2f}x |")
    print(f"| Gini of tokens per aligned text (held-out) | {sb['gini_lines']:.4f} | {sp['gini_lines']:.4f} | {sp['gini_lines'] / sb['gini_lines']:.2f}x |")
    print(f"| parity ratio max/min tokens | {sb['parity_ratio']:.3f} | {sp['parity_ratio']:.3f} | |")
    print(f"| total held-out tokens | {sb['tokens']:,} | {sp['tokens']:,} | {sp['tokens'] / sb['tokens'] - 1:+.2%} |")
    print(f"| training wall time (s) | {r['bpe_run']['wall_s']:.2f} | {r['parity_run']['wall_s']:.2f} | |")
    print(f"| peak memory, summed PSS (MB) | {r['bpe_run']['peak_pss_mb']:.0f} | {r['parity_run']['peak_pss_mb']:.0f} | |")
    print(f"parity phases: {r['timings']}")
    print(r["signature"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vocab-size", type=int, default=8000)
    ap.add_argument("--mono", type=Path, default=ROOT / "build" / "bench" / "multi", help="monolingual text per language (scripts/fetch_multilingual.sh)")
    ap.add_argument("--plot", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=Path("build/bench/parity.json"))
    args = ap.parse_args()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    work = Path(tempfile.mkdtemp(prefix="toktool-parity-"))
    runs = []
    runs.append(run(LANGS, args.vocab_size, work / "balanced", env, "balanced: UDHR only (the reference's stop rule)"))
    runs.append(run(LANGS, args.vocab_size, work / "balanced_skip", env, "balanced: UDHR only, exhausted languages drop out", extra=("--exhausted", "skip")))
    if args.mono.is_dir():
        high = sorted(p.stem for p in args.mono.glob("*.txt"))
        runs.append(run(LANGS, args.vocab_size, work / "imbalanced", env, f"imbalanced: + ~3 MB monolingual text for {', '.join(high)}", mono=args.mono, extra=("--exhausted", "skip")))
    else:
        print(f"(no {args.mono}: skipping the imbalanced setting; run scripts/fetch_multilingual.sh)")
    codes = sorted(p.name[:-4] for p in (ROOT / "data" / "udhr").glob("*.txt"))
    runs.append(run(codes, args.vocab_size, work / "all", env, "all UDHR languages", extra=("--exhausted", "skip")))
    for r in runs:
        report(r)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(runs, indent=2, default=str))
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        shown = [r for r in runs if len(r["per"]) <= 40]
        fig, axes = plt.subplots(len(shown), 1, figsize=(12, 3.6 * len(shown)), squeeze=False)
        for ax, r in zip(axes[:, 0], shown):
            sb, sp = r["summary"]["BPE"], r["summary"]["parity"]
            order = sorted(r["per"], key=lambda c: r["per"][c]["BPE"]["token_premium"])
            x = range(len(order))
            ax.bar([i - 0.2 for i in x], [r["per"][c]["BPE"]["token_premium"] for c in order], width=0.4, label=f"BPE (Gini/line {sb['gini_lines']:.3f})")
            ax.bar([i + 0.2 for i in x], [r["per"][c]["parity"]["token_premium"] for c in order], width=0.4, label=f"parity-aware (Gini/line {sp['gini_lines']:.3f})")
            ax.axhline(1.0, color="black", linewidth=0.8)
            ax.set_xticks(list(x))
            ax.set_xticklabels(order, rotation=90, fontsize=7)
            ax.set_ylabel("premium vs eng")
            ax.set_title(f"{r['label']} (V = {r['vocab']:,})", fontsize=9)
            ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=110, metadata={"Software": None})
        print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
