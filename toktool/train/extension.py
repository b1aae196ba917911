"""Continue BPE from an existing byte-level tokenizer: SuperBPE's stage 2 and `--base`.

The base's words are not re-merged from bytes in our loop: `tokenizers` encodes every word with the
base's own merges (BPE encoding applies merges in rank order, which is exactly the replay SuperBPE's
stage 2 starts with), and the merge loop then starts from the base's vocabulary and those token
sequences. Words then hold tokens rather than bytes, about a quarter of the symbols, which is what
keeps stage 2 (whole lines as words) small. The base's ids, merges, normalizer, decoder and special
tokens are kept as they are; new tokens get the ids after the base's largest.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..count import WordCounts
from ..errors import InputError, ToktoolError
from ..pretokenize import CHAR_TO_BYTE, PRESETS, to_byte_level
from ..vocab import dedupe_merges, table_bytes
from .bpe import encode_words_parallel, run_merge_loop

_BYTE_CHARS = frozenset(CHAR_TO_BYTE)
_ENCODE_BATCH = 1 << 16
# Extension words are whole lines (stage 2) or words already merged by the base: most of their pairs
# are rare. The loop forgets pairs below max(2, c_M / 16), c_M being the count of the M-th most
# frequent initial pair for M merges to make (far below the counts the last merges still have), and
# checks afterwards that this changed nothing (bpe.run_merge_loop).
PRUNE = 16


@dataclass
class Base:
    """A byte-level BPE to extend, as its tokenizer.json plus the arrays the merge loop needs."""

    spec: dict  # the tokenizer.json without model.vocab and model.merges (held as tokens/strings/merges)
    spec_json: str  # the whole tokenizer.json, parsed again for the output: its dicts are ~5x larger
    tokens: list[bytes | None]  # by id; None for added/special tokens (never produced by a merge)
    strings: list[str | None]  # the vocab strings by id
    merges: list[tuple[str, str]]
    where: str
    preset: str | None = None  # our pre-tokenizer preset that reproduces the base's split, if known

    @property
    def size(self) -> int:
        return len(self.tokens)


@dataclass
class Extension:
    new_tokens: list[bytes]
    new_merges: list[tuple[int, int]]  # ids; a pair merged twice keeps its last rank (as HF does)
    merge_steps: int
    train_tokens: int
    train_bytes: int
    timings: dict = field(default_factory=dict)


def _pre_tokenizer_types(node: dict | None) -> list[dict]:
    if not node:
        return []
    if node.get("type") == "Sequence":
        return [n for sub in node.get("pretokenizers", []) for n in _pre_tokenizer_types(sub)]
    return [node]


def detect_preset(spec: dict) -> str | None:
    """Which of our presets splits text the way this tokenizer.json does (for counting with --base)."""
    from ..hf import onig_pattern

    parts = _pre_tokenizer_types(spec.get("pre_tokenizer"))
    kinds = [p.get("type") for p in parts]
    if kinds == ["ByteLevel"]:
        return "gpt2" if parts[0].get("use_regex", True) and not parts[0].get("add_prefix_space") else ("none" if not parts[0].get("add_prefix_space") else None)
    if kinds == ["Split", "ByteLevel"] and parts[0].get("behavior") == "Isolated" and not parts[0].get("invert"):
        pattern = (parts[0].get("pattern") or {}).get("Regex")
        for name, preset in PRESETS.items():
            if preset.pattern is not None and onig_pattern(preset.pattern) == pattern:
                return name
    return None


def base_from_spec(spec_json: str, where: str, preset: str | None = None) -> Base:
    """A Base from tokenizer.json text. `where` names it in messages; `preset` is the split to count
    with (default: detected from its pre-tokenizer). Raises InputError when it is not a byte-level BPE
    (another model type, subword prefixes, byte fallback, non-byte-level tokens, missing bytes)."""
    spec = json.loads(spec_json)
    model = spec.get("model") or {}
    mtype = model.get("type")
    if mtype != "BPE":
        raise InputError(f"{where}: --base needs a byte-level BPE tokenizer, this one is {mtype or 'unknown'}")
    if model.get("continuing_subword_prefix") or model.get("end_of_word_suffix") or model.get("byte_fallback"):
        raise InputError(f"{where}: --base needs a byte-level BPE (this BPE uses subword prefixes/suffixes or byte fallback)")
    decoder_types = {d.get("type") for d in [spec.get("decoder") or {}, *((spec.get("decoder") or {}).get("decoders") or [])]}
    if "ByteLevel" not in decoder_types and "ByteLevel" not in {p.get("type") for p in _pre_tokenizer_types(spec.get("pre_tokenizer"))}:
        raise InputError(f"{where}: --base needs a byte-level BPE tokenizer (no ByteLevel pre-tokenizer or decoder)")
    vocab: dict[str, int] = model.get("vocab") or {}
    added = {a["id"]: a["content"] for a in spec.get("added_tokens") or []}
    size = max([*vocab.values(), *added.keys()], default=-1) + 1
    tokens: list[bytes | None] = [None] * size
    strings: list[str | None] = [None] * size
    for s, i in vocab.items():
        strings[i] = s
        if i in added:
            continue
        if not _BYTE_CHARS.issuperset(s):
            raise InputError(f"{where}: token {s!r} (id {i}) is not byte-level; --base needs a byte-level BPE")
        tokens[i] = bytes(CHAR_TO_BYTE[c] for c in s)
    for i, s in added.items():
        strings[i] = s
    singles = {t for t in tokens if t is not None and len(t) == 1}
    missing = [b for b in range(256) if bytes([b]) not in singles]
    if missing:
        raise InputError(f"{where}: --base lacks {len(missing)} of the 256 byte tokens; it is not a byte-level BPE")
    from ..hf import merge_pairs

    merges = merge_pairs(model.get("merges") or [])
    spec["model"] = {k: v for k, v in model.items() if k not in ("vocab", "merges")}
    return Base(spec=spec, spec_json=spec_json, tokens=tokens, strings=strings, merges=merges, where=where, preset=preset or detect_preset(spec))


def load_base(path: str | Path) -> Base:
    """A toktool output dir, an HF tokenizer.json (or a dir with one), or vocab.json + merges.txt."""
    from ..hf import load_hf_tokenizer, trained_preset

    p = Path(path)
    if p.is_file() and p.suffix == ".model":
        raise InputError(f"{p}: a sentencepiece model; --base needs a byte-level BPE (tokenizer.json or vocab.json + merges.txt)")
    lt = load_hf_tokenizer(p)
    preset = trained_preset(p if p.is_dir() else p.parent)
    return base_from_spec(lt.tokenizer.to_str(), str(p), preset if preset in PRESETS else None)


def encode_words(base: Base, wc: WordCounts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each word as the base's token ids, by the base's merges in rank order.

    Our Numba encoder replicates `tokenizers`' BPE model (tested equal on real text) without its
    per-word objects, which cost far more time and memory on stage 2's many lines.
    Bases with `ignore_merges` (whole words looked up first, Llama-3 style) go through `tokenizers`."""
    if base.spec["model"].get("ignore_merges"):
        return encode_words_hf(base, wc)
    index = {s: i for i, s in enumerate(base.strings) if s is not None and base.tokens[i] is not None}
    byte_ids = np.array([index[to_byte_level(bytes([b]))] for b in range(256)], dtype=np.int32)
    m_a = np.array([index[a] for a, _ in base.merges], dtype=np.int32)
    m_b = np.array([index[b] for _, b in base.merges], dtype=np.int32)
    m_new = np.array([index[a + b] for a, b in base.merges], dtype=np.int32)
    sym, woff = encode_words_parallel(wc.data, wc.offsets.astype(np.int64, copy=False), byte_ids, m_a, m_b, m_new, cut_table(base, m_a, m_b))
    return sym, woff, wc.counts.astype(np.int64, copy=False)


