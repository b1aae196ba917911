"""Which new token is which old token: one canonical byte form per token, special tokens by role.

Tokenizer families write the same text differently: byte-level BPE writes " the" as `Ġthe`,
sentencepiece as `▁the`, WordPiece as `the` (word-initial) and `##the` (inside a word), and byte
fallback writes a raw byte as `<0x41>`. Mapping every token to the bytes it stands for in running
text (a leading space where the token starts a word) makes tokens of any two families comparable.
WordPiece is the ambiguous one: a word-initial piece follows a space except at the start of a line
or after punctuation, so it is keyed as " x" first and as "x" only where no `##x` claims that key.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from tokenizers import Tokenizer

from ..errors import InputError
from ..pretokenize import BYTE_TO_CHAR, CHAR_TO_BYTE

_BYTE_FALLBACK = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")
ROLES = ("bos", "eos", "unk", "pad", "mask", "cls", "sep")
# A token with several roles (SmolLM2's <|im_end|> is eos and pad) takes the row of its first role
# in this order. eos is predicted at the end of every training sequence, so its input row and
# output logit are trained hardest; bos/cls start every sequence (input only); sep and mask are
# trained in encoders; unk is rare; pad is masked out of attention and loss, so its row is often
# the least trained (or untouched since initialisation). mergekit's tokensurgeon gets the same
# eos-before-pad result from transformers' special_tokens_map order (bos, eos, unk, sep, pad, ...).
ROLE_RANK = ("eos", "bos", "sep", "cls", "mask", "unk", "pad")
# when a role has no token, its nearest stand-in (BERT's [CLS]/[SEP] play bos/eos and back)
ROLE_FALLBACK = {"bos": "cls", "cls": "bos", "eos": "sep", "sep": "eos"}
# conventional strings, for tokenizers that ship no tokenizer_config.json
CONVENTIONAL = {
    "[CLS]": "cls", "[SEP]": "sep", "[PAD]": "pad", "[UNK]": "unk", "[MASK]": "mask",
    "<s>": "bos", "</s>": "eos", "<pad>": "pad", "<unk>": "unk", "<mask>": "mask",
    "<|begin_of_text|>": "bos", "<|end_of_text|>": "eos", "<|endoftext|>": "eos",
    "<|im_end|>": None, "<bos>": "bos", "<eos>": "eos",
}  # fmt: skip


@dataclass
class TokInfo:
    """A tokenizer with what transplant needs to know about it."""

    tokenizer: Tokenizer
    family: str  # bytelevel | metaspace | wordpiece | other
    size: int
    tokens: list[str]  # id -> token string
    specials: dict[int, str]  # id -> content of special added tokens
    roles: dict[str, int]  # role -> id
    prefix: str = "##"  # WordPiece continuation prefix
    replacement: str = "\u2581"  # Metaspace replacement character
    model_max_length: int | None = None
    vocab: dict[str, int] = field(default_factory=dict)  # token string -> id (get_vocab is slow)
    byte_fallback: bool = False  # the model spells unknown bytes as <0x41> tokens

    def canonical(self, i: int) -> tuple[bytes | None, bytes | None]:
        """(primary key, secondary key) of token i; None where it stands for no text."""
        s = self.tokens[i]
        if i in self.specials:
            return None, None
        if self.family == "bytelevel":
            if all(c in CHAR_TO_BYTE for c in s):
                return bytes(CHAR_TO_BYTE[c] for c in s), None
            return s.encode("utf-8"), None  # an added plain-text token
        if self.family == "metaspace" or self.byte_fallback:
            m = _BYTE_FALLBACK.match(s)
            if m:
                return None, bytes([int(m.group(1), 16)])
        if self.family == "metaspace":
            return s.replace(self.replacement, " ").encode("utf-8"), None
        if self.family == "wordpiece":
            if s.startswith(self.prefix) and len(s) > len(self.prefix):
                return s[len(self.prefix) :].encode("utf-8"), None
            return (" " + s).encode("utf-8"), s.encode("utf-8")
        return s.encode("utf-8"), None


def _nodes(node) -> list[dict]:
    """A pipeline component and everything inside it (Sequence nodes nest their steps under
    `normalizers`, `pretokenizers`, `decoders` or `processors`), in order."""
    if not isinstance(node, dict):
        return []
    out = [node]
    for key in ("normalizers", "pretokenizers", "decoders", "processors"):
        for sub in node.get(key) or []:
            out += _nodes(sub)
    return out


def _string_pattern(node: dict) -> str | None:
    pat = node.get("pattern")
    return pat.get("String") if isinstance(pat, dict) else None


def pipeline_family(spec: dict) -> tuple[str, str | None]:
    """(family, word-boundary character) of a tokenizer.json, read from its whole pipeline.

    Args:
        spec: the parsed tokenizer.json (dict).

    Returns:
        ("wordpiece", None) for a WordPiece model; ("bytelevel", None) when a ByteLevel
        pre-tokenizer or decoder maps bytes to GPT-2's printable alphabet (GPT-2/RoBERTa, and
        Llama-3/Qwen whose Split regex runs before a regex-less ByteLevel); ("metaspace", c) when
        spaces are spelled with the character c (usually "▁"): a Metaspace pre-tokenizer or decoder
        (newer Llama/Mistral files, T5/ALBERT), or the Llama-2/Mistral/Gemma layout with no
        pre-tokenizer where a normalizer `Replace(" ", c)` (after `Prepend(c)` in Llama-2/Mistral,
        alone in Gemma) writes them and a decoder `Replace(c, " ")` reads them back; a Unigram
        model is sentencepiece's and counts as "metaspace" too. ("other", None) otherwise (a
        WordLevel or a BPE with a plain whitespace split: its token strings are its text).

    Byte-fallback tokens (`<0x41>`) are handled for every family from the model's
    `byte_fallback` flag (`TokInfo.byte_fallback`), not here.
    """
    model = spec.get("model") or {}
    if model.get("type") == "WordPiece":
        return "wordpiece", None
    pre, dec, norm = _nodes(spec.get("pre_tokenizer")), _nodes(spec.get("decoder")), _nodes(spec.get("normalizer"))
    if any(n.get("type") == "ByteLevel" for n in pre + dec):
        return "bytelevel", None
    for n in pre + dec:
        if n.get("type") == "Metaspace":
            return "metaspace", n.get("replacement") or "\u2581"
    # the sentencepiece layout without a pre-tokenizer: the space character comes from the
    # normalizer that writes it, or from the decoder that reads it back
    for n in norm:
        if n.get("type") == "Replace" and _string_pattern(n) == " " and n.get("content"):
            return "metaspace", n["content"]
    for n in dec:
        if n.get("type") == "Replace" and n.get("content") == " " and _string_pattern(n):
            return "metaspace", _string_pattern(n)
    for n in norm:
        if n.get("type") == "Prepend" and n.get("prepend"):
            return "metaspace", n["prepend"]
    if model.get("type") == "Unigram":
        return "metaspace", "\u2581"
    return "other", None


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, UnicodeDecodeError, ValueError):
        raise InputError(f"{path}: not valid JSON") from None


def _role_strings(dirpath: Path | None) -> tuple[dict[str, str], int | None]:
    """Role -> token string from tokenizer_config.json / special_tokens_map.json, if present."""
    roles: dict[str, str] = {}
    max_len = None
    if dirpath is None:
        return roles, max_len
    for name in ("special_tokens_map.json", "tokenizer_config.json"):
        p = dirpath / name
        if not p.is_file():
            continue
        data = _read_json(p)
        for role in ROLES:
            v = data.get(f"{role}_token")
            if isinstance(v, dict):
                v = v.get("content")
            if isinstance(v, str) and role not in roles:
                roles[role] = v
        if isinstance(data.get("model_max_length"), int) and data["model_max_length"] < 10**9:
            max_len = data["model_max_length"]
    return roles, max_len


def tok_info(tok: Tokenizer, dirpath: Path | None) -> TokInfo:
    spec = json.loads(tok.to_str())
    family, boundary = pipeline_family(spec)
    size = tok.get_vocab_size(with_added_tokens=True)
    vocab = tok.get_vocab(with_added_tokens=True)
    tokens = [""] * size
    for s, i in vocab.items():
        if 0 <= i < size:
            tokens[i] = s
    specials = {a["id"]: a["content"] for a in spec.get("added_tokens", []) if a.get("special")}
    strings, max_len = _role_strings(dirpath)
    roles: dict[str, int] = {}
    for role, s in strings.items():
        if s in vocab:
            roles[role] = vocab[s]
    for i, s in sorted(specials.items()):
        role = CONVENTIONAL.get(s)
        if role and role not in roles:
            roles[role] = i
    if "bos" not in roles and specials.get(roles.get("eos", -1)) == "<|endoftext|>":
        roles["bos"] = roles["eos"]  # GPT-2 convention: one token plays both
    model = spec.get("model") or {}
    info = TokInfo(tok, family, size, tokens, specials, roles, model_max_length=max_len, vocab=vocab)
    if family == "wordpiece":
        info.prefix = model.get("continuing_subword_prefix") or "##"
    if family == "metaspace" and boundary:
        info.replacement = boundary
    info.byte_fallback = bool(model.get("byte_fallback"))
    return info


def load_old_tokenizer(model_dir: Path) -> TokInfo:
    """The base model's own tokenizer: tokenizer.json, or what transformers converts to one."""
    p = model_dir / "tokenizer.json"
    if p.is_file():
        from ..hf import read_tokenizer_json

        return tok_info(read_tokenizer_json(p), model_dir)
    from .spm import find_spm, spm_tokenizer

    sp = find_spm(model_dir)
    if sp is not None:
        return tok_info(spm_tokenizer(sp), model_dir)
    try:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True).backend_tokenizer
    except Exception:
        raise InputError(f"{model_dir}: no usable tokenizer (tokenizer.json, or files transformers can read)") from None
    return tok_info(tok, model_dir)


