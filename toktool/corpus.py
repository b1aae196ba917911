"""Streaming corpus reading: files, globs, directories, stdin, .gz/.zst, JSON lines, and (through
`columnar`) Parquet, Arrow and `datasets` directories.

Everything is read in constant memory. A "text" is one line of a plain-text file (with its newline, so
newline pre-tokens are learnt like any other), one record's field of a JSON-lines file, or one non-null
value of the text column of a columnar input. Invalid UTF-8 is handled per line (per value) by the
--errors policy and counted, so a user learns how dirty the corpus was instead of getting a silent
U+FFFD soup or a crash half way through a 10 GB file. `Sampling` trains on a prefix (--max-bytes) or a
deterministic sample of documents (--sample-docs), decided here once for every input kind.

What counts as text, for every command that reads it (`text_problem`): UTF-8, where NUL is a character
like any other (as Hugging Face trains on it). An input is refused when its first 8 KiB (after
decompression) start with a UTF-16 or UTF-32 byte-order mark, have their NUL bytes in fixed positions
(every other byte: UTF-16 or UTF-32 without a mark), or hold NUL bytes and invalid UTF-8 (a binary
file). A UTF-8 byte-order mark
at the start of an input is dropped.
"""

from __future__ import annotations

import codecs
import glob
import gzip
import hashlib
import io
import json
import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from . import columnar
from .errors import InputError, ToktoolError

ERROR_POLICIES = ("strict", "replace", "skip")
# file names of per-language text: <code><suffix>
TEXT_SUFFIXES = ("", ".txt", ".txt.gz", ".txt.zst", ".gz", ".zst")
_NOT_LANGUAGES = frozenset({"README", "LICENSE", "LICENCE", "NOTICE", "COPYING", "INDEX", "MANIFEST"})
JSONL_SUFFIXES = (".jsonl", ".ndjson")
_BINARY_SNIFF = 8192


@dataclass
class InputInfo:
    """What was read from one input: reproducibility data for train.json."""

    path: str
    sha256: str = ""  # of the raw file bytes (a text input stopped early by --max-bytes: of those read)
    bytes: int = 0  # raw bytes hashed
    texts: int = 0  # texts kept from this input
    column: str | None = None  # the field read (JSON lines, columnar inputs); None for plain text
    nulls: int = 0  # null values of that field, skipped


@dataclass
class CorpusStats:
    inputs: list[InputInfo] = field(default_factory=list)
    texts: int = 0
    bytes: int = 0  # decoded text bytes (UTF-8), after the error policy
    invalid_lines: int = 0  # lines (columnar: values) with invalid UTF-8 (replaced or skipped)
    null_texts: int = 0  # null text values (JSON lines, columnar), skipped
    errors: str = "replace"
    sampling: dict | None = None  # Sampling.as_dict() and where --max-bytes stopped; None when unused
    raw_done: int = 0  # raw bytes of finished inputs, for progress
    _reader: object = None
    _texts_before: int = 0  # self.texts when the latest input began

    def raw_read(self) -> int:
        """Raw (on-disk) bytes consumed so far, including the input being read now."""
        return self.raw_done + (self._reader.nbytes if self._reader is not None else 0)  # type: ignore[attr-defined]

    def add_input(self, path: str, column: str | None = None) -> InputInfo:
        """Start the record of one input file (str path, "<stdin>"); returns the InputInfo to fill in.

        The previous input's `texts` is settled here (texts are counted once, in self.texts, not per
        input in the per-text loop): a reader starts its next file only after the consumer took the
        texts of the previous one."""
        self.end_input()
        info = InputInfo(path=path, column=column)
        self.inputs.append(info)
        self._texts_before = self.texts
        return info

    def end_input(self) -> None:
        """Settle the latest input's `texts` count (idempotent)."""
        if self.inputs:
            self.inputs[-1].texts = self.texts - self._texts_before

    def as_dict(self) -> dict:
        return {
            "texts": self.texts,
            "bytes": self.bytes,
            "invalid_utf8_lines": self.invalid_lines,
            "null_texts": self.null_texts,
            "errors_policy": self.errors,
            "sampling": self.sampling,
            "inputs": [vars(i) for i in self.inputs],
        }


