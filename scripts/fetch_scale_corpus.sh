#!/usr/bin/env bash
# A ~50 MB corpus for memory-scaling runs (benchmarks/superbpe.py --scale-corpus); not committed.
#   build/bench/corpus.txt (make bench-data) followed by the reStructuredText sources of the Linux
#   kernel documentation (Debian linux-doc-6.1, GPL-2.0), 24 MB of technical English.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/bench}
dl=$out/src
mkdir -p "$dl"
ls "$dl"/linux-doc-6.1_*.deb >/dev/null 2>&1 || {
  if ! apt-cache show linux-doc-6.1 >/dev/null 2>&1; then apt-get update -qq; fi
  (cd "$dl" && apt-get download -qq linux-doc-6.1)
}
x=$dl/x/linux-doc-6.1
[ -d "$x" ] || { mkdir -p "$x"; dpkg -x "$dl"/linux-doc-6.1_*.deb "$x"; }
{ cat "$out/corpus.txt"; find "$x/usr/share/doc/linux-doc-6.1/html/_sources" -name '*.txt' | LC_ALL=C sort | xargs cat; } > "$out/corpus-scale.txt.tmp"
mv "$out/corpus-scale.txt.tmp" "$out/corpus-scale.txt"
echo "corpus-scale.txt $(du -m "$out/corpus-scale.txt" | cut -f1) MB"
