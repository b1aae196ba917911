"""Inputs cut into independent pieces of work (splits) for engines that count on many processes.

A compressed or columnar input is one split, read whole by `corpus.iter_texts` (so it reads exactly
what the local engine reads); an uncompressed text or JSON-lines file may be cut at byte offsets into
several, so one large file still keeps every worker busy. A line belongs to the split in
which it starts (the Hadoop rule): a split that starts inside a line skips to the next newline, and
reads lines while they start before its end. Every line is read exactly once, whatever the cut.

`read_split` yields the same texts as `corpus.iter_texts` (same --text-field, --errors and JSON rules,
same error messages with the file's own line numbers; tests hold it to that), and fills a CorpusStats
for its piece; `SplitStats` are summed per input by the engine.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ..corpus import (
    CorpusStats,
    display_name,
    is_jsonl_name,
    iter_line_blocks,
    iter_texts,
    record_text,
    start_text,
    valid_block,
)
from ..errors import InputError, ToktoolError

# only uncompressed line-oriented files are cut; anything else (compressed, columnar, a datasets
# directory) is one split, read whole by corpus.iter_texts
WHOLE_FILE_SUFFIXES = (".gz", ".zst", ".parquet", ".pq", ".arrow", ".feather")


def can_cut(path: str) -> bool:
    """True for an uncompressed text or JSON-lines file, which may be read in byte ranges."""
    return os.path.isfile(path) and not path.lower().endswith(WHOLE_FILE_SUFFIXES)


@dataclass(frozen=True)
class Split:
    """Bytes [start, end) of input number `input` (its path `path`); end -1: the whole file, read by
    `corpus.iter_texts` itself (compressed files, or a file not cut)."""

    input: int
    path: str
    start: int = 0
    end: int = -1


@dataclass
class SplitStats:
    """What one split read: texts, decoded UTF-8 bytes, lines with invalid UTF-8, raw bytes of the
    file it covered (for progress), and the file's sha256 when the split is the whole file."""

    input: int
    texts: int = 0
    bytes: int = 0
    invalid_lines: int = 0
    nulls: int = 0  # null text fields skipped
    column: str | None = None  # the field read (JSON lines, columnar inputs)
    raw_bytes: int = 0
    sha256: str = ""
    toktool_version: str = ""  # of the worker that counted it: a cluster must run the driver's version


