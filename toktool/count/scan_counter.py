"""Counting the byte-level presets' pre-tokens with the compiled scanner (kernels/pretok_scan.py).

Why: `regex` findall plus a Counter costs nearly all of a training run on large corpora; the scanner
finds the same pieces in compiled code and counts them in flat arrays. A ScanCounter counts gpt2,
gpt4 (cl100k), o200k, llama3 and SuperBPE's stage 2 (`superbpe`, whole lines, mostly unique, which
is why one table design for all matters: docs/superbpe.md): texts go in, unique pieces (UTF-8) with
int64 counts come out sorted by bytes, the arrays a counting process sends and
sorted_runs.merge_parts sums. Tests hold it equal to pretokenize.count_plain.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

import numpy as np
import regex

from ..kernels import charclass as k
from ..kernels.loader import get_kernel
from ..pretokenize import special_splitter
from .sorted_runs import SortedCounts, merge_parts, piece_kernels
from .wordcounts import WordCounts

_NO_ENDS = np.empty(0, dtype=np.int64)
_PRESETS = {"gpt2": k.GPT2, "gpt4": k.CL100K, "o200k": k.O200K, "llama3": k.LLAMA3, "superbpe": k.SUPERBPE}


def scan_presets() -> frozenset[str]:
    """Names of the pre-tokenizer presets (pretokenize.PRESETS) that have a scanner."""
    return frozenset(_PRESETS)


@functools.lru_cache(maxsize=1)
def scan_tables() -> tuple[np.ndarray, np.ndarray]:
    """(flags, fold), each uint8[0x110000] indexed by code point, surrogates included.

    flags: the pretok_scan.F_* bits of the character sets the patterns use, each found by `regex`
    itself on a string of every code point, so they follow `regex`'s Unicode version and its
    definition of \\s. fold: the ASCII character a code point matches inside the patterns' (?i:...)
    contractions (s, t, m, d, l, v, r, e, or the apostrophe; e.g. U+017F LONG S matches "s"), else 0.
    Built once per process (about 0.1 s); no per-code-point Python objects. Raises RuntimeError if
    `regex` ever matched a contraction letter to something other than one code point (full case
    folding), which the scanner does not replay."""
    # every code point as one string (~4.4 MB of UCS-4 for a moment)
    chars = np.arange(0x110000, dtype=np.uint32).tobytes().decode("utf-32-le", "surrogatepass")
    flags = np.zeros(0x110000, dtype=np.uint8)
    for pattern, bit in (
        (r"\p{L}+", k.F_L),
        (r"\p{N}+", k.F_N),
        (r"\s+", k.F_S),
        (r"[^\s\p{L}\p{N}]+", k.F_P),
        (r"[^\r\n\p{L}\p{N}]+", k.F_X),
        (r"[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+", k.F_U),
        (r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]+", k.F_W),
    ):
        for m in regex.finditer(pattern, chars):
            flags[m.start() : m.end()] |= bit
    fold = np.zeros(0x110000, dtype=np.uint8)
    for c in "stmdlvre'":
        for m in regex.finditer("(?i:" + regex.escape(c) + ")", chars):
            if m.end() - m.start() != 1 or fold[m.start()]:
                raise RuntimeError(f"(?i:{c}) matched {chars[m.start() : m.end()]!r}: the scanner assumes one letter each")
            fold[m.start()] = ord(c)
    return flags, fold


class ScanCounter:
    """Counts of one preset's pre-tokens (UTF-8 bytes) in growable flat arrays.

    preset: one of scan_presets() (ValueError otherwise). special_tokens: strings cut out of every
    text before splitting (each piece between them is split on its own) and never counted."""

    def __init__(self, preset: str, special_tokens: Iterable[str] = ()) -> None:
        if preset not in _PRESETS:
            raise ValueError(f"no scanner for pre-tokenizer {preset!r}; scanners: {', '.join(sorted(_PRESETS))}")
        self.preset = preset
        self._code = np.int64(_PRESETS[preset])
        self._flags, self._fold = scan_tables()
        splitter = special_splitter(special_tokens)
        self._split_specials = splitter.split if splitter is not None else None
        self._count = get_kernel("scan_count_kernel")[0]
        _, self._sort, self._gather = piece_kernels()
        self._slots = np.full(1 << 12, -1, dtype=np.int64)
        self._pc = np.zeros(1 << 12, dtype=np.int64)
        self._data = np.empty(1 << 16, dtype=np.uint8)
        self._state = np.array([0, 0, 12, 0, 0], dtype=np.int64)

    def _encode(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray] | None:
        """(UTF-8 of all texts, int64 boundaries in code points), or None when there is no text.
        One join and one encode for the batch: the kernel finds byte offsets while decoding."""
        if self._split_specials is not None:
            texts = [piece for t in texts for piece in self._split_specials(t) if piece]
        joined = "".join(texts)
        if not joined:
            return None
        seg = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)), out=seg[1:])
        return np.frombuffer(joined.encode("utf-8", "surrogatepass"), dtype=np.uint8), seg

    def add_texts(self, texts: Sequence[str]) -> None:
        """Split each text (str; lone surrogates allowed, as `regex` takes them) and count its pieces."""
        enc = self._encode(texts)
        if enc is None:
            return
        buf, seg = enc
        self._slots, self._pc, self._data = self._count(
            buf, seg, self._code, self._flags, self._fold, self._slots, self._pc, self._data, self._state, _NO_ENDS
        )

    def add_block(self, block: bytes) -> None:
        """Count the pre-tokens of a block of whole lines (valid UTF-8, each line one text, as
        corpus.iter_line_blocks yields them): add_texts of its lines, without a str per line. Only
        without special tokens (they are cut out of str texts)."""
        if self._split_specials is not None:
            raise ValueError("add_block cannot cut special tokens out; use add_texts")
        buf = np.frombuffer(block, dtype=np.uint8)
        if buf.shape[0] == 0:
            return
        # no seg: the kernel finds the lines while decoding (numpy boundaries cost a quarter of a scan)
        self._slots, self._pc, self._data = self._count(
            buf, _NO_ENDS, self._code, self._flags, self._fold, self._slots, self._pc, self._data, self._state, _NO_ENDS
        )

    def split(self, text: str) -> list[str]:
        """The pre-tokens of one text in order, as `regex` findall gives them (for tests and
        debugging; counting never builds them)."""
        enc = self._encode([text])
        if enc is None:
            return []
        buf, seg = enc
        ends = np.zeros(seg[-1] + 1, dtype=np.int64)
        state = np.array([0, 0, 4, 0, 0], dtype=np.int64)  # a table of its own, thrown away
        self._count(
            buf, seg, self._code, self._flags, self._fold, np.full(16, -1, dtype=np.int64),
            np.zeros(16, dtype=np.int64), np.empty(64, dtype=np.uint8), state, ends,
        )
        raw = buf.tobytes()
        return [raw[ends[p] : ends[p + 1]].decode("utf-8", "surrogatepass") for p in range(int(state[4]))]

    def sorted(self) -> SortedCounts:
        """The pieces and counts in byte order: data uint8[bytes], offsets int64[n+1], counts int64[n]."""
        n, nd = int(self._state[0]), int(self._state[1])
        data, off = self._data[:nd], np.ascontiguousarray(self._pc[0 : 2 * n + 1 : 2])
        order = self._sort(data, off, np.int64(n))
        out, out_off = self._gather(data, off, order)
        return SortedCounts(out, out_off, self._pc[1 : 2 * n : 2][order])

    def sorted_parts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`sorted()` as plain arrays (data, offsets, counts), the table released: what a worker sends
        to the parent for sorted_runs.merge_parts."""
        s = self.sorted()
        self.release()
        return s.data, s.offsets, s.counts

    def part(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The counts so far as sorted arrays (data uint8, offsets int64[n+1], counts int64[n]), sent
        raw by a worker; the table is released."""
        return self.sorted_parts()

    @staticmethod
    def combine(parts: list, preset: str, special_tokens: Sequence[str], corpus: dict) -> WordCounts:
        """The processes' sorted parts merged (equal pieces' counts summed) into WordCounts."""
        m = merge_parts(parts)
        return WordCounts(m.data, m.offsets, m.counts, preset, list(special_tokens), corpus)

    def release(self) -> None:
        """Drop the table (the caller keeps what `sorted` returned)."""
        self._slots = self._pc = self._data = np.empty(0, dtype=np.uint8)
