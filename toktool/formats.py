"""One interface over every tokenizer format toktool reads: `load_tokenizer` opens any of them.

Each format is read by its own library, so the numbers are the ones its users get: Hugging Face files
through `tokenizers`, sentencepiece `.model` through `sentencepiece`, tiktoken rank files through
`tiktoken`. An adapter encodes batches of texts (to ids, or to ids and token strings), decodes ids,
and says, per token, which string should encode back to it (the reachability check). When the library
fails on some text, the adapter raises CodecError naming the tokenizer file and the failing item, never
the library's own exception.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CodecError, InputError, ToktoolError
from .hf import Encoded, flat_ids, load_hf_tokenizer
from .options import FORMATS_HELP, TIKTOKEN_PATTERNS  # noqa: F401 - FORMATS_HELP re-exported
from .pretokenize import CHAR_TO_BYTE, PRESETS, to_byte_level

# tiktoken encodings by file name -> the split pattern they were built with (our presets hold them)
SP_MODEL_NAMES = ("tokenizer.model", "spiece.model", "sentencepiece.bpe.model", "sentencepiece.model")
# what every command that takes a tokenizer accepts (its --help says so)
_BYTE_PIECE = re.compile(r"^<0x[0-9A-F]{2}>$")


def library_failure(e: BaseException) -> bool:
    """Whether `e` is a tokenizer library failing on its input, as opposed to a bug or an interrupt:
    `tokenizers` raises plain Exception, sentencepiece RuntimeError, and a Rust panic (tokenizers or
    tiktoken) arrives as pyo3's PanicException, a BaseException."""
    if isinstance(e, MemoryError | KeyboardInterrupt | SystemExit | GeneratorExit | ToktoolError):
        return False
    return type(e) in (Exception, RuntimeError) or type(e).__name__ == "PanicException"


def failure_reason(library: str, e: BaseException) -> str:
    """One line saying what `library` reported (the first line of its message)."""
    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return f"{library} panicked: {msg}" if type(e).__name__ == "PanicException" else f"{library}: {msg}"


