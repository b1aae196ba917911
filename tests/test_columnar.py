"""Columnar and dataset inputs (Parquet, Arrow IPC, datasets.save_to_disk dirs) and corpus sampling.

Fixtures are built here with pyarrow in the shapes real corpora have: FineWeb-like Parquet (a `text`
column among metadata columns, several row groups), Stack-like Parquet (`content`, zstd), a struct
column, nulls, and `datasets` directories written by hand exactly as `Dataset.save_to_disk` lays them out
(datasets 5.2 arrow_dataset.py: Arrow *stream* files `data-{i:05d}-of-{n:05d}.arrow` written by
ArrowWriter with a `huggingface` schema metadata key, state.json with `_data_files`, `_fingerprint`,
`_format_*`, `_output_all_columns`, `_split`, dataset_info.json, and for a DatasetDict a
dataset_dict.json `{"splits": [...]}` with one Dataset dir per split). The text is real: the UDHR in
521 languages (data/udhr) and toktool's own source files.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, UDHR, assert_clean_error, run_cli

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
ipc = pytest.importorskip("pyarrow.ipc")

from toktool import columnar  # noqa: E402
from toktool.corpus import CorpusStats, Sampling, corpus_notes, expand_inputs, iter_texts, total_input_size  # noqa: E402
from toktool.errors import InputError, ToktoolError  # noqa: E402

UDHR_FILES = sorted(UDHR.glob("*.txt"))


def udhr_docs() -> list[str]:
    """One multi-line document per language (521 docs, ~6 MB, every script)."""
    return [p.read_text(encoding="utf-8") for p in UDHR_FILES]


def udhr_lines(n_langs: int = 40) -> list[str]:
    """Single-line documents ending in a newline, as a .txt file's lines are read."""
    out: list[str] = []
    for p in UDHR_FILES[:n_langs]:
        out.extend(line + "\n" for line in p.read_text(encoding="utf-8").split("\n") if line)
    return out


def code_docs() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted((ROOT / "toktool").rglob("*.py"))]


def read_all(paths, **kw) -> tuple[list[str], CorpusStats]:
    stats = CorpusStats()
    return list(iter_texts(expand_inputs([str(p) for p in paths]), stats=stats, **kw)), stats


