"""The compiled pre-tokenizers (kernels/pretok_scan.py via scan_counter.ScanCounter) against `regex`.

Acceptance (issue 14, part 1): identical word counts to pretokenize.count_plain, the regex reference,
on generated strings (6,000 per preset, about 5,750 of them distinct: 300 examples of 20 distinct
strings), on every UDHR file whole, and on fixed cases for the patterns' corners; the split itself
(pieces in order) is compared too.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import regex
from conftest import UDHR
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toktool.count import count_plain
from toktool.count.scan_counter import ScanCounter, scan_presets, scan_tables
from toktool.count.sorted_runs import merge_parts
from toktool.kernels import pretok_scan as k
from toktool.pretokenize import PRESETS

SCANNED = ["gpt2", "gpt4", "o200k", "llama3", "superbpe"]
STRINGS_PER_EXAMPLE = 20
EXAMPLES = 300  # x 20 strings = 6,000 strings per preset (over 5,000 distinct)


def _counts(sc: ScanCounter) -> Counter:
    s = sc.sorted()
    keys = [s.data[s.offsets[i] : s.offsets[i + 1]].tobytes() for i in range(len(s.counts))]
    assert keys == sorted(keys)  # byte order, the order merge_parts and WordCounts expect
    assert s.counts.dtype == np.int64 and s.offsets.dtype == np.int64 and s.data.dtype == np.uint8
    return Counter({w.decode("utf-8", "surrogatepass"): int(n) for w, n in zip(keys, s.counts)})


def _check(preset: str, texts: list[str], specials: tuple[str, ...] = ()) -> None:
    sc = ScanCounter(preset, specials)
    sc.add_texts(texts)
    assert _counts(sc) == count_plain(texts, preset, specials)


_FRAGMENTS = [
    # contractions in every case, and what (?i) makes of LONG S and the KELVIN SIGN
    "'s", "'S", "'t", "'T", "'re", "'RE", "'Re", "'rE", "'ve", "'VE", "'m", "'M", "'ll", "'LL", "'lL",
    "'d", "'D", "'\u017f", "'\u212a", "'", "''", "'x", " 's", "n't", "'ll've",
    # digits: ASCII, Arabic-Indic, Devanagari, superscripts, fractions, Roman numerals
    "1", "12", "123", "1234", "12345678", "\u0661\u0662\u0663\u0664", "\u0967\u0968", "\u00b2\u00b3", "\u00bd", "\u216b",
    # whitespace runs, line ends, NUL and friends
    " ", "  ", "   ", "\t", " \t", "\n", "\n\n", "\r\n", "\r", " \n", "  \n  ", "\r\n\r\n", "\u2028", "\u2029", "\x85",
    "\x00", "\x0b", "\x0c", "\x1c", "\x1f", "\u00a0", "\u3000", "\u200b", "\ufeff",
    # punctuation runs, slashes (o200k keeps [\r\n/]* after them)
    ".", "...", "--", "/", "//", "./\n/", "!!\r/\r\n", " ..", "\u201c", "\u00bf", ": ", " :: ", "->", " (x)", "--/\r/\n",
    # letters by category: Lu, Ll, Lt, Lm, Lo, combining marks, mixed scripts
    "a", "A", "Ab", "aB", "ABC", "HELLO", "\u01c5", "\u02b0", "\u3005", "\u00e9", "e\u0301", "E\u0301", "\u0301",
    "\u0301\u0301", "\u20dd", "\u0903", " of the", "The", "\u65e5\u672c\u8a9e", "\u0440\u0443\u0441", "\u0394\u03b5",
    "\u0939\u093f\u0928\u094d\u0926\u0940", "\u0627\u0644\u0639", "\u0e44\u0e17\u0e22", "\U0001f600", "\U0001d400",
    "\U00020000", "\U000e0001", "\ud800", "\udc00",
]


def _text():
    piece = st.one_of(
        st.characters(),  # every category, lone surrogates included (they pass through surrogatepass)
        st.integers(0, 0x10FFFF).map(chr),  # every plane alike
        st.characters(categories=["Mn", "Mc", "Me", "Lt", "Lm", "Lo"]),
        st.sampled_from(_FRAGMENTS),
        st.sampled_from(_FRAGMENTS),
    )
    return st.lists(piece, min_size=2, max_size=30).map("".join)


@pytest.mark.parametrize("preset", SCANNED)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(texts=st.lists(_text(), min_size=STRINGS_PER_EXAMPLE, max_size=STRINGS_PER_EXAMPLE, unique=True))
def test_counts_equal_the_regex_on_generated_strings(preset, texts):
    _check(preset, texts)
    sc = ScanCounter(preset)
    pattern = regex.compile(PRESETS[preset].pattern)
    for t in texts[:5]:
        assert sc.split(t) == pattern.findall(t)


_CORNERS = [
    "",
    "\n",
    "x\n",
    "x \n",
    "x  \n",
    "x   ",
    "   x",
    " \n x",
    "x\n\n",
    "a \n\n b",
    "a\r\n\r\n  b",
    "a\n \n",
    "end  \n",  # \s++$ takes the run with the final newline (cl100k) where llama3 splits it
    "end\n  ",
    "tab\t\tx",
    "\u2028\u2028x",
    "x\u2028",
    "\x85 x",
    "\x00\x00 x\x00",
    "don't I'LL we'Ve HE'S she'\u017f '\u212a",
    "'s's'S",
    "A'sb CAT'S Cat's cAT's \u0301's",
    "\u0301\u0301A'S",
    "ABc\u0301D",
    "\u02b0\u02b0A",
    "A\u02b0B",
    "\u01c5x \u01c5",
    " \u0301A",
    ".\u0301",
    "1234567 12 3 \u0661\u0662\u0663\u0664\u0665",
    "x1y22z333w4444",
    "foo//bar/\n/\r\nbaz",
    " ..\r\n",
    "!!!\n\n\n",
    "\U0001f600\U0001f600 \U0001f600x",
    "\ud83d\ude00 \ud800x\udfff",
    "mixed \u65e5\u672c\u8a9eand\u0440\u0443\u0441 text",
]


@pytest.mark.parametrize("preset", SCANNED)
def test_corner_cases(preset):
    pattern = regex.compile(PRESETS[preset].pattern)
    sc = ScanCounter(preset)
    for t in _CORNERS:
        assert sc.split(t) == pattern.findall(t), t
    _check(preset, _CORNERS)


def test_corner_cases_split_as_expected():
    """A few splits spelled out, so the reference's own behaviour is on record."""
    assert ScanCounter("gpt4").split("end  \n") == ["end", "  \n"]
    assert ScanCounter("llama3").split("end  \n") == ["end", "  \n"]
    assert ScanCounter("llama3").split("end \n  ") == ["end", " \n", "  "]
    assert ScanCounter("gpt4").split("end \n  ") == ["end", " \n  "]
    assert ScanCounter("gpt4").split("we'\u017f '\u212a") == ["we", "'\u017f", " '", "\u212a"]
    assert ScanCounter("gpt2").split("HE'S") == ["HE", "'", "S"]
    assert ScanCounter("o200k").split("CAT'S Cat's") == ["CAT'S", " Cat's"]
    assert ScanCounter("o200k").split("\u0301's") == ["\u0301's"]


