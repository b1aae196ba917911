"""Pre-tokenizer presets and the word-counting hot path.

Each preset is the well-known regex verbatim (tests compare them with the sources: tiktoken's
`tiktoken_ext/openai_public.py`, the GPT-2 encoder), so a tokenizer trained here splits text exactly
as the ecosystem's encoders do. Counting runs the regex with the `regex` module line by line, spread
over worker processes: sums of counts do not depend on the number of workers, so the result is the
same whatever the parallelism.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import regex

from .errors import ToktoolError, WorkerDiedError


@dataclass(frozen=True)
class Preset:
    name: str
    pattern: str | None  # None: the whole text is one pre-token
    source: str


GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
LLAMA3_PATTERN = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
# Lossless whitespace split: a word keeps one leading space (as GPT-2 does), other whitespace stands
# alone. Unlike HF's `Whitespace` pre-tokenizer nothing is dropped, so byte-level round-trips hold.
WHITESPACE_PATTERN = r""" ?\S+|\s+(?!\S)|\s+"""
# SuperBPE stage 2 (Liu et al. 2025). The authors' later recipe splits off only digit runs (1-3), runs
# of >= 2 punctuation characters and multi-space runs; everything between stays one pre-token, so
# tokens can bridge single spaces. Written as a full-coverage pattern (the text between those pieces
# is an alternative of its own) that also ends every piece at a newline: training reads lines, so no
# token may continue past one. The "between" alternative spells out which characters cannot start a
# split-off piece (1.6x faster than a negative lookahead of the three alternatives per character;
# tests check both forms agree). `superbpe-digits` is the paper's rule: only digit runs, in groups of 3
# from the right.
_SB2_SPLIT = r"""\p{N}{1,3}| ?[^\s\p{L}\p{N}]{2,}[\r/]*\n?| +(?!\S)"""
_P = r"""[^\s\p{L}\p{N}]"""
_SB2_BETWEEN = r"""(?:\p{L}+|""" + _P + r"""(?!""" + _P + r""")| (?=\S)(?!""" + _P + _P + r""")|[^\S \n])+\n?"""
SUPERBPE_PATTERN = _SB2_SPLIT + "|" + _SB2_BETWEEN + r"""|\n"""
SUPERBPE_DIGITS_PATTERN = r"""\p{N}{1,3}(?=(?:\p{N}{3})*(?!\p{N}))|(?:(?!\p{N})[^\n])+\n?|\n"""

PRESETS: dict[str, Preset] = {
    "gpt2": Preset("gpt2", GPT2_PATTERN, "GPT-2 encoder.py (Radford et al. 2019)"),
    "gpt4": Preset("gpt4", CL100K_PATTERN, "tiktoken cl100k_base"),
    "o200k": Preset("o200k", O200K_PATTERN, "tiktoken o200k_base"),
    "llama3": Preset("llama3", LLAMA3_PATTERN, "Meta Llama 3 tokenizer"),
    "whitespace": Preset("whitespace", WHITESPACE_PATTERN, "toktool: lossless whitespace split"),
    "superbpe": Preset("superbpe", SUPERBPE_PATTERN, "SuperBPE stage 2 (authors' later recipe): lines, digits/punctuation runs/multi-spaces split off"),
    "superbpe-digits": Preset("superbpe-digits", SUPERBPE_DIGITS_PATTERN, "SuperBPE stage 2 (paper): lines, only digit groups split off"),
    "none": Preset("none", None, "no split: each text is one pre-token"),
}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ToktoolError(f"unknown pre-tokenizer {name!r}; choose one of {', '.join(PRESETS)}") from None


# --- GPT-2 byte-level mapping -------------------------------------------------------------------

def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte → printable character map (printable Latin-1 bytes map to themselves)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BYTE_TO_CHAR: dict[int, str] = bytes_to_unicode()
CHAR_TO_BYTE: dict[str, int] = {c: b for b, c in BYTE_TO_CHAR.items()}
_BYTE_TRANS = [BYTE_TO_CHAR[b] for b in range(256)]


def to_byte_level(data: bytes) -> str:
    return "".join(_BYTE_TRANS[b] for b in data)


def from_byte_level(s: str) -> bytes:
    try:
        return bytes(CHAR_TO_BYTE[c] for c in s)
    except KeyError as e:
        raise ToktoolError(f"token {s!r} is not a byte-level token (character {e.args[0]!r})") from None


def byte_alphabet_order() -> list[int]:
    """The 256 bytes in the order of their byte-level characters' code points.

    Hugging Face's BpeTrainer gives the initial alphabet ids in code-point order; we do the same so
    that ids, and therefore tie-breaks between equally frequent pairs, agree with it.
    """
    return sorted(range(256), key=lambda b: ord(BYTE_TO_CHAR[b]))


# --- splitting and counting -------------------------------------------------------------------

def _special_splitter(special_tokens: Iterable[str]) -> regex.Pattern | None:
    toks = sorted({t for t in special_tokens if t}, key=len, reverse=True)
    if not toks:
        return None
    return regex.compile("|".join(regex.escape(t) for t in toks))


def make_splitter(preset: str, special_tokens: Iterable[str] = ()) -> Callable[[str], list[str]]:
    """Return text → pre-tokens. Special tokens are cut out first and never counted as words."""
    p = get_preset(preset)
    specials = _special_splitter(special_tokens)
    if p.pattern is None:
        def base(text: str) -> list[str]:
            return [text] if text else []
    else:
        base = regex.compile(p.pattern).findall
    if specials is None:
        return base
    sp_split = specials.split

    def split(text: str) -> list[str]:
        out: list[str] = []
        for piece in sp_split(text):
            if piece:
                out.extend(base(piece))
        return out

    return split


def count_plain(texts: Iterable[str], preset: str, special_tokens: Iterable[str] = ()) -> Counter:
    """Reference counter: one process, the plain regex. Tests hold the fast path to this."""
    split = make_splitter(preset, special_tokens)
    c: Counter = Counter()
    for t in texts:
        c.update(split(t))
    return c


def _batches(texts: Iterable[str], batch_chars: int) -> Iterator[list[str]]:
    batch: list[str] = []
    size = 0
    for t in texts:
        batch.append(t)
        size += len(t)
        if size >= batch_chars:
            yield batch
            batch = []
            size = 0
    if batch:
        yield batch


def _count_batch(split: Callable[[str], list[str]], batch: list[str], c: Counter) -> None:
    """One Counter.update per batch: far cheaper than one per text."""
    toks: list[str] = []
    for t in batch:
        toks += split(t)
    c.update(toks)


class _RegexCounter:
    """A Counter of one preset's regex pieces; `part()` is the compact form a worker sends."""

    def __init__(self, preset: str, specials: list[str]) -> None:
        self.split = make_splitter(preset, specials)
        self.counter: Counter = Counter()

    def add_texts(self, batch: list[str]) -> None:
        _count_batch(self.split, batch, self.counter)

    def part(self):
        return _compact(self.counter)


