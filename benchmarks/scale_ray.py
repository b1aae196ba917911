"""Counting at scale: the local process pool against Ray, unique words against corpus size (Heaps' law),
count-shard sizes and the memory of training from them; the numbers behind docs/scale-out.md.

For each corpus, `toktool count CORPUS -o DIR` runs end to end as a user runs it, with the local
engine and with `--engine ray` (a local Ray started by toktool for the run, startup included), at 1 and
2 workers: wall time, throughput, peak memory of the whole process tree (Ray's raylet, GCS, workers
and object store pages included; summed PSS, sampled every 100 ms) and CPU seconds of the tree
(user + system of every process seen, as last sampled: the steadier figure on a machine whose cores
are shared; each process's last < 100 ms are missed). Every run's directory must be
byte-identical to the others' (checked). With --warm, Ray is also timed on a cluster started before
(`ray start --head`, `--address auto`), which leaves out Ray's start-up. Then `toktool train
--from-counts DIR` is measured on each directory (the merge of the shards plus the BPE merge loop).

Heaps' law: the --heaps corpus is cut into doubling prefixes (1/64 ... 1 of it), counted once chunk by
chunk and summed, and V = K * n^beta is fitted (least squares in log-log) for unique pre-tokens V
against n = bytes of text; the share of words seen once or twice (what --min-word-count 2 or 3 drops)
is reported at every size. The projection to 1 and 10 TB uses the fit, the measured bytes of a count
shard per unique word, and the measured per-core throughput.

    python benchmarks/scale_ray.py --corpus build/bench/corpus.txt build/bench/linux-300M.txt \
        build/bench/linux-1G.txt --heaps build/bench/linux-1G.txt [--warm] [--json build/bench/scale-ray.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

SAMPLE_S = 0.1
RAY_ENV = {"TOKTOOL_RAY_OBJECT_STORE_MB": "500"}


def _pss(pid: int) -> int:
    """PSS in bytes from smaps_rollup (one short read)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def measure(cmd: list[str], env: dict) -> dict:
    """Wall time, peak summed PSS and CPU seconds of a command and every process below it (and the
    machine's load average when it started: other users of the cores show there)."""
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = psutil.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = {"pss": 0, "procs": 0}
    cpu: dict[int, float] = {}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            try:
                procs = [proc] + proc.children(recursive=True)
            except psutil.Error:
                break
            peak["pss"] = max(peak["pss"], sum(_pss(p.pid) for p in procs))
            peak["procs"] = max(peak["procs"], len(procs))
            for p in procs:
                try:
                    t = p.cpu_times()
                    cpu[p.pid] = max(cpu.get(p.pid, 0.0), t.user + t.system)
                except psutil.Error:
                    pass
            done.wait(SAMPLE_S)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - t0
    done.set()
    th.join()
    if proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{err.decode()}")
    return {"wall_s": round(wall, 2), "peak_pss_mb": round(peak["pss"] / 2**20, 1), "processes": peak["procs"], "load_before": round(load, 1), "cpu_s": round(sum(cpu.values()), 2)}


def dir_digest(d: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(d.iterdir()):
        h.update(p.name.encode() + b"\0" + hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def count_runs(corpus: Path, work: Path, configs: list[tuple[str, int]], warm: bool) -> tuple[list[dict], Path]:
    """Run `toktool count` for every (engine, workers); returns the runs and one counts directory."""
    size = corpus.stat().st_size
    env = dict(os.environ, PYTHONUNBUFFERED="1", **RAY_ENV)
    runs, digests, keep = [], set(), None
    for engine, workers in configs:
        out = work / f"{corpus.stem}-{engine}-{workers}"
        cmd = [sys.executable, "-m", "toktool", "count", str(corpus), "-o", str(out), "-q", "--engine", engine, "--workers", str(workers)]
        r = measure(cmd, env)
        r.update(corpus=corpus.name, corpus_mb=round(size / 1e6, 1), engine=engine, workers=workers, ray="started by toktool" if engine == "ray" else None)
        r["mb_per_s"] = round(size / 1e6 / r["wall_s"], 2)
        r["mb_per_cpu_s"] = round(size / 1e6 / r["cpu_s"], 2)
        runs.append(r)
        digests.add(dir_digest(out))
        print(json.dumps(r), flush=True)
        if keep is None:
            keep = out
        else:
            shutil.rmtree(out)
    if warm:
        runs += warm_runs(corpus, work, env, digests)
    if len(digests) != 1:
        sys.exit(f"{corpus}: the counts directories differ between engines or worker counts")
    return runs, keep


def warm_runs(corpus: Path, work: Path, env: dict, digests: set) -> list[dict]:
    """Ray on a cluster started beforehand (its start-up left out; its processes are not below the
    command, so only time is measured)."""
    ray = Path(sys.executable).with_name("ray")
    out_runs = []
    for workers in (1, 2):
        subprocess.run([str(ray), "start", "--head", f"--num-cpus={workers}", "--object-store-memory=524288000", "--include-dashboard=false", "--disable-usage-stats"], check=True, capture_output=True)
        try:
            out = work / f"{corpus.stem}-warm-{workers}"
            load = os.getloadavg()[0]
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "toktool", "count", str(corpus), "-o", str(out), "-q", "--engine", "ray", "--address", "auto"], check=True, env=env, capture_output=True)
            wall = time.perf_counter() - t0
        finally:
            subprocess.run([str(ray), "stop", "--force"], capture_output=True)
        digests.add(dir_digest(out))
        shutil.rmtree(out)
        size = corpus.stat().st_size
        r = {"corpus": corpus.name, "corpus_mb": round(size / 1e6, 1), "engine": "ray", "workers": workers, "ray": "running before (--address auto)", "wall_s": round(wall, 2), "mb_per_s": round(size / 1e6 / wall, 2), "load_before": round(load, 1)}
        print(json.dumps(r), flush=True)
        out_runs.append(r)
    return out_runs


