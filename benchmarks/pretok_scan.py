"""Counting throughput of the compiled pre-tokenizers (scan_counter.ScanCounter) against the regex path.

Why: the scanners exist for speed (issue 14: >= 15 MB/s per core), and equality alone does not show
it. One process, so MB/s is per core. The regex path is what a counting process runs today
(pretokenize._RegexCounter: `regex` findall per line, one Counter.update per batch, then the compact
sorted part); the scanner path is ScanCounter.add_texts per batch, then sorted_parts(). Both read
the same lines (newline kept, as toktool reads text) in batches of 1 MiB of characters. MB = 10**6
bytes of UTF-8. The first call's JIT compile is timed apart, in a fresh Numba cache directory.

    python benchmarks/pretok_scan.py [--corpus FILE ...] [--presets gpt2,gpt4] [--rounds 3]

Without --corpus: data/udhr/*.txt concatenated, and build/bench/corpus.txt when it exists.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _lines(text: str) -> list[str]:
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _batches(lines: list[str], chars: int = 1 << 20) -> list[list[str]]:
    out, cur, size = [], [], 0
    for ln in lines:
        cur.append(ln)
        size += len(ln)
        if size >= chars:
            out.append(cur)
            cur, size = [], 0
    if cur:
        out.append(cur)
    return out


def _time_regex(preset: str, batches: list[list[str]]) -> tuple[float, float]:
    """(wall, CPU) seconds of the regex path."""
    from toktool.count.regex_counter import RegexCounter as _RegexCounter

    t, c0 = time.perf_counter(), time.process_time()
    c = _RegexCounter(preset, [])
    for b in batches:
        c.add_texts(b)
    c.part()
    return time.perf_counter() - t, time.process_time() - c0


def _time_scan(preset: str, batches: list[list[str]]) -> tuple[float, float]:
    """(wall, CPU) seconds of the scanner path."""
    from toktool.count.scan_counter import ScanCounter

    t, c0 = time.perf_counter(), time.process_time()
    c = ScanCounter(preset)
    for b in batches:
        c.add_texts(b)
    c.sorted_parts()
    return time.perf_counter() - t, time.process_time() - c0


def _compile_time() -> None:
    """Build the tables and compile the kernels in a child with an empty Numba cache."""
    code = (
        "import time; t0 = time.process_time(); w0 = time.perf_counter()\n"
        "from toktool.count.scan_counter import ScanCounter, scan_tables\n"
        "t1 = time.process_time(); scan_tables(); t2 = time.process_time()\n"
        "c = ScanCounter('gpt2'); c.add_texts(['a b']); t3 = time.process_time(); c.sorted(); t4 = time.process_time()\n"
        "print(f'CPU s: import {t1 - t0:.2f}, tables {t2 - t1:.2f}, first count {t3 - t2:.2f}, first sort {t4 - t3:.2f}; '\n"
        "      f'wall {time.perf_counter() - w0:.1f} s')\n"
    )
    for label, cache in (("empty Numba cache (compile)", tempfile.mkdtemp()), ("warm Numba cache", None)):
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        if cache:
            env["NUMBA_CACHE_DIR"] = cache
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        print(f"{label}: {out.stdout.strip()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", nargs="*", type=Path)
    ap.add_argument("--presets", default="gpt2,gpt4,o200k,llama3")
    ap.add_argument("--rounds", type=int, default=3, help="best of this many timings per path")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    _compile_time()
    corpora = {}
    if args.corpus:
        for p in args.corpus:
            corpora[p.name] = p.read_text(encoding="utf-8")
    else:
        corpora["udhr (all files)"] = "".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "data/udhr").glob("*.txt")))
        bench = ROOT / "build/bench/corpus.txt"
        if not bench.exists():
            bench = Path("/work/main/build/bench/corpus.txt")
        if bench.exists():
            corpora["bench corpus.txt"] = bench.read_text(encoding="utf-8")
    from toktool.count.scan_counter import ScanCounter

    ScanCounter("gpt2").add_texts(["warm-up"])
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (MB/s by wall time, and by CPU time)")
    print(f"{'corpus':<18} {'preset':<7} {'MB':>6} {'regex wall':>10} {'cpu':>6} {'scan wall':>10} {'cpu':>6} {'speed-up (cpu)':>15}")
    for name, text in corpora.items():
        mb = len(text.encode("utf-8")) / 1e6
        batches = _batches(_lines(text))
        for preset in args.presets.split(","):
            rw, rc = (min(x) for x in zip(*(_time_regex(preset, batches) for _ in range(args.rounds))))
            sw, sc = (min(x) for x in zip(*(_time_scan(preset, batches) for _ in range(args.rounds))))
            print(f"{name:<18} {preset:<7} {mb:6.1f} {mb / rw:10.2f} {mb / rc:6.2f} {mb / sw:10.2f} {mb / sc:6.2f} {rc / sc:14.1f}x",
                  flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
