"""Columnar and dataset inputs: Parquet, Arrow IPC (file and stream format), `datasets.save_to_disk` dirs.

Web and code corpora ship as Parquet shards with a text column (FineWeb: `text`, The Stack: `content`)
or as Hugging Face `datasets` directories of Arrow stream files. This module reads one text column of
them in constant memory and hands `corpus.iter_texts` (row index, text) pairs, so sampling, --max-bytes
and the statistics stay in one place for every input kind.

Memory: Parquet row groups are read one after the other, only the text column, in batches of
BATCH_ROWS rows, without pre-buffering; what is alive is then one data page of that column (plus its
dictionary page) and one batch, not the row group: a page is Parquet's unit of decompression. Page size
is the writer's choice: pyarrow's writer checks its 1 MB target only every 1024 values, so a page of
10 KB documents holds ~10 MB. Arrow IPC files hold one record batch (the writer's unit; `datasets`
writes 1000 rows) at a time. Python strings are made BATCH_ROWS rows or SLICE_BYTES bytes at a time.

It is separate from `corpus.py` because pyarrow is an optional, heavy dependency (140 MB installed;
importing it takes ~0.6 s and ~65 MB of RSS on the 2-core dev machine): it is imported lazily inside functions, so `import toktool.corpus` stays light and text users
never need it. The `datasets` package is not needed at all: its on-disk layout is read directly.

Input hashing (the SHA-256 and byte count that go into train.json): Parquet and Arrow readers seek (the
footer first, then only the byte ranges of the chosen column), so the bytes they read are neither the
whole file nor in order. Each file is therefore hashed in a separate sequential pass over the same open
file descriptor just before it is parsed: the hash is always that of the whole file as it was read.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .errors import InputError, ToktoolError

COLUMNAR_SUFFIXES = (".parquet", ".arrow")
DEFAULT_TEXT_FIELD = "text"
# Files `datasets` writes: a Dataset dir has state.json + dataset_info.json, a DatasetDict dir has
# dataset_dict.json and one Dataset dir per split.
DATASET_STATE = "state.json"
DATASET_INFO = "dataset_info.json"
DATASET_DICT = "dataset_dict.json"
# Rows read from Parquet and turned into Python strings at a time, and the UTF-8 bytes at most turned
# into strings at a time (a single larger document is one slice): together they bound the Arrow batch
# and the str objects alive (FineWeb documents average ~3 KB, code files ~10 KB, a few are megabytes),
# whatever the writer's row group or record batch size. Per-batch overhead is some microseconds.
BATCH_ROWS = 256
SLICE_BYTES = 4 << 20
_HASH_CHUNK = 1 << 20
_ARROW_FILE_MAGIC = b"ARROW1"
_MAX_LISTED_COLUMNS = 20

_PYARROW: dict[str, Any] = {}


def _pyarrow() -> dict[str, Any]:
    """pyarrow and its compute, parquet and ipc modules, imported once; ToktoolError with the install hint if absent."""
    if not _PYARROW:
        try:
            import pyarrow
            import pyarrow.compute
            import pyarrow.ipc
            import pyarrow.parquet
        except ImportError:
            raise ToktoolError(
                "reading Parquet, Arrow or datasets inputs needs pyarrow: pip install 'toktool[parquet]'"
            ) from None
        _PYARROW.update(pa=pyarrow, pc=pyarrow.compute, pq=pyarrow.parquet, ipc=pyarrow.ipc)
    return _PYARROW


@dataclass
class ReadCounts:
    """What one reader call saw besides the texts it yielded.

    rows: rows read (texts, nulls and invalid ones); nulls: null values skipped; invalid: values with
    invalid UTF-8 (replaced or skipped by the error policy); size: bytes of the file (0 when unknown);
    nbytes: an estimate of the file bytes consumed so far, for progress bars (rows or batches done as a
    fraction of the file, since a columnar reader does not read the file in order).
    """

    rows: int = 0
    nulls: int = 0
    invalid: int = 0
    size: int = 0
    nbytes: int = 0


# --- what an input is ------------------------------------------------------------------------------


def is_dataset_dir(path: str) -> bool:
    """True if `path` (str) is a directory written by `datasets` (Dataset or DatasetDict `save_to_disk`)."""
    if path == "-" or not os.path.isdir(path):
        return False
    return any(os.path.isfile(os.path.join(path, n)) for n in (DATASET_STATE, DATASET_INFO, DATASET_DICT))


def is_columnar_input(path: str) -> bool:
    """True if `path` (str) is read by this module: a .parquet or .arrow file, or a datasets directory."""
    if path == "-":
        return False
    return path.endswith(COLUMNAR_SUFFIXES) or is_dataset_dir(path)


def _load_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror or e}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: malformed JSON: {e}") from None


def dataset_files(path: str) -> list[str]:
    """The Arrow stream files of a `datasets.save_to_disk` directory, in dataset order.

    Args: path (str): a Dataset dir (state.json lists its shards in `_data_files`, in row order) or a
    DatasetDict dir (dataset_dict.json lists its splits; every split is read, in that order).
    Returns: list[str] of file paths, each `os.path.join(dir, filename)`.
    Raises: InputError naming the directory or file if state.json is missing or malformed, the dataset
    has no data files, a listed file does not exist, or a listed split is not a Dataset dir.
    """
    dict_json = os.path.join(path, DATASET_DICT)
    state_json = os.path.join(path, DATASET_STATE)
    if os.path.isfile(dict_json) and not os.path.isfile(state_json):
        splits = _load_json(dict_json)
        splits = splits.get("splits") if isinstance(splits, dict) else None
        if not isinstance(splits, list) or not all(isinstance(s, str) for s in splits):
            raise InputError(f"{dict_json}: expected {{\"splits\": [names]}} as written by DatasetDict.save_to_disk")
        if not splits:
            raise InputError(f"{path}: empty dataset directory (dataset_dict.json lists no splits)")
        out: list[str] = []
        for split in splits:
            sub = os.path.join(path, split)
            if not os.path.isfile(os.path.join(sub, DATASET_STATE)):
                raise InputError(f"{sub}: split {split!r} listed in dataset_dict.json has no state.json")
            out.extend(dataset_files(sub))
        return out
    if not os.path.isfile(state_json):
        raise InputError(f"{path}: looks like a datasets directory but has no state.json (write it with save_to_disk)")
    state = _load_json(state_json)
    files = state.get("_data_files") if isinstance(state, dict) else None
    if not isinstance(files, list) or not all(isinstance(f, dict) and isinstance(f.get("filename"), str) for f in files):
        raise InputError(f"{state_json}: no `_data_files` list of {{\"filename\": ...}} as written by save_to_disk")
    if not files:
        raise InputError(f"{path}: empty dataset directory (state.json lists no data files)")
    out = []
    for entry in files:
        fp = os.path.join(path, entry["filename"])
        if not os.path.isfile(fp):
            raise InputError(f"{fp}: data file listed in {state_json} does not exist")
        out.append(fp)
    return out


def input_size(path: str) -> int:
    """Bytes on disk of one columnar input (int): the file, or all data files of a datasets directory.

    Raises: OSError if a file cannot be stat'ed, InputError for a malformed datasets directory.
    """
    if os.path.isdir(path):
        return sum(os.path.getsize(f) for f in dataset_files(path))
    return os.path.getsize(path)


# --- columns ---------------------------------------------------------------------------------------


def _columns_list(names: list[str]) -> str:
    shown = ", ".join(names[:_MAX_LISTED_COLUMNS]) or "none"
    more = len(names) - _MAX_LISTED_COLUMNS
    return shown + (f", ... ({more} more)" if more > 0 else "")


def _is_text_type(pa: Any, t: Any) -> bool:
    if pa.types.is_dictionary(t):
        t = t.value_type
    is_view = getattr(pa.types, "is_string_view", None)  # string_view exists from pyarrow 16
    return pa.types.is_string(t) or pa.types.is_large_string(t) or bool(is_view and is_view(t))


def _resolve_field(schema: Any, text_field: str, name: str) -> tuple[int, list[str]]:
    """(index of the top-level column, names of the struct fields below it) for `text_field`.

    A top-level column whose name is exactly `text_field` wins; otherwise dots walk into struct columns
    ("meta.text"). Raises InputError naming the file, listing what exists, or giving the wrong type.
    """
    pa = _pyarrow()["pa"]
    names = list(schema.names)
    if text_field in names:
        top, path = text_field, []
    else:
        top, *path = text_field.split(".")
        if top not in names or not path:
            raise InputError(
                f"{name}: no column {text_field!r} (columns: {_columns_list(names)}); choose one with --text-field"
            )
    if names.count(top) > 1:
        raise InputError(f"{name}: column name {top!r} occurs {names.count(top)} times; cannot choose")
    t = schema.field(top).type
    for depth, part in enumerate(path):
        here = ".".join([top, *path[:depth]])
        if not pa.types.is_struct(t):
            raise InputError(f"{name}: column {here!r} has type {t}, not a struct, so it has no field {part!r}")
        idx = t.get_field_index(part)
        if idx < 0:
            fields = [t.field(i).name for i in range(t.num_fields)]
            raise InputError(f"{name}: struct column {here!r} has no field {part!r} (fields: {_columns_list(fields)})")
        t = t.field(idx).type
    if not _is_text_type(pa, t):
        raise InputError(f"{name}: column {text_field!r} has type {t}, expected strings; choose a text column with --text-field")
    return names.index(top), path


def _descend(arr: Any, path: list[str]) -> Any:
    """The struct child at `path` of `arr`, with the parents' nulls applied (flatten() does that, unlike .field())."""
    for part in path:
        arr = arr.flatten()[arr.type.get_field_index(part)]
    return arr