def cut_table(base: Base, m_a: np.ndarray, m_b: np.ndarray) -> np.ndarray:
    """cut[x << 8 | y] = 1 where no merge joins a left side ending in byte x to a right side starting
    with byte y: no token can ever span such a place, so the encoder splits words there and encodes
    each distinct chunk once (see bpe_encode_kernel)."""
    last = np.zeros(base.size, dtype=np.int64)
    first = np.zeros(base.size, dtype=np.int64)
    for i, t in enumerate(base.tokens):
        if t:
            first[i], last[i] = t[0], t[-1]
    cut = np.ones(1 << 16, dtype=np.uint8)
    cut[(last[m_a] << 8) | first[m_b]] = 0
    return cut


def encode_words_hf(base: Base, wc: WordCounts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The same through `tokenizers` itself: the reference for the test, and the path for bases whose
    BPE model options our encoder does not replicate."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {s: i for i, s in enumerate(base.strings) if s is not None and base.tokens[i] is not None}
    model = base.spec["model"]
    bpe = models.BPE(vocab=vocab, merges=base.merges, ignore_merges=bool(model.get("ignore_merges", False)))
    tok = Tokenizer(bpe)
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    batch = getattr(tok, "encode_batch_fast", tok.encode_batch)
    words = [w.decode("utf-8") for w, _ in wc.items()]
    lengths = np.empty(len(words), dtype=np.int64)
    parts: list[np.ndarray] = []
    for start in range(0, len(words), _ENCODE_BATCH):
        seqs = [e.ids for e in batch(words[start : start + _ENCODE_BATCH], add_special_tokens=False)]
        lengths[start : start + len(seqs)] = [len(s) for s in seqs]
        parts.append(np.fromiter(itertools.chain.from_iterable(seqs), dtype=np.int32, count=int(lengths[start : start + len(seqs)].sum())))
    del words
    sym = np.concatenate(parts) if parts else np.empty(0, dtype=np.int32)
    woff = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=woff[1:])
    return sym, woff, wc.counts.astype(np.int64, copy=False)


