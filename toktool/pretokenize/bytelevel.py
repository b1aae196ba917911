"""GPT-2's byte-level mapping: every byte as one printable character, reversibly.

Byte-level BPE works on bytes but stores tokens as strings (`vocab.json`, `tokenizer.json`); GPT-2
maps each byte to a printable character (printable Latin-1 bytes to themselves, the rest to U+0100 and
up), so the space byte becomes `Ġ` and the newline `Ċ` (Radford et al. 2019, encoder.py).
"""

from __future__ import annotations

from ..errors import ToktoolError


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte → printable character map (printable Latin-1 bytes map to themselves)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BYTE_TO_CHAR: dict[int, str] = bytes_to_unicode()
CHAR_TO_BYTE: dict[str, int] = {c: b for b, c in BYTE_TO_CHAR.items()}
_BYTE_TRANS = [BYTE_TO_CHAR[b] for b in range(256)]


def to_byte_level(data: bytes) -> str:
    """Bytes as a byte-level string, e.g. b" the" -> "Ġthe"."""
    return "".join(_BYTE_TRANS[b] for b in data)


def from_byte_level(s: str) -> bytes:
    """A byte-level string back to bytes, e.g. "Ġthe" -> b" the". Raises ToktoolError for a
    character outside the 256 of the map."""
    try:
        return bytes(CHAR_TO_BYTE[c] for c in s)
    except KeyError as e:
        raise ToktoolError(f"token {s!r} is not a byte-level token (character {e.args[0]!r})") from None


def byte_alphabet_order() -> list[int]:
    """The 256 bytes in the order of their byte-level characters' code points.

    Hugging Face's BpeTrainer gives the initial alphabet ids in code-point order; we do the same so
    that ids, and therefore tie-breaks between equally frequent pairs, agree with it.
    """
    return sorted(range(256), key=lambda b: ord(BYTE_TO_CHAR[b]))
