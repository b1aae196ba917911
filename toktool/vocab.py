"""What a trained byte-level BPE is (`BPEResult`) and the rules every trainer checks it against.

Shared by the trainers (train/), the tokenizer.json writer (hf.py) and the tests; it imports nothing
of toktool but errors, so the result type sits below everything that makes or reads one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .errors import ToktoolError

# the byte alphabet every byte-level vocabulary starts from
ALPHABET_SIZE = 256
# "no limit" for the kernels' int64 limits (token length in bytes)
UNLIMITED = np.int64(1) << 40


@dataclass
class BPEResult:
    """A trained byte-level BPE: ids 0..len(specials)-1 are the special tokens, then `tokens`."""

    special_tokens: list[str]
    tokens: list[bytes]  # token bytes for ids len(specials)..
    merges: list[tuple[int, int]]  # in rank order, ids include the specials offset
    merges_raw: int  # merge steps taken (HF can merge one pair twice; see export)
    train_tokens: int  # tokens of the training words after the learnt merges (weighted by count)
    train_bytes: int
    timings: dict = field(default_factory=dict)

    @property
    def vocab_size(self) -> int:
        return len(self.special_tokens) + len(self.tokens)

    def token_bytes(self, i: int) -> bytes:
        """The bytes of token id `i` (a special token as UTF-8)."""
        n = len(self.special_tokens)
        return self.special_tokens[i].encode("utf-8") if i < n else self.tokens[i - n]


def check_vocab_size(vocab_size: int, special_tokens: Sequence[str]) -> None:
    """Raises ToktoolError when `vocab_size` cannot hold the 256 bytes plus the special tokens."""
    need = ALPHABET_SIZE + len(special_tokens)
    if vocab_size < need:
        raise ToktoolError(
            f"--vocab-size {vocab_size} is below the byte alphabet plus special tokens ({ALPHABET_SIZE} + {len(special_tokens)} = {need})"
        )


def dedupe_merges(raw: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """HF keeps one rank per pair, the last one at which it was merged (its model stores a map)."""
    last: dict[tuple[int, int], int] = {}
    for i, p in enumerate(raw):
        last[p] = i
    return [p for p, _ in sorted(last.items(), key=lambda kv: kv[1])]


def table_bytes(t_data: np.ndarray, t_off: np.ndarray) -> list[bytes]:
    """A kernel's token table as bytes objects: token i is t_data[t_off[i]:t_off[i + 1]]
    (t_data uint8[total], t_off int64[n + 1])."""
    data = t_data.tobytes()
    offs = t_off.tolist()
    return [data[offs[i] : offs[i + 1]] for i in range(len(offs) - 1)]
