"""One interface over every tokenizer format toktool reads: `load_tokenizer` opens any of them.

Each format is read by its own library, so the numbers are the ones its users get: Hugging Face files
through `tokenizers`, sentencepiece `.model` through `sentencepiece`, tiktoken rank files through
`tiktoken`. An adapter only encodes batches of lines to flat id arrays and says, per token, which
string should encode back to it (the reachability check).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError, ToktoolError
from .hf import Encoded, flat_ids
from .pretokenize import CHAR_TO_BYTE, PRESETS

# tiktoken encodings by file name -> the split pattern they were built with (our presets hold them)
TIKTOKEN_PATTERNS = {
    "gpt2": "gpt2",
    "r50k_base": "gpt2",
    "p50k_base": "gpt2",
    "p50k_edit": "gpt2",
    "cl100k_base": "gpt4",
    "cl100k": "gpt4",
    "gpt4": "gpt4",
    "o200k_base": "o200k",
    "o200k": "o200k",
    "llama3": "llama3",
}
SP_MODEL_NAMES = ("tokenizer.model", "spiece.model", "sentencepiece.bpe.model", "sentencepiece.model")


@dataclass
class Adapter:
    name: str
    path: str
    kind: str
    sha256: str
    vocab_size: int
    special_ids: frozenset[int] = field(default_factory=frozenset)
    unk_id: int | None = None  # the id unknown characters collapse to (None: byte-level, no unknowns)

    def encode_lines(self, lines: list[str]) -> Encoded:  # pragma: no cover - abstract
        raise NotImplementedError

    def token_strings(self) -> list[str]:  # pragma: no cover - abstract
        """A printable form of every id (for lists of unused tokens)."""
        raise NotImplementedError

    def reachability_probes(self) -> dict[int, str]:  # pragma: no cover - abstract
        """id -> the text whose encoding should be exactly [id]; ids that cannot be tested alone
        (specials, partial UTF-8 bytes, word-internal continuation pieces) are left out."""
        raise NotImplementedError

    def encode_probe_batch(self, texts: list[str]) -> list[list[int]]:  # pragma: no cover - abstract
        raise NotImplementedError


def _hash_files(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        try:
            h.update(p.read_bytes())
        except OSError as e:
            raise InputError(f"{p}: cannot read: {e.strerror or e}") from None
    return h.hexdigest()


def _utf8(b: bytes) -> str | None:
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return None


# --- Hugging Face tokenizers ------------------------------------------------------------------


class HFAdapter(Adapter):
    def __init__(self, name: str, path: str, tokenizer, sha256: str):
        from tokenizers import Tokenizer

        self.tokenizer: Tokenizer = tokenizer
        spec = json.loads(tokenizer.to_str())
        self._model = spec.get("model") or {}
        self._decoder = spec.get("decoder") or {}
        added = {a["id"] for a in spec.get("added_tokens") or [] if a.get("special")}
        super().__init__(
            name=name,
            path=path,
            kind="hf-" + str(self._model.get("type", "?")).lower(),
            sha256=sha256,
            vocab_size=tokenizer.get_vocab_size(with_added_tokens=True),
            special_ids=frozenset(added),
        )
        unk = self._model.get("unk_token")
        self.unk_id = tokenizer.token_to_id(unk) if isinstance(unk, str) else None
        # encode_batch_fast skips offsets (tokenizers >= 0.21); the ids are the same
        self._batch = getattr(tokenizer, "encode_batch_fast", tokenizer.encode_batch)

    def encode_lines(self, lines: list[str]) -> Encoded:
        encs = self._batch(lines, add_special_tokens=False)
        return flat_ids([e.ids for e in encs])

    def encode_probe_batch(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self._batch(texts, add_special_tokens=False)]

    def token_strings(self) -> list[str]:
        out = [""] * self.vocab_size
        for tok, i in self.tokenizer.get_vocab(with_added_tokens=True).items():
            if 0 <= i < len(out):
                out[i] = tok
        return out

    def _decoder_types(self) -> set[str]:
        d = self._decoder
        kinds = {d.get("type")}
        for sub in d.get("decoders") or []:
            kinds.add(sub.get("type"))
            if sub.get("type") == "Replace" and (sub.get("pattern") or {}).get("String") == "▁":
                kinds.add("Metaspace")
        return kinds

    def reachability_probes(self) -> dict[int, str]:
        kinds = self._decoder_types()
        mtype = self._model.get("type")
        prefix = self._model.get("continuing_subword_prefix") or ("##" if mtype == "WordPiece" else None)
        probes: dict[int, str] = {}
        for tok, i in self.tokenizer.get_vocab(with_added_tokens=False).items():
            if i in self.special_ids or i == self.unk_id:
                continue
            if "ByteLevel" in kinds:
                text = _utf8(tok.translate(_FROM_BYTE_LEVEL).encode("latin-1")) if _BYTE_ALPHABET.issuperset(tok) else None
            elif "Metaspace" in kinds:
                # word-initial pieces carry ▁ and encode from the bare word; word-internal ones cannot
                # be produced on their own
                text = tok[1:].replace("▁", " ") if tok.startswith("▁") and len(tok) > 1 else None
            elif mtype == "WordPiece" and prefix and tok.startswith(prefix):
                text = None
            else:
                text = tok
            if text and not text.isspace():
                probes[i] = text
        return probes


_BYTE_ALPHABET = frozenset(CHAR_TO_BYTE)
_FROM_BYTE_LEVEL = {ord(c): b for c, b in CHAR_TO_BYTE.items()}  # str.translate, then latin-1 = the bytes


# --- sentencepiece ----------------------------------------------------------------------------


class SPAdapter(Adapter):
    def __init__(self, name: str, path: Path, sha256: str):
        import sentencepiece as spm

        try:
            self.sp = spm.SentencePieceProcessor(model_file=str(path))
        except (RuntimeError, OSError) as e:
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise InputError(f"{path}: not a valid sentencepiece model ({msg})") from None
        n = self.sp.get_piece_size()
        special = {i for i in range(n) if self.sp.is_control(i) or self.sp.is_unknown(i) or self.sp.is_unused(i)}
        super().__init__(name=name, path=str(path), kind="sentencepiece", sha256=sha256, vocab_size=n, special_ids=frozenset(special))
        self.unk_id = self.sp.unk_id() if self.sp.unk_id() >= 0 else None
        # does the model put a ▁ in front of the first word? then word-initial pieces encode from the bare word
        first = self.sp.encode("a", out_type=str)
        self._dummy_prefix = bool(first) and first[0].startswith("▁")

    def encode_lines(self, lines: list[str]) -> Encoded:
        return flat_ids(self.sp.encode(lines))

    def encode_probe_batch(self, texts: list[str]) -> list[list[int]]:
        return self.sp.encode(texts)

    def token_strings(self) -> list[str]:
        return [self.sp.id_to_piece(i) for i in range(self.vocab_size)]

    def reachability_probes(self) -> dict[int, str]:
        probes: dict[int, str] = {}
        for i in range(self.vocab_size):
            if i in self.special_ids or self.sp.is_byte(i):
                continue
            surface = self.sp.id_to_piece(i).replace("▁", " ")
            if self._dummy_prefix:
                if not surface.startswith(" "):
                    continue  # word-internal piece: never produced alone
                surface = surface[1:]
            if surface and not surface.isspace():
                probes[i] = surface
        return probes


# --- tiktoken ---------------------------------------------------------------------------------


class TiktokenAdapter(Adapter):
    def __init__(self, name: str, path: Path, sha256: str, pattern: str):
        try:
            import tiktoken
        except ImportError:
            raise ToktoolError(f"{path}: reading .tiktoken files needs the 'tiktoken' package (pip install 'toktool[eval]')") from None
        ranks = _read_tiktoken_ranks(path)
        self.enc = tiktoken.Encoding(name=name, pat_str=PRESETS[pattern].pattern or "", mergeable_ranks=ranks, special_tokens={})
        self._bytes = {r: b for b, r in ranks.items()}
        super().__init__(name=name, path=str(path), kind=f"tiktoken/{pattern}", sha256=sha256, vocab_size=max(ranks.values()) + 1)

    def _batch(self, texts: list[str]) -> list[list[int]]:
        """tiktoken's own batch call submits one thread-pool task per text, which costs more than the
        encoding for short lines; one contiguous slice per core does the same work without that."""
        enc = self.enc.encode_ordinary
        workers = min(os.cpu_count() or 1, max(1, len(texts) // 2048))
        if workers == 1:
            return [enc(t) for t in texts]
        step = -(-len(texts) // workers)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = pool.map(lambda i: [enc(t) for t in texts[i : i + step]], range(0, len(texts), step))
            return [ids for part in parts for ids in part]

    def encode_lines(self, lines: list[str]) -> Encoded:
        return flat_ids(self._batch(lines))

    def encode_probe_batch(self, texts: list[str]) -> list[list[int]]:
        return self._batch(texts)

    def token_strings(self) -> list[str]:
        out = [""] * self.vocab_size
        for r, b in self._bytes.items():
            out[r] = b.decode("utf-8", errors="backslashreplace")
        return out

    def reachability_probes(self) -> dict[int, str]:
        probes: dict[int, str] = {}
        for r, b in self._bytes.items():
            text = _utf8(b)
            if text and not text.isspace():
                probes[r] = text
        return probes


def _read_tiktoken_ranks(path: Path) -> dict[bytes, int]:
    """The .tiktoken format: one `base64(token) rank` per line (what tiktoken.load reads)."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror or e}") from None
    ranks: dict[bytes, int] = {}
    for lineno, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            tok, rank = line.split()
            ranks[base64.b64decode(tok, validate=True)] = int(rank)
        except (ValueError, TypeError):
            raise InputError(f"{path}:{lineno}: not a tiktoken rank file (expected 'base64 rank' lines)") from None
    if not ranks:
        raise InputError(f"{path}: empty tiktoken file")
    if len(set(ranks.values())) != len(ranks):
        raise InputError(f"{path}: duplicate ranks in tiktoken file")
    return ranks


