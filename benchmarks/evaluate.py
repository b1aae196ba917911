"""toktool evaluate vs bare batch encoding of the same texts, measured in the same run.

Three tokenizers, one per library: GPT-2 through `tokenizers` (data/tokenizers/gpt2), the same GPT-2
vocabulary as a tiktoken rank file through `tiktoken`, and a sentencepiece unigram model through
`sentencepiece`; plus a byte-level BPE that toktool trains here on data/udhr (8k). The text is every
language in data/udhr (521 languages x 30 line-parallel articles, 6 MB).

"bare" is the least a script must do to get the token counts: each library's batch call on all lines
(`Tokenizer.encode_batch`, `Encoding.encode_ordinary_batch`, `SentencePieceProcessor.encode`), ids
left as the library returns them. "toktool" is `toktool.evaluation.evaluate_loaded()` with the full metric set
(encoding, all metrics, the reachability check over each vocabulary). Data loading is timed apart.

    python benchmarks/evaluate.py [--repeats 3] [--langs 521]
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from toktool.evaluation import EvalOptions  # noqa: E402
from toktool.evaluation import evaluate_loaded as evaluate  # noqa: E402
from toktool.evaluation.data import load_eval_data  # noqa: E402
from toktool.evaluation.table import unreachable_tokens  # noqa: E402
from toktool.formats import HFAdapter, SPAdapter, TiktokenAdapter, load_tokenizer  # noqa: E402
from toktool.pretokenize import from_byte_level  # noqa: E402


def gpt2_tiktoken(path: Path) -> None:
    vocab = json.loads((ROOT / "data/tokenizers/gpt2/vocab.json").read_text(encoding="utf-8"))
    rows = [f"{base64.b64encode(from_byte_level(t)).decode()} {i}" for t, i in sorted(vocab.items(), key=lambda kv: kv[1]) if t != "<|endoftext|>"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def bare(tok, lines: list[str]) -> int:
    if isinstance(tok, HFAdapter):
        return sum(len(e.ids) for e in tok.tokenizer.encode_batch(lines, add_special_tokens=False))
    if isinstance(tok, TiktokenAdapter):
        return sum(map(len, tok.enc.encode_ordinary_batch(lines)))
    if isinstance(tok, SPAdapter):
        return sum(map(len, tok.sp.encode(lines)))
    raise TypeError(tok)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--langs", type=int, default=0, help="first N languages (0 = all)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        gpt2_tiktoken(tmpd / "r50k_base.tiktoken")
        subprocess.run(
            [sys.executable, "-m", "toktool", "train", str(ROOT / "data/udhr"), "--vocab-size", "8000", "-o", str(tmpd / "udhr-8k"), "-q"],
            check=True,
        )

        toks = [
            load_tokenizer(tmpd / "udhr-8k"),
            load_tokenizer(ROOT / "data/tokenizers/gpt2"),
            load_tokenizer(tmpd / "r50k_base.tiktoken", name="gpt2-tiktoken"),
            load_tokenizer(ROOT / "data/tokenizers/sp-botchan-1k.model"),
        ]
        t0 = time.perf_counter()
        data = load_eval_data(str(ROOT / "data/udhr"), [], False, None)
        t_load = time.perf_counter() - t0
        if args.langs:
            data.languages = data.languages[: args.langs]
        lines = [s for lang in data.languages for s in lang.lines]
        n_bytes = sum(lang.n_bytes for lang in data.languages)
        print(f"data: {len(data.languages)} languages, {len(lines):,} lines, {n_bytes / 1e6:.1f} MB (loaded in {t_load:.2f} s)")
        print(f"tokenizers: {', '.join(f'{t.name} ({t.kind}, {t.vocab_size:,})' for t in toks)}")

        bare_t, ours_t, reach_t = [], [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            n_bare = [bare(t, lines) for t in toks]
            bare_t.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            res = evaluate(toks, data, EvalOptions())
            ours_t.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            for t in toks:
                unreachable_tokens(t)
            reach_t.append(time.perf_counter() - t0)
        totals = {r["tokenizer"]: r["tokens"] for r in res.rows if r["language"] == "ALL"}
        assert [totals[t.name] for t in toks] == n_bare, "token counts differ from the bare libraries"
        b, o, r = statistics.median(bare_t), statistics.median(ours_t), statistics.median(reach_t)
        print(f"metrics: {', '.join(res.columns[8:])}")
        print(f"bare batch encoding:       {b:6.2f} s  ({n_bytes * len(toks) / b / 1e6:5.2f} MB/s)")
        print(f"toktool evaluate (all):    {o:6.2f} s  ({n_bytes * len(toks) / o / 1e6:5.2f} MB/s)")
        print(f"  of which reachability:   {r:6.2f} s  (fixed per vocabulary, independent of the text)")
        print(f"throughput ratio toktool/bare: {b / o:.2f}x   (target >= 0.8x)")
        print(f"  without the reachability check: {b / (o - r):.2f}x")
        print(f"token counts identical to the bare libraries: True   (median of {args.repeats})")
        print(res.signature)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
