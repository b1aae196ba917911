"""A counts directory: WordCounts hash-partitioned by word into shards, plus a manifest.

The hand-off between counting and training when the counts are too large for one process. Every
word lives in exactly one shard, chosen by `partition_of` (CRC-32 of its UTF-8 bytes, modulo the
number of partitions), so shards are disjoint and each one can be summed, filtered and written by a
different process; `--min-word-count` is exact per shard for the same reason. Each shard is an
ordinary WordCounts file (sorted by word bytes, format v1) that `WordCounts.load` reads alone.

Layout of DIR:
  shard-00000-of-00016.counts ...   one WordCounts file per partition (empty partitions too)
  manifest.json                     format name and version, toktool version, pre-tokenizer, special
                                    tokens, options (text_field, errors, partitions, min_word_count),
                                    the corpus statistics (inputs with sha256 and bytes), what
                                    min_word_count dropped, totals, and per shard: file, words, total,
                                    data_bytes, sha256

The layout depends only on the counts and the options, never on the engine or the worker count: the
local pool and Ray write byte-identical directories for the same inputs.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._version import __version__
from ..atomic import atomic_dir
from ..errors import InputError, ToktoolError
from .wordcounts import WordCounts

FORMAT = "toktool-counts-dir"
VERSION = 1
MANIFEST = "manifest.json"
PARTITION_KEY = "crc32(word UTF-8 bytes) mod partitions"

# (data uint8[N], offsets int64[n+1], counts int64[n]): words sorted by bytes, as WordCounts holds them
Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]


def shard_name(index: int, partitions: int) -> str:
    """File name of shard `index` (0-based) of `partitions`: shard-00003-of-00016.counts."""
    return f"shard-{index:05d}-of-{partitions:05d}.counts"


SHARD_RE = re.compile(r"shard-\d{5}-of-\d{5}\.counts")


def is_counts_dir(path: str | Path) -> bool:
    """True when `path` is a counts directory: a directory holding a counts manifest, or count shards
    (shard-*-of-*.counts) without one, which `load_counts_dir` then refuses (a partial copy must not
    be trained on as if it were whole; its shards can still be given one by one)."""
    p = Path(path)
    if not p.is_dir():
        return False
    if (p / MANIFEST).is_file():
        return True
    try:
        return any(SHARD_RE.fullmatch(f.name) for f in p.iterdir())
    except OSError:
        return False


def check_partitions(partitions: int, min_word_count: int) -> None:
    """Raises ToktoolError unless 1 <= partitions <= 65536 and min_word_count >= 0."""
    if not 1 <= partitions <= 65536:
        raise ToktoolError(f"--partitions must be between 1 and 65536, not {partitions}")
    if min_word_count < 0:
        raise ToktoolError(f"--min-word-count must be 0 or more, not {min_word_count}")


# --- partitioning, filtering, merging sorted arrays ---------------------------------------------


def as_arrays(part: tuple) -> Arrays:
    """A counter's part (`RegexCounter`: bytes + lists; `ScanCounter`: arrays) as three arrays."""
    data, offsets, counts = part
    if isinstance(data, (bytes, bytearray)):
        data = np.frombuffer(bytes(data), dtype=np.uint8)
    return data, np.asarray(offsets, dtype=np.int64), np.asarray(counts, dtype=np.int64)


def partition_of(data: np.ndarray, offsets: np.ndarray, partitions: int) -> np.ndarray:
    """int64[n]: the partition of every word, crc32(word bytes) % partitions.

    data uint8[N], offsets int64[n+1]. CRC-32 (zlib) is the same on every machine and Python version,
    unlike `hash()`; it is computed one word at a time, which costs far less than counting did."""
    n = offsets.shape[0] - 1
    if partitions == 1 or n <= 0:
        return np.zeros(max(n, 0), dtype=np.int64)
    buf = data.tobytes()
    off = offsets.tolist()
    crc = zlib.crc32
    h = np.fromiter((crc(buf[off[i] : off[i + 1]]) for i in range(n)), dtype=np.uint32, count=n)
    return (h % np.uint32(partitions)).astype(np.int64)


