"""Cut the Linux 6.1 sources into benchmark corpora at scale (called by scripts/fetch_linux_corpus.sh).

Why: benchmarks/scale.py times trainers on hundreds of MB to GB of real text; the Linux tree is the
largest real UTF-8 text a registry package gives us (C code, kernel documentation, comments).

What it writes under OUT (default build/bench):
  linux-50M.txt, linux-300M.txt, linux-1G.txt   prefixes of the concatenation, each cut at a line end
  linux-heldout.txt                             the last ~5 MB of the concatenation (starts at a line start;
                                                 after every prefix, so no held-out text is trained on)
  linux-300M.parquet, linux-1G.parquet          the same text as the .txt prefixes, one `text` column, one
                                                 row per source file (the last one cut where the prefix is)
  corpus.parquet                                OUT/corpus.txt (make bench-data) with one row per paragraph
                                                 (a block of lines and the blank lines after it)
  linux-manifest.json                           source package, file counts, replaced lines, sizes, SHA-256s
Row groups are ~64 MB of text (pyarrow, snappy); concatenating a file's rows gives back the .txt bytes.
Parquet is skipped with a message when pyarrow is missing.

The files taken are regular files (not symlinks) named *.c *.h *.rst *.txt *.py *.S *.sh *.yaml or
Kconfig*, in sorted order of their path relative to the tree (bytewise). A file not ending in a newline
gets one, so two files never share a line. Invalid UTF-8: a file that does not decode is taken line by
line, and each line that does not decode has its invalid bytes replaced by U+FFFD (Python's
errors="replace"); the manifest and the log give the number of such lines and files. Deterministic:
the same tree gives byte-identical outputs.

    python scripts/build_linux_corpus.py build/bench/src/x/linux-source-6.1/linux-source-6.1 build/bench
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

SUFFIXES = (".c", ".h", ".rst", ".txt", ".py", ".S", ".sh", ".yaml")
ROW_GROUP_BYTES = 64 * 2**20


def parse_size(s: str) -> int:
    """'300M' -> 300_000_000, '1G' -> 1_000_000_000 (decimal units, as the file names say)."""
    mult = {"K": 10**3, "M": 10**6, "G": 10**9}
    s = s.strip().upper()
    return int(float(s[:-1]) * mult[s[-1]]) if s[-1] in mult else int(s)


def wanted(name: str) -> bool:
    return name.endswith(SUFFIXES) or name.startswith("Kconfig")


def source_files(tree: Path) -> list[str]:
    """Relative paths of the files taken, sorted bytewise."""
    rels = []
    for dirpath, dirnames, filenames in os.walk(tree):
        dirnames.sort()
        for n in filenames:
            p = os.path.join(dirpath, n)
            if wanted(n) and not os.path.islink(p) and os.path.isfile(p):
                rels.append(os.path.relpath(p, tree))
    rels.sort(key=lambda r: r.encode("utf-8", "surrogateescape"))
    return rels


def clean_text(raw: bytes, stats: dict) -> bytes:
    """The file's bytes as valid UTF-8 ending in a newline (see the module docstring)."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        stats["files_with_invalid_utf8"] += 1
        out = []
        for line in raw.splitlines(keepends=True):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                stats["lines_replaced"] += 1
                line = line.decode("utf-8", errors="replace").encode("utf-8")
            out.append(line)
        raw = b"".join(out)
    if raw and not raw.endswith(b"\n"):
        stats["newlines_added"] += 1
        raw += b"\n"
    return raw


def concatenate(tree: Path, dest: Path) -> tuple[list[int], dict]:
    """Write the cleaned files one after another to dest; return each file's start offset (and the end)."""
    rels = source_files(tree)
    stats = {"files": len(rels), "empty_files": 0, "files_with_invalid_utf8": 0, "lines_replaced": 0, "newlines_added": 0}
    starts = []
    pos = 0
    with open(dest, "wb") as out:
        for rel in rels:
            with open(tree / rel, "rb") as f:
                text = clean_text(f.read(), stats)
            if not text:
                stats["empty_files"] += 1
                continue
            starts.append(pos)
            out.write(text)
            pos += len(text)
    starts.append(pos)
    return starts, stats


def line_end_before(f, n: int) -> int:
    """Offset just after the last newline at or before byte n (a cut at a line end)."""
    lo = max(0, n - 2**20)
    f.seek(lo)
    buf = f.read(n - lo)
    i = buf.rfind(b"\n")
    if i < 0:
        sys.exit(f"no line end within 1 MiB before byte {n}")
    return lo + i + 1


def copy_range(src, dest: Path, start: int, end: int) -> str:
    """Copy bytes [start, end) of src to dest (atomically); return their SHA-256."""
    h = hashlib.sha256()
    tmp = dest.with_name(dest.name + ".tmp")
    src.seek(start)
    left = end - start
    with open(tmp, "wb") as out:
        while left:
            b = src.read(min(left, 2**24))
            h.update(b)
            out.write(b)
            left -= len(b)
    os.replace(tmp, dest)
    return h.hexdigest()