def _one_line(e: BaseException) -> str:
    msg = " ".join(str(e).split()) or type(e).__name__
    return msg if len(msg) <= 300 else msg[:297] + "..."


_SKIPPED = object()  # a value dropped by --errors skip (kept in the list so row numbers stay exact)


def _slices(arr: Any) -> Iterator[tuple[int, int]]:
    """(start, stop) row ranges of at most BATCH_ROWS rows and SLICE_BYTES bytes (or one row) each."""
    n = len(arr)
    m = _pyarrow()
    try:
        lengths = m["pc"].binary_length(arr).fill_null(0).to_numpy(zero_copy_only=False)
    except m["pa"].ArrowNotImplementedError:  # a type binary_length lacks: bound rows only
        yield from ((s, min(s + BATCH_ROWS, n)) for s in range(0, n, BATCH_ROWS))
        return
    import numpy as np

    ends = np.cumsum(lengths, dtype=np.int64)
    start = 0
    while start < n:
        before = int(ends[start - 1]) if start else 0
        stop = int(np.searchsorted(ends, before + SLICE_BYTES, side="right"))
        stop = min(max(stop, start + 1), start + BATCH_ROWS, n)
        yield start, stop
        start = stop


def _texts_of(arr: Any, first_row: int, errors: str, counts: ReadCounts, name: str, text_field: str) -> Iterator[tuple[int, str]]:
    """(row, text) for the non-null values of one Arrow string array, a bounded slice at a time."""
    if _pyarrow()["pa"].types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    for start, stop in _slices(arr):
        part = arr.slice(start, stop - start)
        try:
            values = part.to_pylist()
        except UnicodeDecodeError:
            # Arrow does not validate UTF-8 on read; a bad value surfaces here. Decode this slice from
            # bytes under the --errors policy, like a bad line of a text file.
            values = _decode_slice(part, first_row + start, errors, counts, name, text_field)
        counts.rows += len(values)
        for i, v in enumerate(values):
            if v is None:
                counts.nulls += 1
            elif v is not _SKIPPED:
                yield first_row + start + i, v