def take(arrays: Arrays, idx: np.ndarray) -> Arrays:
    """The words at positions `idx` (int64, ascending keeps the byte order) as new arrays."""
    data, offsets, counts = arrays
    idx = np.asarray(idx, dtype=np.int64)
    starts = offsets[idx]
    lens = offsets[idx + 1] - starts
    new_off = np.zeros(idx.shape[0] + 1, dtype=np.int64)
    np.cumsum(lens, out=new_off[1:])
    # byte positions of every selected word: its start, then +1 for each following byte
    pos = np.repeat(starts - new_off[:-1], lens) + np.arange(int(new_off[-1]), dtype=np.int64)
    return data[pos], new_off, counts[idx]


def split_partitions(arrays: Arrays, partitions: int) -> list[Arrays]:
    """Sorted arrays cut into `partitions` sorted, disjoint parts by `partition_of`."""
    data, offsets, counts = arrays
    if partitions == 1:
        return [arrays]
    part = partition_of(data, offsets, partitions)
    order = np.argsort(part, kind="stable")  # stable: byte order is kept inside every partition
    bounds = np.searchsorted(part[order], np.arange(partitions + 1))
    return [take(arrays, order[bounds[p] : bounds[p + 1]]) for p in range(partitions)]


def drop_rare(arrays: Arrays, min_word_count: int) -> tuple[Arrays, int, int]:
    """(arrays without the words counted fewer than `min_word_count` times, words dropped, their
    occurrences). min_word_count 0 or 1 keeps everything."""
    counts = arrays[2]
    if min_word_count <= 1:
        return arrays, 0, 0
    rare = counts < min_word_count
    n_rare = int(rare.sum())
    if n_rare == 0:
        return arrays, 0, 0
    return take(arrays, np.flatnonzero(~rare)), n_rare, int(counts[rare].sum())


def merge_sorted(parts: Sequence[Arrays]) -> Arrays:
    """Sorted runs merged into one sorted run, the counts of equal words summed.

    Pairs are merged level by level (a balanced tree: each byte is copied log2(k) times, and the
    peak is the last two halves plus their merge). Uses the scanners' compiled merge of sorted runs."""
    from .sorted_runs import piece_kernels

    runs = [p for p in parts if p[2].shape[0]] or list(parts[:1])
    if not runs:
        return np.empty(0, dtype=np.uint8), np.zeros(1, dtype=np.int64), np.empty(0, dtype=np.int64)
    merge = piece_kernels()[0]
    while len(runs) > 1:
        nxt = [merge(*runs[i], *runs[i + 1]) for i in range(0, len(runs) - 1, 2)]
        if len(runs) % 2:
            nxt.append(runs[-1])
        runs = nxt
    return runs[0]


# --- writing --------------------------------------------------------------------------------


def shard_bytes(arrays: Arrays, index: int, partitions: int, pretokenizer: str, special_tokens: Sequence[str], min_word_count: int) -> bytes:
    """One shard's file content: a WordCounts (format v1) whose meta names its partition."""
    data, offsets, counts = arrays
    meta = {"shard": index, "partitions": partitions, "partition_key": PARTITION_KEY, "min_word_count": min_word_count}
    return WordCounts(data, offsets, counts, pretokenizer, list(special_tokens), meta).to_bytes()


@dataclass
class ShardResult:
    """One finished shard: what goes into its file and its manifest entry."""

    index: int
    content: bytes
    words: int
    total: int
    data_bytes: int
    text_bytes: int  # sum of count x length: bytes of text the kept words cover
    sha256: str  # of `content`
    dropped_words: int = 0
    dropped_occurrences: int = 0


def make_shard(arrays: Arrays, index: int, partitions: int, pretokenizer: str, special_tokens: Sequence[str], min_word_count: int) -> ShardResult:
    """Filter one partition's summed counts by `min_word_count` and serialise it as a ShardResult."""
    kept, dw, do = drop_rare(arrays, min_word_count)
    data, offsets, counts = kept
    content = shard_bytes(kept, index, partitions, pretokenizer, special_tokens, min_word_count)
    return ShardResult(
        index=index,
        content=content,
        words=int(counts.shape[0]),
        total=int(counts.sum()),
        data_bytes=int(data.shape[0]),
        text_bytes=int((np.diff(offsets) * counts).sum()),
        sha256=hashlib.sha256(content).hexdigest(),
        dropped_words=dw,
        dropped_occurrences=do,
    )