def corpus_notes(corpus: dict) -> list[tuple[str, str]]:
    """(label, text) notes about what reading left out, changed or cut, from a CorpusStats.as_dict():
    invalid UTF-8 lines, null texts (JSON-lines fields, columnar values), where --max-bytes stopped.
    All of it is also in train.json's corpus section."""
    notes = []
    if corpus.get("invalid_utf8_lines"):
        notes.append(("invalid UTF-8", f"{corpus['invalid_utf8_lines']:,} lines ({corpus.get('errors_policy')})"))
    if corpus.get("null_texts"):
        where = [f"{i['path']} ({i['nulls']:,})" for i in corpus.get("inputs", []) if i.get("nulls")]
        shown = ", ".join(where[:3]) + (f" and {len(where) - 3} more inputs" if len(where) > 3 else "")
        notes.append(("null text", f"{corpus['null_texts']:,} skipped (the text field is null): {shown}"))
    stop = (corpus.get("sampling") or {}).get("stopped")
    if stop:
        notes.append((
            "max bytes",
            f"--max-bytes reached in {stop['input']} after {corpus['bytes']:,} bytes;"
            f" {stop['inputs_not_read']:,} more input{'' if stop['inputs_not_read'] == 1 else 's'} not read",
        ))
    return notes


@dataclass(frozen=True)
class Sampling:
    """Train on part of the corpus, deterministically.

    sample_docs (float in (0, 1], or None): keep a document iff the 64-bit BLAKE2b hash of (seed, the
    input's path as listed, the document's index in that input) is below sample_docs * 2**64. A
    document's index is its 0-based line number in a text or JSON-lines file, or its row number in a
    columnar input (running on across the shards of a datasets directory), so the sample does not
    depend on batching, worker count or the other inputs; the same path spelt differently ("./a" vs
    "a") samples differently. Null and invalid-UTF-8 values are skipped before sampling.
    max_bytes (int >= 1, or None): stop once the kept texts reach this many UTF-8 bytes, at a text
    boundary: a text that would go past the limit is not taken and reading stops there, so the corpus is
    the longest prefix (of the sample) of at most max_bytes bytes.
    seed (int): the sampling seed.
    Raises: ToktoolError for a fraction outside (0, 1] or max_bytes < 1.
    """

    max_bytes: int | None = None
    sample_docs: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.sample_docs is not None and not (0.0 < self.sample_docs <= 1.0 and math.isfinite(self.sample_docs)):
            raise ToktoolError(f"--sample-docs must be a fraction in (0, 1], not {self.sample_docs}")
        if self.max_bytes is not None and self.max_bytes < 1:
            raise ToktoolError(f"--max-bytes must be at least 1, not {self.max_bytes}")

    def as_dict(self) -> dict:
        return {
            "max_bytes": self.max_bytes,
            "sample_docs": self.sample_docs,
            "seed": self.seed,
            "sample_key": "blake2b-64(seed, input path, document index) < sample_docs * 2**64",
            "stopped": None,
        }

    def keeps(self, path: str) -> Callable[[int], bool] | None:
        """A predicate on document indices of the input `path`, or None when every document is kept."""
        if self.sample_docs is None or self.sample_docs >= 1.0:
            return None
        threshold = int(self.sample_docs * 2.0**64)
        prefix = hashlib.blake2b(f"{self.seed}\0{path}\0".encode(), digest_size=8)

        def keep(index: int) -> bool:
            h = prefix.copy()
            h.update(index.to_bytes(8, "little"))
            return int.from_bytes(h.digest(), "little") < threshold

        return keep


def _strip_compression(name: str) -> str:
    for suf in (".gz", ".zst"):
        if name.endswith(suf):
            return name[: -len(suf)]
    return name


def is_jsonl_name(name: str) -> bool:
    return _strip_compression(name).endswith(JSONL_SUFFIXES)


def _walk(root: str) -> Iterator[str]:
    """Files under `root`, hidden ones skipped, with a datasets directory as one entry (not its files)."""
    for dirpath, dirnames, filenames in os.walk(root):
        keep = []
        for d in dirnames:
            sub = os.path.join(dirpath, d)
            if d.startswith("."):
                continue
            if columnar.is_dataset_dir(sub):
                yield sub
            else:
                keep.append(d)
        dirnames[:] = keep
        for f in filenames:
            if not f.startswith(".") and os.path.isfile(os.path.join(dirpath, f)):
                yield os.path.join(dirpath, f)


