"""Counts directories (shards + manifest), input splits, and the engine switch without Ray.

The Ray engine's own tests are in test_ray_engine.py; everything here runs without Ray, including the
check that a local run never imports it and that --engine ray without Ray says how to install it."""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, SAMPLE, UDHR, assert_clean_error, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toktool.corpus import CorpusStats, iter_texts
from toktool.count import count_corpus, count_to_dir, load_counts
from toktool.count.shards import (
    MANIFEST,
    load_counts_dir,
    merge_sorted,
    partition_of,
    read_manifest,
    shard_name,
    split_partitions,
)
from toktool.count.splits import Split, SplitStats, plan_splits, read_split, read_split_blocks
from toktool.count.wordcounts import WordCounts
from toktool.errors import InputError, ToktoolError

CORPUS = [str(SAMPLE), str(UDHR / "eng.txt"), str(UDHR / "rus.txt"), str(UDHR / "cmn_hans.txt"), str(UDHR / "hin.txt")]


def _dir_bytes(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


# --- splits read what iter_texts reads ------------------------------------------------------------


def _tricky_text(tmp_path: Path) -> Path:
    p = tmp_path / "tricky.txt"
    lines = [b"plain line\n", b"\r\n", b"caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87\n", b"bad \xff\xfe bytes\n", b"\n", b"no newline at the end"]
    p.write_bytes(b"".join(lines * 7))
    return p


def _tricky_jsonl(tmp_path: Path) -> Path:
    p = tmp_path / "docs.jsonl"
    rows = [json.dumps({"text": f"doc {i} é\n", "meta": {"n": i}}) for i in range(20)]
    rows[3] = json.dumps({"text": None})
    rows[7] = ""
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return p


def _read_all(splits, **kw) -> tuple[list[str], int, int]:
    texts, n_bytes, invalid = [], 0, 0
    for s in splits:
        st = SplitStats(s.input)
        texts += list(read_split(s, stats=st, **kw))
        n_bytes += st.bytes
        invalid += st.invalid_lines
    return texts, n_bytes, invalid


@pytest.mark.parametrize("errors", ["replace", "skip"])
def test_every_cut_of_a_file_reads_the_same_texts(tmp_path, errors):
    path = str(_tricky_text(tmp_path))
    stats = CorpusStats()
    want = list(iter_texts([path], errors=errors, stats=stats))
    for split_bytes in (1, 2, 3, 7, 13, 50, 10**6):
        got, n_bytes, invalid = _read_all(plan_splits([path], split_bytes), text_field=None, errors=errors)
        assert got == want, split_bytes
        assert (n_bytes, invalid) == (stats.bytes, stats.invalid_lines)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.sampled_from([b"a", b"bc", b" ", b"\n", b"\r", b"\r\n", b"\xff", b"\xc3\xa9", b"\xe4\xb8"]), max_size=60),
    st.integers(1, 30),
    st.sampled_from(["replace", "skip"]),
)
def test_any_cut_of_any_text_reads_what_iter_texts_reads(tmp_path, pieces, split_bytes, errors):
    path = tmp_path / "h.txt"
    path.write_bytes(b"".join(pieces))
    stats = CorpusStats()
    want = list(iter_texts([str(path)], errors=errors, stats=stats))
    got, n_bytes, invalid = _read_all(plan_splits([str(path)], split_bytes), text_field=None, errors=errors)
    assert got == want
    assert (n_bytes, invalid) == (stats.bytes, stats.invalid_lines)