@contextlib.contextmanager
def _fd2_silenced():
    """Send file descriptor 2 to /dev/null for the duration (no-op when it cannot be redirected)."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
        finally:
            os.close(devnull)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _text_lines(text: str) -> list[str]:
    """`text` split after each \\n (the lines a file holds), newlines kept."""
    parts = text.split("\n")
    return [q + "\n" for q in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


@dataclass
class Adapter:
    """One tokenizer in any format. Subclasses implement `_encode`, `_encode_tokens` and `_decode`
    (the library calls) and the reachability probes; the public methods add the error handling.

    special_ids: ids plain text never encodes to as vocabulary pieces (special and control tokens,
    and the unknown token), left out of vocabulary utilisation and the reachability check.
    unk_id: the id unknown text collapses to (None: the tokenizer has no unknown token)."""

    name: str
    path: str
    kind: str
    sha256: str
    vocab_size: int
    special_ids: frozenset[int] = field(default_factory=frozenset)
    unk_id: int | None = None  # the id unknown characters collapse to (None: byte-level, no unknowns)
    source: str = ""  # the file read (tokenizer.json inside a model dir); messages name it. "" = path
    library = "?"

    # --- what each format implements ---------------------------------------------------------------

    def _encode(self, texts: list[str], add_special_tokens: bool) -> list[list[int]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _encode_tokens(self, texts: list[str], add_special_tokens: bool) -> list[tuple[list[int], list[str]]]:  # pragma: no cover
        raise NotImplementedError

    def _decode(self, ids: list[list[int]], skip_special_tokens: bool) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def token_strings(self) -> list[str]:  # pragma: no cover - abstract
        """A printable form of every id (for lists of unused tokens)."""
        raise NotImplementedError

    def reachability_probes(self) -> dict[int, str]:  # pragma: no cover - abstract
        """id -> the text whose encoding should be exactly [id]; ids that cannot be tested alone
        (specials, partial UTF-8 bytes, word-internal continuation pieces) are left out."""
        raise NotImplementedError

    # --- the interface every command uses ------------------------------------------------------------

    def encode_batch(self, texts: list[str], add_special_tokens: bool = False) -> list[list[int]]:
        """Token ids of each text, as the format's own library gives them (tokenizers' encode,
        sentencepiece's encode, tiktoken's encode_ordinary). `add_special_tokens` lets a tokenizer.json
        post-processor add its BOS/EOS/CLS... tokens (other formats have none: ToktoolError).
        Raises CodecError (index = the failing text, line = its failing line) when the library fails."""
        return self._guarded(self._encode, texts, add_special_tokens, "encode")

    def encode_with_tokens(self, texts: list[str], add_special_tokens: bool = False) -> list[tuple[list[int], list[str]]]:
        """(ids, token strings) of each text; token strings are the vocabulary's own spelling
        (byte-level `Ġ` for tiktoken, like GPT-2's files). Errors as `encode_batch`."""
        return self._guarded(self._encode_tokens, texts, add_special_tokens, "encode")

    def decode_batch(self, ids: list[list[int]], skip_special_tokens: bool = False) -> list[str]:
        """The text of each id list, by the format's own library (invalid UTF-8 becomes U+FFFD).
        Raises CodecError (index = the failing list) for an id the vocabulary does not have or a
        library failure."""
        return self._guarded(self._decode, ids, skip_special_tokens, "decode")

    def encode_lines(self, lines: list[str]) -> Encoded:
        """Lines without special tokens as one flat Encoded (ids and per-line lengths)."""
        return flat_ids(self.encode_batch(lines))

    def encode_probe_batch(self, texts: list[str]) -> list[list[int]]:
        """Ids of each probe text (the reachability check); same as encode_batch."""
        return self.encode_batch(texts)

    def _guarded(self, call, items: list, flag: bool, action: str) -> list:
        """`call(items, flag)`, with a library failure turned into a CodecError that says which item
        (and which line of it) fails. The batch is retried one item at a time only after a failure."""
        try:
            return call(items, flag)
        except BaseException as e:
            if not library_failure(e):
                raise
            first = e
        # a Rust panic prints its message (and, with RUST_BACKTRACE, a backtrace) on fd 2 before
        # Python sees it: the first one was shown, the retries that find the item stay quiet
        with _fd2_silenced():
            for i, item in enumerate(items):
                try:
                    call([item], flag)
                except BaseException as e:
                    if not library_failure(e):
                        raise
                    line = None
                    if isinstance(item, str):
                        lines = _text_lines(item)
                        line = 1 if len(lines) <= 1 else next((k for k, ln in enumerate(lines, 1) if not self._succeeds(call, ln, flag)), None)
                    raise CodecError(self.source or self.path, failure_reason(self.library, e), i, line, action) from None
        raise CodecError(self.source or self.path, failure_reason(self.library, first), None, None, action) from None

    @staticmethod
    def _succeeds(call, item, flag: bool) -> bool:
        try:
            call([item], flag)
        except BaseException as e:
            if not library_failure(e):
                raise
            return False
        return True


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
    """A Hugging Face tokenizer (tokenizer.json, or vocab.json + merges.txt) through `tokenizers`.

    Truncation and padding settings of the file are dropped: they shape model inputs, and a count or
    an encoding of a line must hold all of its tokens and no padding."""

    library = "tokenizers"

    def __init__(self, name: str, path: str, tokenizer, sha256: str):
        from tokenizers import Tokenizer

        if tokenizer.truncation is not None or tokenizer.padding is not None:
            tokenizer = Tokenizer.from_str(tokenizer.to_str())  # a copy: the caller's object stays as it was
            tokenizer.no_truncation()
            tokenizer.no_padding()
        self.tokenizer: Tokenizer = tokenizer
        spec = json.loads(tokenizer.to_str())
        self._model = spec.get("model") or {}
        self._decoder = spec.get("decoder") or {}
        unk_id = hf_unk_id(self._model)
        added = {a["id"] for a in spec.get("added_tokens") or [] if a.get("special")}
        super().__init__(
            name=name,
            path=path,
            kind="hf-" + str(self._model.get("type", "?")).lower(),
            sha256=sha256,
            vocab_size=tokenizer.get_vocab_size(with_added_tokens=True),
            special_ids=frozenset(added | ({unk_id} if unk_id is not None else set())),
            unk_id=unk_id,
        )
        # encode_batch_fast skips offsets (tokenizers >= 0.21); the ids are the same
        self._batch = getattr(tokenizer, "encode_batch_fast", tokenizer.encode_batch)

    def _encode(self, texts: list[str], add_special_tokens: bool) -> list[list[int]]:
        return [e.ids for e in self._batch(texts, add_special_tokens=add_special_tokens)]

    def _encode_tokens(self, texts: list[str], add_special_tokens: bool) -> list[tuple[list[int], list[str]]]:
        # encode_batch_fast leaves the token strings empty: the full call here
        return [(e.ids, e.tokens) for e in self.tokenizer.encode_batch(texts, add_special_tokens=add_special_tokens)]

    def _decode(self, ids: list[list[int]], skip_special_tokens: bool) -> list[str]:
        return self.tokenizer.decode_batch(ids, skip_special_tokens=skip_special_tokens)

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
        model = self._model
        mtype = model.get("type")
        # word-position marks of the model: a piece with the continuing-subword prefix only follows
        # another piece, and with an end-of-word suffix only a piece that has it ends a word
        prefix = model.get("continuing_subword_prefix") or ("##" if mtype == "WordPiece" else None)
        suffix = model.get("end_of_word_suffix") or None
        byte_fallback = bool(model.get("byte_fallback"))
        probes: dict[int, str] = {}
        for tok, i in self.tokenizer.get_vocab(with_added_tokens=False).items():
            if i in self.special_ids or i == self.unk_id:
                continue
            if byte_fallback and _BYTE_PIECE.match(tok):
                continue  # one byte of a character outside the vocabulary: not text of its own
            if prefix and tok.startswith(prefix) and len(tok) > len(prefix):
                continue
            if suffix:
                if not tok.endswith(suffix) or len(tok) == len(suffix):
                    continue
                tok = tok[: -len(suffix)]
            if "ByteLevel" in kinds:
                text = _utf8(tok.translate(_FROM_BYTE_LEVEL).encode("latin-1")) if _BYTE_ALPHABET.issuperset(tok) else None
            elif "Metaspace" in kinds:
                # word-initial pieces carry ▁ and encode from the bare word; word-internal ones cannot
                # be produced on their own
                text = tok[1:].replace("▁", " ") if tok.startswith("▁") and len(tok) > 1 else None
            else:
                text = tok
            if text and not text.isspace():
                probes[i] = text
        return probes


def hf_unk_id(model: dict) -> int | None:
    """The id a tokenizer.json model gives unknown text: Unigram stores it as `unk_id`, BPE, WordPiece
    and WordLevel as the string `unk_token` (looked up in the model's vocabulary, the one place the
    model itself looks). None when there is none, or when it is not in the vocabulary."""
    if model.get("type") == "Unigram":
        unk = model.get("unk_id")
        return unk if isinstance(unk, int) and not isinstance(unk, bool) else None
    unk, vocab = model.get("unk_token"), model.get("vocab")
    if isinstance(unk, str) and isinstance(vocab, dict):
        return vocab.get(unk)
    return None


_BYTE_ALPHABET = frozenset(CHAR_TO_BYTE)
_FROM_BYTE_LEVEL = {ord(c): b for c, b in CHAR_TO_BYTE.items()}  # str.translate, then latin-1 = the bytes


# --- sentencepiece ----------------------------------------------------------------------------


class SPAdapter(Adapter):
    """A sentencepiece model through `sentencepiece` (ids equal `SentencePieceProcessor.encode`)."""

    library = "sentencepiece"

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

    def _no_post_processor(self, add_special_tokens: bool) -> None:
        if add_special_tokens:
            raise ToktoolError(
                f"{self.path}: a sentencepiece model does not say which special tokens to add "
                "(a tokenizer.json post-processor does); encode without adding special tokens"
            )

    def _encode(self, texts: list[str], add_special_tokens: bool) -> list[list[int]]:
        self._no_post_processor(add_special_tokens)
        return self.sp.encode(texts)

    def _encode_tokens(self, texts: list[str], add_special_tokens: bool) -> list[tuple[list[int], list[str]]]:
        return [(ids, [self.sp.id_to_piece(i) for i in ids]) for ids in self._encode(texts, add_special_tokens)]

    def _decode(self, ids: list[list[int]], skip_special_tokens: bool) -> list[str]:
        if skip_special_tokens:
            ids = [[i for i in seq if i not in self.special_ids] for seq in ids]
        return self.sp.decode(ids)

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
    """A tiktoken rank file through `tiktoken` (ids equal `Encoding.encode_ordinary` with the split
    pattern of `pattern`, one of our presets)."""

    library = "tiktoken"

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

    def _encode(self, texts: list[str], add_special_tokens: bool) -> list[list[int]]:
        if add_special_tokens:
            raise ToktoolError(f"{self.path}: a tiktoken rank file has no special tokens to add; encode without adding special tokens")
        return self._batch(texts)

    def _encode_tokens(self, texts: list[str], add_special_tokens: bool) -> list[tuple[list[int], list[str]]]:
        # byte-level spelling (Ġ for a space): GPT-2's own token strings for the same vocabulary, and
        # never a space inside a token of a space-separated list
        return [(ids, [to_byte_level(self._bytes[i]) for i in ids]) for ids in self._encode(texts, add_special_tokens)]

    def _decode(self, ids: list[list[int]], skip_special_tokens: bool) -> list[str]:
        out = []
        for k, seq in enumerate(ids):
            missing = next((i for i in seq if i not in self._bytes), None)
            if missing is not None:
                # tiktoken itself would raise KeyError: a rank file may leave ranks out
                raise CodecError(self.path, f"token id {missing} is not in the vocabulary", k, None, "decode")
            out.append(b"".join(self._bytes[i] for i in seq).decode("utf-8", errors="replace"))
        return out

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
    """The preset name of a tiktoken file's split pattern: `pattern` when given (a preset or an
    encoding name such as cl100k_base), else from the file name (cl100k_base.tiktoken). Raises
    ToktoolError for an unknown `pattern`, or when neither names one."""
    if pattern:
        key = TIKTOKEN_PATTERNS.get(pattern, pattern)
        if key not in PRESETS or PRESETS[key].pattern is None:
            raise ToktoolError(f"unknown tiktoken split pattern '{pattern}' (one of: {', '.join(sorted(TIKTOKEN_PATTERNS))})")
        return key
    stem = path.name.split(".")[0]
    if stem in TIKTOKEN_PATTERNS:
        return TIKTOKEN_PATTERNS[stem]
    names = ", ".join(sorted(TIKTOKEN_PATTERNS))
    if path.suffix != ".tiktoken":
        raise ToktoolError(
            f"{path}: a tiktoken rank file (the layout of Llama 3's original tokenizer.model), but its name does not say "
            f"which split pattern it uses; pass --tiktoken-pattern (llama3 for Llama 3; one of: {names})"
        )
    raise ToktoolError(f"{path}: cannot tell which split pattern this tiktoken file uses; pass --tiktoken-pattern (one of: {names})")


def _default_name(p: Path) -> str:
    r = p.resolve()
    if r.is_dir():
        return r.name
    if r.name in ("tokenizer.json", *SP_MODEL_NAMES):
        return r.parent.name
    return r.name.split(".")[0]


def _hf(display: str, p: Path) -> HFAdapter:
    lt = load_hf_tokenizer(p)
    a = HFAdapter(display, str(p), lt.tokenizer, lt.sha256)
    if p.is_dir():
        a.source = str(p / "tokenizer.json") if (p / "tokenizer.json").is_file() else f"{p / 'vocab.json'} + merges.txt"
    return a


def _model_file(display: str, f: Path, tiktoken_pattern: str | None) -> Adapter:
    """A `.model` file: sentencepiece protobuf, or tiktoken ranks under the same name (Llama 3)."""
    if _looks_like_tiktoken(f):
        return TiktokenAdapter(display, f, _hash_files([f]), tiktoken_pattern_for(f, tiktoken_pattern))
    return SPAdapter(display, f, _hash_files([f]))


def load_tokenizer(path: str | Path, name: str | None = None, tiktoken_pattern: str | None = None) -> Adapter:
    """Any tokenizer on disk as an Adapter: a toktool output dir, an HF tokenizer.json or model dir
    (tokenizer.json, vocab.json + merges.txt, or a sentencepiece model), a sentencepiece .model, a
    tiktoken rank file (.tiktoken, or any file whose lines are `base64 rank`, such as Llama 3's
    original tokenizer.model; `tiktoken_pattern` names its split when the file name does not).

    Each format is read by its own library. `name` is the display name (default: from the path).
    Returns an Adapter (`encode_lines`, `encode_batch`, `decode_batch`, `token_strings`, `vocab_size`,
    `special_ids`, `unk_id`, `sha256` of the files read). Raises InputError (naming the file) when it
    is missing, not a tokenizer, or a tokenizer.json that fails on unknown text
    (`hf.check_unknown_path`); ToktoolError when a tiktoken file's split pattern is unknown."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such tokenizer file or directory")
    display = name or _default_name(p)
    if p.is_dir():
        if (p / "tokenizer.json").is_file() or ((p / "vocab.json").is_file() and (p / "merges.txt").is_file()):
            return _hf(display, p)
        for sp_name in SP_MODEL_NAMES:
            if (p / sp_name).is_file():
                return _model_file(display, p / sp_name, tiktoken_pattern)
        tk = sorted(p.glob("*.tiktoken"))
        if len(tk) == 1:
            return TiktokenAdapter(display, tk[0], _hash_files(tk), tiktoken_pattern_for(tk[0], tiktoken_pattern))
        raise InputError(f"{p}: directory has no tokenizer (tokenizer.json, vocab.json + merges.txt, a sentencepiece model or one .tiktoken file)")
    if p.suffix == ".tiktoken":
        return TiktokenAdapter(display, p, _hash_files([p]), tiktoken_pattern_for(p, tiktoken_pattern))
    if p.suffix == ".model" or _looks_like_protobuf(p) or _looks_like_tiktoken(p):
        return _model_file(display, p, tiktoken_pattern)
    return _hf(display, p)


def _head(p: Path, n: int) -> bytes:
    try:
        with open(p, "rb") as f:
            return f.read(n)
    except OSError:
        return b""


def _looks_like_protobuf(p: Path) -> bool:
    """A sentencepiece model saved under another name starts with field 1 (pieces), length-delimited."""
    return _head(p, 1) == b"\x0a"


_TIKTOKEN_LINE = re.compile(rb"[A-Za-z0-9+/]+={0,2} [0-9]+\r?")


def _looks_like_tiktoken(p: Path) -> bool:
    """A tiktoken rank file: its first line is `base64 rank`."""
    first = _head(p, 1024).split(b"\n", 1)[0]
    return _TIKTOKEN_LINE.fullmatch(first) is not None