def check_not_input(path: str | os.PathLike, inputs: Iterable[str], option: str = "-o") -> None:
    """Raise ToktoolError when the output `path` is one of `inputs` (files, directories, globs; "-"
    is stdin) or holds one, or is an existing directory whose files a directory input reads (an
    earlier output inside the corpus, found as expand_inputs finds files): replacing it (--force)
    would delete what is being read. Symbolic links are followed; a glob is checked through the paths
    it matches now. Call before atomic.check_output."""
    out = os.path.realpath(path)
    for item in inputs:
        if not item or item == "-":
            continue
        for p in sorted(glob.glob(item, recursive=True)) if glob.has_magic(item) else [item]:
            real = os.path.realpath(p)
            if real == out or real.startswith(os.path.join(out, "")):
                raise ToktoolError(f"{option} {path}: the output would replace the input {p}")
            if os.path.isdir(real) and out.startswith(os.path.join(real, "")):
                inside = os.path.relpath(out, real).split(os.sep)
                if any(part.startswith(".") for part in inside):
                    continue  # a directory input skips hidden names
                found = out if os.path.isfile(out) else min(_walk(out), default=None)
                if found is not None:
                    shown = os.path.join(p, *inside, *([] if found == out else [os.path.relpath(found, out)]))
                    raise ToktoolError(f"{option} {path}: the output would replace the input {shown} (read as part of {p})")


def expand_inputs(inputs: Iterable[str]) -> list[str]:
    """Resolve files, directories (recursively, sorted, hidden files skipped) and quoted globs.

    A `datasets.save_to_disk` directory (given, found below a directory, or matched by a glob) stays one
    input, read in its own shard order; it is checked here, so an empty one fails before any reading.
    Returns list[str]; raises InputError for anything missing, empty or unreadable.
    """
    out: list[str] = []
    for item in inputs:
        if item == "-":
            out.append("-")
            continue
        p = Path(item)
        if columnar.is_dataset_dir(item):
            columnar.dataset_files(item)
            out.append(item)
        elif p.is_dir():
            found = sorted(_walk(item))
            for f in found:
                if os.path.isdir(f):
                    columnar.dataset_files(f)
            if not found:
                raise InputError(f"{item}: directory contains no files")
            out.extend(found)
        elif p.exists():
            if not p.is_file():
                raise InputError(f"{item}: not a regular file")
            out.append(item)
        elif glob.has_magic(item):
            matches = glob.glob(item, recursive=True)
            datasets = [f for f in matches if columnar.is_dataset_dir(f)]
            # a DatasetDict's split dirs are datasets too: keep only the outermost
            datasets = [d for d in datasets if not any(d != e and d.startswith(os.path.join(e, "")) for e in datasets)]
            for d in datasets:
                columnar.dataset_files(d)
            inside = tuple(os.path.join(d, "") for d in datasets)  # a ** glob also matches their files
            found = sorted(
                [f for f in matches if os.path.isfile(f) and not (inside and f.startswith(inside))] + datasets
            )
            if not found:
                raise InputError(f"{item}: no file matches this pattern")
            out.extend(found)
        else:
            raise InputError(f"{item}: no such file or directory")
    if not out:
        raise InputError("no input files given (pass paths, a directory, or - for stdin)")
    return out


class _HashingReader(io.RawIOBase):
    """Hashes the raw (possibly compressed) bytes as they are read, so inputs are hashed in one pass."""

    def __init__(self, raw: BinaryIO):
        self._raw = raw
        self.hash = hashlib.sha256()
        self.nbytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        n = self._raw.readinto(b)
        if n:
            mv = memoryview(b)[:n]
            self.hash.update(mv)
            self.nbytes += n
        return n or 0


def _open_binary(path: str) -> tuple[BinaryIO, _HashingReader | None]:
    if path == "-":
        raw = sys.stdin.buffer
    else:
        try:
            raw = open(path, "rb")  # noqa: SIM115 - closed by the caller
        except OSError as e:
            raise InputError(f"{path}: cannot open: {e.strerror or e}") from None
    hasher = _HashingReader(raw)
    buffered: BinaryIO = io.BufferedReader(hasher, buffer_size=1 << 20)
    if path.endswith(".gz"):
        buffered = gzip.GzipFile(fileobj=buffered, mode="rb")  # type: ignore[assignment]
    elif path.endswith(".zst"):
        try:
            import zstandard
        except ImportError:
            raise ToktoolError(f"{path}: reading .zst needs the 'zstandard' package (pip install toktool[zstd])") from None
        buffered = io.BufferedReader(_ZstdReader(buffered, zstandard), buffer_size=1 << 20)
    return buffered, hasher


class _CorruptZstd(Exception):
    """zstandard's error on data that is not a zstd stream (or a damaged one), raised while reading."""