@dataclass
class Mapping:
    """For each new id: the old id it copies (-1: none) and how the match was made."""

    source: list[int]
    how: list[str]  # exact | normalized | special | new
    missing_roles: dict[str, int]  # roles the old model uses that the new tokenizer lacks -> old id
    # byte-fallback tokens (<0x41>) whose byte the new vocabulary also has as an ordinary token ("A"):
    # byte fallback never emits them, so they are new rows without a decomposition (the mean row)
    shadowed: set[int] = field(default_factory=set)

    def counts(self) -> dict[str, int]:
        out = {k: 0 for k in ("exact", "normalized", "special", "new")}
        for h in self.how:
            out[h] += 1
        return out


def match_vocab(old: TokInfo, new: TokInfo) -> Mapping:
    """Copy sources for every new token: canonical-byte match, then the old tokenizer's
    normalizer (an uncased model's `the` serves `The`), then special tokens by role."""
    lookup: dict[bytes, int] = {}
    seconds: list[tuple[bytes, int]] = []
    for i in range(old.size):
        if old.family == "wordpiece" and not continuation_reachable(old, i):
            continue  # "##," never occurs: BERT's pre-tokenizer makes every "," a word of its own
        a, b = old.canonical(i)
        if a is not None and a not in lookup:
            lookup[a] = i
        if b is not None:
            seconds.append((b, i))
    for b, i in seconds:
        lookup.setdefault(b, i)
    norm = old.tokenizer.normalizer
    source = [-1] * new.size
    how = ["new"] * new.size
    canon = [(None, None) if j in new.specials else new.canonical(j) for j in range(new.size)]
    primary = {a for a, _ in canon if a is not None}
    shadowed: set[int] = set()
    for j in range(new.size):
        if j in new.specials:
            continue
        a, b = canon[j]
        if a is None and b is not None and b in primary:
            # Byte fallback only writes <0x41> for a byte no ordinary token covers; with "A" in the
            # vocabulary, <0x41> never occurs. Copying the row of "A" to it would give both ids
            # the same logit in the output head and halve the probability of every "A".
            shadowed.add(j)
            continue
        for key in (a, b):
            if key is not None and key in lookup:
                source[j], how[j] = lookup[key], "exact"
                break
        else:
            if norm is not None and a is not None:
                try:
                    text = a.decode("utf-8")
                except UnicodeDecodeError:
                    continue
                key = norm.normalize_str(text).encode("utf-8")
                # a capitalised piece without a space starts a word (line start, after a quote):
                # for WordPiece that is the word-initial form, not the ## continuation
                keys = [b" " + key, key] if old.family == "wordpiece" and text[:1].isupper() else [key]
                for key in keys:
                    if key != a and key in lookup:
                        source[j], how[j] = lookup[key], "normalized"
                        break
    by_content = {s: i for i, s in old.specials.items()}
    for j, s in new.specials.items():
        old_id = special_source(old, new, j)
        if old_id is None:
            old_id = by_content.get(s)
        if old_id is not None:
            source[j], how[j] = old_id, "special"
    missing = {r: i for r, i in old.roles.items() if r not in new.roles and old.tokens[i] not in new.vocab}
    return Mapping(source, how, missing, shadowed)


