"""toktool train vs Hugging Face BpeTrainer, measured in the same run on the same text.

Each trainer runs end to end in its own process (read the corpus, count, merge, write tokenizer.json),
`--repeats` times; we report the median wall time and the peak memory of the whole process tree
(toktool counts in worker processes), sampled every 20 ms as the sum of each process's PSS
(proportional set size: pages shared between processes are split between them, not counted twice),
with the plain RSS sum alongside. The timed toktool runs use the default kernel (the ahead-of-time build
that `make` makes); the JIT kernel is also run, once with an empty Numba cache and once cached. Both tokenizers then encode the held-out text, and the merge lists are
compared.

    python benchmarks/train_bpe.py --corpus build/bench/corpus.txt --heldout build/bench/heldout.txt
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

HF_SCRIPT = r"""
import sys
from tokenizers import Tokenizer, models, pre_tokenizers, trainers, decoders
corpus, vocab, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def lines():
    with open(corpus, encoding="utf-8", newline="") as f:
        yield from f
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
tok.decoder = decoders.ByteLevel()
trainer = trainers.BpeTrainer(vocab_size=vocab, show_progress=False, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
tok.train_from_iterator(lines(), trainer)
tok.save(out)
"""


def bytes_per_token(tokenizer_json: Path, heldout: Path) -> tuple[float, int]:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_json))
    with open(heldout, encoding="utf-8", newline="") as f:
        lines = list(f)
    n = sum(len(e.ids) for e in tok.encode_batch(lines, add_special_tokens=False))
    nbytes = sum(len(s.encode("utf-8")) for s in lines)
    return nbytes / n, n


def merges_of(tokenizer_json: Path) -> list:
    m = json.loads(tokenizer_json.read_text(encoding="utf-8"))["model"]["merges"]
    return [x if isinstance(x, list) else x.split(" ") for x in m]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--heldout", type=Path, required=True)
    ap.add_argument("--vocab-size", type=int, default=32000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", type=Path, default=Path("build/bench/train_bpe.json"))
    args = ap.parse_args()

    size = args.corpus.stat().st_size
    print(f"corpus {args.corpus} ({size / 1e6:.1f} MB), held-out {args.heldout} ({args.heldout.stat().st_size / 1e6:.1f} MB), "
          f"vocab {args.vocab_size}, gpt2 preset, {os.cpu_count()} CPUs, {args.repeats} repeats", flush=True)
    work = Path(tempfile.mkdtemp(prefix="toktool-bench-"))
    cache = work / "numba-cache"
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), PYTHONUNBUFFERED="1")
    ours = [sys.executable, "-m", "toktool", "train", str(args.corpus), "--vocab-size", str(args.vocab_size),
            "--pretokenizer", "gpt2", "-q", "--force", "-o"]
    hf = [sys.executable, "-c", HF_SCRIPT, str(args.corpus), str(args.vocab_size)]

    jit_env = dict(env, TOKTOOL_KERNEL="jit")
    cold = measure(ours + [str(work / "ours")], jit_env)  # JIT path, empty Numba cache: compiles the loop
    jit = measure(ours + [str(work / "ours")], jit_env)  # JIT path, cached
    print(f"toktool JIT kernel: cold cache {cold['wall_s']:.2f} s; cached {jit['wall_s']:.2f} s, {jit['peak_pss_mb']:.0f} MB", flush=True)
    runs: dict[str, list[dict]] = {"toktool": [], "hf": []}
    for i in range(args.repeats):  # interleaved, so drift in machine load hits both alike
        runs["hf"].append(measure(hf + [str(work / "hf.json")], env))
        runs["toktool"].append(measure(ours + [str(work / "ours")], env))
        print(f"  repeat {i + 1}: toktool {runs['toktool'][-1]['wall_s']:.2f} s, HF {runs['hf'][-1]['wall_s']:.2f} s", flush=True)

    summary = {}
    for name, rs in runs.items():
        summary[name] = {
            "wall_s": statistics.median(r["wall_s"] for r in rs),
            "peak_pss_mb": statistics.median(r["peak_pss_mb"] for r in rs),
            "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in rs),
        }
    bpt_ours, n_ours = bytes_per_token(work / "ours" / "tokenizer.json", args.heldout)
    bpt_hf, n_hf = bytes_per_token(work / "hf.json", args.heldout)
    summary["toktool"]["heldout_bytes_per_token"] = bpt_ours
    summary["hf"]["heldout_bytes_per_token"] = bpt_hf
    same = merges_of(work / "ours" / "tokenizer.json") == merges_of(work / "hf.json")
    timings = json.loads((work / "ours" / "train.json").read_text())["timings"]

    o, h = summary["toktool"], summary["hf"]
    print()
    print(f"| {'':22} | {'toktool':>10} | {'HF BpeTrainer':>13} | {'toktool / HF':>12} |")
    print(f"|{'-' * 24}|{'-' * 12}|{'-' * 15}|{'-' * 14}|")
    print(f"| {'wall time (s, median)':22} | {o['wall_s']:10.2f} | {h['wall_s']:13.2f} | {o['wall_s'] / h['wall_s']:12.2f} |")
    print(f"| {'peak memory PSS (MB)':22} | {o['peak_pss_mb']:10.0f} | {h['peak_pss_mb']:13.0f} | {o['peak_pss_mb'] / h['peak_pss_mb']:12.2f} |")
    print(f"| {'peak memory RSS sum (MB)':22} | {o['peak_rss_mb']:10.0f} | {h['peak_rss_mb']:13.0f} | {o['peak_rss_mb'] / h['peak_rss_mb']:12.2f} |")
    print(f"| {'held-out bytes/token':22} | {bpt_ours:10.4f} | {bpt_hf:13.4f} | {bpt_ours / bpt_hf:12.4f} |")
    print()
    print(f"toktool kernel in the timed runs: {timings.get('kernel')} (the AOT build `make` makes; JIT when it is missing)")
    print(f"toktool with TOKTOOL_KERNEL=jit: {jit['wall_s']:.2f} s, peak PSS {jit['peak_pss_mb']:.0f} MB "
          f"({jit['wall_s'] / h['wall_s']:.2f}x / {jit['peak_pss_mb'] / h['peak_pss_mb']:.2f}x HF); with an empty Numba cache {cold['wall_s']:.2f} s")
    print(f"toktool phases (last run): {timings}")
    print(f"merge lists identical: {same}; held-out tokens: toktool {n_ours}, HF {n_hf}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"corpus_bytes": size, "vocab_size": args.vocab_size, "jit_cold": cold, "jit_cached": jit, "summary": summary,
                                     "runs": runs, "merges_identical": same, "toktool_timings": timings}, indent=2))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
