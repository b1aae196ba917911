"""Counting pre-tokens with the `regex` module: the reference path, and the one for presets that have
no compiled scanner.

`count_plain` is the plain definition (one process, one Counter) that every faster counter is tested
against; `RegexCounter` is the same split with batched Counter updates, in a form the worker
processes can ship (`part`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from ..pretokenize import make_splitter
from .wordcounts import WordCounts


def count_plain(texts: Iterable[str], preset: str, special_tokens: Iterable[str] = ()) -> Counter:
    """Reference counter: pre-token string -> count, one process, the plain regex. Tests hold every
    fast path to this. Raises ToktoolError for an unknown preset.

    Example: count_plain(["the cat the"], "gpt2") == Counter({"the": 1, " cat": 1, " the": 1})."""
    split = make_splitter(preset, special_tokens)
    c: Counter = Counter()
    for t in texts:
        c.update(split(t))
    return c


def count_batch(split: Callable[[str], list[str]], batch: Sequence[str], c: Counter) -> None:
    """Add the pre-tokens of a batch of texts to `c`: one Counter.update per batch is far cheaper
    than one per text."""
    toks: list[str] = []
    for t in batch:
        toks += split(t)
    c.update(toks)


def compact(c: Counter) -> tuple[bytes, list[int], list[int]]:
    """A Counter's words as sorted, concatenated UTF-8 (data, offsets[n+1], counts[n]): a fraction
    of a dict's size to send and hold. Empties `c`."""
    items = sorted((w.encode("utf-8", "surrogatepass"), n) for w, n in c.items())
    c.clear()
    offsets = [0]
    for w, _ in items:
        offsets.append(offsets[-1] + len(w))
    return b"".join(w for w, _ in items), offsets, [n for _, n in items]


class RegexCounter:
    """Pre-token counts of one preset's regex split. `part()` is what a worker sends (compact,
    picklable); `combine` sums the parts of every process into WordCounts."""

    def __init__(self, preset: str, special_tokens: Sequence[str] = ()) -> None:
        self.split = make_splitter(preset, special_tokens)
        self.counter: Counter = Counter()

    def add_texts(self, texts: Sequence[str]) -> None:
        """Count the pre-tokens of `texts` (special tokens cut out first)."""
        count_batch(self.split, texts, self.counter)

    def part(self) -> tuple[bytes, list[int], list[int]]:
        """The counts so far as `compact` parts; the table is released."""
        return compact(self.counter)

    @staticmethod
    def combine(parts: list, preset: str, special_tokens: Sequence[str], corpus: dict) -> WordCounts:
        """The processes' parts summed into WordCounts (sorted by bytes)."""
        return WordCounts.from_compact_parts(parts, preset, special_tokens, corpus)
