"""Cases found by trying toktool as a new user would, from a fresh clone: each the right behaviour."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from conftest import SAMPLE, assert_clean_error, run_cli

import toktool
from toktool.corpus import iter_texts, text_problem
from toktool.count import WordCounts
from toktool.errors import InputError

DATA = Path(__file__).resolve().parent.parent / "data"


def test_a_few_nuls_in_a_short_utf8_text_are_text_not_utf16():
    head = ("\n" + "11111111\x001\u2028\u2028\U0001f600\x0011111\u00e9\u2028\n" * 2).encode("utf-8")
    assert text_problem(head) is None
    assert "UTF-16" in text_problem("hello world, a line of text\n".encode("utf-16-le") * 4)


def test_outputs_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        out = toktool.train_bpe(str(DATA / "udhr" / "eng.txt"), vocab_size=300).save(tmp_path / "tok")
        counts = tmp_path / "c.counts"
        toktool.count_corpus([str(DATA / "udhr" / "eng.txt")], "gpt2").save(counts)
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    assert stat.S_IMODE((out / "tokenizer.json").stat().st_mode) == 0o644
    assert stat.S_IMODE(counts.stat().st_mode) == 0o644


def test_one_path_as_a_str_is_one_input():
    a = toktool.train_bpe(str(DATA / "udhr" / "eng.txt"), vocab_size=300)
    b = toktool.train_bpe([str(DATA / "udhr" / "eng.txt")], vocab_size=300)
    assert a.tokenizer.to_str() == b.tokenizer.to_str()


def test_a_pickle_is_not_loaded_and_not_advised(tmp_path):
    import numpy as np

    p = tmp_path / "x.counts"
    with open(p, "wb") as f:
        np.save(f, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputError) as e:
        WordCounts.load(p)
    assert "pickled" in str(e.value) and "allow_pickle" not in str(e.value)


def _cut_zst(path: Path) -> Path:
    """A .zst file of two frames whose second ("c\\nd\\n") is cut after its frame header: no byte of
    it decodes, so the stream breaks at line 3 whatever the compressor makes of the text."""
    zstd = pytest.importorskip("zstandard")
    c = zstd.ZstdCompressor()
    path.write_bytes(c.compress(b"a\nb\n") + c.compress(b"c\nd\n")[:6])
    return path


def test_a_truncated_zst_input_is_refused_not_read_as_complete(tmp_path):
    from conftest import assert_clean_error, run_cli

    zst = _cut_zst(tmp_path / "cut.txt.zst")
    want = f"toktool: error: {zst}: cannot read (line 3): compressed file ended before the end of its zstd frame (truncated)"
    assert assert_clean_error(run_cli("count", str(zst), "-o", str(tmp_path / "c.counts"))) == want
    assert assert_clean_error(run_cli("train", str(zst), "--vocab-size", "300", "-o", str(tmp_path / "t"))) == want
    with pytest.raises(InputError) as e:
        list(iter_texts([str(zst)]))
    assert str(e.value) == want.removeprefix("toktool: error: ")
    # a file cut inside its first frame header, before any block: not an empty corpus
    head = tmp_path / "head.txt.zst"
    head.write_bytes(zst.read_bytes()[:4])
    want = f"toktool: error: {head}: cannot read (line 1): compressed file ended before the end of its zstd frame (truncated)"
    assert assert_clean_error(run_cli("count-tokens", str(DATA / "tokenizers" / "gpt2"), str(head))) == want
    # whole frames, a skippable frame between them, and an empty file read as before
    import struct

    zstd = pytest.importorskip("zstandard")
    c = zstd.ZstdCompressor()
    multi = tmp_path / "multi.txt.zst"
    multi.write_bytes(c.compress(b"a\nb\n") + struct.pack("<II", 0x184D2A50, 3) + b"xyz" + c.compress(b"c\nd\n"))
    (tmp_path / "empty.txt.zst").write_bytes(b"")
    assert list(iter_texts([str(multi), str(tmp_path / "empty.txt.zst")])) == ["a\n", "b\n", "c\n", "d\n"]


def test_a_corrupt_zst_input_is_named_in_one_line_by_every_command(tmp_path):
    from conftest import assert_clean_error, run_cli

    pytest.importorskip("zstandard")
    fake = tmp_path / "fake.txt.zst"
    fake.write_text("plain text\nnot zstd\n")
    want = f"toktool: error: {fake}: corrupt zstd stream (line 1): zstd decompressor error: Unknown frame descriptor"
    tok = str(DATA / "tokenizers" / "gpt2")
    for args in (
        ("train", str(fake), "--vocab-size", "300", "-o", str(tmp_path / "t")),
        ("count", str(fake), "-o", str(tmp_path / "c.counts")),
        ("count-tokens", tok, str(fake)),
        ("evaluate", tok, "--text", str(fake)),
    ):
        assert assert_clean_error(run_cli(*args)) == want, args
    # damage after whole lines: the line where reading stops
    zstd = pytest.importorskip("zstandard")
    tail = tmp_path / "tail.txt.zst"
    tail.write_bytes(zstd.ZstdCompressor().compress(b"a\nb\n") + b"garbage")
    with pytest.raises(InputError) as e:
        list(iter_texts([str(tail)]))
    assert str(e.value) == f"{tail}: corrupt zstd stream (line 3): zstd decompressor error: Unknown frame descriptor"


def test_encode_and_decode_read_gz_and_zst_inputs_line_for_line(tmp_path):
    import gzip

    from conftest import assert_clean_error, run_cli

    zstd = pytest.importorskip("zstandard")
    tok = str(DATA / "tokenizers" / "gpt2")
    text = "héllo wörld\n\nsecond line\r\nno newline at the end"
    (tmp_path / "in.txt.gz").write_bytes(gzip.compress(text.encode()))
    plain = run_cli("encode", tok, input=text)
    assert plain.returncode == 0, plain.stderr
    enc = run_cli("encode", tok, str(tmp_path / "in.txt.gz"))
    assert enc.returncode == 0, enc.stderr
    assert enc.stdout == plain.stdout
    (tmp_path / "ids.zst").write_bytes(zstd.ZstdCompressor().compress(enc.stdout))
    dec = run_cli("decode", tok, str(tmp_path / "ids.zst"))
    assert dec.returncode == 0, dec.stderr
    assert dec.stdout.decode() == text
    cut = _cut_zst(tmp_path / "cut.txt.zst")
    assert assert_clean_error(run_cli("encode", tok, str(cut))) == (
        f"toktool: error: {cut}: cannot read (line 3): compressed file ended before the end of its zstd frame (truncated)"
    )


def test_an_output_that_is_or_holds_an_input_is_refused_before_anything(tmp_path, monkeypatch):
    from conftest import assert_clean_error, run_cli

    from toktool.corpus import check_not_input
    from toktool.errors import ToktoolError

    corp = tmp_path / "corp"
    corp.mkdir()
    (corp / "eng.txt").write_text("hello world\n" * 50)
    monkeypatch.chdir(tmp_path)
    cases = [
        (("train", "corp", "--vocab-size", "300", "-o", "corp", "--force"), "-o corp: the output would replace the input corp"),
        (("train", "corp/eng.txt", "--vocab-size", "300", "-o", "corp", "--force"), "-o corp: the output would replace the input corp/eng.txt"),
        (("count", "corp/*.txt", "-o", "corp", "--force"), "-o corp: the output would replace the input corp/eng.txt"),
        (("count", "corp", "-o", "corp/eng.txt", "--force"), "-o corp/eng.txt: the output would replace the input corp/eng.txt (read as part of corp)"),
        (("train", "--algo", "parity", "--lang", "eng=corp/eng.txt", "--target-ratio", "eng=1", "--vocab-size", "300", "-o", "corp", "--force"),
         "-o corp: the output would replace the input corp/eng.txt"),
        (("transplant", "corp", "--tokenizer", "corp", "-o", "corp", "--force"), "-o corp: the output would replace the input corp"),
        (("transplant", "m", "--tokenizer", "corp", "-o", "out", "--report", "corp/eng.txt", "--force"),
         "--report corp/eng.txt: the output would replace the input corp/eng.txt (read as part of corp)"),
    ]
    for args, want in cases:
        assert assert_clean_error(run_cli(*args, cwd=tmp_path)) == f"toktool: error: {want}", args
        assert sorted(p.name for p in corp.iterdir()) == ["eng.txt"]
    # an earlier output inside a directory input is read as input: replacing it is refused too
    (corp / "tok").mkdir()
    (corp / "tok" / "vocab.json").write_text("{}")
    with pytest.raises(ToktoolError) as e:
        check_not_input("corp/tok", ["corp"])
    assert str(e.value) == "-o corp/tok: the output would replace the input corp/tok/vocab.json (read as part of corp)"
    check_not_input("corp/new", ["corp", "-"])  # a new output inside a directory input: nothing to replace
    check_not_input("other", ["corp", "corp/*.txt"])


def test_a_language_directory_option_given_a_file_is_named_as_given():
    from conftest import assert_clean_error, run_cli

    eng = str(DATA / "udhr" / "eng.txt")
    common = ("train", "--algo", "parity", "--vocab-size", "300", "-o", "/nonexistent-dir/pa")
    p = run_cli(*common, "--langs", eng, "--dev", str(DATA / "udhr"))
    assert assert_clean_error(p) == f"toktool: error: {eng}: not a directory (--langs takes a directory with one file per language)"
    p = run_cli(*common, "--lang", f"eng={eng}", "--dev", eng)
    assert assert_clean_error(p) == f"toktool: error: {eng}: not a directory (--dev takes a directory with one file per language)"
    p = run_cli("evaluate", str(DATA / "tokenizers" / "gpt2"), "--data", eng)
    assert assert_clean_error(p) == f"toktool: error: {eng}: not a directory (--data takes a directory with one file per language)"


def test_evaluate_text_names_a_columnar_input_as_encode_does(tmp_path):
    from conftest import assert_clean_error, run_cli

    pq = tmp_path / "b.parquet"
    pq.write_bytes(b"PAR1" + b"\x00" * 64 + b"PAR1")
    want = (
        f"toktool: error: {pq}: a Parquet file; this command reads UTF-8 text lines (train and count read Parquet,"
        " Arrow and datasets inputs with --text-field): write the column out as text lines first"
    )
    tok = str(DATA / "tokenizers" / "gpt2")
    assert assert_clean_error(run_cli("evaluate", tok, "--text", str(pq))) == want
    assert assert_clean_error(run_cli("encode", tok, str(pq))) == want


def test_a_base_that_does_not_exist_is_named_as_missing(tmp_path):
    from conftest import assert_clean_error, run_cli

    missing = tmp_path / "nonexistent"
    p = run_cli("train", str(DATA / "udhr" / "eng.txt"), "--base", str(missing), "--vocab-size", "400", "-o", str(tmp_path / "o"))
    assert assert_clean_error(p) == f"toktool: error: {missing}: no such tokenizer file or directory"
    (tmp_path / "empty").mkdir()
    p = run_cli("train", str(DATA / "udhr" / "eng.txt"), "--base", str(tmp_path / "empty"), "--vocab-size", "400", "-o", str(tmp_path / "o"))
    assert assert_clean_error(p) == f"toktool: error: {tmp_path / 'empty'}: directory has no tokenizer.json (nor vocab.json + merges.txt)"


def test_a_transition_with_a_decimal_point_is_a_fraction():
    from toktool.errors import ToktoolError
    from toktool.train.superbpe import resolve_transition

    assert resolve_transition("0.8", 3000, 0) == 2400
    assert resolve_transition("2400", 3000, 0) == 2400
    for value in ("1.0", "1."):
        with pytest.raises(ToktoolError) as e:
            resolve_transition(value, 3000, 0)
        assert str(e.value) == "--transition 3000 must be smaller than --vocab-size 3000 (stage 2 needs room)"
    for value in ("inf", "nan"):
        with pytest.raises(ToktoolError) as e:
            resolve_transition(value, 3000, 0)
        assert str(e.value) == f"--transition {value!r}: expected a vocabulary size or a fraction of --vocab-size"


def test_an_output_on_a_file_system_that_cannot_be_written_is_one_line_before_any_work(tmp_path):
    # /proc takes no new files, even from root: found when the output is checked, not after training
    if not Path("/proc/self").exists():
        pytest.skip("no /proc")
    proc = run_cli("train", str(SAMPLE), "--vocab-size", "300", "-o", "/proc/toktool-out", "-q")
    assert_clean_error(proc, "cannot write /proc/toktool-out")
    proc = run_cli("count", str(SAMPLE), "-o", "/proc/toktool.counts")
    assert_clean_error(proc, "cannot write /proc/toktool.counts")


def test_evaluate_text_that_is_a_directory_says_so(tmp_path):
    proc = run_cli("evaluate", str(DATA / "tokenizers" / "gpt2"), "--text", str(tmp_path))
    assert_clean_error(proc, str(tmp_path), "a directory", "--data")


def test_invalid_utf8_is_placed_alike_by_every_reader(tmp_path):
    # the byte is counted within its line whichever command reads the file
    bad = tmp_path / "b8.txt"
    bad.write_bytes(b"hello\nab\xffcd\n")
    gpt2 = str(DATA / "tokenizers" / "gpt2")
    for args in (["count-tokens", gpt2, str(bad)], ["encode", gpt2, str(bad)]):
        assert_clean_error(run_cli(*args), "b8.txt:2: invalid UTF-8 at byte 2")
