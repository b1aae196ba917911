"""toktool against the trainers a user would otherwise pick, at corpus scale, in one run.

Why: at hundreds of MB to GB of text the question is no longer "does toktool beat BpeTrainer on 26 MB"
but how its time and memory grow against the fastest trainers people use. This script trains, on the
same text, with the same regex (GPT-2's: toktool `--pretokenizer gpt2`) and the same vocabulary size
(32k by default), each trainer in its own process, one after another (never two at once):

  toktool            `toktool train FILE --vocab-size V --pretokenizer gpt2`
  toktool-parquet    the same on the Parquet copy of the corpus (skipped, with the reason, when there is
                     no copy or this toktool cannot read Parquet)
  hf-files           Hugging Face tokenizers `Tokenizer.train([FILE])`: Rust reads and splits the file
  hf-iter            `Tokenizer.train_from_iterator` over the file's lines from a Python generator
  rustbpe            rustbpe (PyPI 0.1.0, nanochat's trainer) `train_from_iterator(lines, V, pattern=GPT2)`
  bpeasy             bpeasy (PyPI 0.1.6) `train_bpe(lines, GPT2, max_token_length, V)`
  toktool-superbpe   `toktool train FILE --algo superbpe --transition 0.9 --pretokenizer gpt2`

Every trainer sees the text line by line (lines keep their "\\n"), as HF's `train(files)` reads it.
HF is configured as benchmarks/train_bpe.py configures it to equal toktool (ByteLevel pre-tokenizer
with use_regex=True, BpeTrainer with the byte-level initial alphabet, no min-frequency); rustbpe and
bpeasy get toktool's GPT-2 pattern and their default batch sizes; bpeasy's max_token_length is set so
large that it never binds (HF and toktool have no limit).

Measured per run: wall time (`--timeout` per run: a slower trainer is killed and recorded as timed out),
peak PSS and RSS sum of the whole process tree (benchmarks/proctree.py, sampled every 50 ms), MB/s,
merges against hf-files on the same text ("identical", or "N of M first merges equal" with the shared
count: rustbpe and bpeasy may break ties differently; their vocab ids are byte-ordered, so merges are
compared as byte pairs), held-out bytes/token encoded with each result through `tokenizers` (rustbpe's
and bpeasy's ranks are converted to a tokenizer.json; tiktoken on the same ranks gives a cross-check
count). Ratios toktool / rustbpe and toktool / HF come from the same run only.

Corpora (`--sizes`, from `make bench-data` and `make bench-linux-data`, under --data-dir):
  26M   build/bench/corpus.txt (English prose and technical text; held-out heldout.txt)
  50M, 300M, 1G   prefixes of the Linux 6.1 sources (held-out: linux-heldout.txt, from the end)

Writes build/bench/scale.json (`--append` keeps earlier results of other sizes/trainers in it), prints a
Markdown table, and plots time and peak memory against corpus size, log-log, for every trainer in the
JSON (`--plot`, default docs/scale.png).

    make bench-scale
    PYTHONPATH=. .venv/bin/python benchmarks/scale.py --sizes 26M,300M [--trainers toktool,hf-files,rustbpe]
        [--timeout 3600] [--toktool "CMD"] [--append]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from proctree import measure  # noqa: E402
from train_bpe import bytes_per_token, merges_of  # noqa: E402

# the pattern toktool's gpt2 preset uses (toktool/pretokenize/presets.py), spelled out so that this
# script runs the other trainers without importing toktool
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

SIZES = {  # name: (corpus, held-out, Parquet copy, kind)
    "26M": ("corpus.txt", "heldout.txt", "corpus.parquet", "prose"),
    "50M": ("linux-50M.txt", "linux-heldout.txt", None, "linux"),
    "300M": ("linux-300M.txt", "linux-heldout.txt", "linux-300M.parquet", "linux"),
    "1G": ("linux-1G.txt", "linux-heldout.txt", "linux-1G.parquet", "linux"),
}
TRAINERS = ["toktool", "toktool-parquet", "hf-files", "hf-iter", "rustbpe", "bpeasy", "toktool-superbpe"]
BPEASY_MAX_TOKEN_LENGTH = 1 << 20

# One script for the four non-toktool trainers: reads the corpus, trains, writes its result, as a user
# would. HF writes tokenizer.json; rustbpe and bpeasy write their ranks (token bytes, base64, by rank).
TRAINER_SCRIPT = r"""
import base64, json, sys
mode, corpus, vocab, out, pattern = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]