def _decode_slice(part: Any, first_row: int, errors: str, counts: ReadCounts, name: str, text_field: str) -> list:
    pa = _pyarrow()["pa"]
    out: list = []
    for i, b in enumerate(part.cast(pa.large_binary()).to_pylist()):
        if b is None:
            out.append(None)
            continue
        try:
            out.append(b.decode("utf-8"))
        except UnicodeDecodeError as e:
            if errors == "strict":
                raise InputError(
                    f"{name}: row {first_row + i}: invalid UTF-8 in column {text_field!r} at byte {e.start}"
                    " (use --errors replace or skip)"
                ) from None
            counts.invalid += 1
            out.append(b.decode("utf-8", errors="replace") if errors == "replace" else _SKIPPED)
    return out


# --- readers ---------------------------------------------------------------------------------------


def _source(source: Any, name: str | None) -> tuple[Any, str, bool]:
    """(file object, name for messages, whether we opened it) for a path or an open binary file."""
    if isinstance(source, (str, os.PathLike)):
        pa = _pyarrow()["pa"]
        try:
            return pa.OSFile(os.fspath(source), "rb"), name or os.fspath(source), True
        except OSError as e:
            raise InputError(f"{name or os.fspath(source)}: cannot open: {_one_line(e)}") from None
    return source, name or getattr(source, "name", None) or "<file>", False


