from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
SAMPLE = DATA / "sample" / "botchan.txt"
UDHR = DATA / "udhr"


def run_cli(*args: str, input: bytes | str | None = None, env: dict | None = None, cwd: Path | None = None, timeout: float = 300):
    """Run `python -m toktool ...` as a user would; returns CompletedProcess with bytes/str output."""
    e = dict(os.environ)
    e.pop("TOKTOOL_DEBUG", None)
    if env:
        e.update(env)
    data = input.encode("utf-8") if isinstance(input, str) else input
    return subprocess.run(
        [sys.executable, "-m", "toktool", *args],
        input=data,
        capture_output=True,
        env=e,
        cwd=cwd,
        timeout=timeout,
    )


def assert_clean_error(proc, *needles: str, code: int = 2) -> str:
    """Exit code 2, exactly one line on stderr, no traceback, and the message says what went wrong."""
    err = proc.stderr.decode("utf-8", errors="replace")
    assert proc.returncode == code, (proc.returncode, err)
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("toktool: error:"), err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


def lines_of(path: Path) -> list[str]:
    """Lines exactly as toktool reads them: split on \\n only, newline kept, \\r untouched, a leading
    UTF-8 byte-order mark dropped."""
    text = path.read_bytes().decode("utf-8").removeprefix("\ufeff")
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    return lines + [parts[-1]] if parts[-1] else lines


@pytest.fixture(scope="session")
def new_tok(tmp_path_factory) -> Path:
    """The new tokenizer of the transplant tests: byte-level BPE of 1,200 tokens trained on the sample
    by the CLI (trained once per session)."""
    out = tmp_path_factory.mktemp("newtok") / "tok"
    proc = run_cli("train", str(SAMPLE), "--vocab-size", "1200", "-o", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="session")
def sample_lines() -> list[str]:
    return lines_of(SAMPLE)


MULTI = ["eng", "cmn_hans", "hin", "arb", "rus", "amh", "jpn", "kor", "ell_monotonic", "heb", "tha", "tam", "vie", "deu_1996"]


@pytest.fixture(scope="session")
def multi_lines() -> list[str]:
    """Real multilingual text: UDHR in 14 languages and 12 scripts."""
    out: list[str] = []
    for code in MULTI:
        out += lines_of(UDHR / f"{code}.txt")
    return out


def hf_train(lines, vocab_size, pre_tokenizer, special_tokens=(), min_frequency=0):
    """Hugging Face BpeTrainer on the same texts: the reference we must equal."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizer
    tr = trainers.BpeTrainer(
        vocab_size=vocab_size,
        show_progress=False,
        min_frequency=min_frequency,
        special_tokens=list(special_tokens),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(lines, tr)
    return tok