def continue_merges(
    base: Base,
    wc: WordCounts,
    vocab_size: int,
    min_frequency: int = 0,
    max_token_length: int | None = None,
    max_words: int = 0,
    no_colon_space: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
    release_words: bool = False,
) -> Extension:
    """`release_words`: `wc` is emptied once encoded (stage 2 holds a copy of the corpus's unique
    lines there; the merge loop needs only their token ids and counts)."""
    if vocab_size <= base.size:
        raise ToktoolError(f"--vocab-size {vocab_size} must be larger than the base's {base.size} tokens ({base.where})")
    sym, woff, wcnt = encode_words(base, wc)
    train_bytes = wc.total_bytes
    if release_words:
        wc.data = np.empty(0, dtype=np.uint8)
        wc.offsets = np.zeros(1, dtype=np.int64)
        wc.counts = np.empty(0, dtype=np.int64)
    data = b"".join(t or b"" for t in base.tokens)
    tok_off = np.zeros(base.size + 1, dtype=np.int64)
    np.cumsum([len(t or b"") for t in base.tokens], out=tok_off[1:])
    loop = run_merge_loop(
        sym,
        woff,
        wcnt,
        np.frombuffer(data, dtype=np.uint8).copy(),
        tok_off,
        vocab_size,
        min_frequency,
        max_token_length,
        max_words=max_words,
        no_colon_space=no_colon_space,
        on_progress=on_progress,
        prune=PRUNE,
    )
    new_tokens = table_bytes(loop.t_data, loop.t_off)[base.size :]
    raw = list(zip(loop.m_a.tolist(), loop.m_b.tolist()))
    return Extension(
        new_tokens=new_tokens,
        new_merges=dedupe_merges(raw),
        merge_steps=len(raw),
        train_tokens=int((loop.wlen * wcnt).sum()),
        train_bytes=train_bytes,
        timings=loop.timings,
    )


def extended_tokenizer(base: Base, ext: Extension, preset: str | None = None):
    """The base's tokenizer.json with the new tokens and merges appended; `preset` replaces the
    pre-tokenizer (SuperBPE's stage-2 split), None keeps the base's."""
    from tokenizers import Tokenizer, models

    from ..hf import byte_level_pre_tokenizer

    spec = json.loads(base.spec_json)
    model = spec["model"]
    strings = list(base.strings) + [to_byte_level(t) for t in ext.new_tokens]
    for i in range(base.size, len(strings)):
        model["vocab"][strings[i]] = i
    as_lists = bool(model["merges"]) and not isinstance(model["merges"][0], str)
    for a, b in ext.new_merges:
        sa, sb = strings[a], strings[b]
        model["merges"].append([sa, sb] if as_lists else f"{sa} {sb}")
    if preset is not None:
        holder = Tokenizer(models.BPE())
        holder.pre_tokenizer = byte_level_pre_tokenizer(preset)
        spec["pre_tokenizer"] = json.loads(holder.to_str())["pre_tokenizer"]
    return Tokenizer.from_str(json.dumps(spec, ensure_ascii=False))
