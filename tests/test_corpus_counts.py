from __future__ import annotations

import gzip
import json
from collections import Counter

import numpy as np
import pytest
from conftest import SAMPLE, assert_clean_error, run_cli

from toktool.corpus import CorpusStats, expand_inputs, iter_texts
from toktool.count import WordCounts, count_corpus
from toktool.errors import InputError, ToktoolError


def _texts(paths, **kw):
    stats = CorpusStats()
    return list(iter_texts(expand_inputs(paths), stats=stats, **kw)), stats


def test_plain_gz_zst_give_the_same_texts(tmp_path):
    zstd = pytest.importorskip("zstandard")
    raw = SAMPLE.read_bytes()
    (tmp_path / "a.txt").write_bytes(raw)
    (tmp_path / "a.txt.gz").write_bytes(gzip.compress(raw))
    (tmp_path / "a.txt.zst").write_bytes(zstd.ZstdCompressor().compress(raw))
    plain, s1 = _texts([str(tmp_path / "a.txt")])
    assert raw.startswith(b"\xef\xbb\xbf")  # the file's byte-order mark is dropped; the hash covers it
    assert plain == raw.decode("utf-8-sig").splitlines(keepends=True)
    assert _texts([str(tmp_path / "a.txt.gz")])[0] == plain
    assert _texts([str(tmp_path / "a.txt.zst")])[0] == plain
    assert s1.texts == len(plain) and s1.bytes == len(raw) - 3
    assert s1.inputs[0].sha256 == __import__("hashlib").sha256(raw).hexdigest()


def test_directories_and_globs_are_sorted_and_skip_hidden(tmp_path):
    (tmp_path / "b.txt").write_text("b\n")
    (tmp_path / "a.txt").write_text("a\n")
    (tmp_path / ".hidden").write_text("h\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.txt").write_text("c\n")
    assert _texts([str(tmp_path)])[0] == ["a\n", "b\n", "c\n"]
    assert _texts([str(tmp_path / "*.txt")])[0] == ["a\n", "b\n"]