def fineweb_table(docs: list[str]):
    n = len(docs)
    return pa.table(
        {
            "text": docs,
            "id": [f"<urn:uuid:{hashlib.md5(str(i).encode()).hexdigest()}>" for i in range(n)],
            "dump": ["CC-MAIN-2024-10"] * n,
            "url": [f"https://example.org/{i}" for i in range(n)],
            "date": ["2024-02-21T03:12:54Z"] * n,
            "file_path": ["s3://commoncrawl/crawl-data/CC-MAIN-2024-10/segments/x.warc.gz"] * n,
            "language": ["en"] * n,
            "language_score": [0.9] * n,
            "token_count": [len(d) // 4 for d in docs],
        }
    )


def write_fineweb(path: Path, docs: list[str], row_group_size: int = 65, compression: str = "snappy") -> Path:
    pq.write_table(fineweb_table(docs), path, row_group_size=row_group_size, compression=compression)
    return path


def write_dataset_dir(path: Path, docs: list[str | None], num_shards: int = 3, batch_rows: int = 50) -> list[Path]:
    """A directory as `Dataset.save_to_disk(path, num_shards=...)` writes it; returns the shard paths."""
    path.mkdir(parents=True)
    features = {"text": {"dtype": "string", "_type": "Value"}, "id": {"dtype": "int64", "_type": "Value"}}
    schema = pa.schema([("text", pa.string()), ("id", pa.int64())]).with_metadata(
        {"huggingface": json.dumps({"info": {"features": features}})}
    )
    per = -(-len(docs) // num_shards)
    names = [f"data-{i:05d}-of-{num_shards:05d}.arrow" for i in range(num_shards)]
    for i, name in enumerate(names):
        part = docs[i * per : (i + 1) * per]
        table = pa.table({"text": pa.array(part, pa.string()), "id": list(range(i * per, i * per + len(part)))}, schema=schema)
        with ipc.new_stream(str(path / name), schema) as w:  # ArrowWriter: pa.RecordBatchStreamWriter
            for batch in table.to_batches(max_chunksize=batch_rows):
                w.write_batch(batch)
    state = {
        "_data_files": [{"filename": n} for n in names],
        "_fingerprint": "0123456789abcdef",
        "_format_columns": None,
        "_format_kwargs": {},
        "_format_type": None,
        "_output_all_columns": False,
        "_split": "train",
    }
    (path / "state.json").write_text(json.dumps(state, indent=2, sort_keys=True))
    info = {"builder_name": None, "citation": "", "config_name": None, "dataset_name": None, "dataset_size": None,
            "description": "", "features": features, "homepage": "", "license": "", "splits": None}
    (path / "dataset_info.json").write_text(json.dumps(info, indent=2))
    return [path / n for n in names]


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- reading: equality with a reference read ----------------------------------------------------


def test_fineweb_like_parquet_equals_reference_read(tmp_path):
    docs = udhr_docs()
    p = write_fineweb(tmp_path / "000_00000.parquet", docs)
    assert pq.ParquetFile(p).num_row_groups == 9
    texts, stats = read_all([p])
    assert texts == docs
    # pandas-free reference: the whole column at once through pyarrow's table reader
    assert texts == [t for t in pq.read_table(p, columns=["text"]).column("text").to_pylist() if t is not None]
    (info,) = stats.inputs
    assert (info.path, info.sha256, info.bytes, info.texts, info.column, info.nulls) == (
        str(p), sha256_of(p), p.stat().st_size, len(docs), "text", 0)
    assert stats.bytes == sum(len(d.encode()) for d in docs) and stats.texts == len(docs)
    assert total_input_size([str(p)]) == p.stat().st_size and stats.raw_read() == p.stat().st_size


def test_stack_like_content_column(tmp_path):
    docs = code_docs()
    table = pa.table({
        "content": pa.array(docs, pa.large_string()),
        "max_stars_repo_path": [f"toktool/{i}.py" for i in range(len(docs))],
        "size": [len(d) for d in docs],
        "ext": ["py"] * len(docs),
        "lang": ["Python"] * len(docs),
    })
    p = tmp_path / "train-00000-of-00001.parquet"
    pq.write_table(table, p, row_group_size=10, compression="zstd")
    assert read_all([p], text_field="content")[0] == docs
    with pytest.raises(InputError) as e:  # no --text-field: the default column "text" is not there
        read_all([p])
    assert str(e.value) == (f"{p}: no column 'text' (columns: content, max_stars_repo_path, size, ext, lang);"
                            " choose one with --text-field")


def test_struct_column_dotted_field_and_nulls(tmp_path):
    docs = udhr_lines(3)
    meta = [{"text": d, "lang": "x"} for d in docs]
    meta[1] = None  # a null struct: its text is null too
    meta[4] = {"text": None, "lang": "x"}
    typ = pa.struct([("lang", pa.string()), ("text", pa.string())])
    p = tmp_path / "s.parquet"
    pq.write_table(pa.table({"id": list(range(len(docs))), "meta": pa.array(meta, typ)}), p, row_group_size=20)
    texts, stats = read_all([p], text_field="meta.text")
    assert texts == [d for i, d in enumerate(docs) if i not in (1, 4)]
    assert stats.null_texts == 2 and stats.inputs[0].nulls == 2 and stats.inputs[0].column == "meta.text"
    assert stats.as_dict()["null_texts"] == 2
    assert corpus_notes(stats.as_dict()) == [("null text", f"2 skipped (the text field is null): {p} (2)")]
    with pytest.raises(InputError) as e:
        read_all([p], text_field="meta.body")
    assert str(e.value) == f"{p}: struct column 'meta' has no field 'body' (fields: lang, text)"
    with pytest.raises(InputError) as e:
        read_all([p], text_field="id.text")
    assert str(e.value) == f"{p}: column 'id' has type int64, not a struct, so it has no field 'text'"
    with pytest.raises(InputError) as e:
        read_all([p], text_field="meta")
    assert str(e.value) == (f"{p}: column 'meta' has type struct<lang: string, text: string>, expected strings;"
                            " choose a text column with --text-field")


def test_nulls_in_text_column_are_skipped_and_counted(tmp_path):
    docs: list[str | None] = list(udhr_docs()[:100])
    for i in (0, 7, 50, 99):
        docs[i] = None
    p = tmp_path / "n.parquet"
    pq.write_table(pa.table({"text": docs}), p, row_group_size=30)
    texts, stats = read_all([p])
    assert texts == [d for d in docs if d is not None]
    assert stats.as_dict()["null_texts"] == 4 and stats.as_dict()["inputs"][0]["nulls"] == 4


def test_arrow_file_and_stream_formats_and_dictionary_column(tmp_path):
    docs = udhr_docs()[:200]
    table = pa.table({"id": list(range(len(docs))), "text": docs})
    with ipc.new_file(str(tmp_path / "f.arrow"), table.schema) as w:
        w.write_table(table, max_chunksize=37)
    with ipc.new_stream(str(tmp_path / "s.arrow"), table.schema) as w:
        w.write_table(table, max_chunksize=37)
    dtable = pa.table({"text": pa.array(docs).dictionary_encode()})
    with ipc.new_file(str(tmp_path / "d.arrow"), dtable.schema) as w:
        w.write_table(dtable)
    for name in ("f.arrow", "s.arrow", "d.arrow"):
        texts, stats = read_all([tmp_path / name])
        assert texts == docs, name
        assert stats.inputs[0].sha256 == sha256_of(tmp_path / name)
        assert stats.raw_read() == (tmp_path / name).stat().st_size


def test_invalid_utf8_values_follow_the_errors_policy(tmp_path):
    raw = [b"good\n", b"bad \xff\xfe\n", None, b"fine\n"]
    p = tmp_path / "u.parquet"
    # Arrow does not validate UTF-8: a string column can hold bytes that are not UTF-8
    pq.write_table(pa.table({"text": pa.array(raw, pa.binary()).view(pa.string())}), p)
    assert read_all([p], errors="replace")[0] == ["good\n", "bad \ufffd\ufffd\n", "fine\n"]
    texts, stats = read_all([p], errors="skip")
    assert texts == ["good\n", "fine\n"] and stats.invalid_lines == 1 and stats.null_texts == 1
    with pytest.raises(InputError) as e:
        read_all([p], errors="strict")
    assert str(e.value) == f"{p}: row 1: invalid UTF-8 in column 'text' at byte 4 (use --errors replace or skip)"
    # row numbers stay exact after a skipped value: sampling keys use them (a seed that keeps row 3
    # and not row 1, where "fine" would be if skipped values were not counted; the key hashes the path)
    seed = next(s for s in range(100) if Sampling(sample_docs=0.5, seed=s).keeps(str(p))(3) and not Sampling(sample_docs=0.5, seed=s).keeps(str(p))(1))
    keep = Sampling(sample_docs=0.5, seed=seed).keeps(str(p))
    got = list(iter_texts([str(p)], errors="skip", sampling=Sampling(sample_docs=0.5, seed=seed)))
    assert got == [t for i, t in ((0, "good\n"), (3, "fine\n")) if keep(i)]


def test_jsonl_nulls_are_counted_like_columnar_nulls(tmp_path):
    p = tmp_path / "n.jsonl"
    p.write_text('{"text": "a\\n"}\n{"text": null}\n\n{"text": "b\\n"}\n', encoding="utf-8")
    texts, stats = read_all([p], text_field="text")
    assert texts == ["a\n", "b\n"] and stats.null_texts == 1
    assert stats.as_dict()["inputs"] == [{"path": str(p), "sha256": sha256_of(p), "bytes": p.stat().st_size,
                                          "texts": 2, "column": "text", "nulls": 1}]


# --- datasets directories and many shards ---------------------------------------------------------


def test_datasets_dir_is_one_input_read_in_state_json_order(tmp_path):
    docs = udhr_docs()[:300]
    d = tmp_path / "ds"
    shards = write_dataset_dir(d, docs, num_shards=3)
    assert expand_inputs([str(d)]) == [str(d)]
    texts, stats = read_all([d])
    assert texts == docs
    assert [(i.path, i.sha256, i.bytes) for i in stats.inputs] == [(str(s), sha256_of(s), s.stat().st_size) for s in shards]
    assert [i.texts for i in stats.inputs] == [100, 100, 100]
    assert total_input_size([str(d)]) == sum(s.stat().st_size for s in shards)
    # state.json, not file-name order, gives the order
    state = json.loads((d / "state.json").read_text())
    state["_data_files"].reverse()
    (d / "state.json").write_text(json.dumps(state))
    assert read_all([d])[0] == docs[200:] + docs[100:200] + docs[:100]


def test_datasets_dir_inside_a_directory_and_glob(tmp_path):
    docs = udhr_docs()[:60]
    write_dataset_dir(tmp_path / "corpus" / "b_ds", docs[:30], num_shards=2)
    (tmp_path / "corpus" / "c").mkdir()
    write_fineweb(tmp_path / "corpus" / "a.parquet", docs[30:40])
    write_fineweb(tmp_path / "corpus" / "c" / "c.parquet", docs[40:])
    corpus = tmp_path / "corpus"
    want = [str(corpus / "a.parquet"), str(corpus / "b_ds"), str(corpus / "c" / "c.parquet")]
    assert expand_inputs([str(corpus)]) == want
    assert read_all([corpus])[0] == docs[30:40] + docs[:30] + docs[40:]
    # a recursive glob matches the dataset dir and its files: the dir is read once, as a dataset
    got = expand_inputs([str(corpus / "**")])
    assert got == sorted(want)


def test_dataset_dict_reads_every_split_in_listed_order(tmp_path):
    docs = udhr_docs()[:90]
    d = tmp_path / "dd"
    write_dataset_dir(d / "train", docs[:60], num_shards=2)
    write_dataset_dir(d / "test", docs[60:], num_shards=1)
    (d / "dataset_dict.json").write_text(json.dumps({"splits": ["train", "test"]}))
    assert expand_inputs([str(d)]) == [str(d)]
    texts, stats = read_all([d])
    assert texts == docs and len(stats.inputs) == 3
    assert read_all([d / "test"])[0] == docs[60:]


def test_thousands_of_shards_in_sorted_order_without_leaking_files(tmp_path):
    lines = udhr_lines(70)[:2000]
    shards = tmp_path / "shards"
    shards.mkdir()
    table = pa.table({"text": lines})
    for i in range(len(lines)):  # one document per shard, names that sort differently as numbers
        pq.write_table(table.slice(i, 1), shards / f"part-{i}.parquet")
    expected = [lines[int(p.split("-")[1].split(".")[0])] for p in sorted(f"part-{i}.parquet" for i in range(len(lines)))]
    fds = len(os.listdir("/proc/self/fd"))
    texts, stats = read_all([str(shards / "part-*.parquet")])
    assert texts == expected and len(stats.inputs) == 2000
    assert read_all([shards])[0] == expected  # the directory, expanded
    assert len(os.listdir("/proc/self/fd")) <= fds


# --- constant memory ---------------------------------------------------------------------------------


class CountingFile(io.RawIOBase):
    """A file that records every read (offset, length): what the reader pulled from disk and when."""

    def __init__(self, path: Path):
        self._f = open(path, "rb")  # noqa: SIM115
        self.reads: list[tuple[int, int]] = []

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._f.seek(offset, whence)

    def tell(self) -> int:
        return self._f.tell()

    def read(self, n: int = -1) -> bytes:
        pos = self._f.tell()
        data = self._f.read(n)
        self.reads.append((pos, len(data)))
        return data

    def readinto(self, b) -> int:  # type: ignore[override]
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._f.close()
        super().close()


def test_parquet_is_read_one_row_group_at_a_time(tmp_path):
    docs = udhr_docs()
    p = write_fineweb(tmp_path / "big.parquet", docs, row_group_size=18, compression="zstd")
    md = pq.ParquetFile(p).metadata
    col = md.schema.names.index("text")
    chunks = []  # file byte range of the text column chunk of each row group
    for k in range(md.num_row_groups):
        c = md.row_group(k).column(col)
        start = c.dictionary_page_offset if c.has_dictionary_page else c.data_page_offset
        chunks.append((start, start + c.total_compressed_size))
    first_row = [sum(md.row_group(j).num_rows for j in range(k)) for k in range(md.num_row_groups + 1)]
    one_group = max(md.row_group(k).column(col).total_uncompressed_size for k in range(md.num_row_groups))
    whole = sum(md.row_group(k).column(col).total_uncompressed_size for k in range(md.num_row_groups))
    assert md.num_row_groups == 29 and one_group * 4 < whole / 5

    size = p.stat().st_size
    with open(p, "rb") as fh:
        fh.seek(size - 8)
        footer_start = size - 8 - int.from_bytes(fh.read(4), "little")

    base = pa.total_allocated_bytes()
    f = CountingFile(p)
    got, peak, checked = [], 0, 0
    for row, text in columnar.iter_parquet(f, "text", name=str(p)):
        got.append(text)
        group = next(k for k in range(md.num_row_groups) if first_row[k] <= row < first_row[k + 1])
        for o, n in f.reads[checked:]:
            # the footer (pyarrow reads the last 64 KiB at once), or the text column's chunks of this row
            # group or earlier ones: no other column, no read-ahead into the next row group
            assert o + n == size or o >= footer_start or any(s <= o and o + n <= e for s, e in chunks[: group + 1]), (o, n, group)
        checked = len(f.reads)
        peak = max(peak, pa.total_allocated_bytes() - base)
    assert got == docs
    assert {k for k in range(len(chunks)) if any(s <= o < e for o, _ in f.reads for s, e in [chunks[k]])} == set(range(29))
    # what Arrow held at any time: one row group's column, as its dictionary page, its decoded values and
    # the batch made of them (~3.3x its uncompressed size when a row group has fewer rows than a batch;
    # less with more rows, as batches are then cut out of it), never the 29 row groups of the file
    assert peak < 4 * one_group, (peak, one_group, whole)
    f.close()


def test_parquet_memory_is_bounded_by_pages_not_row_groups(tmp_path):
    docs = udhr_lines(521) + [ln + "\n" for d in code_docs() for ln in d.split("\n")]  # ~8 MB of lines
    p = tmp_path / "one_group.parquet"
    # one row group, pages of ~64 KiB: what is alive is the 1 MiB read buffer, a page and a batch
    pq.write_table(pa.table({"text": docs}), p, row_group_size=len(docs), data_page_size=64 << 10,
                   use_dictionary=False, compression="zstd")
    md = pq.ParquetFile(p).metadata
    assert md.num_row_groups == 1
    group = md.row_group(0).column(0).total_uncompressed_size
    base = pa.total_allocated_bytes()
    peak = 0
    got = []
    for _, text in columnar.iter_parquet(str(p)):
        got.append(text)
        peak = max(peak, pa.total_allocated_bytes() - base)
    assert got == docs
    assert peak < (1 << 20) + group / 4, (peak, group)  # measured: 1 MiB + 0.1 x group; all of it: > 1 x


def test_arrow_stream_holds_one_record_batch(tmp_path):
    docs = udhr_docs()
    table = pa.table({"text": docs})
    p = tmp_path / "s.arrow"
    with ipc.new_stream(str(p), table.schema) as w:
        w.write_table(table, max_chunksize=50)
    biggest = max(b.nbytes for b in table.to_batches(max_chunksize=50))
    del table
    base = pa.total_allocated_bytes()
    peak = 0
    for _ in columnar.iter_arrow(str(p)):
        peak = max(peak, pa.total_allocated_bytes() - base)
    assert peak <= 2 * biggest, (peak, biggest)


def test_import_corpus_does_not_import_pyarrow():
    code = "import sys, toktool.corpus, toktool.columnar; print('pyarrow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == "False", out.stderr


def test_missing_pyarrow_says_what_to_install(tmp_path, monkeypatch):
    p = write_fineweb(tmp_path / "a.parquet", ["x\n"])
    monkeypatch.setattr(columnar, "_PYARROW", {})
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow -> ImportError
    with pytest.raises(ToktoolError) as e:
        read_all([p])
    assert str(e.value) == "reading Parquet, Arrow or datasets inputs needs pyarrow: pip install 'toktool[parquet]'"


# --- --max-bytes and --sample-docs -------------------------------------------------------------------


def test_max_bytes_is_a_prefix_cut_at_a_text_boundary(tmp_path):
    lines = udhr_lines(20)
    txt = tmp_path / "c.txt"
    txt.write_text("".join(lines), encoding="utf-8")
    pqf = write_fineweb(tmp_path / "c.parquet", lines, row_group_size=100)
    sizes = [len(t.encode()) for t in lines]
    for limit in (1, sizes[0], sizes[0] + 1, sum(sizes[:57]), sum(sizes[:57]) + sizes[57] - 1, 10**12):
        want = []
        total = 0
        for t, s in zip(lines, sizes):
            if total + s > limit:
                break
            want.append(t)
            total += s
        for path in (txt, pqf):
            if not want:  # a prefix that keeps nothing is an error, not an empty corpus
                with pytest.raises(ToktoolError, match=f"--max-bytes {limit} kept no text: the first document"):
                    read_all([path], sampling=Sampling(max_bytes=limit))
                continue
            texts, stats = read_all([path], sampling=Sampling(max_bytes=limit))
            assert texts == want, (limit, path)
            assert stats.bytes == total <= limit
            d = stats.as_dict()["sampling"]
            assert d["max_bytes"] == limit
            assert d["stopped"] == (None if len(want) == len(lines) else
                                    {"input": str(path), "document_index": len(want), "inputs_not_read": 0})
            assert read_all([path], sampling=Sampling(max_bytes=limit))[0] == texts  # deterministic


def test_max_bytes_stops_reading_the_remaining_inputs(tmp_path):
    good = write_fineweb(tmp_path / "a.parquet", udhr_lines(2))
    bad = tmp_path / "b.parquet"
    bad.write_bytes(b"not parquet at all")
    texts, stats = read_all([good, bad], sampling=Sampling(max_bytes=500))
    assert sum(len(t.encode()) for t in texts) <= 500 and [i.path for i in stats.inputs] == [str(good)]
    assert stats.as_dict()["sampling"]["stopped"]["inputs_not_read"] == 1
    assert corpus_notes(stats.as_dict()) == [("max bytes", f"--max-bytes reached in {good} after {stats.bytes:,} bytes; 1 more input not read")]
    with pytest.raises(InputError):
        read_all([good, bad])


def test_sample_docs_is_deterministic_and_independent_of_batching_and_other_inputs(tmp_path, monkeypatch):
    lines = udhr_lines(200)  # 6000 documents
    a = write_fineweb(tmp_path / "a.parquet", lines[:3000], row_group_size=500)
    b = write_fineweb(tmp_path / "b.parquet", lines[3000:], row_group_size=700)
    s = Sampling(sample_docs=0.25, seed=7)
    both, stats = read_all([a, b], sampling=s)
    assert both == read_all([a, b], sampling=s)[0]
    assert stats.as_dict()["sampling"] == {**s.as_dict(), "stopped": None}
    n = len(both)
    assert abs(n - 1500) < 4 * (6000 * 0.25 * 0.75) ** 0.5, n  # binomial: within 4 sigma
    only_b = read_all([b], sampling=s)[0]
    assert both[-len(only_b):] == only_b  # b's sample does not depend on a being read first
    monkeypatch.setattr(columnar, "BATCH_ROWS", 7)
    assert read_all([a, b], sampling=s)[0] == both  # nor on how rows are batched
    assert read_all([a, b], sampling=Sampling(sample_docs=0.25, seed=8))[0] != both
    assert read_all([a], sampling=Sampling(sample_docs=1.0))[0] == lines[:3000]


def test_sample_docs_key_is_the_documented_hash(tmp_path):
    docs: list[str | None] = list(udhr_lines(30))
    docs[3] = None  # nulls keep their row: indices are row numbers
    p = tmp_path / "k.parquet"
    pq.write_table(pa.table({"text": docs}), p, row_group_size=64)
    txt = tmp_path / "k.txt"
    txt.write_text("".join(d for d in docs if d is not None), encoding="utf-8")

    def keep(seed: int, path: str, index: int) -> bool:
        h = hashlib.blake2b(f"{seed}\0{path}\0".encode(), digest_size=8)
        h.update(index.to_bytes(8, "little"))
        return int.from_bytes(h.digest(), "little") < int(0.3 * 2**64)

    got = read_all([p], sampling=Sampling(sample_docs=0.3, seed=11))[0]
    assert got == [d for i, d in enumerate(docs) if d is not None and keep(11, str(p), i)]
    lines = [d for d in docs if d is not None]  # a text file's index is its 0-based line number
    assert read_all([txt], sampling=Sampling(sample_docs=0.3, seed=11))[0] == [d for i, d in enumerate(lines) if keep(11, str(txt), i)]
    # sample, then the prefix of the sample
    sample = read_all([p], sampling=Sampling(sample_docs=0.3, seed=11))[0]
    limit = sum(len(t.encode()) for t in sample[:10])
    assert read_all([p], sampling=Sampling(sample_docs=0.3, seed=11, max_bytes=limit))[0] == sample[:10]


def test_dataset_dir_sample_uses_the_dataset_row_index(tmp_path):
    docs = udhr_lines(10)
    d = tmp_path / "ds"
    write_dataset_dir(d, docs, num_shards=3)
    keep = Sampling(sample_docs=0.5, seed=1).keeps(str(d))
    assert read_all([d], sampling=Sampling(sample_docs=0.5, seed=1))[0] == [t for i, t in enumerate(docs) if keep(i)]


def test_a_sample_or_prefix_that_keeps_nothing_says_so(tmp_path):
    txt = tmp_path / "small.txt"
    txt.write_text("one line\ntwo lines\n", encoding="utf-8")
    pqf = tmp_path / "d.parquet"
    pq.write_table(pa.table({"text": ["hello world", None, "x"]}), pqf)  # a null is not a document
    with pytest.raises(ToktoolError) as e:
        read_all([txt, pqf], sampling=Sampling(sample_docs=0.001, seed=3))
    assert str(e.value) == f"--sample-docs 0.001 (seed 3) kept none of the 4 documents of {txt}, {pqf}; raise the fraction"
    with pytest.raises(ToktoolError) as e:
        read_all([pqf], sampling=Sampling(max_bytes=5))
    assert str(e.value) == f"--max-bytes 5 kept no text: the first document ({pqf}, row 0) is 11 bytes long; raise --max-bytes"
    out = tmp_path / "tok"
    p = run_cli("train", str(txt), "--sample-docs", "0.001", "--vocab-size", "300", "-o", str(out))
    assert assert_clean_error(p) == f"toktool: error: --sample-docs 0.001 (seed 0) kept none of the 2 documents of {txt}; raise the fraction"
    p = run_cli("count", str(txt), "--max-bytes", "3", "-o", str(tmp_path / "c"))
    assert assert_clean_error(p) == f"toktool: error: --max-bytes 3 kept no text: the first document ({txt}, line 1) is 9 bytes long; raise --max-bytes"
    assert not out.exists() and not (tmp_path / "c").exists()
    # an input with no documents at all is still an empty corpus
    (tmp_path / "empty.txt").write_bytes(b"")
    p = run_cli("train", str(tmp_path / "empty.txt"), "--sample-docs", "0.5", "--vocab-size", "300", "-o", str(out))
    assert_clean_error(p, "empty corpus")


@pytest.mark.parametrize("kw, message", [
    ({"sample_docs": 0.0}, "--sample-docs must be a fraction in (0, 1], not 0.0"),
    ({"sample_docs": 1.5}, "--sample-docs must be a fraction in (0, 1], not 1.5"),
    ({"sample_docs": float("nan")}, "--sample-docs must be a fraction in (0, 1], not nan"),
    ({"max_bytes": 0}, "--max-bytes must be at least 1, not 0"),
])
def test_bad_sampling_options(kw, message):
    with pytest.raises(ToktoolError) as e:
        Sampling(**kw)
    assert str(e.value) == message


# --- errors ------------------------------------------------------------------------------------------


def test_truncated_and_corrupt_shards_are_one_line_input_errors(tmp_path):
    docs = udhr_docs()
    p = write_fineweb(tmp_path / "ok.parquet", docs, compression="zstd")
    data = p.read_bytes()
    trunc = tmp_path / "trunc.parquet"
    trunc.write_bytes(data[: len(data) // 2])
    md = pq.ParquetFile(p).metadata
    c = md.row_group(2).column(0)
    mid = c.dictionary_page_offset + c.total_compressed_size // 2
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(data[:mid] + bytes(range(64)) + data[mid + 64:])
    empty = tmp_path / "empty.parquet"
    empty.write_bytes(b"")
    table = pa.table({"text": docs})
    stream = tmp_path / "s.arrow"
    with ipc.new_stream(str(stream), table.schema) as w:
        w.write_table(table, max_chunksize=100)
    s_trunc = tmp_path / "s_trunc.arrow"
    s_trunc.write_bytes(stream.read_bytes()[: stream.stat().st_size // 2])
    f_arrow = tmp_path / "f.arrow"
    with ipc.new_file(str(f_arrow), table.schema) as w:
        w.write_table(table, max_chunksize=100)
    f_trunc = tmp_path / "f_trunc.arrow"
    f_trunc.write_bytes(f_arrow.read_bytes()[:-100])
    cases = [
        (trunc, f"{trunc}: corrupt or truncated Parquet file: "),
        (corrupt, f"{corrupt}: corrupt or truncated Parquet file (row group 2): "),
        (empty, f"{empty}: corrupt or truncated Parquet file: "),
        (s_trunc, f"{s_trunc}: corrupt or truncated Arrow file (record batch 2): "),
        (f_trunc, f"{f_trunc}: corrupt or truncated Arrow file: "),
    ]
    for path, prefix in cases:
        with pytest.raises(InputError) as e:
            read_all([path])
        msg = str(e.value)
        assert msg.startswith(prefix) and "\n" not in msg and len(msg) < len(prefix) + 310, msg


def test_missing_and_non_string_columns(tmp_path):
    p = write_fineweb(tmp_path / "f.parquet", ["a\n", "b\n"])
    with pytest.raises(InputError) as e:
        read_all([p], text_field="content")
    assert str(e.value) == (f"{p}: no column 'content' (columns: text, id, dump, url, date, file_path, language,"
                            " language_score, token_count); choose one with --text-field")
    with pytest.raises(InputError) as e:
        read_all([p], text_field="token_count")
    assert str(e.value) == f"{p}: column 'token_count' has type int64, expected strings; choose a text column with --text-field"
    wide = tmp_path / "wide.arrow"
    t = pa.table({f"c{i}": [1] for i in range(25)})
    with ipc.new_file(str(wide), t.schema) as w:
        w.write_table(t)
    with pytest.raises(InputError) as e:
        read_all([wide])
    assert str(e.value) == (f"{wide}: no column 'text' (columns: " + ", ".join(f"c{i}" for i in range(20))
                            + ", ... (5 more)); choose one with --text-field")


def test_dataset_dir_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "state.json").write_text(json.dumps({"_data_files": [], "_split": None}))
    (empty / "dataset_info.json").write_text("{}")
    with pytest.raises(InputError) as e:
        expand_inputs([str(empty)])
    assert str(e.value) == f"{empty}: empty dataset directory (state.json lists no data files)"
    with pytest.raises(InputError) as e:  # found while expanding a parent directory too
        expand_inputs([str(tmp_path)])
    assert str(e.value) == f"{empty}: empty dataset directory (state.json lists no data files)"

    gone = tmp_path / "gone"
    write_dataset_dir(gone, ["a\n", "b\n"], num_shards=2)[1].unlink()
    with pytest.raises(InputError) as e:
        expand_inputs([str(gone)])
    assert str(e.value) == f"{gone / 'data-00001-of-00002.arrow'}: data file listed in {gone / 'state.json'} does not exist"

    no_state = tmp_path / "no_state"
    no_state.mkdir()
    (no_state / "dataset_info.json").write_text("{}")
    with pytest.raises(InputError) as e:
        expand_inputs([str(no_state)])
    assert str(e.value) == f"{no_state}: looks like a datasets directory but has no state.json (write it with save_to_disk)"

    no_splits = tmp_path / "dd"
    no_splits.mkdir()
    (no_splits / "dataset_dict.json").write_text(json.dumps({"splits": []}))
    with pytest.raises(InputError) as e:
        expand_inputs([str(no_splits)])
    assert str(e.value) == f"{no_splits}: empty dataset directory (dataset_dict.json lists no splits)"

    bad_json = tmp_path / "bad"
    bad_json.mkdir()
    (bad_json / "state.json").write_text("{not json")
    with pytest.raises(InputError) as e:
        expand_inputs([str(bad_json)])
    assert str(e.value).startswith(f"{bad_json / 'state.json'}: malformed JSON: ")


# --- through the command line ------------------------------------------------------------------------


def test_cli_train_on_parquet_equals_train_on_the_same_lines_as_text(tmp_path):
    lines = udhr_lines(40)
    txt = tmp_path / "c.txt"
    txt.write_text("".join(lines), encoding="utf-8")
    pqf = write_fineweb(tmp_path / "c.parquet", lines, row_group_size=300)
    ds = tmp_path / "ds"
    write_dataset_dir(ds, lines, num_shards=4)
    outs = {}
    for name, src in (("txt", txt), ("parquet", pqf), ("ds", ds)):
        out = tmp_path / f"out_{name}"
        proc = run_cli("train", str(src), "--vocab-size", "300", "-o", str(out), "-q")
        assert proc.returncode == 0, proc.stderr.decode()
        outs[name] = out
    for f in ("tokenizer.json", "vocab.json", "merges.txt"):
        ref = (outs["txt"] / f).read_bytes()
        assert (outs["parquet"] / f).read_bytes() == ref and (outs["ds"] / f).read_bytes() == ref, f
    corpus = json.loads((outs["parquet"] / "train.json").read_text())["corpus"]
    assert corpus["inputs"] == [{"path": str(pqf), "sha256": sha256_of(pqf), "bytes": pqf.stat().st_size,
                                 "texts": len(lines), "column": "text", "nulls": 0}]
    corpus = json.loads((outs["ds"] / "train.json").read_text())["corpus"]
    assert [i["path"] for i in corpus["inputs"]] == [str(ds / f"data-{i:05d}-of-00004.arrow") for i in range(4)]


def test_cli_bad_shard_exits_2_and_writes_nothing(tmp_path):
    good = write_fineweb(tmp_path / "a.parquet", udhr_lines(5))
    bad = tmp_path / "b.parquet"
    bad.write_bytes(good.read_bytes()[:-30])
    out = tmp_path / "out"
    proc = run_cli("train", str(good), str(bad), "--vocab-size", "300", "-o", str(out), "-q")
    assert_clean_error(proc, f"{bad}: corrupt or truncated Parquet file")
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    proc = run_cli("train", str(good), "--text-field", "body", "--vocab-size", "300", "-o", str(out), "-q")
    assert_clean_error(proc, f"{good}: no column 'body' (columns: text, id,")
    assert not out.exists()


def test_line_tools_refuse_columnar_inputs_saying_what_they_read(tmp_path):
    tok = tmp_path / "tok"
    assert run_cli("train", str(UDHR / "eng.txt"), "--vocab-size", "300", "-o", str(tok), "-q").returncode == 0
    pqf = tmp_path / "d.parquet"
    pq.write_table(pa.table({"text": ["hello world", "x"]}), pqf)
    arrow = tmp_path / "d.arrow"
    with ipc.new_file(arrow, pa.schema([("text", pa.string())])) as w:
        w.write_table(pa.table({"text": ["hello"]}))
    ds = tmp_path / "ds"
    write_dataset_dir(ds, ["a\n", "b\n"], num_shards=1)
    rest = "this command reads UTF-8 text lines (train and count read Parquet, Arrow and datasets inputs with --text-field): write the column out as text lines first"
    for args, where, kind in (
        (["encode", str(tok), str(pqf)], pqf, "a Parquet file"),
        (["encode", str(tok), str(arrow)], arrow, "an Arrow file"),
        (["decode", str(tok), str(pqf)], pqf, "a Parquet file"),
        (["count-tokens", str(tok), str(UDHR / "eng.txt"), str(pqf)], pqf, "a Parquet file"),
        (["count-tokens", str(tok), str(ds)], ds, "a datasets directory"),
    ):
        p = run_cli(*args)
        assert assert_clean_error(p) == f"toktool: error: {where}: {kind}; {rest}", args
        assert p.stdout == b""
