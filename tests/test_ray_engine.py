"""The Ray engine against the local engine: identical counts directories and tokenizers, a worker killed
mid-run, bad input, Ctrl-C. Skipped (with the reason shown) when Ray is not installed: `make test-ray`
installs the extra and runs these.

A local Ray of 2 CPUs and a 500 MB object store is started once for the in-process tests; the CLI
tests start their own, as a user's run does."""

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
from conftest import ROOT, SAMPLE, UDHR, assert_clean_error, run_cli

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'toktool[ray]', or make test-ray)")

from toktool.count import count_to_dir  # noqa: E402
from toktool.count.ray_engine import FAULT_ENV, OBJECT_STORE_ENV, RayOptions  # noqa: E402
from toktool.count.shards import load_counts_dir  # noqa: E402

CORPUS = [str(SAMPLE)] + [str(UDHR / f"{c}.txt") for c in ("eng", "rus", "cmn_hans", "hin", "arb", "jpn", "deu_1996")]
# small splits, so the sample file is cut into many pieces and lines cross split boundaries
SMALL = RayOptions(split_bytes=40_000)
RAY_ENV = {OBJECT_STORE_ENV: "500"}


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, object_store_memory=500 << 20, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _dir_bytes(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


def _both(tmp_path: Path, inputs, **kw) -> tuple[dict, dict]:
    count_to_dir(inputs, tmp_path / "local", workers=2, **kw)
    count_to_dir(inputs, tmp_path / "ray", engine="ray", ray_options=SMALL, **kw)
    return _dir_bytes(tmp_path / "local"), _dir_bytes(tmp_path / "ray")


def test_ray_counts_equal_local_counts_byte_for_byte(tmp_path, monkeypatch):
    from toktool.count import ray_engine

    # a fan-in of 3 sends the ~15 splits' parts through two levels of combine tasks
    monkeypatch.setattr(ray_engine, "FAN_IN", 3)
    local, on_ray = _both(tmp_path, CORPUS, partitions=6)
    assert local.keys() == on_ray.keys() and len(local) == 7
    assert local == on_ray


def test_ray_min_word_count_and_options_equal_local(tmp_path):
    jl = tmp_path / "docs.jsonl"
    rows = [json.dumps({"doc": {"body": line}}) for line in SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)[:800]]
    jl.write_text("\n".join(rows) + "\n", encoding="utf-8")
    dirty = tmp_path / "dirty.txt"
    dirty.write_bytes(b"ok <|endoftext|> line\n" * 50 + b"bad \xff byte\n" + b"more text <|endoftext|>\n" * 50)
    gz = tmp_path / "z.txt.gz"
    gz.write_bytes(gzip.compress((UDHR / "fra.txt").read_bytes()))
    kw = dict(partitions=3, min_word_count=2, special_tokens=["<|endoftext|>"], errors="replace")
    local, on_ray = _both(tmp_path, [str(dirty), str(gz)], **kw)
    assert local == on_ray
    manifest = json.loads(local["manifest.json"])
    assert manifest["dropped"]["words"] > 0 and manifest["corpus"]["invalid_utf8_lines"] == 1
    (tmp_path / "local").rename(tmp_path / "l1")
    (tmp_path / "ray").rename(tmp_path / "r1")
    local, on_ray = _both(tmp_path, [str(jl)], text_field="doc.body", pretokenizer="gpt4", partitions=2)
    assert local == on_ray
    for d in ("local", "ray"):
        (tmp_path / d).rename(tmp_path / f"{d}2")
    # the compiled stage-2 scanner's parts (arrays, not bytes) take the same road
    local, on_ray = _both(tmp_path, CORPUS[:3], pretokenizer="superbpe", partitions=3)
    assert local == on_ray


def test_tokenizer_from_ray_counts_is_byte_identical(tmp_path):
    from toktool.train import train_bpe

    a = train_bpe(CORPUS, vocab_size=600, workers=2)
    b = train_bpe(CORPUS, vocab_size=600, engine="ray")
    fa, fb = a.files(), b.files()
    for name in ("tokenizer.json", "vocab.json", "merges.txt"):
        assert fa[name] == fb[name], name
    ia, ib = a.info, b.info
    ia.pop("timings"), ib.pop("timings")
    assert ia == ib
    count_to_dir(CORPUS, tmp_path / "c", engine="ray", ray_options=SMALL)
    fc = train_bpe(from_counts=str(tmp_path / "c"), vocab_size=600).files()
    assert fc["tokenizer.json"] == fa["tokenizer.json"]
    assert len(load_counts_dir(tmp_path / "c")) == a.info["counts"]["unique_words"]