def shard_sizes(d: Path) -> dict:
    m = json.loads((d / "manifest.json").read_text())
    files = sum(p.stat().st_size for p in d.glob("shard-*.counts"))
    words = m["totals"]["words"]
    sizes = [s["words"] for s in m["shards"]]
    return {
        "unique_words": words,
        "occurrences": m["totals"]["occurrences"],
        "text_bytes": m["totals"]["text_bytes"],
        "shard_files_mb": round(files / 2**20, 2),
        "shard_file_bytes_per_word": round(files / words, 2),
        "array_bytes_per_word": round((m["totals"]["data_bytes"] + 16 * words + 8) / words, 2),
        "partitions": len(sizes),
        "largest_shard_over_mean": round(max(sizes) / (sum(sizes) / len(sizes)), 3),
    }


def train_from(d: Path, work: Path) -> dict:
    out = work / "tok"
    r = measure([sys.executable, "-m", "toktool", "train", "--from-counts", str(d), "--vocab-size", "32000", "-o", str(out), "-q", "--force"], dict(os.environ))
    info = json.loads((out / "train.json").read_text())
    r["timings"] = {k: v for k, v in info["timings"].items() if k in ("count_s", "merge_s", "total_s")}
    shutil.rmtree(out)
    return r


def heaps(corpus: Path, parts: int, shuffled: bool = False) -> list[dict]:
    """Unique pre-tokens of doubling prefixes of `corpus` (1/2^parts ... 1), counted chunk by chunk.

    shuffled: the file is cut into 2^parts x 16 blocks (line-aligned) taken in a seeded random order,
    so a prefix is a uniform sample of the file rather than its first directories: a concatenation
    sorted by source (as the Linux corpus is) otherwise shows jumps where the source changes."""
    import random

    from toktool.count.one_pass import count_parts_multi
    from toktool.count.shards import merge_sorted
    from toktool.count.splits import Split, SplitStats, read_split

    size = corpus.stat().st_size
    if shuffled:
        n = (1 << parts) * 16
        edges = [size * k // n for k in range(n + 1)]
        blocks = [Split(0, str(corpus), edges[k], edges[k + 1]) for k in range(n)]
        random.Random(0).shuffle(blocks)
        groups = [blocks[:16]] + [blocks[16 << k : 32 << k] for k in range(parts)]
    else:
        cuts = [0] + [size >> k for k in range(parts, -1, -1)]
        groups = [[Split(0, str(corpus), a, b)] for a, b in zip(cuts, cuts[1:])]
    acc = None
    rows = []
    done_bytes = 0
    for group in groups:
        t0 = time.perf_counter()
        st = SplitStats(0)
        texts = (t for sp in group for t in read_split(sp, None, "replace", st))
        kind, got = count_parts_multi(texts, ["gpt2"], workers=2)[0]
        done_bytes += sum(sp.end - sp.start for sp in group)
        b = done_bytes
        wc = kind.combine(got, "gpt2", [], {})
        acc = (wc.data, wc.offsets, wc.counts) if acc is None else merge_sorted([acc, (wc.data, wc.offsets, wc.counts)])
        counts = acc[2]
        row = {
            "prefix_bytes": b,
            "unique_words": int(counts.shape[0]),
            "occurrences": int(counts.sum()),
            "seen_once": round(float((counts == 1).mean()), 4),
            "seen_under_3": round(float((counts < 3).mean()), 4),
            "array_bytes_per_word": round((acc[0].shape[0] + 16 * counts.shape[0]) / counts.shape[0], 2),
            "chunk_s": round(time.perf_counter() - t0, 1),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def fit(rows: list[dict], x: str, y: str) -> dict:
    """log y = log K + beta log x, least squares."""
    xs = [math.log(r[x]) for r in rows]
    ys = [math.log(r[y]) for r in rows]
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    beta = sum((a - mx) * (b - my) for a, b in zip(xs, ys)) / sum((a - mx) ** 2 for a in xs)
    k = math.exp(my - beta * mx)
    resid = [b - (math.log(k) + beta * a) for a, b in zip(xs, ys)]
    return {"K": k, "beta": round(beta, 4), "max_abs_log_residual": round(max(map(abs, resid)), 4)}


def project(h: dict, bytes_per_word_file: float, bytes_per_word_arrays: float, mb_s_per_core: float) -> list[dict]:
    rows = []
    for label, n in (("1 TB", 1e12), ("10 TB", 1e13)):
        v = h["K"] * n ** h["beta"]
        for nodes, cores in ((1, 32), (16, 32), (64, 32)):
            rows.append({
                "corpus": label,
                "nodes_x_cores": f"{nodes}x{cores}",
                "unique_words": f"{v:.3g}",
                "count_hours": round(n / 1e6 / (mb_s_per_core * nodes * cores) / 3600, 2),
                "counts_dir_gb": round(v * bytes_per_word_file / 1e9, 1),
                "merged_counts_gb": round(v * bytes_per_word_arrays / 1e9, 1),
                "merge_peak_gb": round(2 * v * bytes_per_word_arrays / 1e9, 1),
            })
    return rows


def add_projection(result: dict) -> None:
    """result["projection"] from the Heaps fit, the largest counts directory and the per-core speed:
    MB of text per CPU second of the local engine on one worker at the largest corpus (CPU time,
    not wall time, as other users of the cores slow the wall clock down)."""
    one = [r for r in result["runs"] if r["engine"] == "local" and r["workers"] == 1 and r.get("cpu_s")]
    if not one or "heaps" not in result:
        return
    run = max(one, key=lambda r: r["corpus_mb"])
    per_core = run["mb_per_cpu_s"]
    biggest = max(result["shards"].values(), key=lambda s: s["unique_words"])
    last = result["heaps"]["prefixes"][-1]
    result["projection"] = {
        "mb_per_cpu_s": per_core,
        "from_run": {k: run[k] for k in ("corpus", "engine", "workers", "wall_s", "cpu_s")},
        "shard_file_bytes_per_word": biggest["shard_file_bytes_per_word"],
        "array_bytes_per_word": last["array_bytes_per_word"],
        "rows": project(result["heaps"]["fit_bytes"], biggest["shard_file_bytes_per_word"], last["array_bytes_per_word"], per_core),
    }
    for r in result["projection"]["rows"]:
        print(json.dumps(r), flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, nargs="+", default=[Path("build/bench/corpus.txt")])
    ap.add_argument("--heaps", type=Path, default=None, help="corpus whose doubling prefixes give the Heaps' law fit")
    ap.add_argument("--heaps-parts", type=int, default=6, help="smallest prefix: 1/2^parts of --heaps")
    ap.add_argument("--full-until-mb", type=float, default=400, help="corpora up to this size get all four runs (local/ray x 1/2 workers); larger ones local and ray at 2 workers")
    ap.add_argument("--warm", action="store_true", help="also time Ray on a cluster started beforehand (ray start --head)")
    ap.add_argument("--json", type=Path, default=Path("build/bench/scale-ray.json"))
    ap.add_argument("--heaps-shuffled", action="store_true", help="prefixes of --heaps made of its blocks in a random order (a uniform sample)")
    ap.add_argument("--only-heaps", action="store_true", help="skip the count runs; update the results JSON at --json with the Heaps fit")
    ap.add_argument("--reproject", type=Path, default=None, help="only recompute the projection of a results JSON (written back)")
    args = ap.parse_args()
    if args.reproject:
        result = json.loads(args.reproject.read_text())
        add_projection(result)
        args.reproject.write_text(json.dumps(result, indent=1) + "\n")
        return 0
    print(f"{os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB, load average {os.getloadavg()[0]:.1f}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="toktool-scale-"))
    result: dict = {"cpus": os.cpu_count(), "runs": [], "shards": {}, "train_from_counts": {}}
    if args.only_heaps and args.json.exists():
        result = json.loads(args.json.read_text())
        result.setdefault("heaps_runs", []).append(result.pop("heaps", None))
    try:
        for c in [] if args.only_heaps else args.corpus:
            full = c.stat().st_size / 1e6 <= args.full_until_mb
            configs = [("local", 2), ("ray", 2)] + ([("local", 1), ("ray", 1)] if full else [])
            runs, d = count_runs(c, work, configs, args.warm and full)
            result["runs"] += runs
            result["shards"][c.name] = shard_sizes(d)
            print(json.dumps({c.name: result["shards"][c.name]}), flush=True)
            result["train_from_counts"][c.name] = train_from(d, work)
            print(json.dumps({"train_from_counts": c.name, **result["train_from_counts"][c.name]}), flush=True)
            shutil.rmtree(d)
        if args.heaps:
            rows = heaps(args.heaps, args.heaps_parts, shuffled=args.heaps_shuffled)
            h = fit(rows, "prefix_bytes", "unique_words")
            result["heaps"] = {"corpus": args.heaps.name, "shuffled_blocks": args.heaps_shuffled, "prefixes": rows, "fit_bytes": h}
            print(json.dumps({"heaps_fit": h}), flush=True)
            add_projection(result)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
