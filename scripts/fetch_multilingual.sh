#!/usr/bin/env bash
# Monolingual German, Russian and Chinese prose for the parity benchmark's high-resource languages,
# from Debian packages (fortunes-de, fortunes-ru, fortunes-zh; GPL), plus English from the BPE
# benchmark corpus (make bench-data). Output: build/bench/multi/<code>.txt (not committed).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/bench}
dl=$out/src
mkdir -p "$dl"
pkgs="fortunes-de fortunes-ru fortunes-zh"
need=0
for p in $pkgs; do ls "$dl"/${p}_*.deb >/dev/null 2>&1 || need=1; done
if [ "$need" = 1 ]; then
  if ! apt-cache show fortunes-de >/dev/null 2>&1; then apt-get update -qq; fi
  (cd "$dl" && apt-get download -qq $pkgs)
fi
for p in $pkgs; do d="$dl/x/$p"; [ -d "$d" ] || { mkdir -p "$d"; dpkg -x "$dl"/${p}_*.deb "$d"; }; done
PY=${PY:-.venv/bin/python}
"$PY" scripts/build_multilingual.py "$dl/x" "$out/corpus.txt" "$out/multi"