def plan_splits(paths: Sequence[str], split_bytes: int) -> list[Split]:
    """The splits of `paths` (expanded files, no stdin), in input order, each uncompressed file cut
    into pieces of about `split_bytes` (>= 1) bytes. Raises ToktoolError for stdin and InputError for
    a missing file."""
    split_bytes = max(1, int(split_bytes))
    out: list[Split] = []
    for i, path in enumerate(paths):
        if path == "-":
            raise ToktoolError("this engine reads files, not stdin (use --engine local for -)")
        try:
            size = os.path.getsize(path)
        except OSError as e:
            raise InputError(f"{path}: cannot open: {e.strerror or e}") from None
        n = max(1, -(-size // split_bytes)) if can_cut(path) else 1
        if n == 1:
            out.append(Split(i, path))
            continue
        cuts = [size * k // n for k in range(n + 1)]
        out.extend(Split(i, path, cuts[k], cuts[k + 1]) for k in range(n))
    return out


def read_split(split: Split, text_field: str | None, errors: str, stats: SplitStats) -> Iterator[str]:
    """The texts of one split, as `corpus.iter_texts` would yield them for those lines; `stats` is
    filled as it goes. Raises InputError (file and line) for bad input, as iter_texts does."""
    if split.end < 0:
        cs = CorpusStats()
        try:
            yield from iter_texts([split.path], text_field=text_field, errors=errors, stats=cs)
        finally:
            stats.texts, stats.bytes, stats.invalid_lines = cs.texts, cs.bytes, cs.invalid_lines
            stats.nulls = cs.null_texts
            stats.column = cs.inputs[0].column if cs.inputs else None
            stats.raw_bytes = cs.raw_done
            stats.sha256 = cs.inputs[0].sha256 if cs.inputs else ""
        return
    yield from _read_range(split, text_field, errors, stats)


def _read_range(split: Split, text_field: str | None, errors: str, stats: SplitStats) -> Iterator[str]:
    path, where = split.path, display_name(split.path)
    jsonl = text_field is not None or is_jsonl_name(path)
    if jsonl and text_field is None:
        raise InputError(f"{path}: JSON lines input needs --text-field NAME (the field holding the text)")
    if jsonl:
        stats.column = text_field
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as e:
        raise InputError(f"{path}: cannot open: {e.strerror or e}") from None
    with raw:
        pos = split.start
        raw.seek(max(0, split.start - 1))
        stream = io.BufferedReader(raw, buffer_size=1 << 20)
        if split.start == 0:
            start_text(stream, where)
        elif stream.read(1) != b"\n":
            # the line that started before this split belongs to the previous one
            pos += len(stream.readline())
        first_line = pos
        lineno = 0  # within this split; made global (counting the newlines before) only for messages

        def line_no() -> int:
            return _newlines_before(path, first_line) + lineno

        try:
            while pos < split.end:
                line = stream.readline()
                if not line:
                    break
                pos += len(line)
                lineno += 1
                try:
                    text = line.decode("utf-8")
                except UnicodeDecodeError as e:
                    if errors == "strict":
                        raise InputError(f"{where}:{line_no()}: invalid UTF-8 at byte {e.start} (use --errors replace or skip)") from None
                    stats.invalid_lines += 1
                    if errors == "skip":
                        continue
                    text = line.decode("utf-8", errors="replace")
                if jsonl:
                    if not text.strip():
                        continue
                    value = record_text(text, text_field, where, line_no)  # type: ignore[arg-type]
                    if value is None:
                        stats.nulls += 1
                        continue
                    text = value
                stats.texts += 1
                stats.bytes += len(text.encode("utf-8")) if not text.isascii() else len(text)
                yield text
        except OSError as e:
            raise InputError(f"{where}: cannot read (line {line_no() + 1}): {e}") from None
        finally:
            stats.raw_bytes = split.end - split.start


def read_split_blocks(split: Split, errors: str, stats: SplitStats, block_bytes: int = 1 << 20) -> Iterator[bytes]:
    """The texts of one split of a plain-text input as blocks of whole lines (valid UTF-8), as
    corpus.iter_line_blocks gives them: what `read_split` yields, joined, without a str per line.
    `stats` is filled as it goes. Raises InputError (file and line) for bad input."""
    if split.end < 0:
        cs = CorpusStats()
        try:
            yield from iter_line_blocks([split.path], errors=errors, stats=cs, block_bytes=block_bytes)
        finally:
            stats.texts, stats.bytes, stats.invalid_lines = cs.texts, cs.bytes, cs.invalid_lines
            stats.raw_bytes = cs.raw_done
            stats.sha256 = cs.inputs[0].sha256 if cs.inputs else ""
        return
    path, where = split.path, display_name(split.path)
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as e:
        raise InputError(f"{path}: cannot open: {e}") from None
    cs = CorpusStats(errors=errors)
    with raw:
        pos = split.start
        raw.seek(max(0, split.start - 1))
        stream = io.BufferedReader(raw, buffer_size=1 << 20)
        if split.start == 0:
            start_text(stream, where)
        elif stream.read(1) != b"\n":
            pos += len(stream.readline())  # the line that started before this split is the previous one's
        first_line = pos
        lines = 0
        try:
            while pos < split.end:
                data = stream.read(min(block_bytes, split.end - pos))
                if not data:
                    break
                pos += len(data)
                if not data.endswith(b"\n"):
                    tail = stream.readline()  # the split owns the line it ends inside
                    pos += len(tail)
                    data += tail
                raw_lines = data.count(b"\n")
                data, n = valid_block(data, errors, cs, where, lambda: _newlines_before(path, first_line) + lines)  # noqa: B023
                lines += raw_lines
                if data:
                    stats.texts += n
                    stats.bytes += len(data)
                    yield data
        except OSError as e:
            raise InputError(f"{where}: cannot read: {e}") from None
        finally:
            stats.invalid_lines += cs.invalid_lines
            stats.raw_bytes = split.end - split.start


def _newlines_before(path: str, offset: int) -> int:
    """Newlines in the first `offset` bytes of `path` (for line numbers in messages only)."""
    n = 0
    with open(path, "rb") as f:
        left = offset
        while left > 0:
            chunk = f.read(min(left, 1 << 22))
            if not chunk:
                break
            n += chunk.count(b"\n")
            left -= len(chunk)
    return n
