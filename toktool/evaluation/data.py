"""Evaluation text: per-language files (parallel or not), single files, stdin.

A language is a list of lines. Lines are what gets encoded (one encode call per line, newlines not
included), because parallel corpora are aligned by line and a metric like the token premium compares
the same content across languages. Files are read whole: evaluation sets are small by nature (UDHR,
FLORES: kilobytes to a few megabytes per language).
"""

from __future__ import annotations

import csv
import hashlib
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..corpus import CorpusStats, discover_dir, display_name, iter_lines, refuse_columnar
from ..errors import InputError, ToktoolError

_SCRIPT_SAMPLE = 20_000


@dataclass
class Language:
    code: str
    source: str
    lines: list[str]
    sha256: str
    script: str = "Unknown"
    n_bytes: int = 0
    n_chars: int = 0
    n_words: int = 0
    # where the lines came from: (input's display name, line number of each of its lines kept), in order
    origins: list[tuple[str, list[int]]] = field(default_factory=list)

    def where(self, i: int) -> str:
        """"file:line" of line i (0-based) of this language; the source alone when unknown."""
        for name, numbers in self.origins:
            if i < len(numbers):
                return f"{name}:{numbers[i]}"
            i -= len(numbers)
        return self.source

    def __post_init__(self) -> None:
        self.n_bytes = sum(len(s.encode("utf-8")) for s in self.lines)
        self.n_chars = sum(len(s) for s in self.lines)
        self.n_words = sum(len(s.split()) for s in self.lines)


@dataclass
class EvalData:
    languages: list[Language]
    sources: list[str] = field(default_factory=list)

    @property
    def parallel(self) -> bool:
        """Line-parallel: every language has the same number of lines (alignment by position)."""
        return len(self.languages) >= 2 and len({len(lang.lines) for lang in self.languages}) == 1

    def parallel_problem(self) -> str | None:
        counts = Counter(len(lang.lines) for lang in self.languages)
        if len(counts) <= 1:
            return None
        common = counts.most_common(1)[0][0]
        odd = [lang for lang in self.languages if len(lang.lines) != common]
        ex = ", ".join(f"{lang.code} has {len(lang.lines)}" for lang in odd[:3])
        return f"files are not line-parallel: most have {common} lines, but {ex}{' ...' if len(odd) > 3 else ''}"

    @property
    def sha256(self) -> str:
        h = hashlib.sha256()
        for lang in self.languages:
            h.update(lang.code.encode() + b"\0" + lang.sha256.encode() + b"\0")
        return h.hexdigest()

    def codes(self) -> list[str]:
        return [lang.code for lang in self.languages]


def dominant_script(text: str, sample: int | None = _SCRIPT_SAMPLE) -> str:
    """Most frequent script among the letters, by the first word of their Unicode names ("Latin",
    "Cyrillic", "Cjk", "Hiragana", ...) — coarse but dependency-free, enough to group languages."""
    scripts: Counter = Counter()
    for ch, n in Counter(text[:sample] if sample else text).items():  # distinct characters only: names are slow
        if ch.isalpha():
            name = unicodedata.name(ch, "")
            scripts[name.split(" ")[0] if name else "UNKNOWN"] += n
    return scripts.most_common(1)[0][0].title() if scripts else "Unknown"


def read_language(code: str, paths: list[str], errors: str) -> Language:
    """One language's lines (newlines stripped) from its files. Raises InputError when it has no text."""
    stats = CorpusStats()
    lines: list[str] = []
    origins: list[tuple[str, list[int]]] = []
    h = hashlib.sha256()
    for p in paths:
        numbers: list[int] = []
        for lineno, line in iter_lines(p, errors, stats):
            s = line.rstrip("\n").rstrip("\r")
            lines.append(s)
            numbers.append(lineno)
        origins.append((display_name(p), numbers))
        h.update(stats.inputs[-1].sha256.encode())
    shown = paths[0] if len(paths) == 1 else f"{Path(paths[0]).parent}/"
    if not any(s.strip() for s in lines):
        raise InputError(f"{display_name(shown)}: no text (language '{code}')")
    return Language(code=code, source=display_name(shown), lines=lines, sha256=h.hexdigest(), origins=origins)


def _scripts_from_index(d: Path) -> dict[str, str]:
    """A `index.tsv` with `code` and `script` columns (as in data/udhr/) overrides script detection."""
    f = d / "index.tsv"
    if not f.is_file():
        return {}
    try:
        with open(f, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
    except (OSError, UnicodeDecodeError, csv.Error):
        return {}
    return {r["code"]: r["script"] for r in rows if r.get("code") and r.get("script")}


def load_eval_data(
    data_dir: str | None,
    texts: list[str],
    stdin: bool,
    langs: list[str] | None,
    errors: str = "strict",
) -> EvalData:
    """Gather the languages to evaluate on; `langs` selects (and orders) a subset, unknown codes fail."""
    sources: dict[str, list[str]] = {}
    scripts: dict[str, str] = {}
    origin: list[str] = []
    if data_dir:
        d = Path(data_dir)
        if not d.exists():
            raise InputError(f"{d}: no such directory")
        sources.update(discover_dir(d))
        scripts = _scripts_from_index(d)
        origin.append(str(d))
    for item in texts:
        code, eq, path = item.partition("=")
        if not eq:
            path, code = item, Path(item).name.split(".")[0]
        if not code or not path:
            raise ToktoolError(f"--text {item!r}: expected FILE or CODE=FILE")
        refuse_columnar(path)  # lines of text, as encode, decode and count-tokens read
        if not Path(path).is_file():
            raise InputError(f"{path}: " + ("a directory (--text takes a file; --data takes directories)" if Path(path).is_dir() else "no such file"))
        if code in sources:
            raise InputError(f"language '{code}' given twice (use CODE=FILE to name --text inputs)")
        sources[code] = [path]
        origin.append(path)
    if stdin:
        if "stdin" in sources:
            raise InputError("language 'stdin' given twice")
        sources["stdin"] = ["-"]
        origin.append("<stdin>")
    if not sources:
        raise ToktoolError("no evaluation text: pass --data DIR, --text FILE, or - to read stdin")
    order = list(sources)
    if langs:
        unknown = [c for c in langs if c not in sources]
        if unknown:
            raise ToktoolError(f"--langs: no data for {', '.join(repr(c) for c in unknown)} (have: {_sample(order)})")
        order = list(dict.fromkeys(langs))
    languages = []
    for code in order:
        lang = read_language(code, sources[code], errors)
        lang.script = scripts.get(code) or dominant_script(" ".join(lang.lines[:200]))
        languages.append(lang)
    return EvalData(languages=languages, sources=origin)


def _sample(codes: list[str], n: int = 8) -> str:
    return ", ".join(codes[:n]) + (f", ... ({len(codes)} in all)" if len(codes) > n else "")