@pytest.mark.parametrize("preset", SCANNED)
def test_udhr_files_whole(preset):
    texts = [p.read_text(encoding="utf-8") for p in sorted(UDHR.glob("*.txt"))]
    assert len(texts) > 500
    _check(preset, texts)


@pytest.mark.parametrize("preset", SCANNED)
def test_special_tokens_are_cut_out(preset):
    specials = ("<|endoftext|>", "<s>", "'s")
    texts = ["a<s>b<|endoftext|> c's  \n", "<s><s>", "x  <s>  y", "it's<|endoftext|>'S"]
    _check(preset, texts, specials)
    assert "<s>" not in _counts(_fill(preset, texts, specials))


def _fill(preset, texts, specials=()):
    sc = ScanCounter(preset, specials)
    sc.add_texts(texts)
    return sc


@pytest.mark.parametrize("preset", SCANNED)
def test_sorted_parts_merge_as_the_regex_counts(preset):
    """Two processes' shares merge (sorted_runs.merge_parts) into the counts of the whole."""
    lines = (UDHR / "eng.txt").read_text(encoding="utf-8").splitlines(keepends=True)
    half = len(lines) // 2
    parts = []
    for share in (lines[:half], lines[half:]):
        sc = ScanCounter(preset)
        for i in range(0, len(share), 7):  # several batches into one table
            sc.add_texts(share[i : i + 7])
        parts.append(sc.sorted_parts())
    merged = merge_parts(parts)
    got = Counter({merged.data[merged.offsets[i] : merged.offsets[i + 1]].tobytes().decode(): int(merged.counts[i])
                   for i in range(len(merged.counts))})
    assert got == count_plain(lines, preset)


def test_tables_follow_regex():
    flags, fold = scan_tables()
    assert flags.shape == (0x110000,) and fold.shape == (0x110000,)
    # \p{L}, \p{N}, \s and [^\s\p{L}\p{N}] partition the code points; o200k's sets cover the letters
    part = flags & (k.F_L | k.F_N | k.F_S | k.F_P)
    assert set(np.unique(part).tolist()) == {k.F_L, k.F_N, k.F_S, k.F_P}
    letters = (flags & k.F_L) != 0
    assert np.all((flags[letters] & (k.F_U | k.F_W)) != 0)
    # every character that (?i) matches to a contraction letter, and nothing else
    assert {chr(c) for c in np.flatnonzero(fold == ord("s"))} == {"s", "S", "\u017f"}
    assert {chr(c) for c in np.flatnonzero(fold == ord("'"))} == {"'"}
    chars = "".join(map(chr, range(0x110000)))
    cl100k_letters = {m.group() for m in regex.finditer("(?i:[sdmt])", chars)}
    assert cl100k_letters == {chr(c) for c in np.flatnonzero(np.isin(fold, [ord(x) for x in "sdmt"]))}
    # no single code point matches two letters (no full case folding): in a string of every code
    # point in order, no two neighbours spell ll, ve or re either
    assert not any(regex.finditer("(?i:ll|ve|re)", chars))


def test_scan_presets_and_errors():
    assert scan_presets() == frozenset(SCANNED)
    with pytest.raises(ValueError, match="superbpe-digits"):
        ScanCounter("superbpe-digits")
    sc = ScanCounter("gpt2")
    sc.add_texts([])
    sc.add_texts(["", ""])
    s = sc.sorted()
    assert len(s.counts) == 0 and s.offsets.tolist() == [0]


@pytest.mark.parametrize("preset", SCANNED)
def test_long_pieces_and_table_growth(preset):
    """Pieces longer than the table's first byte buffer, long runs that the lookaheads scan twice,
    and enough distinct pieces to rebuild the slots several times, over several batches."""
    texts = ["a" * 70_000, " " * 50_000 + "x", "\n" + " \t" * 20_000 + "\n", "\u0301" * 30_000 + "A" * 30_000 + "'S"]
    texts += [f"w{i} {i * 7919} \u00e9{i}" for i in range(20_000)]
    sc = ScanCounter(preset)
    for i in range(0, len(texts), 1000):
        sc.add_texts(texts[i : i + 1000])
    assert _counts(sc) == count_plain(texts, preset)