def continuation_reachable(info: TokInfo, i: int) -> bool:
    """False for a WordPiece continuation token (`##,`) that the tokenizer can never produce: its
    text is split off as a word of its own after any letter (BERT's pre-tokenizer isolates every
    punctuation character, its normalizer every CJK character). Such rows were never trained, so
    they must not be copied for a new token with that text; the word-initial token (`,`) is the
    one the model reads. True for every other token."""
    s = info.tokens[i]
    if info.family != "wordpiece" or not s.startswith(info.prefix) or len(s) <= len(info.prefix) or i in info.specials:
        return True
    tok = info.tokenizer
    text = "a" + s[len(info.prefix) :]
    if tok.normalizer is not None:
        text = tok.normalizer.normalize_str(text)
    if tok.pre_tokenizer is None:
        return True
    return len(tok.pre_tokenizer.pre_tokenize_str(text)) == 1


def special_source(old: TokInfo, new: TokInfo, j: int) -> int | None:
    """The old id whose row new token j takes by role, or None.

    Args:
        old, new: the base model's and the new tokenizer's TokInfo.
        j: a new id.

    Returns:
        The old token of j's highest-ranked role (ROLE_RANK: eos > bos > sep > cls > mask > unk >
        pad) that the old tokenizer has; failing that, the stand-in of one of j's roles
        (ROLE_FALLBACK: cls for bos, sep for eos and back) in the same order; None when j has no
        role or the old tokenizer has none of them.
    """
    roles = sorted((r for r, i in new.roles.items() if i == j), key=ROLE_RANK.index)
    for r in roles:
        if r in old.roles:
            return old.roles[r]
    for r in roles:
        alt = ROLE_FALLBACK.get(r)
        if alt in old.roles:
            return old.roles[alt]
    return None


