#!/usr/bin/env bash
# `make demo`: train on the bundled data, then encode, round-trip and count with the result.
set -euo pipefail
T=${1:-toktool}
cd "$(dirname "$0")/.."
out=build/demo
mkdir -p "$out"
echo "== toktool train: byte-level BPE, 8,000 tokens, on data/sample + data/udhr (521 languages)" >&2
"$T" train data/sample 'data/udhr/*.txt' --vocab-size 8000 --special-token '<|endoftext|>' -o "$out/tok" --force
echo >&2
echo "== toktool encode / decode" >&2
echo "héllo wörld, the rights of everyone" | "$T" encode "$out/tok" --tokens
echo "héllo wörld, the rights of everyone" | "$T" encode "$out/tok"
if diff <("$T" encode "$out/tok" < data/sample/botchan.txt | "$T" decode "$out/tok") data/sample/botchan.txt >/dev/null; then
  echo "round-trip of data/sample/botchan.txt through encode | decode: identical" >&2
else
  echo "round-trip FAILED" >&2; exit 1
fi
echo >&2
echo "== toktool count-tokens" >&2
"$T" count-tokens "$out/tok" data/sample/botchan.txt data/udhr/eng.txt data/udhr/hin.txt data/udhr/cmn_hans.txt data/udhr/amh.txt
echo >&2
echo "== toktool evaluate: the demo tokenizer (trained on this very text, so flattered) vs GPT-2 vs a" >&2
echo "   sentencepiece model trained on English only; all 521 languages -> $out/eval/ (JSON + plots)" >&2
mkdir -p "$out/eval"
"$T" evaluate "$out/tok" data/tokenizers/gpt2 data/tokenizers/sp-botchan-1k.model --data data/udhr \
  --format json --plot "$out/eval" --force -q > "$out/eval/udhr.json"
ls "$out/eval" >&2
echo >&2
echo "== the same on 12 languages in 10 scripts, as a table" >&2
"$T" evaluate "$out/tok" data/tokenizers/gpt2 data/tokenizers/sp-botchan-1k.model --data data/udhr \
  --langs eng,deu_1996,fra,spa,rus,arb,hin,amh,cmn_hans,jpn,kor,tha -q
