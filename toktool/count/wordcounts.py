"""WordCounts: unique pre-tokens (UTF-8 bytes) with int64 counts, the artifact that shards.

Counting is embarrassingly parallel and merging is not, so the counts are what moves between machines:
`toktool count` on each shard, `toktool train --from-counts` on the union. Words are kept sorted by
their bytes, so the same corpus always gives byte-identical counts files, whatever the worker count.

File format (version 1): a NumPy .npz archive (no pickles) with
  data    uint8[N]   concatenated UTF-8 bytes of the words
  offsets int64[n+1] word i is data[offsets[i]:offsets[i+1]]
  counts  int64[n]
  meta    uint8[...] UTF-8 JSON: {"format": "toktool-wordcounts", "version": 1, "pretokenizer": ...,
                     "special_tokens": [...], "corpus": {...}}
"""

from __future__ import annotations

import heapq
import io
import json
import zipfile
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..atomic import write_bytes_atomic
from ..errors import InputError, ToktoolError
from ..pretokenize import PRESETS

FORMAT = "toktool-wordcounts"
VERSION = 1


@dataclass
class WordCounts:
    """Unique pre-tokens with their counts: what training needs of a corpus, and nothing more.

    data: uint8[total bytes], the words' UTF-8 bytes concatenated, words sorted by their bytes;
    offsets: int64[n+1], word i is data[offsets[i]:offsets[i+1]]; counts: int64[n], each > 0;
    pretokenizer: the preset that split the text; special_tokens: cut out before counting;
    corpus: input statistics and SHA-256s (for train.json).

    Made by `count_corpus`; `save`/`load` the file format above (`load` raises InputError for a
    file that is not a counts file or is corrupt); `merge` sums shards (ToktoolError when their
    presets or special tokens differ).

    Example: WordCounts.from_mapping({"the": 2, " cat": 1}, "gpt2").top(1) == [(b"the", 2)]."""

    data: np.ndarray  # uint8
    offsets: np.ndarray  # int64, len n+1
    counts: np.ndarray  # int64, len n
    pretokenizer: str
    special_tokens: list[str] = field(default_factory=list)
    corpus: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.counts.shape[0])

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    @property
    def total_bytes(self) -> int:
        """Bytes of text covered by the counted words (sum of count × length)."""
        return int((np.diff(self.offsets) * self.counts).sum())

    def word(self, i: int) -> bytes:
        return self.data[self.offsets[i] : self.offsets[i + 1]].tobytes()

    def items(self) -> Iterable[tuple[bytes, int]]:
        buf = self.data.tobytes()
        off = self.offsets.tolist()
        for i, c in enumerate(self.counts.tolist()):
            yield buf[off[i] : off[i + 1]], c

    def as_counter(self) -> Counter:
        return Counter({w.decode("utf-8", errors="surrogateescape"): c for w, c in self.items()})

    def top(self, k: int) -> list[tuple[bytes, int]]:
        """The k most frequent words (ties by bytes, so the listing is deterministic)."""
        if k <= 0 or len(self) == 0:
            return []
        order = np.lexsort((np.arange(len(self)), -self.counts))[:k]
        return [(self.word(int(i)), int(self.counts[i])) for i in order]

    # --- construction ----------------------------------------------------------------------

    @classmethod
    def from_mapping(
        cls,
        counts: Mapping[str, int] | Mapping[bytes, int],
        pretokenizer: str,
        special_tokens: Iterable[str] = (),
        corpus: dict | None = None,
    ) -> WordCounts:
        items = sorted((w.encode("utf-8") if isinstance(w, str) else w, int(c)) for w, c in counts.items() if c > 0)
        return cls.from_sorted_items(items, pretokenizer, special_tokens, corpus)

    @classmethod
    def from_sorted_items(cls, items: Iterable[tuple[bytes, int]], pretokenizer: str, special_tokens: Iterable[str] = (), corpus: dict | None = None) -> WordCounts:
        """Build from (word, count) pairs sorted by word, summing runs of equal words, in compact memory."""
        data = bytearray()
        offsets = [0]
        counts: list[int] = []
        prev: bytes | None = None
        for w, c in items:
            if w == prev:
                counts[-1] += c
                continue
            data += w
            offsets.append(len(data))
            counts.append(c)
            prev = w
        return cls(
            np.frombuffer(bytes(data), dtype=np.uint8).copy(),
            np.array(offsets, dtype=np.int64),
            np.array(counts, dtype=np.int64),
            pretokenizer,
            list(special_tokens),
            dict(corpus or {}),
        )

    @classmethod
    def from_compact_parts(cls, parts: list, pretokenizer: str, special_tokens: Iterable[str] = (), corpus: dict | None = None) -> WordCounts:
        """Build from the counting workers' sorted (data, offsets, counts) parts: one C-level sort of
        all words is much faster than a Python heap merge of the runs (docs/benchmarks.md)."""
        words: list[bytes] = []
        counts: list[int] = []
        for data, offsets, cnts in parts:
            words.extend(data[offsets[i] : offsets[i + 1]] for i in range(len(cnts)))
            counts.extend(cnts)
        order = sorted(range(len(words)), key=words.__getitem__)
        return cls.from_sorted_items(((words[i], counts[i]) for i in order), pretokenizer, special_tokens, corpus)

    @classmethod
    def merge(cls, parts: list[WordCounts]) -> WordCounts:
        """Sum several counts files (shards). They must come from the same pre-tokenizer."""
        if not parts:
            raise ToktoolError("no counts to merge")
        pre = {p.pretokenizer for p in parts}
        if len(pre) > 1:
            raise ToktoolError(f"cannot merge counts made with different pre-tokenizers: {', '.join(sorted(pre))}")
        specials = {tuple(p.special_tokens) for p in parts}
        if len(specials) > 1:
            raise ToktoolError("cannot merge counts made with different --special-token lists")
        if len(parts) == 1:
            return parts[0]
        corpus = {
            "merged_from": [p.corpus for p in parts],
            "texts": sum(int(p.corpus.get("texts", 0)) for p in parts),
            "bytes": sum(int(p.corpus.get("bytes", 0)) for p in parts),
        }
        # each part is sorted by word: a streaming k-way merge never holds a dict of all words
        merged = heapq.merge(*(p.items() for p in parts), key=lambda kv: kv[0])
        return cls.from_sorted_items(merged, parts[0].pretokenizer, parts[0].special_tokens, corpus)

    # --- persistence -----------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "pretokenizer": self.pretokenizer,
            "special_tokens": self.special_tokens,
            "words": len(self),
            "total": self.total,
            "corpus": self.corpus,
        }
        buf = io.BytesIO()
        # Fixed member order and no timestamps beyond zipfile's constant: same counts, same bytes.
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, arr in (
                ("meta", np.frombuffer(json.dumps(meta, sort_keys=True).encode("utf-8"), dtype=np.uint8)),
                ("data", self.data),
                ("offsets", self.offsets),
                ("counts", self.counts),
            ):
                member = io.BytesIO()
                np.lib.format.write_array(member, np.ascontiguousarray(arr), allow_pickle=False)
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, member.getvalue())
        return buf.getvalue()

    def save(self, path: str | Path, force: bool = False) -> None:
        """Write the counts file atomically; OutputExistsError when it exists and not `force`."""
        write_bytes_atomic(path, self.to_bytes(), force=force)

    @classmethod
    def load(cls, path: str | Path) -> WordCounts:
        """Read a counts file. Raises InputError naming the file when it is missing, not a toktool
        counts file, of another format version, or inconsistent."""
        p = Path(path)
        try:
            with open(p, "rb") as f:
                head = f.read(8)
        except FileNotFoundError:
            raise InputError(f"{p}: no such counts file") from None
        except OSError as e:
            raise InputError(f"{p}: cannot read counts file: {e.strerror or e}") from None
        if not head.startswith(b"PK"):  # not a zip archive: numpy would take it for a pickle or an .npy array
            raise InputError(f"{p}: not a toktool counts file ({_not_a_zip(head, p)})")
        try:
            with np.load(p, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except ValueError as e:  # numpy's message for a pickle advises loading it unsafely: we never do
            why = "it holds pickled data" if "pickle" in str(e) else f"ValueError: {e}"
            raise InputError(f"{p}: not a toktool counts file ({why})") from None
        except (OSError, zipfile.BadZipFile, EOFError, KeyError) as e:
            raise InputError(f"{p}: not a readable counts file: truncated or corrupt zip archive ({type(e).__name__}: {e})") from None
        try:
            meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
            data, offsets, counts = arrays["data"], arrays["offsets"], arrays["counts"]
        except (KeyError, ValueError, UnicodeDecodeError):
            raise InputError(f"{p}: not a toktool counts file (missing or bad members)") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise InputError(f"{p}: not a toktool counts file")
        if meta.get("version") != VERSION:
            raise InputError(f"{p}: counts format version {meta.get('version')} is not supported (this toktool reads {VERSION})")
        n = counts.shape[0]
        if (
            data.dtype != np.uint8
            or offsets.dtype != np.int64
            or counts.dtype != np.int64
            or offsets.shape != (n + 1,)
            or (n and (offsets[0] != 0 or offsets[-1] != data.shape[0] or np.any(np.diff(offsets) <= 0)))
            or np.any(counts <= 0)
        ):
            raise InputError(f"{p}: counts file is corrupt (inconsistent arrays)")
        specials = meta.get("special_tokens", [])
        if not isinstance(meta.get("pretokenizer"), str) or not isinstance(specials, list) or not all(isinstance(t, str) for t in specials):
            raise InputError(f"{p}: counts file is corrupt (its pre-tokenizer or special tokens are missing or malformed)")
        if meta["pretokenizer"] not in PRESETS:
            raise InputError(f"{p}: counts made with pre-tokenizer {meta['pretokenizer']!r}, which this toktool does not know")
        return cls(data, offsets, counts, meta["pretokenizer"], list(meta.get("special_tokens", [])), meta.get("corpus", {}))


def _not_a_zip(head: bytes, path: Path) -> str:
    """Why a file whose first bytes are `head` is not a counts file (a zip archive), in words."""
    if not head:
        return "the file is empty"
    if head.startswith(b"\x80"):
        return "it holds pickled data"
    if head.startswith(b"\x93NUMPY"):
        try:
            with open(path, "rb") as f:
                version = np.lib.format.read_magic(f)
                read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                dtype = read(f)[2]
        except (OSError, ValueError):
            return "a damaged NumPy array"
        return "it holds pickled data" if dtype.hasobject else "it is a single NumPy array, not a counts archive"
    try:
        with open(path, "rb") as f:
            f.read(4096).decode("utf-8")
    except UnicodeDecodeError:
        return "not a zip archive"
    if path.name == "manifest.json":  # a counts directory's manifest (shards.MANIFEST), met inside a directory given
        return f"it is the manifest of a counts directory: give the directory {path.parent} itself"
    return "it is text, not counts made by `toktool count`"