def old_pieces(old: TokInfo, key: bytes) -> list[int]:
    """The old tokenizer's ids for the text of one new token (FVT's input); [] when it has no
    sensible encoding (a partial UTF-8 sequence for a non-byte tokenizer, all unknown)."""
    tok = old.tokenizer
    try:
        text: str | None = key.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    unk = {old.roles["unk"]} if "unk" in old.roles else set()
    ids: list[int]
    if old.family == "bytelevel":
        if text is not None:
            ids = tok.encode(text, add_special_tokens=False).ids
        else:
            ids = [t.id for t in tok.model.tokenize("".join(BYTE_TO_CHAR[b] for b in key))]
    elif old.family == "metaspace":
        if text is None:
            ids = [old.vocab.get(f"<0x{b:02X}>", -1) for b in key]
            ids = [i for i in ids if i >= 0]
        else:
            ids = [t.id for t in tok.model.tokenize(text.replace(" ", old.replacement))]
    elif old.family == "wordpiece":
        if text is None:
            return []
        norm = tok.normalizer.normalize_str(text) if tok.normalizer is not None else text
        words = tok.pre_tokenizer.pre_tokenize_str(norm) if tok.pre_tokenizer is not None else [(norm, (0, len(norm)))]
        vocab = old.vocab
        ids = []
        for n, (w, _) in enumerate(words):
            pieces = [t.id for t in tok.model.tokenize(w)]
            inside = n == 0 and text[:1].isalnum() and not text[:1].isupper()
            if inside:  # the token continues a word: prefer the ## pieces
                whole = vocab.get(old.prefix + w)
                if whole is not None:
                    pieces = [whole]
                elif pieces and (cont := vocab.get(old.prefix + old.tokens[pieces[0]])) is not None:
                    pieces[0] = cont
            ids.extend(pieces)
    else:
        if text is None:
            return []
        ids = tok.encode(text, add_special_tokens=False).ids
    ids = [i for i in ids if i not in unk and i < old.size]
    return ids
