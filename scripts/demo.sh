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
# the file starts with a UTF-8 byte-order mark, which toktool drops from every text input: compare without it
if diff <("$T" encode "$out/tok" < data/sample/botchan.txt | "$T" decode "$out/tok") <(sed '1s/^\xEF\xBB\xBF//' data/sample/botchan.txt) >/dev/null; then
  echo "round-trip of data/sample/botchan.txt through encode | decode: identical (after its byte-order mark)" >&2
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
echo "== toktool train --algo parity vs plain BPE, 12 languages in 10 scripts: UDHR articles 1-20 to train," >&2
echo "   21-25 as parity-aware BPE's parallel dev set, 26-30 held out for the comparison below" >&2
langs="eng deu_1996 fra spa rus arb hin amh cmn_hans jpn kor tha"
rm -rf "$out/udhr12" && mkdir -p "$out/udhr12/train" "$out/udhr12/dev" "$out/udhr12/heldout"
for c in $langs; do
  sed -n 1,20p "data/udhr/$c.txt" > "$out/udhr12/train/$c.txt"
  sed -n 21,25p "data/udhr/$c.txt" > "$out/udhr12/dev/$c.txt"
  sed -n 26,30p "data/udhr/$c.txt" > "$out/udhr12/heldout/$c.txt"
done
"$T" train --algo parity --langs "$out/udhr12/train" --dev "$out/udhr12/dev" --vocab-size 3000 --exhausted skip -o "$out/parity" --force -q
"$T" train "$out/udhr12/train" --vocab-size 3000 -o "$out/bpe" --force -q
echo >&2
echo "== toktool evaluate on the held-out articles: plain BPE vs parity-aware BPE (same text, same size)," >&2
echo "   GPT-2, and the 8k demo tokenizer (trained on all of data/, held-out articles included)" >&2
"$T" evaluate "$out/bpe" "$out/parity" data/tokenizers/gpt2 "$out/tok" --name bpe-3k --name parity-3k --name gpt2 --name demo-8k \
  --data "$out/udhr12/heldout" --metrics bytes_per_token,token_premium,gini,gini_lines,parity_ratio,renyi_efficiency -q