def _parquet_file(pq: Any, f: Any) -> Any:
    # pre_buffer off and a bounded buffer_size: a column chunk is read in 1 MiB pieces as its pages are
    # decoded instead of whole, so memory does not grow with the row group size.
    # page_checksum_verification (pyarrow >= 15) checks the CRCs of files that carry them.
    kw: dict[str, Any] = {"pre_buffer": False, "buffer_size": 1 << 20}
    try:
        return pq.ParquetFile(f, page_checksum_verification=True, **kw)
    except TypeError:
        return pq.ParquetFile(f, **kw)


def iter_parquet(
    source: Any,
    text_field: str = DEFAULT_TEXT_FIELD,
    errors: str = "replace",
    name: str | None = None,
    counts: ReadCounts | None = None,
) -> Iterator[tuple[int, str]]:
    """Yield (row index, text) for the non-null values of one string column of a Parquet file.

    Args: source: a path (str or PathLike) or a seekable binary file object (pyarrow NativeFile or a
    Python file); text_field (str): column name, or dotted path into struct columns ("meta.text");
    errors (str): "strict", "replace" or "skip" for values that are not valid UTF-8; name (str): the file
    name used in messages [default: the path]; counts (ReadCounts): filled with rows, nulls, invalid
    values and progress as reading goes (set counts.size to the file's byte size for progress).
    Row groups are read one after the other and each in batches of BATCH_ROWS rows, so memory is
    bounded by one batch plus one column chunk's read buffer, whatever the file size.
    Raises: InputError (one line, naming the file) for a corrupt or truncated file, a missing column
    (listing the columns that exist), a non-string column, or invalid UTF-8 under errors="strict";
    ToktoolError if pyarrow is not installed.
    """
    m = _pyarrow()
    pa, pq = m["pa"], m["pq"]
    f, name, owned = _source(source, name)
    counts = counts if counts is not None else ReadCounts()
    bad = f"{name}: corrupt or truncated Parquet file"
    try:
        try:
            pf = _parquet_file(pq, f)
            schema, num_rows, num_groups = pf.schema_arrow, pf.metadata.num_rows, pf.num_row_groups
        except (pa.ArrowException, OSError) as e:
            raise InputError(f"{bad}: {_one_line(e)}") from None
        idx, path = _resolve_field(schema, text_field, name)
        column = ".".join([schema.names[idx], *path])
        row = 0
        for rg in range(num_groups):
            batches = pf.iter_batches(batch_size=BATCH_ROWS, row_groups=[rg], columns=[column], use_threads=False)
            while True:
                try:
                    batch = next(batches)
                except StopIteration:
                    break
                except (pa.ArrowException, OSError) as e:
                    raise InputError(f"{bad} (row group {rg}): {_one_line(e)}") from None
                yield from _texts_of(_descend(batch.column(0), path), row, errors, counts, name, text_field)
                row += batch.num_rows
                counts.nbytes = counts.size * row // max(1, num_rows)
    finally:
        if owned:
            f.close()


