"""Counting plain text in blocks of lines (no str per line) gives exactly what line-by-line reading gives:
the same texts, the same --errors handling and messages, the same statistics, the same counts."""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toktool.corpus import CorpusStats, iter_line_blocks, iter_texts
from toktool.count import count_corpus, count_plain
from toktool.count.scan_counter import ScanCounter
from toktool.errors import InputError

DATA = Path(__file__).resolve().parent.parent / "data"

TRICKY = (
    b"\xef\xbb\xbffirst line after a BOM\n"
    b"plain ascii\r\n"
    b"\n"
    b"caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e  \xf0\x9f\x98\x80\n"
    b"bad \xff byte here\n"
    b"tab\tand a form feed\x0cinside\n"
    b"a very long line " + b"x" * 5000 + b"\n"
    b"  \n"
    b"truncated \xe6\x97 char\n"
    b"no newline at the end"
)


def _texts(paths, errors, block_bytes=1 << 20):
    a_stats, b_stats = CorpusStats(), CorpusStats()
    lines = list(iter_texts(paths, errors=errors, stats=a_stats))
    blocks = list(iter_line_blocks(paths, errors=errors, stats=b_stats, block_bytes=block_bytes))
    return lines, blocks, a_stats.as_dict(), b_stats.as_dict()


@pytest.mark.parametrize("errors", ["replace", "skip"])
@pytest.mark.parametrize("block_bytes", [1, 7, 64, 1 << 20])
def test_blocks_hold_the_same_texts_and_statistics(tmp_path, errors, block_bytes):
    p = tmp_path / "t.txt"
    p.write_bytes(TRICKY)
    g = tmp_path / "t.txt.gz"
    g.write_bytes(gzip.compress(TRICKY))
    lines, blocks, a, b = _texts([str(p), str(g)], errors, block_bytes)
    assert b"".join(blocks) == "".join(lines).encode("utf-8")
    assert all(blk.decode("utf-8") for blk in blocks)  # every block is valid UTF-8 ...
    assert all(blk.endswith(b"\n") or blk.endswith(b"end") for blk in blocks)  # ... of whole lines
    assert a == b  # texts, bytes, invalid lines, per-input SHA-256 and sizes


def test_strict_names_the_same_file_and_line(tmp_path):
    p = tmp_path / "t.txt"
    p.write_bytes(TRICKY)
    with pytest.raises(InputError) as line_err:
        list(iter_texts([str(p)], errors="strict"))
    for block_bytes in (1, 100, 1 << 20):
        with pytest.raises(InputError) as block_err:
            list(iter_line_blocks([str(p)], errors="strict", block_bytes=block_bytes))
        assert str(block_err.value) == str(line_err.value)
    assert ":5: invalid UTF-8" in str(line_err.value)


def test_binary_and_utf16_are_refused_as_by_the_line_reader(tmp_path):
    p = tmp_path / "u.txt"
    p.write_bytes("hello world\n".encode("utf-16"))
    with pytest.raises(InputError, match="UTF-16"):
        list(iter_line_blocks([str(p)]))


@pytest.mark.parametrize("preset", ["gpt2", "gpt4", "o200k", "llama3", "superbpe"])
def test_block_counts_equal_the_regex_counts_on_every_udhr_script(preset):
    files = sorted((DATA / "udhr").glob("*.txt"))[::7]
    counter = ScanCounter(preset)
    for block in iter_line_blocks([str(f) for f in files], block_bytes=4096):
        counter.add_block(block)
    s = counter.sorted()
    got = Counter({s.data[s.offsets[i] : s.offsets[i + 1]].tobytes().decode("utf-8"): int(c) for i, c in enumerate(s.counts)})
    assert got == count_plain(iter_texts([str(f) for f in files]), preset)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
# no NUL here: a few NULs in a short file can fall on one byte position, and NUL is tested on its own
@given(lines=st.lists(st.text(alphabet=st.sampled_from(list("ab c'\t\r\u00e9\u65e5\U0001f600\u2028 1234!?")), max_size=30), max_size=30))
def test_block_counts_equal_line_counts_on_generated_text(tmp_path_factory, lines):
    p = tmp_path_factory.mktemp("g") / "g.txt"
    p.write_bytes("\n".join(lines).encode("utf-8"))
    for preset in ("gpt2", "o200k", "superbpe"):
        c = ScanCounter(preset)
        for block in iter_line_blocks([str(p)], block_bytes=16):
            c.add_block(block)
        s = c.sorted()
        got = Counter({s.data[s.offsets[i] : s.offsets[i + 1]].tobytes().decode("utf-8"): int(n) for i, n in enumerate(s.counts)})
        assert got == count_plain(iter_texts([str(p)]), preset)


def test_count_corpus_takes_the_block_path_and_matches_the_regex_path(monkeypatch):
    files = [str(DATA / "sample" / "botchan.txt"), str(DATA / "udhr" / "hin.txt")]
    fast = count_corpus(files, "gpt2", workers=2)
    monkeypatch.setenv("TOKTOOL_PRETOKENIZE", "regex")
    slow = count_corpus(files, "gpt2", workers=2)
    assert fast.data.tobytes() == slow.data.tobytes() and fast.counts.tolist() == slow.counts.tolist()
    assert fast.corpus == slow.corpus


def test_nul_in_valid_utf8_is_text_on_both_paths(tmp_path):
    p = tmp_path / "n.txt"
    p.write_bytes(b"id\x00name\n\x00\x00\nend\x00\n")
    lines, blocks, a, b = _texts([str(p)], "replace")
    assert b"".join(blocks) == "".join(lines).encode("utf-8") == p.read_bytes() and a == b
