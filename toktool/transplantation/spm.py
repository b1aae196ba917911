"""A sentencepiece `.model` as a `tokenizers` Tokenizer, for transplant (which reads every
tokenizer through `tokenizers`), without the protobuf package.

The pieces, scores and piece kinds come from `sentencepiece` itself; the three settings it does not
expose are read from the serialized ModelProto (sentencepiece's `sentencepiece_model.proto`):
`trainer_spec.model_type` (field 2.3: 1 unigram, 2 BPE), `trainer_spec.byte_fallback` (2.35) and
`normalizer_spec.add_dummy_prefix` (3.3, default true), `normalizer_spec.remove_extra_whitespaces` (3.4,
default true). The layout written is the one Hugging Face's
converters give Llama-2 (`LlamaConverter`): no pre-tokenizer, a normalizer `Prepend("▁")` (when the
model adds a dummy prefix) + `Replace(" ", "▁")`, a decoder `Replace("▁", " ")` / `ByteFallback` /
`Fuse` / `Strip`; BPE merges are recovered from the vocabulary as `SentencePieceExtractor` does.
sentencepiece's NFKC character map is not carried over (text it would change encodes differently).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import InputError


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    out = shift = 0
    while True:
        b = buf[i]
        i += 1
        out |= (b & 0x7F) << shift
        if not b & 0x80:
            return out, i
        shift += 7


def _fields(buf: bytes) -> dict[int, list]:
    """Top-level fields of a protobuf message: number -> values (ints, or bytes when length-delimited)."""
    out: dict[int, list] = {}
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _varint(buf, i)
        elif wire == 2:
            n, i = _varint(buf, i)
            v, i = buf[i : i + n], i + n
        elif wire == 5:
            v, i = buf[i : i + 4], i + 4
        elif wire == 1:
            v, i = buf[i : i + 8], i + 8
        else:
            raise ValueError(f"wire type {wire}")
        out.setdefault(num, []).append(v)
    return out


def spm_settings(path: Path) -> tuple[int, bool, bool, bool]:
    """(model_type, byte_fallback, add_dummy_prefix, remove_extra_whitespaces) of a sentencepiece
    model file.

    Raises InputError when the file is not a ModelProto."""
    try:
        top = _fields(path.read_bytes())
        trainer = _fields(top[2][0]) if 2 in top else {}
        norm = _fields(top[3][0]) if 3 in top else {}
    except (OSError, IndexError, ValueError, KeyError):
        raise InputError(f"{path}: not a valid sentencepiece model") from None
    return trainer.get(3, [1])[0], bool(trainer.get(35, [0])[0]), bool(norm.get(3, [1])[0]), bool(norm.get(4, [1])[0])


def spm_tokenizer(path: Path):
    """The sentencepiece model at `path` as a tokenizers.Tokenizer (Unigram or BPE, see the module
    docstring). Raises InputError for a file sentencepiece cannot load or a WORD/CHAR model."""
    import sentencepiece as spm
    from tokenizers import AddedToken, Tokenizer

    try:
        sp = spm.SentencePieceProcessor(model_file=str(path))
    except (RuntimeError, OSError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InputError(f"{path}: not a valid sentencepiece model ({msg})") from None
    mtype, byte_fallback, dummy, fold = spm_settings(path)
    n = sp.get_piece_size()
    pieces = [sp.id_to_piece(i) for i in range(n)]
    unk = sp.unk_id() if sp.unk_id() >= 0 else None
    if mtype == 1:
        model = {"type": "Unigram", "unk_id": unk, "vocab": [[p, sp.get_score(i)] for i, p in enumerate(pieces)], "byte_fallback": byte_fallback}
    elif mtype == 2:
        vocab = {p: i for i, p in enumerate(pieces)}
        merges = []
        for i, p in enumerate(pieces):
            if sp.is_control(i) or sp.is_unknown(i) or sp.is_byte(i):
                continue
            local = [(vocab[p[:c]], vocab[p[c:]], p[:c], p[c:]) for c in range(1, len(p)) if p[:c] in vocab and p[c:] in vocab]
            merges += [(i, a, b, left, right) for a, b, left, right in sorted(local)]
        merges.sort()
        model = {"type": "BPE", "vocab": vocab, "merges": [[m[3], m[4]] for m in merges], "unk_token": pieces[unk] if unk is not None else None, "fuse_unk": True, "byte_fallback": byte_fallback, "dropout": None, "continuing_subword_prefix": None, "end_of_word_suffix": None, "ignore_merges": False}
    else:
        raise InputError(f"{path}: sentencepiece model type {mtype} (word/char) is not supported; only unigram and BPE")
    # remove_extra_whitespaces: sentencepiece strips the ends and folds runs of spaces (as HF's T5 converter does)
    norm = [{"type": "Strip", "strip_left": True, "strip_right": True}, {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}] if fold else []
    norm += ([{"type": "Prepend", "prepend": "▁"}] if dummy else []) + [{"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]
    dec = [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}]
    if dummy:
        dec.append({"type": "Strip", "content": " ", "start": 1, "stop": 0})
    spec = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": [], "normalizer": {"type": "Sequence", "normalizers": norm}, "pre_tokenizer": None, "post_processor": None, "decoder": {"type": "Sequence", "decoders": dec}, "model": model}
    tok = Tokenizer.from_str(json.dumps(spec))
    specials = [pieces[i] for i in range(n) if sp.is_control(i) or sp.is_unknown(i)]
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return tok


SP_NAMES = ("tokenizer.model", "spiece.model", "sentencepiece.bpe.model", "sentencepiece.model")


def find_spm(path: Path) -> Path | None:
    """The sentencepiece model a path names: the file itself (`*.model`), or one in a directory
    that has no tokenizer.json."""
    if path.is_file() and path.suffix == ".model":
        return path
    if path.is_dir() and not (path / "tokenizer.json").is_file():
        for name in SP_NAMES:
            if (path / name).is_file():
                return path / name
    return None