def lines():
    with open(corpus, encoding="utf-8", newline="") as f:
        yield from f

def save_ranks(pairs):
    ranks = sorted(pairs, key=lambda p: p[1])
    with open(out, "w") as f:
        json.dump([[base64.b64encode(bytes(t)).decode(), r] for t, r in ranks], f)

if mode.startswith("hf-"):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    if mode == "hf-files":
        tok.train([corpus], trainer)
    else:
        tok.train_from_iterator(lines(), trainer)
    tok.save(out)
elif mode == "rustbpe":
    import rustbpe
    tok = rustbpe.Tokenizer()
    tok.train_from_iterator(lines(), vocab, pattern=pattern)
    save_ranks(tok.get_mergeable_ranks())
elif mode == "bpeasy":
    import bpeasy
    vocab_map = bpeasy.train_bpe(lines(), pattern, int(sys.argv[6]), vocab)
    save_ranks(vocab_map.items())
else:
    sys.exit("unknown mode " + mode)
"""


def parse_size(s: str) -> int:
    mult = {"K": 10**3, "M": 10**6, "G": 10**9}
    return int(float(s[:-1]) * mult[s[-1].upper()]) if s[-1].upper() in mult else int(s)


def byte_level_maps() -> tuple[dict[int, str], dict[str, int]]:
    """GPT-2's bytes <-> printable characters mapping (what ByteLevel tokenizer.json files use)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    enc = {b: chr(c) for b, c in zip(bs, cs)}
    return enc, {c: b for b, c in enc.items()}


BYTE_ENC, BYTE_DEC = byte_level_maps()


def to_str(b: bytes) -> str:
    return "".join(BYTE_ENC[x] for x in b)


def to_bytes(s: str) -> bytes:
    return bytes(BYTE_DEC[c] for c in s)


def merges_from_ranks(ranks: list[bytes]) -> list[tuple[bytes, bytes]]:
    """Merges implied by a rank-ordered vocabulary (tiktoken's layout: 256 single bytes, then one token
    per merge): the merge that made token r is what byte-level BPE with the ranks below r leaves of its
    bytes, which is two parts."""
    rank = {t: i for i, t in enumerate(ranks)}
    merges = []
    for r, tok in enumerate(ranks):
        if len(tok) < 2:
            continue
        parts = [bytes([b]) for b in tok]
        while len(parts) > 2:
            best = None
            for i in range(len(parts) - 1):
                q = rank.get(parts[i] + parts[i + 1])
                if q is not None and q < r and (best is None or q < best[0]):
                    best = (q, i)
            if best is None:
                break
            i = best[1]
            parts[i : i + 2] = [parts[i] + parts[i + 1]]
        if len(parts) != 2:
            raise ValueError(f"token {tok!r} (rank {r}) is not one merge of two lower-ranked tokens")
        merges.append((parts[0], parts[1]))
    return merges


