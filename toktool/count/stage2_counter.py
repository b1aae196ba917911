"""Counting SuperBPE stage-2 pieces without regex or dicts (see kernels/stage2_scan.py for the why).

A PieceCounter lives in each counting process: batches of texts go in as UTF-8, unique pieces and
their counts accumulate in flat arrays; each process puts its table in byte order (the order
WordCounts keeps) and the parent merges the sorted runs, summing the counts of equal pieces. Results
are equal to counting `regex` findall pieces of SUPERBPE_PATTERN with a Counter (tested), whatever
the number of processes.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import regex

from ..kernels import charclass as k
from ..kernels.loader import get_kernel
from ..pretokenize import special_splitter
from .wordcounts import WordCounts

# presets that have a scanner here; the others are counted with `regex`
FAST_PRESETS = frozenset({"superbpe"})


@functools.lru_cache(maxsize=1)
def class_table() -> np.ndarray:
    """uint8[0x110000]: the class (kernels.charclass) of every code point, surrogates included, as the
    pattern's `regex` sees it (so \\p{L}, \\p{N} and \\s follow the Unicode version of `regex`)."""
    # every code point as one string, built without a million 1-char objects (a large, brief spike)
    chars = np.arange(0x110000, dtype=np.uint32).tobytes().decode("utf-32-le", "surrogatepass")
    table = np.full(0x110000, k.C_P, dtype=np.uint8)
    for pattern, value in ((r"\p{L}+", k.C_L), (r"\p{N}+", k.C_N), (r"\s+", k.C_WS)):
        for m in regex.finditer(pattern, chars):
            table[m.start() : m.end()] = value
    table[0x20] = k.C_SP
    table[0x0A] = k.C_NL
    return table


def line_ends(buf: np.ndarray) -> np.ndarray:
    """int64[T+1]: byte offsets of the texts of a block of whole lines (uint8, UTF-8), each line one
    text, its newline included: [0, end of line 1, ..., len(buf)]."""
    ends = np.flatnonzero(buf == 10) + 1
    if ends.shape[0] == 0 or ends[-1] != buf.shape[0]:
        ends = np.append(ends, buf.shape[0])
    return np.concatenate(([0], ends)).astype(np.int64)


def stage2_kernels():
    """(count, merge_sorted, sort_pieces, gather): the stage-2 kernels, AOT-built when available (no
    numba import in the counting processes), else JIT."""
    return tuple(
        get_kernel(name)[0]
        for name in ("sb2_count_kernel", "sb2_merge_sorted_kernel", "sb2_sort_pieces_kernel", "sb2_gather_kernel")
    )


@dataclass
class SortedCounts:
    """Summed counts of every process, in byte order of the pieces (WordCounts' layout): data
    uint8[total bytes], offsets int64[n+1], counts int64[n]."""

    data: np.ndarray
    offsets: np.ndarray
    counts: np.ndarray


class PieceCounter:
    """Unique stage-2 pieces (UTF-8) with counts, in growable flat arrays. `part()` is what a worker
    sends (three arrays, sent raw through a pipe); `combine` merges the processes' sorted runs."""

    def __init__(self, special_tokens: Iterable[str] = ()) -> None:
        self._count, _, self._sort, self._gather = stage2_kernels()
        self._table = class_table()
        specials = special_splitter(special_tokens)
        self._split_specials = specials.split if specials is not None else None
        self._slots = np.full(1 << 12, -1, dtype=np.int32)
        self._hash = np.empty(1 << 11, dtype=np.uint64)
        self._off = np.zeros(1 << 11, dtype=np.int64)
        self._cnt = np.empty(1 << 11, dtype=np.int64)
        self._data = np.empty(1 << 16, dtype=np.uint8)
        self._state = np.array([0, 0, 12], dtype=np.int64)

    def add_texts(self, texts: Sequence[str]) -> None:
        """Count the stage-2 pieces of `texts` (special tokens cut out first)."""
        if self._split_specials is not None:
            texts = [piece for t in texts for piece in self._split_specials(t) if piece]
        enc = [t.encode("utf-8", "surrogatepass") for t in texts]
        seg = np.zeros(len(enc) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, enc), dtype=np.int64, count=len(enc)), out=seg[1:])
        buf = np.frombuffer(b"".join(enc), dtype=np.uint8)
        if buf.shape[0] == 0:
            return
        self._slots, self._hash, self._off, self._cnt, self._data = self._count(
            buf, seg, self._table, self._slots, self._hash, self._off, self._cnt, self._data, self._state
        )

    def add_block(self, block: bytes) -> None:
        """Count the pieces of a block of whole lines (valid UTF-8, each line one text, as
        corpus.iter_line_blocks yields them): add_texts of its lines, without a str per line."""
        buf = np.frombuffer(block, dtype=np.uint8)
        if buf.shape[0] == 0:
            return
        self._slots, self._hash, self._off, self._cnt, self._data = self._count(
            buf, line_ends(buf), self._table, self._slots, self._hash, self._off, self._cnt, self._data, self._state
        )

    def sorted(self) -> SortedCounts:
        """The pieces and counts in byte order."""
        n, nd = int(self._state[0]), int(self._state[1])
        data, off = self._data[:nd], self._off[: n + 1]
        order = self._sort(data, off, np.int64(n))
        out, out_off = self._gather(data, off, order)
        return SortedCounts(out, out_off, self._cnt[:n][order])

    def sorted_parts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`sorted()` as plain arrays, the table released: what a worker sends to the parent."""
        s = self.sorted()
        self.release()
        return s.data, s.offsets, s.counts

    def part(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The counts so far as sorted arrays (data uint8, offsets int64[n+1], counts int64[n]);
        the table is released."""
        return self.sorted_parts()

    @staticmethod
    def combine(parts: list, preset: str, special_tokens: Sequence[str], corpus: dict) -> WordCounts:
        """The processes' sorted parts merged (equal pieces' counts summed) into WordCounts."""
        s = merge_parts(parts)
        return WordCounts(s.data, s.offsets, s.counts, preset, list(special_tokens), corpus)

    def release(self) -> None:
        """Drop the table (the caller keeps what `sorted` returned)."""
        self._slots = self._hash = self._off = self._cnt = self._data = np.empty(0, dtype=np.uint8)


def merge_parts(parts: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> SortedCounts:
    """The processes' sorted parts as one SortedCounts: each process sorted its own share in
    parallel; this only merges sorted runs (equal pieces' counts summed)."""
    merge = stage2_kernels()[1]
    data, offsets, counts = parts[0]
    for d, o, c in parts[1:]:
        data, offsets, counts = merge(data, offsets, counts, d, o, c)
    return SortedCounts(data, offsets, counts)