def test_killed_worker_is_retried_and_counts_stay_identical(tmp_path):
    """The first count task exits its worker process (os._exit, as the OOM killer would) once; Ray
    re-runs it, and the directory is byte-identical to the local engine's."""
    marker = tmp_path / "fault-marker"
    env = {**RAY_ENV, FAULT_ENV: str(marker)}
    p = run_cli("count", *CORPUS, "-o", str(tmp_path / "ray"), "--engine", "ray", "--workers", "2", "-q", env=env)
    assert p.returncode == 0, p.stderr.decode()
    assert marker.exists(), "no worker was killed"
    count_to_dir(CORPUS, tmp_path / "local", workers=2)
    assert _dir_bytes(tmp_path / "local") == _dir_bytes(tmp_path / "ray")


def test_cli_train_on_ray_equals_local(tmp_path):
    args = ["train", *CORPUS[:4], "--vocab-size", "500", "-q"]
    p = run_cli(*args, "-o", str(tmp_path / "ray"), "--engine", "ray", "--workers", "2", env=RAY_ENV)
    assert p.returncode == 0, p.stderr.decode()
    assert run_cli(*args, "-o", str(tmp_path / "local")).returncode == 0
    for name in ("tokenizer.json", "vocab.json", "merges.txt"):
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name


def test_corrupt_input_fails_in_one_line_and_writes_nothing(tmp_path):
    bad = tmp_path / "b.txt.gz"
    bad.write_bytes(gzip.compress(SAMPLE.read_bytes())[:20_000])
    args = ["count", str(SAMPLE), str(bad), str(UDHR / "eng.txt")]
    local = run_cli(*args, "-o", str(tmp_path / "l"))
    p = run_cli(*args, "-o", str(tmp_path / "r"), "--engine", "ray", "--workers", "2", env=RAY_ENV)
    line = assert_clean_error(p, str(bad))
    assert line == assert_clean_error(local, str(bad))
    assert not (tmp_path / "r").exists() and not list(tmp_path.glob(".r.*"))


def test_ctrl_c_stops_the_job_and_its_local_ray(tmp_path):
    big = tmp_path / "big.txt"
    text = SAMPLE.read_bytes()
    with open(big, "wb") as f:
        for _ in range(200):  # 56 MB: tens of seconds of counting, so the interrupt lands mid-run
            f.write(text)
    env = {**os.environ, **RAY_ENV}
    env.pop("TOKTOOL_DEBUG", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "toktool", "count", str(big), "-o", str(tmp_path / "r"), "--engine", "ray", "--workers", "2", "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=env, start_new_session=True,
        # a suite started in the background (`make test &`, nohup) inherits an ignored SIGINT, and
        # Python keeps it ignored: give the command the default a terminal would
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    # wait until the job runs: count tasks show up among the processes toktool's Ray started
    import psutil

    me = psutil.Process(proc.pid)
    started: list = []
    counting = False
    deadline = time.time() + 90
    while time.time() < deadline and not counting and proc.poll() is None:
        started = _safe_children(me)
        counting = any("count_split" in " ".join(_cmdline(c)) for c in started)
        time.sleep(0.2)
    assert counting, "no count task was seen running"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert "interrupted" in err.decode()
    assert not (tmp_path / "r").exists() and not list(tmp_path.glob(".r.*"))
    deadline = time.time() + 20
    while time.time() < deadline and any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in started):
        time.sleep(0.5)
    left = [c for c in started if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert not left, f"Ray processes left behind: {[_cmdline(c)[:2] for c in left]}"


def _cmdline(p) -> list[str]:
    import psutil

    try:
        return p.cmdline()
    except psutil.Error:
        return []


def _safe_children(p) -> list:
    import psutil

    try:
        return [c for c in p.children(recursive=True) if c.is_running()]
    except psutil.Error:
        return []
