"""SuperBPE against BPE on the same real text, in one run: held-out compression, time and memory.

Trains BPE (the o200k pre-tokenizer that SuperBPE's stage 1 uses by default, and GPT-2's for
reference) and SuperBPE at transition points t in {0.25, 0.5, 0.75, 0.9} x V, all at V = 32k, each
end to end as a user runs it (`python -m toktool train ...`), in --repeat rounds (median time), then
once more for memory: the peak over the process tree (sampled every 20 ms; summed PSS, plain RSS sum
alongside), as in benchmarks/train_bpe.py; then peak memory of BPE and SuperBPE t=0.9V on leading parts of the corpus
and on --scale-corpus, for how it grows with the text. Held-out bytes/token is measured with stock
`tokenizers` on the held-out file, line by line.

    python benchmarks/superbpe.py --corpus build/bench/corpus.txt --heldout build/bench/heldout.txt \
        [--plot docs/superbpe.png] [--scale-corpus build/bench/corpus-scale.txt]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from proctree import measure  # noqa: E402
from train_bpe import bytes_per_token  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--heldout", type=Path, required=True)
    ap.add_argument("--vocab-size", type=int, default=32000)
    ap.add_argument("--fractions", default="0.25,0.5,0.75,0.9")
    ap.add_argument("--plot", type=Path, default=None, help="write bytes/token against t as a PNG")
    ap.add_argument("--json", type=Path, default=Path("build/bench/superbpe.json"))
    ap.add_argument("--repeat", type=int, default=3, help="timed rounds over all configurations (median time)")
    ap.add_argument(
        "--scaling",
        default="0.25,0.5",
        help="also train BPE (o200k) and SuperBPE t=0.9V on these leading fractions of the corpus, for "
        "peak memory against corpus size ('' to skip)",
    )
    ap.add_argument(
        "--scale-corpus",
        type=Path,
        default=None,
        help="a larger corpus for the same memory-scaling runs (make bench-scale-data builds one of ~50 MB)",
    )
    args = ap.parse_args()

    size = args.corpus.stat().st_size
    v = args.vocab_size
    print(f"corpus {args.corpus} ({size / 1e6:.1f} MB), held-out {args.heldout} ({args.heldout.stat().st_size / 1e6:.1f} MB), V = {v}, {os.cpu_count()} CPUs", flush=True)
    work = Path(tempfile.mkdtemp(prefix="toktool-superbpe-"))
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    base = [sys.executable, "-m", "toktool", "train", str(args.corpus), "--vocab-size", str(v), "-q", "--force"]
    runs: list[dict] = []
    configs = [("BPE (o200k)", None, ["--pretokenizer", "o200k"]), ("BPE (gpt2)", None, ["--pretokenizer", "gpt2"])]
    for f in [float(x) for x in args.fractions.split(",")]:
        configs.append((f"SuperBPE t={f:g}V", f, ["--algo", "superbpe", "--transition", str(f)]))
    # every configuration once per round, rounds repeated: a slow spell of the machine then hits all
    # configurations alike. Time is taken from runs with nothing else running (the memory sampler
    # would compete for the 2 cores), memory from one more, sampled, run each; the table gives the
    # median time and the peak
    trials: dict[str, list[dict]] = {name: [] for name, _, _ in configs}
    for rnd in range(args.repeat + 1):
        for name, _, extra in configs:
            out = work / name.replace(" ", "_").replace("(", "").replace(")", "").replace("=", "")
            m = measure(base + extra + ["-o", str(out)], env, sample=rnd == args.repeat)
            trials[name].append(m)
            print(f"  round {rnd + 1}: {name:18} {m['wall_s']:6.2f} s" + (f"  PSS {m['peak_pss_mb']:5.0f} MB" if "peak_pss_mb" in m else ""), flush=True)
    for name, frac, _ in configs:
        out = work / name.replace(" ", "_").replace("(", "").replace(")", "").replace("=", "")
        bpt, n = bytes_per_token(out / "tokenizer.json", args.heldout)
        info = json.loads((out / "train.json").read_text(encoding="utf-8"))
        ms = trials[name]
        m = {
            "wall_s": statistics.median(t["wall_s"] for t in ms[:-1]),
            "wall_s_all": [round(t["wall_s"], 3) for t in ms[:-1]],
            "wall_s_sampled": round(ms[-1]["wall_s"], 3),
            "peak_pss_mb": ms[-1]["peak_pss_mb"],
            "peak_rss_mb": ms[-1]["peak_rss_mb"],
        }
        row = {"name": name, "t_frac": frac, "t": round(frac * v) if frac else None, **m, "heldout_bytes_per_token": bpt, "heldout_tokens": n, "timings": info["timings"]}
        if "stage2" in info:
            row["stage2_dropped"] = info["stage2"]["dropped_long_pieces"]
        runs.append(row)
        print(f"  {name:18} median {m['wall_s']:6.2f} s  PSS {m['peak_pss_mb']:5.0f} MB  held-out {bpt:.4f} bytes/token ({n:,} tokens)", flush=True)

    ref = runs[0]
    print()
    print("| tokenizer | t | held-out bytes/token | tokens vs BPE (o200k) | median train time (s) | time vs BPE (o200k) | peak PSS (MB) | PSS / corpus | peak RSS sum (MB) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        print(
            f"| {r['name']} | {r['t'] or '-'} | {r['heldout_bytes_per_token']:.4f} | {r['heldout_tokens'] / ref['heldout_tokens'] - 1:+.1%} | "
            f"{r['wall_s']:.2f} | {r['wall_s'] / ref['wall_s']:.2f}x | {r['peak_pss_mb']:.0f} | {r['peak_pss_mb'] * 2**20 / size:.1f}x | {r['peak_rss_mb']:.0f} |"
        )
    print()
    print(f"corpus {size:,} bytes; 4x corpus = {4 * size / 2**20:.0f} MB")
    scaling = memory_scaling(args, work, base, env, runs, size) if args.scaling else []
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"corpus_bytes": size, "vocab_size": v, "runs": runs, "scaling": scaling}, indent=2))
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        sup = [r for r in runs if r["t_frac"]]
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot([r["t_frac"] for r in sup], [r["heldout_bytes_per_token"] for r in sup], marker="o", label="SuperBPE")
        for r, style in zip(runs[:2], ("--", ":")):
            ax.axhline(r["heldout_bytes_per_token"], linestyle=style, color="grey", label=r["name"])
        ax.set_xlabel("transition t / V")
        ax.set_ylabel("held-out bytes per token")
        ax.set_title(f"SuperBPE vs BPE, V = {v:,}, {size / 1e6:.0f} MB of text")
        ax.legend()
        fig.savefig(args.plot, dpi=120, bbox_inches="tight", metadata={"Software": None})
        print(f"wrote {args.plot}")
    return 0


def memory_scaling(args, work: Path, base: list[str], env: dict, runs: list[dict], size: int) -> list[dict]:
    """Peak PSS against corpus size: a fixed part (interpreter, libraries, vocabulary-sized tables)
    plus a part that grows with the text. The slope between the two largest sizes is what a larger
    corpus pays per byte."""
    full = {r["name"]: r["peak_pss_mb"] for r in runs}
    names = {"BPE (o200k)": ["--pretokenizer", "o200k"], "SuperBPE t=0.9V": ["--algo", "superbpe", "--transition", "0.9"]}
    points: list[dict] = []
    with open(args.corpus, "rb") as f:
        text = f.read()
    for frac in sorted(float(x) for x in args.scaling.split(",")):
        cut = text.rfind(b"\n", 0, int(len(text) * frac)) + 1
        part = work / f"prefix_{frac:g}.txt"
        part.write_bytes(text[:cut])
        row = {"fraction": frac, "bytes": cut}
        for name, extra in names.items():
            cmd = [base[0], base[1], base[2], base[3], str(part), *base[5:], *extra, "-o", str(work / f"scale_{frac:g}")]
            row[name] = measure(cmd, env)["peak_pss_mb"]
        points.append(row)
        part.unlink()
    del text
    points.append({"fraction": 1.0, "bytes": size, **{n: full[n] for n in names if n in full}})
    if args.scale_corpus:
        big = args.scale_corpus.stat().st_size
        row = {"fraction": big / size, "bytes": big, "path": str(args.scale_corpus)}
        for name, extra in names.items():
            cmd = [base[0], base[1], base[2], base[3], str(args.scale_corpus), *base[5:], *extra, "-o", str(work / "scale_big")]
            m = measure(cmd, env)
            row[name] = m["peak_pss_mb"]
            row[name + " wall_s"] = m["wall_s"]
        points.append(row)
    print()
    print("| corpus (MB) | " + " | ".join(f"{n} peak PSS (MB) | / corpus" for n in names) + " |")
    print("|---|" + "---|---|" * len(names))
    for p in points:
        cells = [f"{p.get(n, float('nan')):.0f} | {p.get(n, float('nan')) * 2**20 / p['bytes']:.2f}x" for n in names]
        print(f"| {p['bytes'] / 1e6:.1f} | " + " | ".join(cells) + " |")
    a, b = points[-2], points[-1]
    for n in names:
        if n in a and n in b:
            slope = (b[n] - a[n]) * 2**20 / (b["bytes"] - a["bytes"])
            print(f"{n}: {slope:.2f} bytes of peak PSS per corpus byte from {a['bytes'] / 1e6:.1f} to {b['bytes'] / 1e6:.1f} MB")
    return points


if __name__ == "__main__":
    sys.exit(main())
