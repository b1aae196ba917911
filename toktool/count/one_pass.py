"""One pass over the text, counted with one or more pre-tokenizers, in worker processes.

SuperBPE needs two presets' counts of the same text, so reading, decoding and shipping text to the
workers happen once for all of them. Each process holds one counter per preset (a compiled scanner
where the preset has one, else the `regex` split); at the end every process hands over a compact,
sorted part and the parent sums the parts into WordCounts. Sums do not depend on which process counted
what, so the result is identical whatever the number of workers.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol

from .. import columnar
from ..corpus import CorpusStats, Sampling, expand_inputs, is_jsonl_name, iter_line_blocks, iter_texts
from ..errors import ToktoolError, WorkerDiedError
from ..parallel import default_workers, get_watching, put_watching
from ..pretokenize import DEFAULT_PRESET, get_preset
from .regex_counter import RegexCounter
from .scan_counter import ScanCounter, scan_presets
from .wordcounts import WordCounts


class PreTokenCounter(Protocol):
    """What every counter offers (HF's `Trainer::feed`): add texts, hand over a part, sum parts."""

    def add_texts(self, texts: Sequence[str]) -> None: ...

    def part(self) -> tuple: ...

    @staticmethod
    def combine(parts: list, preset: str, special_tokens: Sequence[str], corpus: dict) -> WordCounts: ...


def make_counter(preset: str, special_tokens: Sequence[str] = ()) -> PreTokenCounter:
    """The fastest counter for `preset`: a compiled scanner when it has one, else the regex split
    (TOKTOOL_PRETOKENIZE=regex forces the regex split: the reference, for checks and comparisons)."""
    if os.environ.get("TOKTOOL_PRETOKENIZE", "auto") != "regex":
        if preset in scan_presets():
            return ScanCounter(preset, special_tokens)
    return RegexCounter(preset, special_tokens)


def _is_raw(part: tuple) -> bool:
    """Parts of array counters go through a pipe as raw bytes; regex parts are pickled."""
    return not isinstance(part[0], bytes)


def feed(counter: PreTokenCounter, batch: list[str] | bytes) -> None:
    """Give a counter one batch: a list of texts, or a block of whole lines (bytes, valid UTF-8) from
    corpus.iter_line_blocks, which the compiled counters take without a str per line."""
    if isinstance(batch, bytes):
        counter.add_block(batch)  # type: ignore[attr-defined]
    else:
        counter.add_texts(batch)


def block_counting(presets: Sequence[str], special_tokens: Sequence[str]) -> bool:
    """Whether every preset's counter takes blocks of lines (compiled scanners, no special tokens)."""
    if special_tokens or os.environ.get("TOKTOOL_PRETOKENIZE", "auto") == "regex":
        return False
    return all(p in scan_presets() for p in presets)


def batches(texts: Iterable[str] | Iterable[bytes], batch_chars: int) -> Iterator[list[str] | bytes]:
    """Group texts into lists of about `batch_chars` characters (the unit a worker takes); blocks of
    lines (bytes) are batches as they come."""
    batch: list[str] = []
    size = 0
    for t in texts:
        if isinstance(t, bytes):
            yield t
            continue
        batch.append(t)
        size += len(t)
        if size >= batch_chars:
            yield batch
            batch = []
            size = 0
    if batch:
        yield batch


def _parts(counters: list) -> list:
    """Every counter's part, the array counters' first: their tables are sorted and released before
    a regex Counter is compacted, so the two peaks do not add up."""
    parts: list = [None] * len(counters)
    for k in sorted(range(len(counters)), key=lambda k: isinstance(counters[k], RegexCounter)):
        parts[k] = counters[k].part()
        counters[k] = None
    return parts


def _count_worker(index: int, presets: list[str], specials: list[str], inq, outq, conn) -> None:
    """Count batches until None, then report: regex counts through the queue (pickled), the
    scanner's sorted arrays raw through this worker's own pipe, announced by their sizes in the
    queue message (pickling them would hold two more copies on each side at the peak)."""
    try:
        counters = [make_counter(p, specials) for p in presets]
        while True:
            batch = inq.get()
            if batch is None:
                break
            for c in counters:
                feed(c, batch)
        parts = _parts(counters)
        arrays = [a for p in parts if _is_raw(p) for a in p]
        message = [[(a.dtype.str, a.shape[0]) for a in p] if _is_raw(p) else p for p in parts]
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


def count_parts_multi(
    texts: Iterable[str],
    presets: Sequence[str],
    special_tokens: Sequence[str] = (),
    workers: int | None = None,
    batch_chars: int = 1 << 20,
    on_batch: Callable[[], None] | None = None,
) -> list[tuple[type, list]]:
    """Count `texts` with every preset in one pass: per preset, (counter class, the processes'
    parts), for `counter_class.combine`. `workers` > 1 spreads batches over that many processes
    (the parent counts too). Raises ToktoolError for an unknown preset, WorkerDiedError when a
    helper process dies."""
    for p in presets:
        get_preset(p)
    specials = list(special_tokens)
    workers = default_workers() if workers is None else workers
    if workers <= 1:
        counters = [make_counter(p, specials) for p in presets]
        kinds = [type(c) for c in counters]
        for batch in batches(texts, batch_chars):
            for c in counters:
                feed(c, batch)
            if on_batch:
                on_batch()
        return [(kind, [part]) for kind, part in zip(kinds, _parts(counters))]
    return _count_parallel(texts, list(presets), specials, workers, batch_chars, on_batch)


def count_words(
    texts: Iterable[str],
    preset: str,
    special_tokens: Sequence[str] = (),
    workers: int | None = None,
    batch_chars: int = 1 << 20,
) -> Counter:
    """Pre-token string -> count, through the same machinery as `count_corpus` (for tests and small
    inputs; `count_plain` is its reference)."""
    kind, parts = count_parts_multi(texts, [preset], special_tokens, workers, batch_chars)[0]
    wc = kind.combine(parts, preset, special_tokens, {})
    return Counter({w.decode("utf-8", "surrogatepass"): c for w, c in wc.items()})


def _count_parallel(texts, presets, specials, workers, batch_chars, on_batch) -> list[tuple[type, list]]:
    """Count with `workers` processes in all: the parent reads and counts too, taking a batch itself
    whenever the helpers' queue is full. One process fewer than workers means one less copy of the
    interpreter in memory; sums do not depend on who counted what, so results stay identical."""
    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    local = [make_counter(p, specials) for p in presets]  # before forking: the helpers inherit tables and code
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
        for batch in batches(texts, batch_chars):
            try:
                inq.put_nowait(batch)
            except queue.Full:
                for c in local:
                    feed(c, batch)
            if on_batch:
                on_batch()
        for _ in procs:
            put_watching(inq, None, procs)
        kinds = [type(c) for c in local]
        parts: list[list] = [[p] for p in _parts(local)]  # while the helpers finish theirs
        for _ in procs:
            status, index, payload = get_watching(outq, procs)
            if status != "ok":
                raise RuntimeError(f"counting worker failed: {payload}")
            try:
                for k, part in enumerate(payload):
                    raw = kinds[k] is not RegexCounter
                    parts[k].append(_receive_arrays(pipes[index][0], part) if raw else part)
            except (EOFError, OSError) as e:
                raise WorkerDiedError(f"a counting process died while sending its counts ({e!r})") from None
        for p in procs:
            p.join()
        return list(zip(kinds, parts))
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


def count_corpus(
    inputs: Sequence[str],
    pretokenizer: str = DEFAULT_PRESET,
    text_field: str | None = None,
    errors: str = "replace",
    special_tokens: Sequence[str] = (),
    workers: int | None = None,
    on_progress: Callable[[CorpusStats], None] | None = None,
    sampling: Sampling | None = None,
) -> WordCounts:
    """Count the pre-tokens of text files: the first stage of training, and the artifact that shards.

    inputs: files, directories (recursive, sorted), quoted globs or "-" (stdin); plain text is read
    line by line (newline included), .jsonl/.ndjson through `text_field` (dots for nesting), .gz and
    .zst decompressed. pretokenizer: a preset of `toktool.pretokenize.PRESETS`. errors: invalid
    UTF-8 per line, "strict" | "replace" | "skip" (counted in `corpus`). special_tokens are cut out
    of the text first and never counted. workers: processes (default: all cores); the result is the
    same for any number. on_progress(stats) is called after each batch. sampling: train on a prefix
    (max_bytes) and/or a deterministic sample of documents (corpus.Sampling).

    Returns WordCounts: unique pre-tokens as UTF-8 bytes (data uint8[total bytes], offsets
    int64[n+1]) with counts int64[n], sorted by bytes; `.corpus` holds the input statistics and
    SHA-256s for train.json, `.save(path)` writes the counts file.
    Raises InputError naming the file (and line) for unreadable input, ToktoolError for an unknown
    preset or an empty corpus, WorkerDiedError when a counting process dies."""
    return count_corpus_multi(inputs, [pretokenizer], text_field, errors, special_tokens, workers, on_progress, sampling)[0]


def count_corpus_multi(
    inputs: Sequence[str],
    pretokenizers: Sequence[str],
    text_field: str | None = None,
    errors: str = "replace",
    special_tokens: Sequence[str] = (),
    workers: int | None = None,
    on_progress: Callable[[CorpusStats], None] | None = None,
    sampling: Sampling | None = None,
) -> list[WordCounts]:
    """`count_corpus` with several presets in one pass over the inputs (stdin works: it is read
    once); returns one WordCounts per preset, in order. Raises as `count_corpus`."""
    for p in pretokenizers:
        get_preset(p)
    paths = expand_inputs(inputs)
    stats = CorpusStats()
    if sampling is None and text_field is None and block_counting(pretokenizers, special_tokens) and all(
        not is_jsonl_name(p) and not columnar.is_columnar_input(p) for p in paths
    ):
        # plain text and compiled counters: blocks of lines, no Python object per line
        texts = iter_line_blocks(paths, errors=errors, stats=stats)
    else:
        texts = iter_texts(paths, text_field=text_field, errors=errors, stats=stats, sampling=sampling)
    counted = count_parts_multi(
        texts,
        list(pretokenizers),
        special_tokens,
        workers=workers,
        on_batch=(lambda: on_progress(stats)) if on_progress else None,
    )
    if on_progress:
        on_progress(stats)
    corpus = stats.as_dict()
    out = []
    for preset, (kind, parts) in zip(pretokenizers, counted):
        wc = kind.combine(parts, preset, special_tokens, corpus)
        del parts
        if len(wc) == 0:
            where = ", ".join(i["path"] for i in corpus["inputs"]) or "the inputs"
            raise ToktoolError(f"empty corpus: no text found in {where}")
        out.append(wc)
    return out


def load_counts(paths: Sequence[str]) -> WordCounts:
    """Counts files and counts directories (`toktool count -o DIR`) summed into one WordCounts.

    A directory with a manifest is read as one counts directory (its shards merged as sorted runs);
    other directories and globs expand to the counts files they hold. Raises ToktoolError for stdin or
    counts made with different pre-tokenizers or special tokens, InputError for a bad file or shard."""
    from .shards import is_counts_dir, load_counts_dir

    parts = []
    for item in paths:
        if is_counts_dir(item):
            parts.append(load_counts_dir(item))
            continue
        files = expand_inputs([item])
        if "-" in files:
            raise ToktoolError("--from-counts reads files, not stdin")
        for p in files:
            wc = WordCounts.load(p)
            wc.corpus = dict(wc.corpus, counts_file=p)
            parts.append(wc)
    if not parts:
        raise ToktoolError("no counts given")
    wc = WordCounts.merge(parts)
    if len(wc) == 0:
        raise ToktoolError(f"empty corpus: {', '.join(paths)} hold no words")
    return wc


