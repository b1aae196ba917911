"""Plain text per language from the fortunes packages (entries separated by '%' lines; the Chinese
poems carry ANSI colour codes) and the English benchmark corpus, capped per language.

    python scripts/build_multilingual.py build/bench/src/x build/bench/corpus.txt build/bench/multi
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

CAP = 3_000_000  # bytes per language
ANSI = re.compile(r"\x1b\[[0-9;]*m")
SOURCES = {"deu_1996": "fortunes-de", "rus": "fortunes-ru", "cmn_hans": "fortunes-zh"}


def fortunes(root: Path) -> list[str]:
    lines: list[str] = []
    for f in sorted(root.rglob("*")):
        if not f.is_file() or f.is_symlink() or f.suffix in (".dat", ".gz", ".u8") or "games" not in f.parts or "share" not in f.parts:
            continue
        for raw in f.read_bytes().splitlines():
            try:
                s = ANSI.sub("", raw.decode("utf-8")).rstrip()
            except UnicodeDecodeError:
                continue
            if s and s != "%":
                lines.append(s)
    return lines


def capped(lines: list[str]) -> str:
    out, n = [], 0
    for s in lines:
        n += len(s.encode("utf-8")) + 1
        if n > CAP:
            break
        out.append(s)
    return "\n".join(out) + "\n"


def main() -> int:
    src, english, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    out.mkdir(parents=True, exist_ok=True)
    for code, pkg in SOURCES.items():
        text = capped(fortunes(src / pkg))
        (out / f"{code}.txt").write_text(text, encoding="utf-8")
        print(f"{code}: {len(text.encode('utf-8')) / 1e6:.1f} MB from {pkg}", file=sys.stderr)
    with open(english, encoding="utf-8") as f:
        text = capped([s.rstrip("\n") for s in f])
    (out / "eng.txt").write_text(text, encoding="utf-8")
    print(f"eng: {len(text.encode('utf-8')) / 1e6:.1f} MB from {english}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