def test_jsonl_with_nested_field(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text('{"text": "one"}\n\n{"text": "two", "x": 1}\n{"meta": {"body": "n"}, "text": null}\n')
    assert _texts([str(p)], text_field="text")[0] == ["one", "two"]
    q = tmp_path / "y.jsonl"
    q.write_text('{"meta": {"body": "deep"}}\n')
    assert _texts([str(q)], text_field="meta.body")[0] == ["deep"]


@pytest.mark.parametrize(
    "content, field, message",
    [
        ('{"text": "ok"}\n{"text": oops}\n', "text", "x.jsonl:2: malformed JSON line"),
        ('{"text": "ok"}\n{"body": "no"}\n', "text", "x.jsonl:2: record has no field 'text'"),
        ('{"text": 3}\n', "text", "x.jsonl:1: field 'text' is int"),
        ('{"text": "a"}\n', None, "needs --text-field"),
    ],
)
def test_jsonl_errors_name_file_and_line(tmp_path, content, field, message):
    p = tmp_path / "x.jsonl"
    p.write_text(content)
    with pytest.raises(InputError, match=message):
        _texts([str(p)], text_field=field)


def test_invalid_utf8_policies(tmp_path):
    p = tmp_path / "bad.txt"
    p.write_bytes(b"good\nbad \xff\xfe line\nalso good\n")
    with pytest.raises(InputError, match=r"bad.txt:2: invalid UTF-8"):
        _texts([str(p)], errors="strict")
    texts, stats = _texts([str(p)], errors="replace")
    assert texts == ["good\n", "bad \ufffd\ufffd line\n", "also good\n"] and stats.invalid_lines == 1
    texts, stats = _texts([str(p)], errors="skip")
    assert texts == ["good\n", "also good\n"] and stats.invalid_lines == 1


def test_binary_missing_and_empty_inputs(tmp_path):
    b = tmp_path / "x.bin"
    b.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(InputError, match="looks like a binary file"):
        _texts([str(b)])
    with pytest.raises(InputError, match="no such file"):
        expand_inputs([str(tmp_path / "nope.txt")])
    with pytest.raises(InputError, match="no file matches"):
        expand_inputs([str(tmp_path / "*.nope")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="directory contains no files"):
        expand_inputs([str(tmp_path / "empty")])
    e = tmp_path / "e.txt"
    e.write_text("")
    with pytest.raises(ToktoolError, match="empty corpus"):
        count_corpus([str(e)])


def test_corrupt_gzip_is_an_input_error(tmp_path):
    p = tmp_path / "x.txt.gz"
    p.write_bytes(gzip.compress(b"hello\n" * 1000)[:40])
    with pytest.raises(InputError, match="x.txt.gz"):
        _texts([str(p)])


# --- WordCounts ---------------------------------------------------------------------------


def test_counts_roundtrip_is_byte_identical(tmp_path):
    wc = count_corpus([str(SAMPLE)], "gpt2", workers=2)
    wc.save(tmp_path / "a.counts")
    again = WordCounts.load(tmp_path / "a.counts")
    assert again.as_counter() == wc.as_counter()
    assert again.pretokenizer == "gpt2" and again.corpus["texts"] == wc.corpus["texts"]
    again.save(tmp_path / "b.counts")
    assert (tmp_path / "a.counts").read_bytes() == (tmp_path / "b.counts").read_bytes()
    with pytest.raises(ToktoolError, match="already exists"):
        wc.save(tmp_path / "a.counts")


def test_counts_merge_sums_and_checks_pretokenizer():
    a = WordCounts.from_mapping(Counter({"x": 2, "y": 1}), "gpt2")
    b = WordCounts.from_mapping(Counter({"y": 4, "z": 1}), "gpt2")
    assert WordCounts.merge([a, b]).as_counter() == Counter({"x": 2, "y": 5, "z": 1})
    c = WordCounts.from_mapping(Counter({"y": 4}), "gpt4")
    with pytest.raises(ToktoolError, match="different pre-tokenizers"):
        WordCounts.merge([a, c])


def test_counts_top_k_is_deterministic():
    wc = WordCounts.from_mapping(Counter({"b": 3, "a": 3, "c": 5, "d": 1}), "gpt2")
    assert wc.top(3) == [(b"c", 5), (b"a", 3), (b"b", 3)]
    assert wc.top(0) == []


def test_sharded_counts_equal_whole_corpus(tmp_path, sample_lines):
    half = len(sample_lines) // 2
    (tmp_path / "p1.txt").write_bytes("".join(sample_lines[:half]).encode("utf-8"))
    (tmp_path / "p2.txt").write_bytes("".join(sample_lines[half:]).encode("utf-8"))
    whole = count_corpus([str(SAMPLE)], "gpt2")
    parts = WordCounts.merge([count_corpus([str(tmp_path / "p1.txt")]), count_corpus([str(tmp_path / "p2.txt")])])
    assert parts.as_counter() == whole.as_counter()


@pytest.mark.parametrize(
    "payload, message",
    [
        (b"not a zip at all", "not a toktool counts file (it is text, not counts made by `toktool count`)"),
        (b"", "not a toktool counts file (the file is empty)"),
        (bytes(range(256)), "not a toktool counts file (not a zip archive)"),
        (b"PK\x03\x04garbage", "not a readable counts file: truncated or corrupt zip archive (BadZipFile: File is not a zip file)"),
    ],
)
def test_corrupt_counts_files(tmp_path, payload, message):
    p = tmp_path / "x.counts"
    p.write_bytes(payload)
    with pytest.raises(InputError) as e:
        WordCounts.load(p)
    assert str(e.value) == f"{p}: {message}"


def _meta_npz(path, meta, words=(b"ab",)):
    data = np.frombuffer(b"".join(words), np.uint8)
    offsets = np.cumsum([0] + [len(w) for w in words]).astype(np.int64)
    np.savez(path, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8), data=data, offsets=offsets, counts=np.ones(len(words), np.int64))
    return path


def test_damaged_counts_files_are_one_line_errors(tmp_path):
    good = tmp_path / "good.counts"
    WordCounts.from_mapping(Counter({"the": 3, " cat": 1}), "gpt2").save(good)
    cases = {}
    content = good.read_bytes()
    (tmp_path / "cut.counts").write_bytes(content[: len(content) // 2])
    cases["cut.counts"] = "not a readable counts file: truncated or corrupt zip archive (BadZipFile: File is not a zip file)"
    flipped = bytearray(content)
    flipped[len(flipped) // 2] ^= 0xFF
    (tmp_path / "flip.counts").write_bytes(bytes(flipped))
    cases["flip.counts"] = "not a readable counts file: truncated or corrupt zip archive (BadZipFile: Bad CRC-32 for file 'offsets.npy')"
    np.save(tmp_path / "one.npy", np.arange(3))
    cases["one.npy"] = "not a toktool counts file (it is a single NumPy array, not a counts archive)"
    _meta_npz(tmp_path / "list.npz", [1])
    cases["list.npz"] = "not a toktool counts file"
    _meta_npz(tmp_path / "nopre.npz", {"format": "toktool-wordcounts", "version": 1})
    cases["nopre.npz"] = "counts file is corrupt (its pre-tokenizer or special tokens are missing or malformed)"
    _meta_npz(tmp_path / "gpt9.npz", {"format": "toktool-wordcounts", "version": 1, "pretokenizer": "gpt9"})
    cases["gpt9.npz"] = "counts made with pre-tokenizer 'gpt9', which this toktool does not know"
    for name, message in cases.items():
        with pytest.raises(InputError) as e:
            WordCounts.load(tmp_path / name)
        assert str(e.value) == f"{tmp_path / name}: {message}", name
    p = run_cli("train", "--from-counts", str(tmp_path / "list.npz"), "--vocab-size", "300", "-o", str(tmp_path / "tok"))
    assert assert_clean_error(p) == f"toktool: error: {tmp_path / 'list.npz'}: not a toktool counts file"
    p = run_cli("count-info", str(SAMPLE))
    assert assert_clean_error(p) == f"toktool: error: {SAMPLE}: not a toktool counts file (it is text, not counts made by `toktool count`)"


def test_counts_file_from_a_future_version(tmp_path):
    wc = WordCounts.from_mapping(Counter({"a": 1}), "gpt2")
    meta = json.dumps({"format": "toktool-wordcounts", "version": 99, "pretokenizer": "gpt2"}).encode()
    np.savez(tmp_path / "f.npz", meta=np.frombuffer(meta, np.uint8), data=wc.data, offsets=wc.offsets, counts=wc.counts)
    with pytest.raises(InputError, match="version 99 is not supported"):
        WordCounts.load(tmp_path / "f.npz")


def test_counts_files_without_words_are_named(tmp_path):
    import numpy as np

    from toktool.count import WordCounts, load_counts
    from toktool.errors import ToktoolError

    empty = WordCounts(np.empty(0, dtype=np.uint8), np.zeros(1, dtype=np.int64), np.empty(0, dtype=np.int64), "gpt2", [], {})
    path = str(tmp_path / "none.counts")
    empty.save(path)
    with pytest.raises(ToktoolError, match=r"^empty corpus: .*none\.counts hold no words$"):
        load_counts([path])
