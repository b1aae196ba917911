"""The tokenizer.json contract, in and out: export trained tokenizers, load Hugging Face tokenizers.

`tokenizer.json` is the contract: it is produced by the `tokenizers` library itself from our vocab and
merges, so `tokenizers` and `transformers` load it unchanged and encode exactly as toktool does.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, processors

from .errors import InputError, ToktoolError
from .pretokenize import BYTE_TO_CHAR, DEFAULT_PRESET, get_preset, to_byte_level
from .vocab import BPEResult

_POSSESSIVE_INTERVAL = re.compile(r"(\\[pP]\{\w+\}|\[(?:\\.|[^\]])*\]|\\.|[^\\])(\{\d+(?:,\d*)?\})\+")


def onig_pattern(pattern: str) -> str:
    """Rewrite a `regex`-module pattern so Oniguruma (HF tokenizers' engine) means the same thing.

    Oniguruma's Ruby syntax reads `X{1,3}+` as "X{1,3}, one or more times", not as a possessive
    interval (so cl100k's `\\p{N}{1,3}+` would swallow whole digit runs). The atomic group
    `(?>X{1,3})` is the exact possessive meaning in both engines.
    """
    return _POSSESSIVE_INTERVAL.sub(r"(?>\1\2)", pattern)


def byte_level_pre_tokenizer(preset: str):
    """The HF pre-tokenizer that splits exactly like our counting did, then maps bytes to chars."""
    p = get_preset(preset)
    if preset == "gpt2":
        # ByteLevel's built-in regex *is* GPT-2's pattern: the canonical GPT-2 tokenizer.json shape.
        return pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if p.pattern is None:
        return pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    return pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(onig_pattern(p.pattern)), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )


def vocab_strings(result: BPEResult) -> list[str]:
    """The vocabulary as tokenizer.json strings by id: special tokens as they are, the rest byte-level."""
    n = len(result.special_tokens)
    return list(result.special_tokens) + [to_byte_level(t) for t in result.tokens[: result.vocab_size - n]]


def build_tokenizer(result: BPEResult, preset: str) -> Tokenizer:
    """The `tokenizers.Tokenizer` of a trained byte-level BPE: BPE model with the merges in rank order,
    the pre-tokenizer that splits as `preset` did (byte_level_pre_tokenizer), ByteLevel decoder and
    post-processor, special tokens as added tokens. Raises ToktoolError if two ids share a string."""
    toks = vocab_strings(result)
    vocab = {t: i for i, t in enumerate(toks)}
    if len(vocab) != len(toks):
        raise ToktoolError("internal error: duplicate token strings in the vocabulary")
    merges = [(toks[a], toks[b]) for a, b in result.merges]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, dropout=None, fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = byte_level_pre_tokenizer(preset)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    if result.special_tokens:
        tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in result.special_tokens])
    return tok


def export_files(result: BPEResult, preset: str, train_info: dict) -> dict[str, bytes]:
    """All output files as bytes (written atomically by the caller): same input, same bytes."""
    return export_tokenizer_files(build_tokenizer(result, preset), train_info)


def merge_pairs(spec_merges: list) -> list[tuple[str, str]]:
    """tokenizer.json stores merges as "a b" strings (older) or [a, b] lists (tokenizers >= 0.20)."""
    out = []
    for m in spec_merges:
        if isinstance(m, str):
            a, _, b = m.partition(" ")
            out.append((a, b))
        else:
            out.append((m[0], m[1]))
    return out


def export_tokenizer_files(tok: Tokenizer, train_info: dict) -> dict[str, bytes]:
    """tokenizer.json, the GPT-2 style vocab.json + merges.txt of its BPE model, and train.json."""
    tokenizer_json = tok.to_str(pretty=True).encode("utf-8") + b"\n"
    model = json.loads(tokenizer_json)["model"]
    vocab = dict(sorted(model["vocab"].items(), key=lambda kv: kv[1]))
    vocab_json = (json.dumps(vocab, ensure_ascii=False, indent=None) + "\n").encode("utf-8")
    merges_txt = ("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merge_pairs(model["merges"]))).encode("utf-8")
    files = {"tokenizer.json": tokenizer_json, "vocab.json": vocab_json, "merges.txt": merges_txt}
    hashes = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    info = dict(train_info)
    info["outputs"] = hashes
    files["train.json"] = (json.dumps(info, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")
    return files


# --- loading ---------------------------------------------------------------------------------


@dataclass
class LoadedTokenizer:
    """A tokenizer from disk with a short display name and a content hash (for signatures)."""

    name: str
    path: str
    tokenizer: Tokenizer
    sha256: str

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size(with_added_tokens=True)


def read_tokenizer_json(path: Path) -> Tokenizer:
    """A tokenizers.Tokenizer from a tokenizer.json file. Raises InputError (naming the file) when it
    cannot be read or parsed, or when its unknown-token settings make it fail on text it has no piece
    for (`check_unknown_path`)."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8")
        tok = Tokenizer.from_str(text)
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a tokenizer file (not UTF-8 text)") from None
    except Exception as e:  # tokenizers raises a generic Exception for any parse failure
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InputError(f"{path}: not a valid tokenizer.json ({msg})") from None
    check_unknown_path(json.loads(text), str(path))
    return tok


# bytes that occur in valid UTF-8: what a byte fallback or a byte-level alphabet must cover so that
# no character of any text is outside the vocabulary (C0, C1 and F5..FF never occur)
UTF8_BYTES = (*range(0x00, 0xC0), *range(0xC2, 0xF5))


def _covers_every_character(model: dict, vocab: dict, byte_level: bool) -> bool:
    """Whether a BPE model spells any text without its unknown token: byte fallback with a piece for
    every UTF-8 byte, or a byte-level pipeline whose vocabulary has every byte's character in each
    form a word position gives it (continuing-subword prefix, end-of-word suffix)."""
    pieces = set(vocab)
    if model.get("byte_fallback") and all(f"<0x{b:02X}>" in pieces for b in UTF8_BYTES):
        return True
    if not byte_level:
        return False
    prefix, suffix = model.get("continuing_subword_prefix") or "", model.get("end_of_word_suffix") or ""
    forms = {(a, z) for a in {"", prefix} for z in {"", suffix}}
    return all(a + BYTE_TO_CHAR[b] + z in pieces for b in UTF8_BYTES for a, z in forms)


def pipeline_types(node) -> set[str]:
    """The "type" of a tokenizer.json pipeline node and of every member of its Sequences."""
    if not isinstance(node, dict):
        return set()
    out = {node.get("type")}
    for key in ("normalizers", "pretokenizers", "decoders", "processors"):
        for sub in node.get(key) or []:
            out |= pipeline_types(sub)
    return out


def check_unknown_path(spec: dict, where: str) -> None:
    """Refuse a tokenizer.json whose unknown-token settings make `tokenizers` fail at the first text it
    has no piece for (it loads such files and raises only while encoding): a WordPiece or WordLevel
    `unk_token` missing from the vocabulary, a BPE `unk_token` missing from the vocabulary when neither
    byte fallback nor a byte-level alphabet covers every character, a Unigram model with
    `"unk_id": null` (with or without byte fallback).

    spec: the parsed tokenizer.json; where: the file named in the message. Raises InputError naming
    `where` and the field at fault; returns None when the model can encode any text."""
    model = spec.get("model") or {}
    mtype = model.get("type")
    vocab = model.get("vocab")
    if not isinstance(vocab, dict | list):
        return
    byte_level = "ByteLevel" in pipeline_types(spec.get("normalizer")) | pipeline_types(spec.get("pre_tokenizer"))
    if mtype == "Unigram":
        # byte fallback does not help here: tokenizers' Unigram spells the unknown piece in bytes
        # after the search, and the search itself needs unk_id for a character with no piece of its own
        if model.get("unk_id") is None:
            raise InputError(f'{where}: the Unigram model has "unk_id": null, so tokenizers fails on any character that is not a piece of its own')
        return
    unk = model.get("unk_token")
    if mtype not in ("BPE", "WordPiece", "WordLevel") or not isinstance(unk, str) or not isinstance(vocab, dict) or unk in vocab:
        return
    if mtype == "BPE" and _covers_every_character(model, vocab, byte_level):
        return  # the unknown token is never needed
    what = {
        "BPE": "character outside its vocabulary (no complete byte fallback or byte-level alphabet covers them)",
        "WordPiece": "word its pieces cannot spell",
        "WordLevel": "word outside its vocabulary",
    }[mtype]
    raise InputError(f"{where}: the {mtype} model's unk_token {unk!r} is not in its vocabulary, so tokenizers fails on any {what}")


def _from_vocab_merges(vocab: Path, merges: Path, preset: str) -> Tokenizer:
    try:
        model = models.BPE.from_file(str(vocab), str(merges))
    except Exception as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InputError(f"{vocab.parent}: cannot load vocab.json + merges.txt ({msg})") from None
    tok = Tokenizer(model)
    tok.pre_tokenizer = byte_level_pre_tokenizer(preset)
    tok.decoder = decoders.ByteLevel()
    return tok


def _hash_files(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()


def trained_preset(directory: Path) -> str | None:
    """The pre-tokenizer preset a toktool output directory was trained with (its train.json's
    options.pretokenizer), or None when the directory has no train.json. Raises InputError when
    train.json cannot be read."""
    info = Path(directory) / "train.json"
    if not info.is_file():
        return None
    try:
        return json.loads(info.read_text(encoding="utf-8"))["options"]["pretokenizer"]
    except (ValueError, KeyError, TypeError, OSError):
        raise InputError(f"{info}: unreadable train.json") from None


def load_hf_tokenizer(path: str | Path, name: str | None = None) -> LoadedTokenizer:
    """Load a toktool output dir, a tokenizer.json, or a directory with vocab.json + merges.txt."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such tokenizer file or directory")
    files: list[Path]
    if p.is_dir():
        if (p / "tokenizer.json").is_file():
            files = [p / "tokenizer.json"]
            tok = read_tokenizer_json(files[0])
        elif (p / "vocab.json").is_file() and (p / "merges.txt").is_file():
            preset = trained_preset(p) or DEFAULT_PRESET
            files = [p / "vocab.json", p / "merges.txt"]
            tok = _from_vocab_merges(files[0], files[1], preset)
        else:
            raise InputError(f"{p}: directory has no tokenizer.json (nor vocab.json + merges.txt)")
        default_name = p.resolve().name
    else:
        files = [p]
        tok = read_tokenizer_json(p)
        default_name = p.resolve().parent.name if p.name == "tokenizer.json" else p.stem
    return LoadedTokenizer(name=name or default_name, path=str(p), tokenizer=tok, sha256=_hash_files(files))


# --- encoded text as flat arrays --------------------------------------------------------------


@dataclass
class Encoded:
    """Flat ids plus per-line lengths: the one shape every metric and the transplant donor space
    work from."""

    ids: np.ndarray  # int64, all lines concatenated
    lengths: np.ndarray  # int64, tokens per line


def flat_ids(seqs: list[list[int]]) -> Encoded:
    """Token id lists as one Encoded (ids int64[sum of lengths], lengths int64[len(seqs)]).

    Example: flat_ids([[5, 6], [], [7]]) -> ids [5, 6, 7], lengths [2, 0, 1]."""
    lengths = np.fromiter(map(len, seqs), dtype=np.int64, count=len(seqs))
    ids = np.fromiter(itertools.chain.from_iterable(seqs), dtype=np.int64, count=int(lengths.sum()))
    return Encoded(ids=ids, lengths=lengths)