def _make_counters(presets: list[str], specials: list[str]) -> list:
    from .piececount import FAST_PRESETS, PieceCounter

    return [PieceCounter(specials) if p in FAST_PRESETS else _RegexCounter(p, specials) for p in presets]


def _part(counter):
    return counter.part() if isinstance(counter, _RegexCounter) else counter.sorted_parts()


def _parts(counters: list) -> list:
    """Every counter's part, the scanner's first: its table is sorted and released before a regex
    Counter is compacted, so the two peaks do not add up."""
    parts: list = [None] * len(counters)
    for k in sorted(range(len(counters)), key=lambda k: isinstance(counters[k], _RegexCounter)):
        parts[k] = _part(counters[k])
        counters[k] = None
    return parts


def _count_worker(index: int, presets: list[str], specials: list[str], inq, outq, conn) -> None:
    """Count batches until None, then report: regex counts through the queue (pickled), the
    scanner's sorted arrays raw through this worker's own pipe, announced by their sizes in the
    queue message (pickling them would hold two more copies on each side at the peak)."""
    try:
        counters = _make_counters(presets, specials)
        while True:
            batch = inq.get()
            if batch is None:
                break
            for c in counters:
                c.add_texts(batch)
        parts = _parts(counters)
        arrays = [a for p in parts if not isinstance(p[0], bytes) for a in p]
        message = [p if isinstance(p[0], bytes) else [(a.dtype.str, a.shape[0]) for a in p] for p in parts]
        outq.put(("ok", index, message))
        del parts
        for a in arrays:
            conn.send_bytes(a)
        conn.close()
    except BaseException as e:  # report instead of hanging the parent
        outq.put(("error", index, repr(e)))


def _receive_arrays(conn, specs: list) -> tuple:
    import numpy as np

    out = []
    for dtype, n in specs:
        a = np.empty(n, dtype=np.dtype(dtype))
        if n:
            conn.recv_bytes_into(a)
        else:
            conn.recv_bytes()
        out.append(a)
    return tuple(out)


def _compact(c: Counter) -> tuple[bytes, list[int], list[int]]:
    """A worker's counts as sorted, concatenated UTF-8: a fraction of a dict's size to send and hold."""
    items = sorted((w.encode("utf-8", "surrogatepass"), n) for w, n in c.items())
    c.clear()
    offsets = [0]
    for w, _ in items:
        offsets.append(offsets[-1] + len(w))
    return b"".join(w for w, _ in items), offsets, [n for _, n in items]


