"""Pre-tokenizer presets: the named split regexes, and the splitter that applies one.

Each preset is the well-known regex verbatim (tests compare them with the sources: tiktoken's
`tiktoken_ext/openai_public.py`, the GPT-2 encoder), so a tokenizer trained here splits text exactly
as the ecosystem's encoders do. Special tokens are cut out of the text before the split and are never
part of a pre-token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import regex

from ..errors import ToktoolError

# the preset `train`, `count` and `load_tokenizer` use when none is given (GPT-2's split)
DEFAULT_PRESET = "gpt2"
# SuperBPE's stage-1 preset when none is given (a GPT-4o-like split, as in the authors' later recipe)
SUPERBPE_STAGE1_PRESET = "o200k"


@dataclass(frozen=True)
class Preset:
    """A named pre-tokenizer: `pattern` is a `regex`-module pattern (None: each text is one
    pre-token); `source` says where the pattern comes from."""

    name: str
    pattern: str | None  # None: the whole text is one pre-token
    source: str



GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
LLAMA3_PATTERN = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
# Lossless whitespace split: a word keeps one leading space (as GPT-2 does), other whitespace stands
# alone. Unlike HF's `Whitespace` pre-tokenizer nothing is dropped, so byte-level round-trips hold.
WHITESPACE_PATTERN = r""" ?\S+|\s+(?!\S)|\s+"""
# SuperBPE stage 2 (Liu et al. 2025). The authors' later recipe splits off only digit runs (1-3), runs
# of >= 2 punctuation characters and multi-space runs; everything between stays one pre-token, so
# tokens can bridge single spaces. Written as a full-coverage pattern (the text between those pieces
# is an alternative of its own) that also ends every piece at a newline: training reads lines, so no
# token may continue past one. The "between" alternative spells out which characters cannot start a
# split-off piece (much faster than a negative lookahead of the three alternatives per character; tests check
# both forms agree). `superbpe-digits` is the paper's rule: only digit runs, in groups of 3
# from the right.
_SB2_SPLIT = r"""\p{N}{1,3}| ?[^\s\p{L}\p{N}]{2,}[\r/]*\n?| +(?!\S)"""
_P = r"""[^\s\p{L}\p{N}]"""
_SB2_BETWEEN = r"""(?:\p{L}+|""" + _P + r"""(?!""" + _P + r""")| (?=\S)(?!""" + _P + _P + r""")|[^\S \n])+\n?"""
SUPERBPE_PATTERN = _SB2_SPLIT + "|" + _SB2_BETWEEN + r"""|\n"""
SUPERBPE_DIGITS_PATTERN = r"""\p{N}{1,3}(?=(?:\p{N}{3})*(?!\p{N}))|(?:(?!\p{N})[^\n])+\n?|\n"""

PRESETS: dict[str, Preset] = {
    "gpt2": Preset("gpt2", GPT2_PATTERN, "GPT-2 encoder.py (Radford et al. 2019)"),
    "gpt4": Preset("gpt4", CL100K_PATTERN, "tiktoken cl100k_base"),
    "o200k": Preset("o200k", O200K_PATTERN, "tiktoken o200k_base"),
    "llama3": Preset("llama3", LLAMA3_PATTERN, "Meta Llama 3 tokenizer"),
    "whitespace": Preset("whitespace", WHITESPACE_PATTERN, "toktool: lossless whitespace split"),
    "superbpe": Preset("superbpe", SUPERBPE_PATTERN, "SuperBPE stage 2 (authors' later recipe): lines, digits/punctuation runs/multi-spaces split off"),
    "superbpe-digits": Preset("superbpe-digits", SUPERBPE_DIGITS_PATTERN, "SuperBPE stage 2 (paper): lines, only digit groups split off"),
    "none": Preset("none", None, "no split: each text is one pre-token"),
}


def get_preset(name: str) -> Preset:
    """The preset called `name`. Raises ToktoolError naming the choices when there is none."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ToktoolError(f"unknown pre-tokenizer {name!r}; choose one of {', '.join(PRESETS)}") from None



def special_splitter(special_tokens: Iterable[str]) -> regex.Pattern | None:
    """A regex that finds the special tokens (longest first), or None when there are none."""
    toks = sorted({t for t in special_tokens if t}, key=len, reverse=True)
    if not toks:
        return None
    return regex.compile("|".join(regex.escape(t) for t in toks))


def make_splitter(preset: str, special_tokens: Iterable[str] = ()) -> Callable[[str], list[str]]:
    """Return text → pre-tokens. Special tokens are cut out first and never counted as words."""
    p = get_preset(preset)
    specials = special_splitter(special_tokens)
    if p.pattern is None:
        def base(text: str) -> list[str]:
            return [text] if text else []
    else:
        base = regex.compile(p.pattern).findall
    if specials is None:
        return base
    sp_split = specials.split

    def split(text: str) -> list[str]:
        out: list[str] = []
        for piece in sp_split(text):
            if piece:
                out.extend(base(piece))
        return out

    return split



def unique_specials(special_tokens: Iterable[str]) -> list[str]:
    """The special tokens in the order given, each once (their ids follow this order)."""
    return list(dict.fromkeys(special_tokens))
