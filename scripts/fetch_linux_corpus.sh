#!/usr/bin/env bash
# The Linux 6.1 sources as benchmark text at scale (benchmarks/scale.py); not committed.
#   Debian linux-source-6.1 (~139 MB .deb, GPL-2.0): its usr/src/linux-source-6.1.tar.xz is unpacked
#   (~1.5 GB), the .c .h .rst .txt .py .S .sh Kconfig* .yaml files are concatenated in sorted path order
#   (~1.24 GB of text) by scripts/build_linux_corpus.py, which cuts linux-50M/300M/1G.txt (prefixes, at
#   a line end) and linux-heldout.txt (5 MB from the end), and writes Parquet copies of the 300 MB and
#   1 GB prefixes and of corpus.txt (if pyarrow is installed). The unpacked tree is deleted afterwards.
#   Usage: bash scripts/fetch_linux_corpus.sh [OUT_DIR]   (default build/bench; PY= the Python to use)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/bench}
dl=$out/src
PY=${PY:-.venv/bin/python}
mkdir -p "$dl"
ls "$dl"/linux-source-6.1_*.deb >/dev/null 2>&1 || {
  if ! apt-cache show linux-source-6.1 >/dev/null 2>&1; then apt-get update -qq; fi
  (cd "$dl" && apt-get download -qq linux-source-6.1)
}
deb=$(ls "$dl"/linux-source-6.1_*.deb | LC_ALL=C sort | tail -n 1)
tree=$dl/x/linux-source-6.1
trap 'rm -rf "$tree"' EXIT
if [ ! -d "$tree/linux-source-6.1" ]; then
  rm -rf "$tree"
  mkdir -p "$tree"
  # the .deb holds the tarball; stream it out and unpack without keeping the .tar.xz on disk
  dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./usr/src/linux-source-6.1.tar.xz | xz -dc -T2 | tar -xf - -C "$tree"
fi
"$PY" scripts/build_linux_corpus.py "$tree/linux-source-6.1" "$out" --deb "$(basename "$deb")"