class _ZstdReader(io.RawIOBase):
    """The decompressed bytes of a .zst stream, all its frames one after another. A stream that ends
    inside a frame raises EOFError, as gzip does: zstandard's stream_reader returns b"" there as at a
    true end, so a truncated file would read as complete. Data that is not zstd raises _CorruptZstd.
    An empty stream is empty text (as an empty .gz is)."""

    _FEED = 1 << 13  # compressed bytes per decompress call: one call's output has no bound of its own

    def __init__(self, raw: BinaryIO, zstandard) -> None:
        self._raw = raw
        self._zstd_error = zstandard.ZstdError
        self._dctx = zstandard.ZstdDecompressor()
        self._frame = self._dctx.decompressobj()
        self._in_frame = False  # the current frame has been fed bytes and has not ended
        self._pending = b""  # compressed bytes after the end of a frame, not yet fed
        self._out = memoryview(b"")  # decompressed bytes not yet returned: _out[_pos:]
        self._pos = 0
        self._done = False
        self._error: BaseException | None = None  # raised at the next read, after the bytes before it

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        view = memoryview(b).cast("B")
        n = 0
        while n < len(view):
            if self._pos >= len(self._out):
                if self._error is not None:
                    if n:
                        break
                    error, self._error = self._error, None
                    raise error
                if self._done:
                    break
                try:
                    self._decompress()
                except (EOFError, _CorruptZstd) as e:
                    self._error = e
                continue
            k = min(len(view) - n, len(self._out) - self._pos)
            view[n : n + k] = self._out[self._pos : self._pos + k]
            n += k
            self._pos += k
        return n

    def _decompress(self) -> None:
        data = self._pending or self._raw.read(self._FEED)
        self._pending = b""
        self._out, self._pos = memoryview(b""), 0
        if not data:
            if self._in_frame:
                raise EOFError("compressed file ended before the end of its zstd frame (truncated)")
            self._done = True
            return
        try:
            self._out = memoryview(self._frame.decompress(data))
        except self._zstd_error as e:
            raise _CorruptZstd(str(e)) from None
        self._in_frame = True
        if self._frame.eof:  # the next bytes, if any, start another frame
            self._pending = self._frame.unused_data
            self._frame = self._dctx.decompressobj()
            self._in_frame = False


def read_failure(e: BaseException, where: str, line: int | None = None) -> InputError | None:
    """The one-line InputError for an error raised while reading the input `where` (at `line`, when
    known): an OSError, a truncated compressed stream (EOFError), a damaged gzip or zstd stream. None for
    any other exception (a bug: the caller re-raises it)."""
    at = f" (line {line})" if line is not None else ""
    if isinstance(e, _CorruptZstd):
        return InputError(f"{where}: corrupt zstd stream{at}: {e}")
    if isinstance(e, (OSError, EOFError)):  # gzip.BadGzipFile is an OSError
        return InputError(f"{where}: cannot read{at}: {e}")
    return None


_UTF8_BOM = b"\xef\xbb\xbf"
_CONVERT = "toktool reads UTF-8 text (convert it first, e.g. iconv -f UTF-16 -t UTF-8)"