def _read_all_blocks(splits, errors, block_bytes) -> tuple[bytes, int, int, int]:
    data, n_texts, n_bytes, invalid = b"", 0, 0, 0
    for s in splits:
        st = SplitStats(s.input)
        data += b"".join(read_split_blocks(s, errors, st, block_bytes))
        n_texts, n_bytes, invalid = n_texts + st.texts, n_bytes + st.bytes, invalid + st.invalid_lines
    return data, n_texts, n_bytes, invalid


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.sampled_from([b"a", b"bc", b" ", b"\n", b"\r", b"\r\n", b"\xff", b"\xc3\xa9", b"\xe4\xb8"]), max_size=60),
    st.integers(1, 30),
    st.integers(1, 9),
    st.sampled_from(["replace", "skip"]),
)
def test_any_cut_read_in_blocks_holds_what_iter_texts_reads(tmp_path, pieces, split_bytes, block_bytes, errors):
    path = tmp_path / "b.txt"
    path.write_bytes(b"".join(pieces))
    stats = CorpusStats()
    want = list(iter_texts([str(path)], errors=errors, stats=stats))
    data, n_texts, n_bytes, invalid = _read_all_blocks(plan_splits([str(path)], split_bytes), errors, block_bytes)
    assert data == "".join(want).encode("utf-8")
    assert (n_texts, n_bytes, invalid) == (stats.texts, stats.bytes, stats.invalid_lines)


def test_strict_block_reading_names_the_line(tmp_path):
    path = tmp_path / "s.txt"
    path.write_bytes(b"ok\n" * 50 + b"bad \xff\n" + b"ok\n" * 50)
    with pytest.raises(InputError, match=r"s.txt:51: invalid UTF-8"):
        _read_all_blocks(plan_splits([str(path)], 40), "strict", 16)


def test_cut_jsonl_reads_the_same_texts(tmp_path):
    path = str(_tricky_jsonl(tmp_path))
    want = list(iter_texts([path], text_field="text"))
    for split_bytes in (1, 5, 40, 10**6):
        assert _read_all(plan_splits([path], split_bytes), text_field="text", errors="replace")[0] == want


def test_compressed_inputs_are_one_split(tmp_path):
    gz = tmp_path / "a.txt.gz"
    gz.write_bytes(gzip.compress(b"x\n" * 1000))
    assert plan_splits([str(gz)], 10) == [Split(0, str(gz))]
    with pytest.raises(ToktoolError, match="not stdin"):
        plan_splits(["-"], 10)


@pytest.mark.parametrize(
    "content, field, message",
    [
        (b"ok\n" * 40 + b"bad \xff\n" + b"ok\n" * 5, None, ":41: invalid UTF-8"),
        (b'{"text": "a"}\n' * 30 + b"{oops\n", "text", ":31: malformed JSON line"),
        (b'{"text": "a"}\n' * 30 + b'{"other": 1}\n', "text", ":31: record has no field"),
        (b'{"text": "a"}\n' * 30 + b'{"text": 5}\n', "text", ":31: field 'text' is int"),
    ],
)
def test_errors_in_a_later_split_name_the_file_line(tmp_path, content, field, message):
    p = tmp_path / ("x.jsonl" if field else "x.txt")
    p.write_bytes(content)
    with pytest.raises(InputError) as local:
        list(iter_texts([str(p)], text_field=field, errors="strict"))
    with pytest.raises(InputError) as cut:
        _read_all(plan_splits([str(p)], 16), text_field=field, errors="strict")
    assert message in str(local.value)
    assert str(cut.value) == str(local.value)


def test_binary_file_is_refused_by_its_first_split(tmp_path):
    p = tmp_path / "x.bin"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 40)
    with pytest.raises(InputError, match="binary file"):
        _read_all(plan_splits([str(p)], 1000), text_field=None, errors="replace")


# --- partitioning and merging ------------------------------------------------------------------


def test_partitions_are_disjoint_complete_and_sorted():
    wc = count_corpus(CORPUS, "gpt2", workers=1)
    parts = split_partitions((wc.data, wc.offsets, wc.counts), 7)
    seen = {}
    for p, (data, off, cnt) in enumerate(parts):
        words = [data[off[i] : off[i + 1]].tobytes() for i in range(len(cnt))]
        assert words == sorted(words)
        assert np.all(partition_of(data, off, 7) == p)
        for w, c in zip(words, cnt.tolist()):
            assert w not in seen
            seen[w] = c
    assert seen == dict(wc.items())
    merged = merge_sorted(parts)
    assert [a.tolist() for a in merged] == [wc.data.tolist(), wc.offsets.tolist(), wc.counts.tolist()]