# --- dispatch ---------------------------------------------------------------------------------


def tiktoken_pattern_for(path: Path, pattern: str | None) -> str:
    if pattern:
        key = TIKTOKEN_PATTERNS.get(pattern, pattern)
        if key not in PRESETS or PRESETS[key].pattern is None:
            raise ToktoolError(f"unknown tiktoken split pattern '{pattern}' (one of: {', '.join(sorted(TIKTOKEN_PATTERNS))})")
        return key
    stem = path.name.split(".")[0]
    if stem in TIKTOKEN_PATTERNS:
        return TIKTOKEN_PATTERNS[stem]
    raise ToktoolError(
        f"{path}: cannot tell which split pattern this tiktoken file uses; pass --tiktoken-pattern (one of: {', '.join(sorted(TIKTOKEN_PATTERNS))})"
    )


def _default_name(p: Path) -> str:
    r = p.resolve()
    if r.is_dir():
        return r.name
    if r.name in ("tokenizer.json", *SP_MODEL_NAMES):
        return r.parent.name
    return r.name.split(".")[0]


def load_tokenizer(path: str | Path, name: str | None = None, tiktoken_pattern: str | None = None) -> Adapter:
    """Any tokenizer on disk as an Adapter: a toktool output dir, an HF tokenizer.json or model dir
    (tokenizer.json, vocab.json + merges.txt, or a sentencepiece model), a sentencepiece .model, a
    .tiktoken file (`tiktoken_pattern` names its split when the file name does not).

    Each format is read by its own library. `name` is the display name (default: from the path).
    Returns an Adapter (`encode_lines`, `token_strings`, `vocab_size`, `special_ids`, `unk_id`,
    `sha256` of the files read). Raises InputError (naming the file) when it is missing or not a tokenizer, ToktoolError when a
    .tiktoken file's split pattern is unknown."""
    from .hf import load_hf_tokenizer

    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such tokenizer file or directory")
    display = name or _default_name(p)
    if p.is_dir():
        if (p / "tokenizer.json").is_file() or ((p / "vocab.json").is_file() and (p / "merges.txt").is_file()):
            lt = load_hf_tokenizer(p)
            return HFAdapter(display, str(p), lt.tokenizer, lt.sha256)
        for sp_name in SP_MODEL_NAMES:
            if (p / sp_name).is_file():
                f = p / sp_name
                return SPAdapter(display, f, _hash_files([f]))
        tk = sorted(p.glob("*.tiktoken"))
        if len(tk) == 1:
            return TiktokenAdapter(display, tk[0], _hash_files(tk), tiktoken_pattern_for(tk[0], tiktoken_pattern))
        raise InputError(f"{p}: directory has no tokenizer (tokenizer.json, vocab.json + merges.txt, a sentencepiece model or one .tiktoken file)")
    if p.suffix == ".tiktoken":
        return TiktokenAdapter(display, p, _hash_files([p]), tiktoken_pattern_for(p, tiktoken_pattern))
    if p.suffix == ".model" or _looks_like_protobuf(p):
        return SPAdapter(display, p, _hash_files([p]))
    lt = load_hf_tokenizer(p)
    return HFAdapter(display, str(p), lt.tokenizer, lt.sha256)


def _looks_like_protobuf(p: Path) -> bool:
    """A sentencepiece model saved under another name starts with field 1 (pieces), length-delimited."""
    try:
        with open(p, "rb") as f:
            head = f.read(1)
    except OSError:
        return False
    return head == b"\x0a"