def write_parquet(dest: Path, docs) -> dict:
    """Rows from an iterator of bytes (each valid UTF-8) in row groups of ~64 MB of text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("text", pa.string())])
    tmp = dest.with_name(dest.name + ".tmp")
    rows = groups = nbytes = 0
    batch: list[str] = []
    size = 0
    with pq.ParquetWriter(tmp, schema) as w:

        def flush() -> None:
            nonlocal batch, size, groups
            if batch:
                w.write_table(pa.table({"text": pa.array(batch, pa.string())}, schema=schema), row_group_size=len(batch))
                groups += 1
                batch, size = [], 0

        for d in docs:
            batch.append(d.decode("utf-8"))
            size += len(d)
            rows += 1
            nbytes += len(d)
            if size >= ROW_GROUP_BYTES:
                flush()
        flush()
    os.replace(tmp, dest)
    return {"rows": rows, "row_groups": groups, "text_bytes": nbytes, "file_bytes": dest.stat().st_size}


def file_docs(path: Path, starts: list[int], end: int):
    """The source files inside [0, end) of the concatenation, the last one cut at end."""
    with open(path, "rb") as f:
        for a, b in zip(starts, starts[1:]):
            if a >= end:
                break
            yield f.read(min(b, end) - a)


def paragraphs(path: Path):
    """A prose file as blocks of lines, each with the blank lines that follow it."""
    block: list[bytes] = []
    blank = False
    with open(path, "rb") as f:
        for line in f:
            is_blank = not line.strip()
            if blank and not is_blank:
                yield b"".join(block)
                block = []
            block.append(line)
            blank = is_blank
    if block:
        yield b"".join(block)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tree", type=Path, help="the unpacked linux-source-6.1 directory")
    ap.add_argument("out", type=Path, nargs="?", default=Path("build/bench"))
    ap.add_argument("--sizes", default="50M,300M,1G", help="prefixes to cut (decimal units)")
    ap.add_argument("--parquet-sizes", default="300M,1G", help="prefixes that also get a Parquet copy")
    ap.add_argument("--heldout", default="5M", help="size of the held-out slice from the end")
    ap.add_argument("--deb", default="", help="the source package's file name, for the manifest")
    args = ap.parse_args()

    t0 = time.time()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    full = out / "linux-all.txt.tmp"
    starts, stats = concatenate(args.tree, full)
    total = starts[-1]
    print(f"{stats['files']:,} files, {total:,} bytes concatenated ({time.time() - t0:.0f} s); invalid UTF-8 in "
          f"{stats['files_with_invalid_utf8']} files: {stats['lines_replaced']} lines had invalid bytes replaced by "
          f"U+FFFD; {stats['newlines_added']} files got a final newline; {stats['empty_files']} empty files skipped",
          flush=True)
    manifest = {"source": args.deb or "linux-source-6.1", "suffixes": list(SUFFIXES) + ["Kconfig*"],
                "concatenated_bytes": total, **stats, "outputs": {}}
    sizes = sorted({parse_size(s): s for s in args.sizes.split(",") if s}.items())
    pq_sizes = {parse_size(s) for s in args.parquet_sizes.split(",") if s}
    with open(full, "rb") as f:
        # the held-out slice starts at the first line start at or after total - heldout
        want = total - parse_size(args.heldout)
        f.seek(want - 1)
        i = f.read(2**20).find(b"\n")
        if i < 0:
            sys.exit(f"no line end within 1 MiB after byte {want}")
        held_from = want + i
        cuts = {}
        for n, name in sizes:
            cut = line_end_before(f, n)
            if cut > held_from:
                sys.exit(f"prefix {name} ({cut:,} bytes) would overlap the held-out slice from {held_from:,}")
            dest = out / f"linux-{name}.txt"
            digest = copy_range(f, dest, 0, cut)
            cuts[n] = cut
            manifest["outputs"][dest.name] = {"bytes": cut, "sha256": digest}
            print(f"{dest}: {cut:,} bytes", flush=True)
        dest = out / "linux-heldout.txt"
        digest = copy_range(f, dest, held_from, total)
        manifest["outputs"][dest.name] = {"bytes": total - held_from, "offset": held_from, "sha256": digest}
        print(f"{dest}: {total - held_from:,} bytes from offset {held_from:,}", flush=True)
    try:
        import pyarrow  # noqa: F401

        have_arrow = True
    except ImportError:
        have_arrow = False
        print("pyarrow is not installed: no Parquet copies (pip install pyarrow)", flush=True)
    if have_arrow:
        for n, name in sizes:
            if n in pq_sizes:
                dest = out / f"linux-{name}.parquet"
                info = write_parquet(dest, file_docs(full, starts, cuts[n]))
                manifest["outputs"][dest.name] = info
                print(f"{dest}: {info}", flush=True)
        prose = out / "corpus.txt"
        if prose.exists():
            dest = out / "corpus.parquet"
            info = write_parquet(dest, paragraphs(prose))
            manifest["outputs"][dest.name] = info
            print(f"{dest}: {info}", flush=True)
        else:
            print(f"{prose} is missing (make bench-data): no corpus.parquet", flush=True)
    full.unlink()
    manifest["build_seconds"] = round(time.time() - t0, 1)
    tmp = out / "linux-manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out / "linux-manifest.json")
    print(f"done in {time.time() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