def local_shards(wc: WordCounts, partitions: int, min_word_count: int) -> Iterator[ShardResult]:
    """The shards of an in-memory WordCounts (the local engine), one at a time."""
    arrays = (wc.data, wc.offsets, wc.counts)
    part = partition_of(wc.data, wc.offsets, partitions)
    order = np.argsort(part, kind="stable")
    bounds = np.searchsorted(part[order], np.arange(partitions + 1))
    for p in range(partitions):
        sub = take(arrays, order[bounds[p] : bounds[p + 1]]) if partitions > 1 else arrays
        yield make_shard(sub, p, partitions, wc.pretokenizer, wc.special_tokens, min_word_count)


def manifest_dict(
    shards: Sequence[ShardResult],
    pretokenizer: str,
    special_tokens: Sequence[str],
    corpus: dict,
    text_field: str | None,
    errors: str,
    min_word_count: int,
) -> bytes:
    """The manifest (dict) for `shards`, listed in index order; `manifest_bytes` serialises it."""
    shards = sorted(shards, key=lambda s: s.index)
    partitions = len(shards)
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "toktool_version": __version__,
        "pretokenizer": pretokenizer,
        "special_tokens": list(special_tokens),
        "options": {
            "text_field": text_field,
            "errors": errors,
            "partitions": partitions,
            "partition_key": PARTITION_KEY,
            "min_word_count": min_word_count,
        },
        "corpus": corpus,
        "dropped": {
            "words": sum(s.dropped_words for s in shards),
            "occurrences": sum(s.dropped_occurrences for s in shards),
        },
        "totals": {
            "words": sum(s.words for s in shards),
            "occurrences": sum(s.total for s in shards),
            "text_bytes": sum(s.text_bytes for s in shards),
            "data_bytes": sum(s.data_bytes for s in shards),
        },
        "shards": [
            {
                "file": shard_name(s.index, partitions),
                "words": s.words,
                "total": s.total,
                "data_bytes": s.data_bytes,
                "sha256": s.sha256,
            }
            for s in shards
        ],
    }
    return manifest