def count_words_parts_multi(
    texts: Iterable[str],
    presets: list[str],
    special_tokens: Iterable[str] = (),
    workers: int | None = None,
    batch_chars: int = 1 << 20,
    on_batch: Callable[[], None] | None = None,
) -> list:
    """Count with several pre-tokenizers in one pass over the text (SuperBPE needs both stages'
    counts: reading, decoding and shipping text to the workers happen once). Per preset either a
    Counter (one process), the list of the processes' sorted compact parts, which
    WordCounts.from_compact_parts turns into counts without a dict of all words in one process, or,
    for presets with a scanner (piececount.FAST_PRESETS), the summed SortedCounts."""
    for p in presets:
        get_preset(p)
    specials = list(special_tokens)
    workers = default_workers() if workers is None else workers
    if workers <= 1:
        counters = _make_counters(presets, specials)
        for batch in _batches(texts, batch_chars):
            for c in counters:
                c.add_texts(batch)
            if on_batch:
                on_batch()
        return [c.counter if isinstance(c, _RegexCounter) else c.sorted() for c in counters]
    return _count_parallel(texts, presets, specials, workers, batch_chars, on_batch)


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def count_words(
    texts: Iterable[str],
    preset: str,
    special_tokens: Iterable[str] = (),
    workers: int | None = None,
    batch_chars: int = 1 << 20,
    on_batch: Callable[[], None] | None = None,
) -> Counter:
    """Count pre-tokens; `workers` > 1 spreads the regex over processes (the hot path)."""
    counted = count_words_parts_multi(texts, [preset], special_tokens, workers, batch_chars, on_batch)[0]
    if isinstance(counted, Counter):
        return counted
    total: Counter = Counter()
    if not isinstance(counted, list):  # SortedCounts
        counted = [(counted.data.tobytes(), counted.offsets.tolist(), counted.counts.tolist())]
    for data, offsets, counts in counted:
        for i, n in enumerate(counts):
            total[data[offsets[i] : offsets[i + 1]].decode("utf-8", "surrogatepass")] += n
    return total


def _check_alive(procs: list) -> None:
    """A helper that died (killed for lack of memory, say) never reports: say so instead of waiting."""
    for p in procs:
        if p.exitcode not in (None, 0):
            why = ", killed: perhaps for lack of memory" if p.exitcode == -9 else ""
            raise WorkerDiedError(f"a counting process died (exit code {p.exitcode}{why})")


def _put_watching(q, item, procs: list) -> None:
    while True:
        try:
            return q.put(item, timeout=0.2)
        except queue.Full:
            _check_alive(procs)


def _get_watching(q, procs: list):
    while True:
        try:
            return q.get(timeout=0.2)
        except queue.Empty:
            _check_alive(procs)


def _count_parallel(texts, presets, specials, workers, batch_chars, on_batch) -> list:
    """Count with `workers` processes in all: the parent reads and counts too, taking a batch itself
    whenever the helpers' queue is full. One process fewer than workers means one less copy of the
    interpreter in memory; sums do not depend on who counted what, so results stay identical."""
    from .piececount import merge_parts

    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    local = _make_counters(presets, specials)  # before forking: the helpers inherit tables and code
    inq = ctx.Queue(maxsize=2 * (workers - 1))
    outq = ctx.Queue()
    pipes = [ctx.Pipe(duplex=False) for _ in range(workers - 1)]
    procs = [
        ctx.Process(target=_count_worker, args=(i, presets, specials, inq, outq, pipes[i][1]), daemon=True)
        for i in range(workers - 1)
    ]
    for p in procs:
        p.start()
    for _, w in pipes:
        w.close()  # the helpers hold their own write ends: a helper that dies shows as EOF here
    try:
        for batch in _batches(texts, batch_chars):
            try:
                inq.put_nowait(batch)
            except queue.Full:
                for c in local:
                    c.add_texts(batch)
            if on_batch:
                on_batch()
        for _ in procs:
            _put_watching(inq, None, procs)
        kinds = [isinstance(c, _RegexCounter) for c in local]
        parts: list[list] = [[p] for p in _parts(local)]  # while the helpers finish theirs
        for _ in procs:
            status, index, payload = _get_watching(outq, procs)
            if status != "ok":
                raise RuntimeError(f"counting worker failed: {payload}")
            try:
                for k, part in enumerate(payload):
                    parts[k].append(part if kinds[k] else _receive_arrays(pipes[index][0], part))
            except (EOFError, OSError) as e:
                raise WorkerDiedError(f"a counting process died while sending its counts ({e!r})") from None
        for p in procs:
            p.join()
        return [parts[k] if kinds[k] else merge_parts(parts[k]) for k in range(len(kinds))]
    except BaseException:
        # batches that no helper will read must not hold up the exit (the queue's feeder thread)
        inq.cancel_join_thread()
        raise
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
                p.join()
        for r, w in pipes:
            r.close()
            w.close()