def test_merge_sorted_sums_overlapping_runs():
    a = WordCounts.from_mapping({"a": 1, "b": 2, "d": 1}, "gpt2")
    b = WordCounts.from_mapping({"b": 3, "c": 1}, "gpt2")
    e = WordCounts.from_mapping({}, "gpt2")
    data, off, cnt = merge_sorted([(w.data, w.offsets, w.counts) for w in (a, e, b)])
    assert WordCounts(data, off, cnt, "gpt2").as_counter() == {"a": 1, "b": 5, "c": 1, "d": 1}


# --- counts directories with the local engine ------------------------------------------------------


def test_counts_dir_is_complete_and_loads_as_the_whole_counts(tmp_path):
    whole = count_corpus(CORPUS, "gpt2", workers=2)
    manifest = count_to_dir(CORPUS, tmp_path / "c", partitions=5, workers=2)
    files = sorted(p.name for p in (tmp_path / "c").iterdir())
    assert files == sorted([MANIFEST] + [shard_name(i, 5) for i in range(5)])
    assert manifest == read_manifest(tmp_path / "c")
    assert manifest["format"] == "toktool-counts-dir" and manifest["version"] == 1
    assert manifest["pretokenizer"] == "gpt2" and manifest["options"]["partitions"] == 5
    assert manifest["corpus"] == whole.corpus
    for info, path in zip(manifest["corpus"]["inputs"], CORPUS):
        assert info["path"] == path and info["sha256"] == hashlib.sha256(Path(path).read_bytes()).hexdigest()
    assert manifest["totals"]["words"] == len(whole) and manifest["totals"]["occurrences"] == whole.total
    assert manifest["totals"]["text_bytes"] == whole.total_bytes
    for i, entry in enumerate(manifest["shards"]):
        content = (tmp_path / "c" / entry["file"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(content).hexdigest()
        shard = WordCounts.load(tmp_path / "c" / entry["file"])
        assert len(shard) == entry["words"] and shard.corpus["shard"] == i
    loaded = load_counts_dir(tmp_path / "c")
    assert loaded.to_bytes() != b""
    assert [a.tolist() for a in (loaded.data, loaded.offsets, loaded.counts)] == [
        a.tolist() for a in (whole.data, whole.offsets, whole.counts)
    ]
    # a directory and .counts files can be summed together
    whole.save(tmp_path / "w.counts")
    both = load_counts([str(tmp_path / "c"), str(tmp_path / "w.counts")])
    assert both.as_counter() == {w: 2 * c for w, c in whole.as_counter().items()}


def test_counts_dir_bytes_do_not_depend_on_worker_count(tmp_path):
    count_to_dir(CORPUS, tmp_path / "w1", workers=1)
    count_to_dir(CORPUS, tmp_path / "w2", workers=2)
    assert _dir_bytes(tmp_path / "w1") == _dir_bytes(tmp_path / "w2")


def test_min_word_count_is_exact_and_reported(tmp_path):
    whole = count_corpus(CORPUS, "gpt2", workers=1)
    manifest = count_to_dir(CORPUS, tmp_path / "c", workers=1, min_word_count=3, partitions=4)
    kept = load_counts_dir(tmp_path / "c").as_counter()
    full = whole.as_counter()
    assert kept == {w: c for w, c in full.items() if c >= 3}
    rare = [c for c in full.values() if c < 3]
    assert manifest["dropped"] == {"words": len(rare), "occurrences": sum(rare)}
    assert manifest["options"]["min_word_count"] == 3


def test_corrupt_or_missing_shard_is_named(tmp_path):
    count_to_dir([str(SAMPLE)], tmp_path / "c", partitions=3, workers=1)
    shard = tmp_path / "c" / shard_name(1, 3)
    content = bytearray(shard.read_bytes())
    content[len(content) // 2] ^= 0xFF
    shard.write_bytes(bytes(content))
    with pytest.raises(InputError, match=shard_name(1, 3) + ": count shard is corrupt"):
        load_counts_dir(tmp_path / "c")
    p = run_cli("train", "--from-counts", str(tmp_path / "c"), "--vocab-size", "300", "-o", str(tmp_path / "tok"), "-q")
    assert_clean_error(p, shard_name(1, 3), "corrupt")
    assert not (tmp_path / "tok").exists()
    shard.unlink()
    with pytest.raises(InputError, match="missing"):
        load_counts_dir(tmp_path / "c")


def test_train_from_counts_dir_equals_training_on_text(tmp_path):
    from toktool.train import train_bpe

    count_to_dir(CORPUS, tmp_path / "c", workers=2, partitions=3)
    a = train_bpe(CORPUS, vocab_size=500, workers=2).files()
    b = train_bpe(from_counts=str(tmp_path / "c"), vocab_size=500).files()
    for name in ("tokenizer.json", "vocab.json", "merges.txt"):
        assert a[name] == b[name], name


def test_cli_count_dir_then_train_and_count_info(tmp_path):
    out = tmp_path / "counts"
    p = run_cli("count", *CORPUS[:2], "-o", str(out), "--partitions", "4", "-q")
    assert p.returncode == 0, p.stderr
    assert len(list(out.glob("shard-*.counts"))) == 4
    info = run_cli("count-info", str(out), "--top", "2", "--format", "json")
    assert info.returncode == 0, info.stderr
    p = run_cli("train", "--from-counts", str(out), "--vocab-size", "300", "-o", str(tmp_path / "tok"), "-q")
    assert p.returncode == 0, p.stderr
    assert_clean_error(run_cli("count", *CORPUS[:1], "-o", str(out), "-q"), "already exists")
    assert_clean_error(run_cli("count", *CORPUS[:1], "-o", str(tmp_path / "x.counts"), "--engine", "ray"), "directory")
    assert_clean_error(run_cli("count", *CORPUS[:1], "-o", str(tmp_path / "x.counts"), "--min-word-count", "2"), "directory output")
    p = run_cli("train", *CORPUS[:1], "--algo", "superbpe", "--engine", "ray", "--vocab-size", "400", "-o", str(tmp_path / "s"))
    assert_clean_error(p, "--algo bpe")


def test_local_engine_never_imports_ray(tmp_path):
    code = (
        "import sys; from toktool.cli.app import main; "
        f"rc = main(['count', {str(SAMPLE)!r}, '-o', {str(tmp_path / 'c')!r}, '-q', '--workers', '2']); "
        "assert rc == 0, rc; "
        "bad = sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')); "
        "assert not bad, bad; print('ok')"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=ROOT, timeout=300)
    assert p.returncode == 0 and p.stdout.strip() == b"ok", p.stderr.decode()


def test_engine_ray_without_ray_says_how_to_install_it(tmp_path):
    fake = tmp_path / "fake"
    (fake / "ray").mkdir(parents=True)
    (fake / "ray" / "__init__.py").write_text("raise ImportError('No module named ray')\n")
    env = {"PYTHONPATH": str(fake)}
    p = run_cli("count", str(SAMPLE), "-o", str(tmp_path / "c"), "--engine", "ray", env=env)
    assert_clean_error(p, "pip install 'toktool[ray]'")
    assert not (tmp_path / "c").exists()
    p = run_cli("train", str(SAMPLE), "--engine", "ray", "--vocab-size", "300", "-o", str(tmp_path / "t"), env=env)
    assert_clean_error(p, "pip install 'toktool[ray]'")
    assert not (tmp_path / "t").exists()


def test_counts_dir_without_manifest_is_refused_unless_shards_are_named(tmp_path):
    count_to_dir([str(SAMPLE)], tmp_path / "c", partitions=3, workers=1)
    (tmp_path / "c" / MANIFEST).unlink()
    (tmp_path / "c" / shard_name(2, 3)).unlink()  # a partial copy
    d = tmp_path / "c"
    msg = (
        f"{d}: counts directory has no manifest.json (a partial copy?); copy the manifest too,"
        f" or give the shard files to train on them anyway ('{d}/*.counts')"
    )
    with pytest.raises(InputError) as e:
        load_counts([str(d)])
    assert str(e.value) == msg
    p = run_cli("train", "--from-counts", str(d), "--vocab-size", "300", "-o", str(tmp_path / "tok"))
    assert assert_clean_error(p) == f"toktool: error: {msg}"
    assert not (tmp_path / "tok").exists()
    assert assert_clean_error(run_cli("count-info", str(d))) == f"toktool: error: {msg}"
    # the shards named one by one (a quoted glob) are summed as the user asked
    p = run_cli("train", "--from-counts", f"{d}/*.counts", "--vocab-size", "300", "-o", str(tmp_path / "tok"), "-q")
    assert p.returncode == 0, p.stderr
    # a directory of other counts files is still read as the files it holds
    e = tmp_path / "parts"
    e.mkdir()
    count_corpus([str(SAMPLE)], "gpt2", workers=1).save(e / "1.counts")
    assert load_counts([str(e)]).total == count_corpus([str(SAMPLE)], "gpt2", workers=1).total
    with pytest.raises(InputError, match=r": not a counts directory \(no manifest.json\)"):
        load_counts_dir(e)
    # a directory holding a counts directory: the manifest met while reading it says which to give
    (tmp_path / "outer").mkdir()
    count_to_dir([str(SAMPLE)], tmp_path / "outer" / "c", partitions=2, workers=1)
    p = run_cli("count-info", str(tmp_path / "outer"))
    assert assert_clean_error(p) == (
        f"toktool: error: {tmp_path / 'outer' / 'c' / MANIFEST}: not a toktool counts file"
        f" (it is the manifest of a counts directory: give the directory {tmp_path / 'outer' / 'c'} itself)"
    )


def test_truncated_shard_is_named(tmp_path):
    count_to_dir([str(SAMPLE)], tmp_path / "c", partitions=3, workers=1)
    shard = tmp_path / "c" / shard_name(0, 3)
    shard.write_bytes(shard.read_bytes()[:100])
    p = run_cli("train", "--from-counts", str(tmp_path / "c"), "--vocab-size", "300", "-o", str(tmp_path / "tok"))
    assert assert_clean_error(p) == f"toktool: error: {shard}: count shard is corrupt (its sha256 differs from the manifest's)"


@pytest.mark.parametrize(
    "edit, problem",
    [
        (lambda m: m.pop("shards"), "no list of shards"),
        (lambda m: m["shards"][1].pop("sha256"), "shard entry 1 (shard-00001-of-00003.counts) lacks sha256, words or total"),
        (lambda m: m["shards"].pop(), "options.partitions is 3 but 2 shards are listed"),
        (lambda m: m["shards"][0].update(file="../x.counts"), "shard entry 0 is not shard-00000-of-00003.counts"),
        (lambda m: m.pop("pretokenizer"), "no pretokenizer"),
    ],
)
def test_malformed_manifest_is_one_line(tmp_path, edit, problem):
    count_to_dir([str(SAMPLE)], tmp_path / "c", partitions=3, workers=1)
    mp = tmp_path / "c" / MANIFEST
    m = json.loads(mp.read_text())
    edit(m)
    mp.write_text(json.dumps(m))
    with pytest.raises(InputError) as e:
        load_counts_dir(tmp_path / "c")
    assert str(e.value) == f"{mp}: malformed counts manifest: {problem}"
