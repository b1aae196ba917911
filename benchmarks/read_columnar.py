"""Reading the same text as .txt, Parquet and a datasets directory: throughput and peak RSS.

`build` makes the corpus from real, distinct text already on the machine (no download): every source
and documentation file (.py .pyi .c .h .rst .md .txt ...) under the given roots, deduplicated by
content, valid UTF-8 without NUL, at most 4 MB each, in sorted path order, one document per file (as
The Stack ships code), until --min-mb is reached. It writes corpus.txt (the documents concatenated),
corpus.parquet (FineWeb-like: `text` plus metadata columns, zstd, row groups of ~--row-group-mb),
corpus-none.parquet (the same uncompressed, so the file on disk is as large as its text) and ds/ (a
`datasets.save_to_disk`-shaped directory of Arrow stream shards).

`measure` reads each through `toktool.corpus.iter_texts` in a fresh process, --repeats times, and
reports text MB/s (UTF-8 bytes of the texts / wall time of the reading loop, median) and peak RSS
(ru_maxrss of that process, max over repeats), next to a process that only imports the modules; the
columnar inputs also with ARROW_DEFAULT_MEMORY_POOL=system (pyarrow's default pool, mimalloc, keeps
freed memory mapped).

    python benchmarks/read_columnar.py build /tmp/colbench --min-mb 220 [--roots DIR ...]
    python benchmarks/read_columnar.py measure /tmp/colbench [--repeats 3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SUFFIXES = (".py", ".pyi", ".c", ".h", ".hpp", ".cc", ".cpp", ".cuh", ".rst", ".md", ".txt", ".html", ".tex", ".js", ".css")
DEFAULT_ROOTS = [sys.prefix + "/lib", "/usr/lib/python3", "/usr/share", "/usr/include", "/usr/local/lib"]


def _documents(roots: list[str], limit: int):
    seen: set[bytes] = set()
    total = 0
    paths = []
    for r in roots:
        for dirpath, _, files in os.walk(r):
            paths.extend(os.path.join(dirpath, f) for f in files if f.endswith(SUFFIXES))
    for p in sorted(set(paths)):
        if total >= limit:
            return
        try:
            if os.path.islink(p) or not 0 < os.path.getsize(p) <= 4 << 20:
                continue
            data = Path(p).read_bytes()
        except OSError:
            continue
        digest = hashlib.sha256(data).digest()
        if digest in seen or b"\x00" in data:
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        seen.add(digest)
        total += len(data)
        yield p, text


def build(out: Path, min_mb: int, row_group_mb: int, roots: list[str], shards: int) -> None:
    import pyarrow as pa
    import pyarrow.ipc as ipc
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    schema = pa.schema([("text", pa.string()), ("id", pa.string()), ("url", pa.string()), ("language", pa.string()),
                        ("token_count", pa.int64())])
    writers = [pq.ParquetWriter(out / "corpus.parquet", schema, compression="zstd"),
               pq.ParquetWriter(out / "corpus-none.parquet", schema, compression="none")]
    n_docs = n_bytes = 0
    group: list[tuple[str, str]] = []
    group_bytes = 0

    def flush() -> None:
        nonlocal group, group_bytes
        if group:
            t = pa.table({"text": [d for _, d in group], "id": [hashlib.md5(p.encode()).hexdigest() for p, _ in group],
                          "url": ["file://" + p for p, _ in group], "language": ["en"] * len(group),
                          "token_count": [len(d) // 4 for _, d in group]}, schema=schema)
            for w in writers:
                w.write_table(t, row_group_size=len(group))
        group, group_bytes = [], 0

    with open(out / "corpus.txt", "w", encoding="utf-8", newline="") as txt:
        for p, text in _documents(roots, min_mb << 20):
            txt.write(text)
            group.append((p, text))
            group_bytes += len(text.encode())
            n_docs += 1
            n_bytes += len(text.encode())
            if group_bytes >= row_group_mb << 20:
                flush()
        flush()
    for w in writers:
        w.close()
    if n_bytes < min_mb << 20:
        sys.exit(f"only {n_bytes / 1e6:.0f} MB of text under {roots}; add --roots")
    # the datasets directory: the Parquet rows re-written as Arrow stream shards, 1000-row batches
    ds = out / "ds"
    ds.mkdir(exist_ok=True)
    pf = pq.ParquetFile(out / "corpus.parquet")
    per = -(-pf.metadata.num_rows // shards)
    names = [f"data-{i:05d}-of-{shards:05d}.arrow" for i in range(shards)]
    batches = pf.iter_batches(batch_size=1000)
    pending = None
    for name in names:
        with ipc.new_stream(str(ds / name), schema) as w:
            left = per
            while left > 0:
                b = pending if pending is not None else next(batches, None)
                pending = None
                if b is None:
                    break
                if b.num_rows > left:
                    b, pending = b.slice(0, left), b.slice(left)
                w.write_batch(b)
                left -= b.num_rows
    (ds / "state.json").write_text(json.dumps({"_data_files": [{"filename": n} for n in names], "_fingerprint": "bench",
                                               "_format_columns": None, "_format_kwargs": {}, "_format_type": None,
                                               "_output_all_columns": False, "_split": None}, indent=2, sort_keys=True))
    (ds / "dataset_info.json").write_text(json.dumps({"features": {"text": {"dtype": "string", "_type": "Value"}}}))
    print(f"{out}: {n_docs:,} documents, {n_bytes / 1e6:.1f} MB of text; corpus.parquet"
          f" {os.path.getsize(out / 'corpus.parquet') / 1e6:.1f} MB in {pf.num_row_groups} row groups;"
          f" ds/ {sum(os.path.getsize(ds / n) for n in names) / 1e6:.1f} MB in {shards} shards")


def _read(path: str) -> None:
    """Child process: read one input, print JSON {bytes, texts, seconds, maxrss_mb}."""
    from toktool._entry import _tune_malloc

    _tune_malloc()  # glibc as the CLI sets it up
    from toktool.corpus import CorpusStats, expand_inputs, iter_texts

    if path != "none":
        import pyarrow  # noqa: F401 - imported before the clock starts, as for the baseline
        stats = CorpusStats()
        paths = expand_inputs([path])
        t0 = time.perf_counter()
        for _ in iter_texts(paths, stats=stats):
            pass
        secs = time.perf_counter() - t0
        res = {"bytes": stats.bytes, "texts": stats.texts, "seconds": secs}
    else:
        import pyarrow  # noqa: F401
        res = {}
    res["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(res))


def _hash_seconds(path: Path) -> float:
    from toktool.columnar import _open_hashed

    t0 = time.perf_counter()
    f, _, _ = _open_hashed(str(path))
    f.close()
    return time.perf_counter() - t0


def measure(out: Path, repeats: int) -> None:
    rows = []
    system = {"ARROW_DEFAULT_MEMORY_POOL": "system"}  # Arrow's buffers from glibc, not mimalloc
    for label, path, env in (("imports only", "none", {}), (".txt", out / "corpus.txt", {}),
                             (".parquet zstd", out / "corpus.parquet", {}),
                             (".parquet uncompressed", out / "corpus-none.parquet", {}),
                             ("datasets dir", out / "ds", {}),
                             ("imports only, Arrow system pool", "none", system),
                             (".parquet zstd, Arrow system pool", out / "corpus.parquet", system),
                             ("datasets dir, Arrow system pool", out / "ds", system)):
        runs = []
        for _ in range(repeats):
            p = subprocess.run([sys.executable, __file__, "_read", str(path)], capture_output=True, text=True, check=True,
                               env={**os.environ, **env})
            runs.append(json.loads(p.stdout))
        rss = max(r["maxrss_mb"] for r in runs)
        if path == "none":
            rows.append((label, "", "", "", f"{rss:.0f}"))
            continue
        secs = statistics.median(r["seconds"] for r in runs)
        mb = runs[0]["bytes"] / 1e6
        size = sum(f.stat().st_size for f in Path(path).glob("*.arrow")) if Path(path).is_dir() else Path(path).stat().st_size
        rows.append((label, f"{size / 1e6:.1f}", f"{mb:.1f}", f"{secs:.2f} ({mb / secs:.0f} MB/s)", f"{rss:.0f}"))
    print("| input | on disk MB | text MB | read s (text MB/s), median | peak RSS MB |")
    print("|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    for name in ("corpus.parquet", "corpus-none.parquet"):
        print(f"hashing pass alone (SHA-256, page cache warm): {name} {_hash_seconds(out / name):.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("out", type=Path)
    b.add_argument("--min-mb", type=int, default=220)
    b.add_argument("--row-group-mb", type=int, default=32)
    b.add_argument("--shards", type=int, default=4)
    b.add_argument("--roots", nargs="+", default=DEFAULT_ROOTS)
    m = sub.add_parser("measure")
    m.add_argument("out", type=Path)
    m.add_argument("--repeats", type=int, default=3)
    r = sub.add_parser("_read")
    r.add_argument("path")
    a = ap.parse_args()
    if a.cmd == "build":
        build(a.out, a.min_mb, a.row_group_mb, a.roots, a.shards)
    elif a.cmd == "measure":
        measure(a.out, a.repeats)
    else:
        _read(a.path)


if __name__ == "__main__":
    main()