def iter_arrow(
    source: Any,
    text_field: str = DEFAULT_TEXT_FIELD,
    errors: str = "replace",
    name: str | None = None,
    counts: ReadCounts | None = None,
) -> Iterator[tuple[int, str]]:
    """Yield (row index, text) for the non-null values of one string column of an Arrow IPC file.

    Both IPC formats are read: the random-access file format (starts with "ARROW1"; `.arrow`/Feather v2
    as written by pyarrow.ipc.new_file) and the stream format (what `datasets` writes into its
    `data-*.arrow` files). One record batch is read at a time, with only the chosen top-level column
    decoded, so memory is bounded by the largest record batch the writer made.
    Args, returns and raises: as iter_parquet (the message says "Arrow file").
    """
    m = _pyarrow()
    pa, ipc = m["pa"], m["ipc"]
    f, name, owned = _source(source, name)
    counts = counts if counts is not None else ReadCounts()
    bad = f"{name}: corrupt or truncated Arrow file"
    try:
        try:
            is_file_format = f.read(len(_ARROW_FILE_MAGIC)) == _ARROW_FILE_MAGIC
            f.seek(0)
            opener = ipc.open_file if is_file_format else ipc.open_stream
            schema = opener(f).schema
            f.seek(0)
        except (pa.ArrowException, OSError) as e:
            raise InputError(f"{bad}: {_one_line(e)}") from None
        idx, path = _resolve_field(schema, text_field, name)
        try:
            # included_fields: only the text column's buffers are decoded (and decompressed)
            reader = opener(f, options=ipc.IpcReadOptions(included_fields=[idx]))
        except (pa.ArrowException, OSError) as e:
            raise InputError(f"{bad}: {_one_line(e)}") from None
        n_batches = reader.num_record_batches if is_file_format else None
        row = 0
        batch_no = 0
        while n_batches is None or batch_no < n_batches:
            try:
                batch = reader.get_batch(batch_no) if is_file_format else reader.read_next_batch()
            except StopIteration:
                break
            except (pa.ArrowException, OSError) as e:
                raise InputError(f"{bad} (record batch {batch_no}): {_one_line(e)}") from None
            yield from _texts_of(_descend(batch.column(0), path), row, errors, counts, name, text_field)
            row += batch.num_rows
            batch_no += 1
            counts.nbytes = counts.size * batch_no // n_batches if n_batches else min(counts.size, f.tell())
    finally:
        if owned:
            f.close()


def _open_hashed(path: str) -> tuple[Any, str, int]:
    """Open `path` with pyarrow, SHA-256 the whole file in one sequential pass, rewind: (file, hex, bytes)."""
    pa = _pyarrow()["pa"]
    try:
        f = pa.OSFile(path, "rb")
    except OSError as e:
        raise InputError(f"{path}: cannot open: {_one_line(e)}") from None
    h = hashlib.sha256()
    n = 0
    try:
        while True:
            buf = f.read_buffer(_HASH_CHUNK)
            if buf.size == 0:
                break
            h.update(buf)
            n += buf.size
        f.seek(0)
    except OSError as e:
        f.close()
        raise InputError(f"{path}: cannot read: {_one_line(e)}") from None
    return f, h.hexdigest(), n


def iter_docs(path: str, text_field: str | None, errors: str, stats: Any) -> Iterator[tuple[int, str]]:
    """Yield (document index, text) for one columnar input; the hook `corpus.iter_texts` calls.

    Args: path (str): a .parquet or .arrow file or a datasets directory (all its shards, in order; the
    document index runs on across shards and splits, like the dataset's row index); text_field (str or
    None): the column [default: "text"]; errors (str): the UTF-8 policy; stats (corpus.CorpusStats):
    gets one InputInfo per file read (its SHA-256 and size from a separate hashing pass), the null and
    invalid-UTF-8 counts, and progress (stats._reader.nbytes, stats.raw_done).
    Raises: InputError and ToktoolError as iter_parquet and dataset_files.
    """
    field = text_field or DEFAULT_TEXT_FIELD
    files = dataset_files(path) if os.path.isdir(path) else [path]
    first_row = 0
    for fp in files:
        read = iter_parquet if fp.endswith(".parquet") else iter_arrow
        f, sha, size = _open_hashed(fp)
        info = stats.add_input(fp, column=field)
        info.sha256, info.bytes = sha, size
        counts = ReadCounts(size=size)
        stats._reader = counts
        try:
            for row, text in read(f, field, errors, fp, counts):
                yield first_row + row, text
        finally:
            f.close()
            first_row += counts.rows
            info.nulls += counts.nulls
            stats.null_texts += counts.nulls
            stats.invalid_lines += counts.invalid
            stats.raw_done += size
            stats._reader = None
