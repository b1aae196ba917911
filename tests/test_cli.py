"""The command line as users run it: pipelines, determinism, and the bad-input matrix."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import SAMPLE, UDHR, assert_clean_error, run_cli

OUT_FILES = ("tokenizer.json", "vocab.json", "merges.txt", "train.json")


def _no_leftovers(parent: Path) -> None:
    left = [p.name for p in parent.iterdir() if p.name.startswith(".")]
    assert not left, f"temporary files left behind: {left}"


@pytest.fixture(scope="module")
def tok(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "tok"
    p = run_cli("train", str(SAMPLE), str(UDHR / "hin.txt"), "--vocab-size", "1200", "-o", str(out), "-q")
    assert p.returncode == 0, p.stderr.decode()
    return out


# --- pipelines ---------------------------------------------------------------------------


def test_encode_decode_pipeline_round_trips(tok):
    text = SAMPLE.read_bytes().decode("utf-8") + "tail without newline \r\n\x00 日本語 😀"
    enc = run_cli("encode", str(tok), input=text)
    assert enc.returncode == 0
    lines = enc.stdout.decode().split("\n")
    assert len(lines) == text.count("\n") + 1  # one line out per line in, no newline added at the end
    dec = run_cli("decode", str(tok), input=enc.stdout)
    # the sample starts with a UTF-8 byte-order mark, which every text input drops
    assert dec.returncode == 0 and dec.stdout.decode("utf-8") == text.removeprefix("\ufeff")


def test_encode_formats(tok):
    from tokenizers import Tokenizer

    t = Tokenizer.from_file(str(tok / "tokenizer.json"))
    ref = t.encode("héllo wörld", add_special_tokens=False)
    ids = run_cli("encode", str(tok), input="héllo wörld\n").stdout.decode()
    assert ids == " ".join(map(str, ref.ids)) + "\n"
    toks = run_cli("encode", str(tok / "tokenizer.json"), "--tokens", input="héllo wörld\n").stdout.decode()
    assert toks == " ".join(ref.tokens) + "\n"
    js = json.loads(run_cli("encode", str(tok), "--format", "json", input="héllo wörld\n").stdout)
    assert js == {"ids": ref.ids, "tokens": ref.tokens}
    back = run_cli("decode", str(tok), input=json.dumps(js) + "\n").stdout.decode()
    assert back == "héllo wörld\n"


def test_train_from_stdin_jsonl(tmp_path):
    records = [json.dumps({"text": line, "id": i}) for i, line in enumerate(SAMPLE.read_text(encoding="utf-8").splitlines())]
    p = run_cli("train", "-", "--text-field", "text", "--vocab-size", "600", "-o", str(tmp_path / "t"), "-q", input="\n".join(records) + "\n")
    assert p.returncode == 0, p.stderr.decode()
    info = json.loads((tmp_path / "t" / "train.json").read_text())
    assert info["corpus"]["inputs"][0]["path"] == "<stdin>" and info["result"]["vocab_size"] == 600


def test_count_then_train_from_counts_equals_direct_training(tmp_path, sample_lines):
    half = len(sample_lines) // 2
    (tmp_path / "part-1.txt").write_bytes("".join(sample_lines[:half]).encode())
    (tmp_path / "part-2.txt.gz").write_bytes(gzip.compress("".join(sample_lines[half:]).encode()))
    for i, name in enumerate(["part-1.txt", "part-2.txt.gz"]):
        p = run_cli("count", str(tmp_path / name), "-o", str(tmp_path / f"c{i}.counts"), "-q")
        assert p.returncode == 0, p.stderr.decode()
    p = run_cli("train", "--from-counts", str(tmp_path / "c0.counts"), "--from-counts", str(tmp_path / "c1.counts"), "--vocab-size", "900", "-o", str(tmp_path / "a"), "-q")
    assert p.returncode == 0, p.stderr.decode()
    p = run_cli("train", str(SAMPLE), "--vocab-size", "900", "-o", str(tmp_path / "b"), "-q")
    assert p.returncode == 0
    assert (tmp_path / "a" / "merges.txt").read_bytes() == (tmp_path / "b" / "merges.txt").read_bytes()
    assert (tmp_path / "a" / "tokenizer.json").read_bytes() == (tmp_path / "b" / "tokenizer.json").read_bytes()
    info = run_cli("count-info", str(tmp_path / "c0.counts"), str(tmp_path / "c1.counts"), "--top", "3", "--format", "json")
    doc = json.loads(info.stdout)
    assert doc["pretokenizer"] == "gpt2" and len(doc["rows"]) == 3 and doc["rows"][0]["rank"] == 1


def test_count_tokens_per_file_and_total(tok, tmp_path):
    from tokenizers import Tokenizer

    t = Tokenizer.from_file(str(tok / "tokenizer.json"))
    files = [SAMPLE, UDHR / "eng.txt"]
    p = run_cli("count-tokens", str(tok), *map(str, files), "--format", "json")
    assert p.returncode == 0, p.stderr.decode()
    rows = json.loads(p.stdout)["rows"]
    # as count-tokens reads a file: whole, a leading byte-order mark dropped (the sample has one)
    expect = [len(t.encode(f.read_bytes().decode().removeprefix("\ufeff"), add_special_tokens=False).ids) for f in files]
    assert [r["tokens"] for r in rows] == expect + [sum(expect)]
    assert rows[-1]["file"] == "total"
    for fmt in ("csv", "tsv", "md"):
        out = run_cli("count-tokens", str(tok), str(SAMPLE), "--format", fmt).stdout.decode()
        assert "file" in out.splitlines()[0] and str(expect[0]) in out


# --- determinism ---------------------------------------------------------------------------


def test_outputs_are_byte_identical_across_runs_threads_and_workers(tmp_path):
    inputs = [str(SAMPLE)] + [str(UDHR / f"{c}.txt") for c in ("rus", "cmn_hans", "arb")]
    runs = [("1", "1", "auto"), ("2", "2", "auto"), ("1", "2", "jit")]  # AOT (when built) and JIT kernels
    for i, (threads, workers, kernel) in enumerate(runs):
        p = run_cli("train", *inputs, "--vocab-size", "2500", "--pretokenizer", "gpt4", "--workers", workers, "-o", str(tmp_path / f"r{i}"), "-q", env={"NUMBA_NUM_THREADS": threads, "TOKTOOL_KERNEL": kernel})
        assert p.returncode == 0, p.stderr.decode()
    for name in OUT_FILES:
        blobs = [(tmp_path / f"r{i}" / name).read_bytes() for i in range(len(runs))]
        if name == "train.json":  # identical but for the wall-clock timings
            blobs = [json.dumps({k: v for k, v in json.loads(b).items() if k != "timings"}).encode() for b in blobs]
        assert blobs[0] == blobs[1] == blobs[2], name


# --- bad input: one line on stderr, exit 2, no traceback, no partial output ----------------


def test_no_input_files(tmp_path):
    assert_clean_error(run_cli("train", "--vocab-size", "500", "-o", str(tmp_path / "o")), "no input")
    assert not (tmp_path / "o").exists()


def test_empty_corpus(tmp_path):
    (tmp_path / "empty.txt").write_text("")
    assert_clean_error(run_cli("train", str(tmp_path / "empty.txt"), "--vocab-size", "500", "-o", str(tmp_path / "o")), "empty corpus")
    assert not (tmp_path / "o").exists()
    _no_leftovers(tmp_path)


def test_binary_file(tmp_path):
    (tmp_path / "model.bin").write_bytes(os.urandom(4096) + b"\x00" * 16)
    assert_clean_error(run_cli("train", str(tmp_path / "model.bin"), "--vocab-size", "500", "-o", str(tmp_path / "o")), "model.bin", "binary")
    assert not (tmp_path / "o").exists()


def test_vocab_size_below_alphabet(tmp_path):
    assert_clean_error(run_cli("train", str(SAMPLE), "--vocab-size", "200", "-o", str(tmp_path / "o")), "below the byte alphabet")
    assert_clean_error(
        run_cli("train", str(SAMPLE), "--vocab-size", "257", "--special-token", "<a>", "--special-token", "<b>", "-o", str(tmp_path / "o")),
        "256 + 2 = 258",
    )
    assert not (tmp_path / "o").exists()


def test_output_exists_needs_force(tmp_path, tok):
    out = tmp_path / "exists"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert_clean_error(run_cli("train", str(SAMPLE), "--vocab-size", "300", "-o", str(out)), "already exists", "--force")
    assert (out / "keep.txt").read_text() == "mine"
    p = run_cli("train", str(SAMPLE), "--vocab-size", "300", "-o", str(out), "--force", "-q")
    assert p.returncode == 0 and not (out / "keep.txt").exists() and (out / "tokenizer.json").exists()
    _no_leftovers(tmp_path)
    (tmp_path / "c.counts").write_text("x")
    assert_clean_error(run_cli("count", str(SAMPLE), "-o", str(tmp_path / "c.counts")), "already exists")


def test_unreadable_path(tmp_path):
    assert_clean_error(run_cli("train", str(tmp_path / "missing.txt"), "--vocab-size", "500", "-o", str(tmp_path / "o")), "missing.txt", "no such file")
    if os.geteuid() != 0:  # root reads everything
        p = tmp_path / "locked.txt"
        p.write_text("x")
        p.chmod(0)
        assert_clean_error(run_cli("train", str(p), "--vocab-size", "500", "-o", str(tmp_path / "o")), "cannot open")


def test_malformed_jsonl_line(tmp_path):
    (tmp_path / "d.jsonl").write_text('{"text": "fine"}\n{"text": "broken\n')
    assert_clean_error(run_cli("train", str(tmp_path / "d.jsonl"), "--text-field", "text", "--vocab-size", "500", "-o", str(tmp_path / "o")), "d.jsonl:2", "malformed JSON")
    assert not (tmp_path / "o").exists()


def test_missing_text_field(tmp_path):
    (tmp_path / "d.jsonl").write_text('{"text": "fine"}\n')
    assert_clean_error(run_cli("train", str(tmp_path / "d.jsonl"), "--vocab-size", "500", "-o", str(tmp_path / "o")), "--text-field")
    assert_clean_error(run_cli("train", str(tmp_path / "d.jsonl"), "--text-field", "body", "--vocab-size", "500", "-o", str(tmp_path / "o")), "d.jsonl:1", "no field 'body'")


def test_invalid_utf8_strict_names_the_line(tmp_path):
    (tmp_path / "x.txt").write_bytes(b"ok\nok\nbad\xc3\x28\n")
    assert_clean_error(run_cli("train", str(tmp_path / "x.txt"), "--errors", "strict", "--vocab-size", "300", "-o", str(tmp_path / "o")), "x.txt:3", "invalid UTF-8")
    p = run_cli("train", str(tmp_path / "x.txt"), "--vocab-size", "300", "-o", str(tmp_path / "o"), "-q")
    assert p.returncode == 0
    assert json.loads((tmp_path / "o" / "train.json").read_text())["corpus"]["invalid_utf8_lines"] == 1


@pytest.mark.parametrize(
    "content, message",
    [
        (os.urandom(2048), "not"),
        (b'{"version": "1.0", "model": {"type": "BPE", "vocab": {"a": 0}', "not a valid tokenizer.json"),
        (b'{"hello": 1}', "not a valid tokenizer.json"),
    ],
)
def test_corrupt_tokenizer_files(tmp_path, content, message):
    p = tmp_path / "tokenizer.json"
    p.write_bytes(content)
    assert_clean_error(run_cli("encode", str(p), input="hi\n"), message)


def test_tokenizer_dir_without_tokenizer(tmp_path):
    assert_clean_error(run_cli("encode", str(tmp_path), input="hi\n"), "directory has no tokenizer (tokenizer.json")
    assert_clean_error(run_cli("decode", str(tmp_path / "nope"), input="1\n"), "no such tokenizer")


def test_decode_bad_ids(tok):
    assert_clean_error(run_cli("decode", str(tok), input="1 2 x\n"), "<stdin>:1", "space-separated token ids")
    assert_clean_error(run_cli("decode", str(tok), input="1\n999999\n"), "<stdin>:2", "outside the vocabulary")


def test_corrupt_counts_file(tmp_path):
    (tmp_path / "x.counts").write_bytes(b"garbage")
    assert_clean_error(run_cli("train", "--from-counts", str(tmp_path / "x.counts"), "--vocab-size", "500", "-o", str(tmp_path / "o")), "not a toktool counts file")


def test_usage_errors_exit_2(tmp_path):
    assert_clean_error(run_cli("train", str(SAMPLE), "-o", str(tmp_path / "o")), "--vocab-size")
    assert_clean_error(run_cli("train", str(SAMPLE), "--vocab-size", "500", "--pretokenizer", "gpt5", "-o", str(tmp_path / "o")), "gpt5")
    assert_clean_error(run_cli("frobnicate"), "frobnicate")


def test_debug_shows_traceback(tmp_path):
    p = run_cli("train", str(tmp_path / "missing.txt"), "--vocab-size", "500", "-o", str(tmp_path / "o"), "--debug")
    assert p.returncode != 0 and b"Traceback" in p.stderr


def _imports_started(pid: int) -> bool:
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False
    return "_regex" in maps or "numpy" in maps or "rich" in maps


def _reading(pid: int, folder: Path) -> bool:
    """Whether the process has a file of `folder` open (toktool reads one input at a time)."""
    try:
        return any(os.readlink(fd).startswith(str(folder) + os.sep) for fd in Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False


@pytest.mark.parametrize("phase", ["start-up", "counting", "merging"])
def test_ctrl_c_leaves_no_partial_output(tmp_path, phase):
    """SIGINT during start-up, counting or merging: exit 130, one line, no output, no temp files.

    Each phase is waited for by what the process does, not by a fixed time (a faster build or a
    loaded machine moves the phases): start-up = a C extension of ours is mapped; counting = an
    input file is open; merging = no input file open for 0.1 s after they were (inputs are read
    once, one after the other; the merge loop takes most of a second here)."""
    out = tmp_path / "o"
    last_read: list[float] = []
    proc = subprocess.Popen(
        [sys.executable, "-m", "toktool", "train", str(UDHR), "--vocab-size", "60000", "-o", str(out), "-q", "--workers", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # a suite started in the background (`make test &`) inherits an ignored SIGINT, and Python
        # then installs no KeyboardInterrupt handler: give the child what a terminal user has
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    def counted() -> bool:
        if _reading(proc.pid, UDHR):
            last_read[:] = [time.monotonic()]
            return False
        return bool(last_read) and time.monotonic() - last_read[0] > 0.1

    reached = {
        "start-up": lambda: _imports_started(proc.pid),
        "counting": lambda: _reading(proc.pid, UDHR),
        "merging": counted,
    }[phase]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None and not reached():
        time.sleep(0.002)
    assert proc.poll() is None, f"the run ended before {phase}"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err.decode()
    assert b"Traceback" not in err and err.decode().strip() == "toktool: interrupted"
    assert not out.exists()
    _no_leftovers(tmp_path)


def test_a_killed_counting_process_is_reported(tmp_path):
    """A counting helper killed from outside (the OOM killer, say): one line, exit 1, no output, and
    no hang waiting for counts that will never come."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(p.read_text(encoding="utf-8") for p in sorted(UDHR.glob("*.txt"))) * 4, encoding="utf-8")
    out = tmp_path / "o"
    proc = subprocess.Popen(
        [sys.executable, "-m", "toktool", "train", str(corpus), "--vocab-size", "1000", "-o", str(out), "-q", "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    helper = None
    deadline = time.monotonic() + 60
    while helper is None and time.monotonic() < deadline and proc.poll() is None:
        if _reading(proc.pid, tmp_path):
            for task in Path(f"/proc/{proc.pid}/task").iterdir():
                kids = (task / "children").read_text().split()
                helper = int(kids[0]) if kids else helper
        time.sleep(0.005)
    assert helper is not None, "no counting helper seen"
    os.kill(helper, signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err.decode()
    assert err.decode().strip() == "toktool: error: a counting process died (exit code -9, killed: perhaps for lack of memory)"
    assert not out.exists()
    _no_leftovers(tmp_path)


def test_broken_pipe_is_quiet(tok):
    p = subprocess.run(
        f"{sys.executable} -m toktool encode {tok} < {SAMPLE} | head -n 1",
        shell=True,
        capture_output=True,
    )
    assert p.returncode == 0 and b"Traceback" not in p.stderr and b"error" not in p.stderr


def test_training_that_stops_below_the_vocab_size_says_so(tmp_path):
    text = tmp_path / "tiny.txt"
    text.write_text("hello world\n", encoding="utf-8")
    r = run_cli("train", str(text), "--vocab-size", "1000", "-o", str(tmp_path / "o"))
    assert r.returncode == 0
    out = " ".join((r.stdout + r.stderr).decode().split())
    assert "stopped at 265 of --vocab-size 1,000: no pair left to merge (too little text for this vocabulary)" in out
    r = run_cli("train", str(text), "--vocab-size", "1000", "--min-frequency", "2", "-o", str(tmp_path / "o2"))
    assert "no pair occurs 2 times or more (--min-frequency)" in " ".join((r.stdout + r.stderr).decode().split())
