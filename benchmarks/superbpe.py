"""SuperBPE against BPE on the same real text, one run: held-out compression, time and memory.

Trains BPE (the o200k pre-tokenizer that SuperBPE's stage 1 uses by default, and GPT-2's for
reference) and SuperBPE at transition points t in {0.25, 0.5, 0.75, 0.9} x V, all at V = 32k, each
end to end as a user runs it (`python -m toktool train ...`). Memory is the peak over the process tree
(sampled every 20 ms; summed PSS, plain RSS sum alongside), as in benchmarks/train_bpe.py. Held-out
bytes/token is measured with stock `tokenizers` on the held-out file, line by line.

    python benchmarks/superbpe.py --corpus build/bench/corpus.txt --heldout build/bench/heldout.txt \
        [--plot docs/superbpe.png]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_bpe import bytes_per_token, measure  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--heldout", type=Path, required=True)
    ap.add_argument("--vocab-size", type=int, default=32000)
    ap.add_argument("--fractions", default="0.25,0.5,0.75,0.9")
    ap.add_argument("--plot", type=Path, default=None, help="write bytes/token against t as a PNG")
    ap.add_argument("--json", type=Path, default=Path("build/bench/superbpe.json"))
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
    for name, frac, extra in configs:
        out = work / name.replace(" ", "_").replace("(", "").replace(")", "").replace("=", "")
        m = measure(base + extra + ["-o", str(out)], env)
        bpt, n = bytes_per_token(out / "tokenizer.json", args.heldout)
        info = json.loads((out / "train.json").read_text(encoding="utf-8"))
        row = {"name": name, "t_frac": frac, "t": round(frac * v) if frac else None, **m, "heldout_bytes_per_token": bpt, "heldout_tokens": n, "timings": info["timings"]}
        if "stage2" in info:
            row["stage2_dropped"] = info["stage2"]["dropped_long_pieces"]
        runs.append(row)
        print(f"  {name:18} {m['wall_s']:6.2f} s  PSS {m['peak_pss_mb']:5.0f} MB  held-out {bpt:.4f} bytes/token ({n:,} tokens)", flush=True)

    ref = runs[0]
    print()
    print("| tokenizer | t | held-out bytes/token | tokens vs BPE (o200k) | train time (s) | time vs BPE (o200k) | peak PSS (MB) | PSS / corpus | peak RSS sum (MB) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        print(
            f"| {r['name']} | {r['t'] or '-'} | {r['heldout_bytes_per_token']:.4f} | {r['heldout_tokens'] / ref['heldout_tokens'] - 1:+.1%} | "
            f"{r['wall_s']:.2f} | {r['wall_s'] / ref['wall_s']:.2f}x | {r['peak_pss_mb']:.0f} | {r['peak_pss_mb'] * 2**20 / size:.1f}x | {r['peak_rss_mb']:.0f} |"
        )
    print()
    print(f"corpus {size:,} bytes; 4x corpus = {4 * size / 2**20:.0f} MB")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"corpus_bytes": size, "vocab_size": v, "runs": runs}, indent=2))
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


if __name__ == "__main__":
    sys.exit(main())
