"""The scale benchmark's helpers: corpus building (scripts/build_linux_corpus.py) and the merge
comparison of benchmarks/scale.py. No timings are checked."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT, SAMPLE

sys.path.insert(0, str(ROOT / "benchmarks"))
import scale  # noqa: E402


def _hf_merges(text_lines, vocab):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = trainers.BpeTrainer(vocab_size=vocab, show_progress=False, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(text_lines, trainer)
    data = json.loads(tok.to_str())["model"]["merges"]
    return [tuple(scale.to_bytes(s) for s in (m if isinstance(m, list) else m.split(" "))) for m in data]


def test_ranks_give_back_the_merges_that_made_them():
    """A rank-ordered vocabulary (rustbpe/bpeasy layout) converts back to the merges of the trainer."""
    lines = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    merges = _hf_merges(lines, 1200)
    ranks = [bytes([b]) for b in range(256)] + [a + b for a, b in merges]
    assert scale.merges_from_ranks(ranks) == merges


def test_ranks_to_tokenizer_json_encodes_like_tiktoken(tmp_path):
    lines = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    merges = _hf_merges(lines, 800)
    ranks = [bytes([b]) for b in range(256)] + [a + b for a, b in merges]
    scale.ranks_to_tokenizer_json(ranks, tmp_path / "tok.json")
    heldout = tmp_path / "h.txt"
    heldout.write_text("".join(lines[-200:]), encoding="utf-8")
    _, n = scale.bytes_per_token(tmp_path / "tok.json", heldout)
    pytest.importorskip("tiktoken")
    assert scale.tiktoken_tokens(ranks, heldout) == n


def test_compare_merges_reports_prefix_and_shared():
    a, b, c = (b"a", b"b"), (b"c", b"d"), (b"e", b"f")
    assert scale.compare_merges([a, b, c], [a, b, c])["text"] == "identical"
    r = scale.compare_merges([a, c, b], [a, b, c])
    assert (r["identical"], r["equal_prefix"], r["shared"]) == (False, 1, 3)
    assert r["text"] == "1 of 3 first merges equal, 3 shared"


def test_byte_level_map_round_trips():
    every = bytes(range(256))
    assert scale.to_bytes(scale.to_str(every)) == every


def test_build_linux_corpus(tmp_path):
    tree = tmp_path / "tree"
    (tree / "b").mkdir(parents=True)
    (tree / "a.c").write_bytes(b"int a;\n" * 30)
    (tree / "b" / "Kconfig.x").write_bytes(b"config X\n" * 20)
    (tree / "b" / "bad.h").write_bytes(b"ok line\nbad \xff\xfe line\n" + b"#define Z 1\n" * 20)
    (tree / "b" / "tail.py").write_bytes(b"x = 1\n" * 10 + b"no newline")
    (tree / "b" / "skip.bin").write_bytes(b"\x00\x01")
    (tree / "b" / "empty.txt").write_bytes(b"")
    os.symlink(tree / "a.c", tree / "b" / "link.c")
    out = tmp_path / "out"
    out.mkdir()
    (out / "corpus.txt").write_text("para one\nstill one\n\n\npara two\n\nthree\n", encoding="utf-8")
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_linux_corpus.py"), str(tree), str(out),
                        "--sizes", "100,300", "--parquet-sizes", "300", "--heldout", "60"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    m = json.loads((out / "linux-manifest.json").read_text())
    assert (m["files"], m["empty_files"], m["files_with_invalid_utf8"], m["lines_replaced"], m["newlines_added"]) == (5, 1, 1, 1, 1)
    whole = (b"int a;\n" * 30 + b"config X\n" * 20 + "ok line\nbad \ufffd\ufffd line\n".encode() + b"#define Z 1\n" * 20
             + b"x = 1\n" * 10 + b"no newline\n")
    assert m["concatenated_bytes"] == len(whole)
    for n in (100, 300):
        got = (out / f"linux-{n}.txt").read_bytes()
        assert whole.startswith(got) and got.endswith(b"\n") and n - len(got) < 12
    held = (out / "linux-heldout.txt").read_bytes()
    assert whole.endswith(held) and len(held) <= 60 and whole[-len(held) - 1 : -len(held)] == b"\n"
    assert len(whole) - len(held) >= 300
    assert not (out / "linux-all.txt.tmp").exists()
    pq = pytest.importorskip("pyarrow.parquet")
    rows = pq.read_table(out / "linux-300.parquet").column("text").to_pylist()
    assert "".join(rows).encode() == (out / "linux-300.txt").read_bytes()
    # one row per file, the last one cut where the prefix ends
    assert len(rows) == 2 and rows[0] == "int a;\n" * 30 and ("config X\n" * 20).startswith(rows[1])
    paras = pq.read_table(out / "corpus.parquet").column("text").to_pylist()
    assert paras == ["para one\nstill one\n\n\n", "para two\n\n", "three\n"]