def ranks_to_tokenizer_json(ranks: list[bytes], dest: Path) -> list[tuple[bytes, bytes]]:
    """A byte-level BPE tokenizer.json (GPT-2 pre-tokenizer, ids = ranks) for rustbpe/bpeasy output."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    merges = merges_from_ranks(ranks)
    vocab = {to_str(t): i for i, t in enumerate(ranks)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[(to_str(a), to_str(b)) for a, b in merges]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.save(str(dest))
    return merges


def tiktoken_tokens(ranks: list[bytes], heldout: Path) -> int | None:
    """Held-out token count with tiktoken on the same ranks (how nanochat encodes with rustbpe's)."""
    try:
        import tiktoken
    except ImportError:
        return None
    enc = tiktoken.Encoding("scale", pat_str=GPT2_PATTERN, mergeable_ranks={t: i for i, t in enumerate(ranks)}, special_tokens={})
    with open(heldout, encoding="utf-8", newline="") as f:
        lines = list(f)
    return sum(len(x) for x in enc.encode_ordinary_batch(lines))


def compare_merges(ours: list[tuple[bytes, bytes]], ref: list[tuple[bytes, bytes]]) -> dict:
    prefix = 0
    for a, b in zip(ours, ref):
        if a != b:
            break
        prefix += 1
    shared = len(set(ours) & set(ref))
    identical = ours == ref
    text = "identical" if identical else f"{prefix:,} of {len(ref):,} first merges equal, {shared:,} shared"
    return {"identical": identical, "equal_prefix": prefix, "shared": shared, "merges": len(ours), "ref_merges": len(ref), "text": text}


def hf_merges(tokenizer_json: Path) -> list[tuple[bytes, bytes]]:
    return [(to_bytes(a), to_bytes(b)) for a, b in merges_of(tokenizer_json)]


def git_head(path: Path) -> str:
    try:
        head = subprocess.run(["git", "-C", str(path), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(path), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip()
        return head + ("+dirty" if dirty else "") if head else "?"
    except OSError:
        return "?"


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for p in ("tokenizers", "rustbpe", "bpeasy", "pyarrow", "numba", "regex"):
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            out[p] = None
    return out


def run_one(trainer: str, size: str, args, work: Path, env: dict, toktool_cmd: list[str]) -> dict:
    """Train once with one trainer on one corpus; the row for the results (status ok/skipped/timeout/failed)."""
    corpus_name, heldout_name, parquet_name, kind = SIZES[size]
    corpus = args.data_dir / corpus_name
    row: dict = {"size": size, "trainer": trainer, "corpus": str(corpus), "kind": kind, "bytes": corpus.stat().st_size}
    out = work / size / trainer
    out.parent.mkdir(parents=True, exist_ok=True)
    v = str(args.vocab_size)
    if trainer.startswith("toktool"):
        src = corpus
        extra = ["--pretokenizer", "gpt2"]
        if trainer == "toktool-parquet":
            if parquet_name is None or not (args.data_dir / parquet_name).exists():
                return {**row, "status": "skipped", "reason": f"no Parquet copy of the {size} corpus"}
            src = args.data_dir / parquet_name
            row["input"] = str(src)
        elif trainer == "toktool-superbpe":
            extra += ["--algo", "superbpe", "--transition", "0.9"]
        cmd = toktool_cmd + ["train", str(src), "--vocab-size", v, *extra, "-q", "--force", "-o", str(out)]
        tok_json = out / "tokenizer.json"
    else:
        tok_json = out / "tokenizer.json"
        dest = tok_json if trainer.startswith("hf-") else out / "ranks.json"
        out.mkdir(parents=True, exist_ok=True)
        cmd = [args.python, "-c", TRAINER_SCRIPT, trainer, str(corpus), v, str(dest), GPT2_PATTERN, str(BPEASY_MAX_TOKEN_LENGTH)]
    row["command"] = shlex.join(cmd[:2] + ["<script>"] + cmd[3:]) if cmd[1] == "-c" else shlex.join(cmd)
    print(f"[{time.strftime('%H:%M:%S')}] {size} {trainer} ...", flush=True)
    # run from the work folder: `python -m toktool` puts the current folder first on sys.path, which
    # would otherwise pick whatever toktool sits there instead of the one --toktool/PYTHONPATH names
    m = measure(cmd, env, interval=0.05, timeout=args.timeout, check=False, cwd=str(work))
    # the machine's load while it ran (1-minute average at its end): on a shared machine it says how much
    # a time is to be trusted; the ratios compare runs made minutes apart under what load there was
    row.update(wall_s=round(m["wall_s"], 2), peak_pss_mb=round(m["peak_pss_mb"], 1), peak_rss_mb=round(m["peak_rss_mb"], 1),
               loadavg_1m=round(os.getloadavg()[0], 2))
    if m["timed_out"]:
        row.update(status="timeout", reason=f"killed after {args.timeout:g} s")
    elif m["returncode"] != 0:
        last = [ln for ln in m["stderr"].strip().splitlines() if ln.strip()]
        status = "skipped" if trainer == "toktool-parquet" else "failed"
        row.update(status=status, reason=f"exit {m['returncode']}: {last[-1] if last else ''}"[:300])
    else:
        row["status"] = "ok"
        row["mb_per_s"] = round(row["bytes"] / 1e6 / m["wall_s"], 2)
    print(f"    {row['status']} {row['wall_s']:.1f} s, peak PSS {row['peak_pss_mb']:.0f} MB, load {row['loadavg_1m']:.1f}"
          + (f" ({row['reason']})" if "reason" in row else ""), flush=True)
    if row["status"] != "ok":
        return row
    if trainer.startswith("toktool"):
        info = json.loads((out / "train.json").read_text(encoding="utf-8"))
        row["timings"] = info.get("timings")
        got = info.get("corpus", {}).get("bytes")
        if trainer == "toktool-parquet" and got != row["bytes"]:
            # a toktool without a Parquet reader reads the file as (invalid) text
            return {**row, "status": "skipped",
                    "reason": f"toktool read {got} bytes of text from the Parquet copy, not {row['bytes']}: no Parquet reader"}
    heldout = args.data_dir / heldout_name
    if trainer in ("rustbpe", "bpeasy"):
        ranks = [base64.b64decode(t) for t, _ in json.loads((out / "ranks.json").read_text())]
        row["vocab"] = len(ranks)
        try:
            row["_merges"] = ranks_to_tokenizer_json(ranks, tok_json)
        except ValueError as e:
            row["note"] = f"not convertible to tokenizer.json ({e}); held-out through tiktoken"
            n = tiktoken_tokens(ranks, heldout)
            row["heldout_tokens"] = n
            row["heldout_bytes_per_token"] = round(heldout.stat().st_size / n, 4) if n else None
            return row
        row["heldout_tokens_tiktoken"] = tiktoken_tokens(ranks, heldout)
    else:
        row["_merges"] = hf_merges(tok_json)
    bpt, n = bytes_per_token(tok_json, heldout)
    row.update(heldout=str(heldout), heldout_bytes_per_token=round(bpt, 4), heldout_tokens=n)
    return row


def table(rows: list[dict]) -> str:
    head = ("| corpus | trainer | wall (s) | MB/s | peak PSS (MB) | PSS / corpus | merges vs hf-files | "
            "held-out bytes/token |\n|---|---|---:|---:|---:|---:|---|---:|")
    lines = [head]
    for r in rows:
        size = f"{r['size']} {r['kind']}"
        if r["status"] != "ok":
            wall = f"> {r['wall_s']:.0f}" if r["status"] == "timeout" else "-"
            reason = r.get("reason", "")
            reason = reason if len(reason) <= 110 else reason[:107] + "..."
            lines.append(f"| {size} | {r['trainer']} | {wall} | - | - | - | {r['status']}: {reason} | - |")
            continue
        t = r.get("timings") or {}
        phases = f" (count {t['count_s']:.1f} + merge {t['merge_s']:.1f})" if "count_s" in t and "merge_s" in t else ""
        bpt = r.get("heldout_bytes_per_token")
        merges = "(the reference)" if r["trainer"] == "hf-files" else r.get("merges_vs_hf", {}).get("text", "-")
        lines.append(
            f"| {size} | {r['trainer']} | {r['wall_s']:.1f}{phases} | {r['mb_per_s']:.2f} | {r['peak_pss_mb']:.0f} | "
            f"{r['peak_pss_mb'] * 2**20 / r['bytes']:.2f}x | {merges} | "
            + (f"{bpt:.4f} |" if bpt else "- |")
        )
    return "\n".join(lines)


def ratios(rows: list[dict]) -> list[dict]:
    """toktool / X for wall time and peak PSS, per corpus, only between rows of the same run."""
    out = []
    for size in dict.fromkeys(r["size"] for r in rows):
        by = {r["trainer"]: r for r in rows if r["size"] == size and r["status"] == "ok"}
        for ours in ("toktool", "toktool-parquet", "toktool-superbpe"):
            for ref in ("rustbpe", "hf-files", "hf-iter", "bpeasy", "toktool"):
                a, b = by.get(ours), by.get(ref)
                if a and b and ours != ref and a["run_id"] == b["run_id"]:
                    out.append({"size": size, "ours": ours, "ref": ref, "wall": round(a["wall_s"] / b["wall_s"], 3),
                                "pss": round(a["peak_pss_mb"] / b["peak_pss_mb"], 3)})
    return out


def plot(results: list[dict], dest: Path, vocab: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    for i, trainer in enumerate(TRAINERS):
        ok = [r for r in results if r["trainer"] == trainer and r["status"] == "ok"]
        if not ok:
            continue
        style = "-" if trainer.startswith("toktool") else "--"
        color = f"C{i}"
        for ax, key in zip(axes, ("wall_s", "peak_pss_mb")):
            # the Linux prefixes are one text at growing sizes: a line; the prose corpus is another text:
            # an open marker, not joined to them
            lin = sorted((r["bytes"] / 1e6, r[key]) for r in ok if r["kind"] == "linux")
            prose = [(r["bytes"] / 1e6, r[key]) for r in ok if r["kind"] != "linux"]
            if lin:
                ax.plot(*zip(*lin), style, marker="o", color=color, label=trainer)
            if prose:
                ax.plot(*zip(*prose), marker="o", linestyle="none", markerfacecolor="none", color=color,
                        label=None if lin else trainer)
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    sparse = FuncFormatter(lambda v, _: f"{v:g}" if f"{v:g}"[0] in "235" else "")  # minor ticks: 2s, 3s, 5s
    for ax, label in zip(axes, ("wall time (s)", "peak PSS of the process tree (MB)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(plain)
            axis.set_minor_formatter(sparse)
        ax.tick_params(which="minor", labelsize=7)
        ax.set_xlabel("corpus (MB)")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"BPE training, V = {vocab:,}, GPT-2 regex, {os.cpu_count()} cores: time and memory against corpus size\n"
                 "lines: prefixes of the Linux 6.1 sources; open markers: the 26 MB prose corpus", fontsize=10)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(dest, dpi=110, bbox_inches="tight", metadata={"Software": None})
    print(f"wrote {dest}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="26M,300M,1G", help=f"comma-separated, of {', '.join(SIZES)}")
    ap.add_argument("--trainers", default=",".join(TRAINERS), help="comma-separated, of " + ", ".join(TRAINERS))
    ap.add_argument("--vocab-size", type=int, default=32000)
    ap.add_argument("--timeout", type=float, default=3600, help="seconds one training run may take")
    ap.add_argument("--data-dir", type=Path, default=Path("build/bench"))
    ap.add_argument("--work", type=Path, default=Path("build/bench/scale"), help="where the trained outputs go")
    ap.add_argument("--json", type=Path, default=Path("build/bench/scale.json"))
    ap.add_argument("--append", action="store_true", help="keep the JSON's results for other (size, trainer) pairs")
    ap.add_argument("--plot", default="docs/scale.png", help="PNG of time and memory against size ('' for none)")
    ap.add_argument("--toktool", default=None,
                    help="command that runs toktool (default: this Python with -m toktool and PYTHONPATH set to "
                         "this checkout, so the code measured is this worktree's)")
    ap.add_argument("--replot", action="store_true", help="train nothing: print the table of --json and plot it")
    ap.add_argument("--python", default=sys.executable, help="Python that runs the HF, rustbpe and bpeasy trainers")
    args = ap.parse_args()

    if args.replot:
        doc = json.loads(args.json.read_text(encoding="utf-8"))
        print(table(doc["results"]))
        if args.plot:
            plot(doc["results"], Path(args.plot), args.vocab_size)
        return 0
    args.data_dir, args.work = args.data_dir.resolve(), args.work.resolve()  # the runs start in args.work
    args.work.mkdir(parents=True, exist_ok=True)
    sizes = [s for s in args.sizes.split(",") if s]
    trainers = [t for t in args.trainers.split(",") if t]
    for s in sizes:
        if s not in SIZES:
            ap.error(f"unknown size {s!r} (known: {', '.join(SIZES)})")
        missing = [n for n in SIZES[s][:2] if not (args.data_dir / n).exists()]
        if missing:
            ap.error(f"{s}: {', '.join(missing)} missing under {args.data_dir} (make bench-data bench-linux-data)")
    for t in trainers:
        if t not in TRAINERS:
            ap.error(f"unknown trainer {t!r} (known: {', '.join(TRAINERS)})")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if args.toktool:
        toktool_cmd = shlex.split(args.toktool)
        toktool_code = args.toktool
    else:
        toktool_cmd = [sys.executable, "-m", "toktool"]
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        toktool_code = f"{ROOT} ({git_head(ROOT)})"
    run_id = time.strftime("%Y-%m-%dT%H:%M:%S")
    meta = {"run_id": run_id, "argv": sys.argv[1:], "toktool": toktool_code, "cpus": os.cpu_count(),
            "machine": platform.machine(), "vocab_size": args.vocab_size, "pattern": GPT2_PATTERN, "versions": versions()}
    print(f"scale benchmark {run_id}: sizes {sizes}, trainers {trainers}, V = {args.vocab_size}, timeout {args.timeout:g} s, "
          f"{os.cpu_count()} CPUs; toktool: {toktool_code}", flush=True)

    rows: list[dict] = []
    t0 = time.time()
    for size in sizes:
        ref = None
        for trainer in sorted(trainers, key=lambda t: t != "hf-files"):  # hf-files first: the reference merges
            row = run_one(trainer, size, args, args.work, env, toktool_cmd)
            row["run_id"] = run_id
            if trainer == "hf-files" and row["status"] == "ok":
                ref = row["_merges"]
            if "_merges" in row:
                row["merges_vs_hf"] = compare_merges(row["_merges"], ref) if ref is not None else {"text": "no hf-files run"}
                row["n_merges"] = len(row.pop("_merges"))
            rows.append(row)
    total = time.time() - t0
    rows.sort(key=lambda r: (list(SIZES).index(r["size"]), TRAINERS.index(r["trainer"])))
    rat = ratios(rows)

    print()
    print(table(rows))
    print()
    shown = {("toktool", x) for x in ("rustbpe", "hf-files", "hf-iter", "bpeasy")}
    shown |= {("toktool-parquet", "toktool"), ("toktool-superbpe", "toktool"), ("toktool-superbpe", "rustbpe")}
    for r in rat:
        if (r["ours"], r["ref"]) in shown:
            print(f"{r['size']}: {r['ours']} / {r['ref']}: wall {r['wall']:.2f}x, peak PSS {r['pss']:.2f}x")
    print(f"whole run: {total:.0f} s")

    meta["run_seconds"] = round(total, 1)
    results, runs = rows, [meta]
    if args.append and args.json.exists():
        old = json.loads(args.json.read_text(encoding="utf-8"))
        done = {(r["size"], r["trainer"]) for r in rows}
        results = [r for r in old.get("results", []) if (r["size"], r["trainer"]) not in done] + rows
        results.sort(key=lambda r: (list(SIZES).index(r["size"]), TRAINERS.index(r["trainer"])))
        runs = old.get("runs", []) + runs
    args.json.parent.mkdir(parents=True, exist_ok=True)
    doc = {"runs": runs, "results": results, "ratios": ratios(results)}
    args.json.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")
    if args.plot:
        plot(results, Path(args.plot), args.vocab_size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