def manifest_bytes(manifest: dict) -> bytes:
    """manifest.json content: UTF-8 JSON, keys sorted, one space indent, a newline at the end."""
    return (json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def write_counts_dir(
    out: str | Path,
    shards: Iterable[ShardResult],
    partitions: int,
    pretokenizer: str,
    special_tokens: Sequence[str],
    corpus: dict | None,
    text_field: str | None,
    errors: str,
    min_word_count: int,
    force: bool = False,
    corpus_after: Callable[[], dict] | None = None,
) -> dict:
    """Write `shards` (any order, one at a time) and the manifest into the directory `out`,
    atomically: an error or Ctrl-C leaves nothing. `corpus` is the corpus statistics; when it is only
    known after the shards (Ray), pass None and `corpus_after`, a callable returning it.

    Returns the manifest as a dict. Raises OutputExistsError when `out` exists and not `force`,
    ToktoolError when the shards are not 0..partitions-1 exactly once or hold no word at all."""
    seen: list[ShardResult] = []
    with atomic_dir(out, force=force) as tmp:
        for s in shards:
            (tmp / shard_name(s.index, partitions)).write_bytes(s.content)
            s.content = b""  # written: keep only the numbers, never every shard at once
            seen.append(s)
        if sorted(s.index for s in seen) != list(range(partitions)):
            raise ToktoolError(f"internal: expected shards 0..{partitions - 1}, got {sorted(s.index for s in seen)}")
        if corpus is None:
            corpus = corpus_after() if corpus_after else {}
        if sum(s.words for s in seen) == 0:
            where = ", ".join(i["path"] for i in corpus.get("inputs", [])) or "the inputs"
            if sum(s.dropped_words for s in seen):
                raise ToktoolError(f"every word of {where} is rarer than --min-word-count {min_word_count}")
            raise ToktoolError(f"empty corpus: no text found in {where}")
        manifest = manifest_dict(seen, pretokenizer, special_tokens, corpus, text_field, errors, min_word_count)
        (tmp / MANIFEST).write_bytes(manifest_bytes(manifest))
    return manifest


# --- reading --------------------------------------------------------------------------------


def read_manifest(path: str | Path) -> dict:
    """The manifest of the counts directory `path` (dict). Raises InputError when it is missing,
    not JSON, of another format or of an unsupported version."""
    p = Path(path) / MANIFEST
    try:
        manifest = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if is_counts_dir(path):
            raise InputError(
                f"{path}: counts directory has no {MANIFEST} (a partial copy?); copy the manifest too,"
                f" or give the shard files to train on them anyway ('{Path(path) / '*.counts'}')"
            ) from None
        raise InputError(f"{path}: not a counts directory (no {MANIFEST})") from None
    except (OSError, ValueError) as e:
        raise InputError(f"{p}: unreadable counts manifest ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InputError(f"{p}: not a toktool counts manifest")
    if manifest.get("version") != VERSION:
        raise InputError(f"{p}: counts directory version {manifest.get('version')} is not supported (this toktool reads {VERSION})")
    problem = _manifest_problem(manifest)
    if problem:
        raise InputError(f"{p}: malformed counts manifest: {problem}")
    return manifest


def _manifest_problem(m: dict) -> str | None:
    """What is missing or wrong in a manifest's fields that reading relies on, or None."""
    if not isinstance(m.get("pretokenizer"), str):
        return "no pretokenizer"
    specials = m.get("special_tokens")
    if not isinstance(specials, list) or not all(isinstance(t, str) for t in specials):
        return "special_tokens is not a list of strings"
    options = m.get("options")
    if not isinstance(options, dict) or not isinstance(options.get("min_word_count"), int):
        return "no options.min_word_count"
    if not isinstance(m.get("dropped"), dict):
        return "no dropped section"
    shards = m.get("shards")
    if not isinstance(shards, list) or not shards:
        return "no list of shards"
    if options.get("partitions") != len(shards):
        return f"options.partitions is {options.get('partitions')!r} but {len(shards)} shards are listed"
    for i, e in enumerate(shards):
        if not isinstance(e, dict) or e.get("file") != shard_name(i, len(shards)):
            return f"shard entry {i} is not {shard_name(i, len(shards))}"
        if not isinstance(e.get("sha256"), str) or not all(isinstance(e.get(k), int) for k in ("words", "total")):
            return f"shard entry {i} ({e['file']}) lacks sha256, words or total"
    return None


def load_shard(path: str | Path, entry: dict, manifest: dict) -> WordCounts:
    """One shard, checked against its manifest entry (sha256, words, pre-tokenizer, special tokens).
    Raises InputError naming the file when it is missing, altered or inconsistent."""
    f = Path(path) / entry["file"]
    try:
        content = f.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{f}: count shard listed in the manifest is missing") from None
    except OSError as e:
        raise InputError(f"{f}: cannot read count shard: {e.strerror or e}") from None
    if hashlib.sha256(content).hexdigest() != entry["sha256"]:
        raise InputError(f"{f}: count shard is corrupt (its sha256 differs from the manifest's)")
    wc = WordCounts.load(f)
    if (
        len(wc) != entry["words"]
        or wc.total != entry["total"]
        or wc.pretokenizer != manifest["pretokenizer"]
        or list(wc.special_tokens) != list(manifest["special_tokens"])
    ):
        raise InputError(f"{f}: count shard does not match the manifest (words, total, pre-tokenizer or special tokens)")
    return wc


def load_counts_dir(path: str | Path) -> WordCounts:
    """All shards of a counts directory as one WordCounts (sorted by word bytes).

    Shards are disjoint by word, so this is a merge of sorted runs (compiled, level by level), never
    a dictionary of all words: memory is the shards' arrays plus the merged arrays (about twice the
    counts' compact size at the peak). The result's `corpus` is the manifest's corpus statistics plus
    `counts_dir`, `min_word_count` and `dropped`. Raises InputError for a bad manifest or shard."""
    manifest = read_manifest(path)
    shards = [load_shard(path, e, manifest) for e in manifest["shards"]]
    arrays = merge_sorted([(wc.data, wc.offsets, wc.counts) for wc in shards])
    del shards
    corpus = dict(manifest.get("corpus") or {})
    corpus.update(counts_dir=str(path), min_word_count=manifest["options"]["min_word_count"], dropped=manifest["dropped"])
    return WordCounts(*arrays, manifest["pretokenizer"], list(manifest["special_tokens"]), corpus)