def text_problem(head: bytes) -> str | None:
    """Why an input whose first bytes are `head` (8 KiB, decompressed) is not UTF-8 text, or None when
    it is. NUL is a character of UTF-8 text like any other; refused are a UTF-16/UTF-32 byte-order
    mark, NUL in every other byte (UTF-16 or UTF-32 without a mark), and NUL together with invalid
    UTF-8 (a binary file). Invalid UTF-8 without NUL is left to the --errors policy, line by line."""
    if head.startswith((b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")):
        return f"looks like UTF-32 text (it starts with a UTF-32 byte-order mark); {_CONVERT.replace('16', '32')}"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return f"looks like UTF-16 text (it starts with a UTF-16 byte-order mark); {_CONVERT}"
    if b"\x00" not in head:
        return None
    # UTF-16 and UTF-32 put their NULs in fixed byte positions (ASCII in UTF-16LE: every odd byte; in
    # UTF-32LE: three bytes in four) and leave the low byte's position free of them; NUL in UTF-8
    # text (runs of padding, separators) falls on every position alike. With few NULs, or below 64
    # bytes, the shares say little (a short gzip header can look patterned; a line of text with a few
    # NUL separators can fall on one position): the binary test below decides there
    if len(head) >= 64 and head.count(0) >= 16:
        share = [head[k::4].count(0) / len(head[k::4]) for k in range(4)]
        if max(share) >= 0.5 and min(share) <= max(share) / 10:
            return f"looks like UTF-16 or UTF-32 text (NUL in every other byte near the start); {_CONVERT}"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)  # a character cut at the end is fine
    except UnicodeDecodeError:
        return "looks like a binary file (NUL bytes and invalid UTF-8 near the start); toktool reads UTF-8 text"
    return None


def start_text(stream: BinaryIO, path: str) -> None:
    """Refuse a stream that is not UTF-8 text (`text_problem` on its first 8 KiB) and step over a
    UTF-8 byte-order mark, so that no text starts with U+FEFF. Raises InputError naming `path`."""
    try:
        head = stream.peek(_BINARY_SNIFF)[:_BINARY_SNIFF] if hasattr(stream, "peek") else b""
    except Exception as e:
        failure = read_failure(e, path, 1)
        if failure is None:
            raise
        raise failure from None
    problem = text_problem(head)
    if problem:
        raise InputError(f"{path}: {problem}")
    if head.startswith(_UTF8_BOM):
        stream.read(len(_UTF8_BOM))


def iter_lines(path: str, errors: str, stats: CorpusStats, column: str | None = None) -> Iterator[tuple[int, str]]:
    """Yield (line number, decoded line with newline) for one input, applying the UTF-8 policy.

    `column` (the JSON field the caller will read) is only recorded in the input's InputInfo."""
    stream, hasher = _open_binary(path)
    info = stats.add_input(display_name(path), column)
    stats._reader = hasher
    try:
        start_text(stream, info.path)
        lineno = 0
        try:
            for raw in stream:
                lineno += 1
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    if errors == "strict":
                        raise InputError(
                            f"{info.path}:{lineno}: invalid UTF-8 at byte {e.start} (use --errors replace or skip)"
                        ) from None
                    stats.invalid_lines += 1
                    if errors == "skip":
                        continue
                    line = raw.decode("utf-8", errors="replace")
                yield lineno, line
        except Exception as e:
            failure = read_failure(e, info.path, lineno + 1)
            if failure is None:
                raise
            raise failure from None
    finally:
        _close_input(path, stream, hasher, info, stats)


def _close_input(path: str, stream: BinaryIO, hasher: _HashingReader | None, info: InputInfo, stats: CorpusStats) -> None:
    """Record what was read of one input (its SHA-256 and raw bytes) and close it (not stdin)."""
    if hasher is not None:
        info.sha256 = hasher.hash.hexdigest()
        info.bytes = hasher.nbytes
        stats.raw_done += hasher.nbytes
        stats._reader = None
    if path != "-":
        stream.close()


NEWLINE = b"\n"


def iter_line_blocks(
    paths: Iterable[str], errors: str = "replace", stats: CorpusStats | None = None, block_bytes: int = 1 << 20
) -> Iterator[bytes]:
    """The texts of plain-text inputs as blocks of whole lines: each block is valid UTF-8, about
    `block_bytes` long (longer when one line is), and ends at a line end (or at the end of its input).

    Exactly the texts `iter_texts` yields for these inputs, joined: the same lines (newline included),
    the same --errors policy per line (an invalid line is replaced or left out, or InputError names the
    file and line), the same stats. Counting then needs no Python object per line. For text files and
    stdin only (no JSON lines, no columnar inputs, no sampling: iter_texts handles those)."""
    if errors not in ERROR_POLICIES:
        raise ToktoolError(f"--errors must be one of {', '.join(ERROR_POLICIES)}")
    if stats is None:
        stats = CorpusStats()
    stats.errors = errors
    for path in paths:
        try:
            yield from _line_blocks(path, errors, stats, block_bytes)
        finally:
            stats.end_input()


def _line_blocks(path: str, errors: str, stats: CorpusStats, block_bytes: int) -> Iterator[bytes]:
    stream, hasher = _open_binary(path)
    info = stats.add_input(display_name(path), None)
    stats._reader = hasher
    lines_before = 0  # lines of this input in earlier blocks, for messages
    try:
        start_text(stream, info.path)
        rest = b""
        while True:
            try:
                chunk = stream.read(block_bytes)
            except Exception as e:
                failure = read_failure(e, info.path, lines_before + rest.count(NEWLINE) + 1)
                if failure is None:
                    raise
                if path != "-":  # the line reader names the line where the stream breaks: read again with it
                    for _ in iter_lines(path, errors, CorpusStats()):
                        pass
                raise failure from None
            if chunk:
                data = rest + chunk
                cut = data.rfind(b"\n") + 1
                if cut == 0:  # one line longer than a block: read on
                    rest = data
                    continue
                data, rest = data[:cut], data[cut:]
            else:
                data, rest = rest, b""
                if not data:
                    break
            raw_lines = data.count(NEWLINE)
            data, n_lines = valid_block(data, errors, stats, info.path, lambda: lines_before)  # noqa: B023 - called at once
            lines_before += raw_lines
            if data:
                stats.texts += n_lines
                stats.bytes += len(data)
                yield data
    finally:
        _close_input(path, stream, hasher, info, stats)


def valid_block(data: bytes, errors: str, stats: CorpusStats, where: str, lines_before: Callable[[], int]) -> tuple[bytes, int]:
    """A block of whole lines as (valid UTF-8 block, texts in it), the --errors policy applied line by
    line where it is not valid UTF-8 (apply_utf8_policy). `lines_before()` (the input's lines before
    the block) is only asked for when a line is bad."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return apply_utf8_policy(data, errors, stats, where, lines_before())
    return data, data.count(NEWLINE) + (0 if data.endswith(NEWLINE) else 1)


def record_text(line: str, text_field: str, where: str, lineno: Callable[[], int]) -> str | None:
    """The `text_field` string of one JSON-lines record (None when it is null; the caller counts it).
    Raises InputError naming `where` and the line (`lineno()`, asked for only then) for a malformed
    record, a missing field or a field that is not a string."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as e:
        raise InputError(f"{where}:{lineno()}: malformed JSON line: {e.msg} (column {e.colno})") from None
    try:
        text = record_field(record, text_field)
    except KeyError:
        raise InputError(f"{where}:{lineno()}: record has no field {text_field!r}") from None
    if text is not None and not isinstance(text, str):
        raise InputError(f"{where}:{lineno()}: field {text_field!r} is {type(text).__name__}, expected a string")
    return text


def apply_utf8_policy(data: bytes, errors: str, stats: CorpusStats, where: str, lines_before: int) -> tuple[bytes, int]:
    """A block of lines with invalid UTF-8, line by line as iter_lines treats it: (valid block, texts
    in it). `stats.invalid_lines` counts the bad lines; errors="strict" raises InputError naming
    `where` and the line (`lines_before` lines of the input precede the block)."""
    out = []
    for i, line in enumerate(_split_keep_nl(data)):
        try:
            line.decode("utf-8")
            out.append(line)
        except UnicodeDecodeError as e:
            if errors == "strict":
                raise InputError(f"{where}:{lines_before + i + 1}: invalid UTF-8 at byte {e.start} (use --errors replace or skip)") from None
            stats.invalid_lines += 1
            if errors == "replace":
                out.append(line.decode("utf-8", errors="replace").encode("utf-8"))
    return b"".join(out), len(out)


def _split_keep_nl(data: bytes) -> list[bytes]:
    """Lines split at b"\\n" only, each with its newline (the last may lack one)."""
    parts = data.split(b"\n")
    lines = [p + b"\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def record_field(record: object, dotted: str) -> object:
    """record[a][b] for the dotted name "a.b"; KeyError when a part is missing or not a dict."""
    cur = record
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            raise KeyError(part)
        cur = cur[part]
    return cur


def _jsonl_docs(path: str, text_field: str, errors: str, stats: CorpusStats) -> Iterator[tuple[int, str]]:
    """(line number, text) for one JSON-lines input."""
    where = display_name(path)
    for lineno, line in iter_lines(path, errors, stats, text_field):
        if not line.strip():
            continue
        text = record_text(line, text_field, where, lambda: lineno)  # noqa: B023 - called at once
        if text is None:
            stats.null_texts += 1
            stats.inputs[-1].nulls += 1
            continue
        yield lineno, text


def iter_located_texts(
    inputs: Iterable[str],
    text_field: str | None = None,
    errors: str = "replace",
    stats: CorpusStats | None = None,
    sampling: Sampling | None = None,
) -> Iterator[tuple[str, int, str]]:
    """Yield (input's display name, line number or row, text) for all inputs in order: `iter_texts`
    with the place each text comes from (1-based lines of text and JSON-lines inputs, 0-based rows of
    columnar inputs). Arguments and errors as `iter_texts`."""
    return _texts(inputs, text_field, errors, stats, sampling, located=True)



def iter_texts(
    inputs: Iterable[str],
    text_field: str | None = None,
    errors: str = "replace",
    stats: CorpusStats | None = None,
    sampling: Sampling | None = None,
) -> Iterator[str]:
    """Yield the texts of all inputs in order. `inputs` must already be expanded (expand_inputs).

    Args: inputs: paths, "-" for stdin, datasets directories; text_field (str or None): the field of
    JSON-lines records or the column of columnar inputs (default "text" for those), dotted for nested
    fields; errors (str): "strict", "replace" or "skip" for invalid UTF-8; stats (CorpusStats): filled
    with counts, per-input hashes and progress; sampling (Sampling): a prefix and/or a sample of documents.
    Yields: str texts (lines with their newline, field values, column values).
    Raises: InputError for bad input (one line naming the file, and line or row), ToktoolError for bad
    options, a sample or prefix that keeps no document of inputs that have some (saying so, with the
    fraction, seed and documents seen, or the size of the first document), or a missing optional
    dependency (pyarrow, zstandard).
    """
    return _texts(inputs, text_field, errors, stats, sampling, located=False)


def _texts(
    inputs: Iterable[str], text_field: str | None, errors: str, stats: CorpusStats | None, sampling: Sampling | None, located: bool
) -> Iterator:
    # one generator for both shapes: a wrapping generator would cost a resume per line on the
    # counting path, which reads every line of the corpus
    if errors not in ERROR_POLICIES:
        raise ToktoolError(f"--errors must be one of {', '.join(ERROR_POLICIES)}")
    if stats is None:
        stats = CorpusStats()
    stats.errors = errors
    limit = sampling.max_bytes if sampling is not None else None
    if sampling is not None:
        stats.sampling = sampling.as_dict()
    inputs = list(inputs)
    taken = 0  # bytes yielded by this call (stats may come in with counts from an earlier call)
    seen = kept = 0  # documents offered to the sample, and kept, by this call
    for n, path in enumerate(inputs):
        # docs: (index, text) pairs; the index is 1-based for line inputs (iter_lines' line numbers),
        # so `first` makes every document index 0-based for sampling
        if columnar.is_columnar_input(path):
            docs, first = columnar.iter_docs(path, text_field, errors, stats), 0
        elif text_field is not None or is_jsonl_name(path):
            if text_field is None:
                raise InputError(f"{path}: JSON lines input needs --text-field NAME (the field holding the text)")
            docs, first = _jsonl_docs(path, text_field, errors, stats), 1
        else:
            docs, first = iter_lines(path, errors, stats), 1
        keep = sampling.keeps(path) if sampling is not None else None
        try:
            if keep is None and limit is None:  # the plain loop: a text file's lines cost ~50 ns more each otherwise
                where = display_name(path)
                for index, text in docs:
                    stats.texts += 1
                    stats.bytes += len(text) if text.isascii() else len(text.encode("utf-8"))
                    yield (where, index, text) if located else text
                continue
            for index, text in docs:
                seen += 1
                if keep is not None and not keep(index - first):
                    continue
                size = len(text) if text.isascii() else len(text.encode("utf-8"))
                if limit is not None and taken + size > limit:
                    if not kept:
                        raise ToktoolError(
                            f"--max-bytes {limit} kept no text: the first document{' of the sample' if keep else ''}"
                            f" ({display_name(path)}, {'row' if first == 0 else 'line'} {index}) is {size:,} bytes long; raise --max-bytes"
                        )
                    stats.sampling["stopped"] = {  # type: ignore[index]
                        "input": stats.inputs[-1].path,
                        "document_index": index - first,
                        "inputs_not_read": len(inputs) - n - 1,
                    }
                    return
                kept += 1
                taken += size
                stats.texts += 1
                stats.bytes += size
                yield (display_name(path), index, text) if located else text
        finally:
            docs.close()  # now, not at garbage collection: its hash and counts go into stats
            stats.end_input()
    if sampling is not None and sampling.sample_docs is not None and seen and not kept:
        names = [display_name(p) for p in inputs]
        where = ", ".join(names[:3]) + (f" and {len(names) - 3} more input{'' if len(names) == 4 else 's'}" if len(names) > 3 else "")
        raise ToktoolError(
            f"--sample-docs {sampling.sample_docs} (seed {sampling.seed}) kept none of the {seen:,}"
            f" document{'' if seen == 1 else 's'} of {where}; raise the fraction"
        )


def display_name(path: str) -> str:
    """How an input is named in messages: "-" is "<stdin>"."""
    return "<stdin>" if path == "-" else path


def total_input_size(paths: list[str]) -> int | None:
    """Bytes on disk of all inputs, for the progress bar; None when unknown (stdin)."""
    total = 0
    for p in paths:
        if p == "-":
            return None
        try:
            total += columnar.input_size(p) if os.path.isdir(p) else os.path.getsize(p)
        except (OSError, InputError):
            return None
    return total


# --- line-for-line input (encode, decode) ---------------------------------------------------------


def refuse_columnar(path: str) -> None:
    """Raise InputError naming `path` when it is a Parquet, Arrow or datasets input: the line-for-line
    tools (encode, decode, count-tokens) read text, and would otherwise call it binary."""
    if columnar.is_columnar_input(path):
        kind = "a datasets directory" if os.path.isdir(path) else f"{'a Parquet' if path.endswith('.parquet') else 'an Arrow'} file"
        raise InputError(
            f"{path}: {kind}; this command reads UTF-8 text lines (train and count read Parquet, Arrow and"
            " datasets inputs with --text-field): write the column out as text lines first"
        )


def open_input(path: str | None) -> tuple[BinaryIO, str]:
    """(binary stream, display name) of a file (.gz and .zst decompressed, as every command reads
    them), or of stdin for None or "-". Raises InputError when the file cannot be opened or is a
    columnar input (`refuse_columnar`), ToktoolError when .zst needs the missing zstandard package."""
    if path in (None, "-"):
        return sys.stdin.buffer, "<stdin>"
    refuse_columnar(path)
    return _open_binary(path)[0], path


def read_lines(stream: BinaryIO, errors: str, where: str) -> Iterator[tuple[str, bool]]:
    """Yield (line without its newline, whether it had one) for line-for-line tools (encode/decode).

    Splits on \\n only, so \\r and other separators round-trip. `errors`: "strict" raises InputError
    naming `where` and the line for invalid UTF-8, "replace" uses U+FFFD. Raises InputError when the
    stream is not UTF-8 text (`text_problem`), or naming the line where a read fails (a truncated or
    corrupt .gz/.zst: `read_failure`); a leading UTF-8 byte-order mark is dropped."""
    start_text(stream, where)
    lineno = 0
    try:
        for raw in stream:
            lineno += 1
            nl = raw.endswith(b"\n")
            if nl:
                raw = raw[:-1]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                if errors == "strict":
                    raise InputError(f"{where}:{lineno}: invalid UTF-8 at byte {e.start} (use --errors replace)") from None
                text = raw.decode("utf-8", errors="replace")
            yield text, nl
    except Exception as e:  # a truncated or damaged .gz/.zst, an I/O error
        failure = read_failure(e, where, lineno + 1)
        if failure is None:
            raise
        raise failure from None


def read_text(path: str) -> str:
    """The whole text of one input (a file, .gz/.zst decompressed, or "-" for stdin), for tools that
    encode a file at once (count-tokens). Raises InputError naming the file when it cannot be read,
    is a columnar input (`refuse_columnar`), is not UTF-8 text (`text_problem`), or holds invalid
    UTF-8 (with the line). A leading UTF-8 byte-order mark is dropped."""
    where = display_name(path)
    if path != "-":
        refuse_columnar(path)
    stream, _ = _open_binary(path)
    try:
        start_text(stream, where)
        data = stream.read()
    except Exception as e:
        failure = read_failure(e, where)
        if failure is None:
            raise
        raise failure from None
    finally:
        if path != "-":
            stream.close()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        # the byte within its line, as the line readers report it
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1)
        raise InputError(f"{where}:{line}: invalid UTF-8 at byte {col}") from None


# --- per-language inputs ------------------------------------------------------------------------


def language_code(name: str) -> str | None:
    """The language code a file name stands for (`deu.txt.gz` -> "deu"), or None for files that are
    not language files (README, hidden files, other suffixes)."""
    if name.startswith((".", "_")) or name.split(".")[0].upper() in _NOT_LANGUAGES:
        return None
    stem, dot, rest = name.partition(".")
    return stem if ("." + rest if dot else "") in TEXT_SUFFIXES else None


def discover_dir(d: Path, option: str = "--data") -> dict[str, list[str]]:
    """{code: [files]} of a directory with one file (`<code>.txt`, optionally .gz/.zst, or no suffix)
    or sub-directory per language. Raises InputError for a missing or empty directory (naming
    `option`, the option that gave it), an empty language directory, or a language found twice."""
    if not d.is_dir():
        raise InputError(f"{d}: not a directory ({option} takes a directory with one file per language)")
    found: dict[str, list[str]] = {}
    for entry in sorted(d.iterdir()):
        if entry.is_dir():
            if entry.name.startswith((".", "_")):
                continue
            files = sorted(str(f) for f in entry.iterdir() if f.is_file() and language_code(f.name) is not None)
            if not files:
                raise InputError(f"{entry}: language directory has no text files")
            code = entry.name
        else:
            code = language_code(entry.name)
            if code is None:
                continue
            files = [str(entry)]
        if code in found:
            raise InputError(f"{d}: language '{code}' appears twice ({found[code][0]} and {files[0]})")
        found[code] = files
    if not found:
        raise InputError(f"{d}: no language files (expected <code>.txt files or <code>/ directories)")
    return found
