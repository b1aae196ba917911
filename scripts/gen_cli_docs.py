"""Write docs/cli.md from the commands' own --help, so the reference cannot drift from the code.

Run `python scripts/gen_cli_docs.py`; tests/test_docs.py fails when the file is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from toktool.cli.app import cli

HEADER = """# toktool command-line reference

Generated from `--help` by `scripts/gen_cli_docs.py` (a test checks it is current).

Conventions for every command: inputs are files, directories (read recursively, sorted, hidden files
skipped), quoted globs, or `-` for stdin; results go to stdout, progress and summaries to stderr (a
`rich` progress bar only when stderr is a terminal; `--quiet` silences it). Exit codes: 0 success,
2 bad usage or bad input (one line on stderr naming the file, line or field), 1 internal error (a bug;
`--debug` or `TOKTOOL_DEBUG=1` shows the traceback), 130 interrupted. Outputs are written atomically
and never replace an existing path without `--force`, nor, even with it, an input of the same command
(an output that is an input, or holds one, is refused before any work).

## Text inputs

One rule for every command that reads text (`train`, `count`, `evaluate` data, `encode`, `decode`,
`count-tokens`, `transplant --aux-corpus`), applied to the first 8 KiB of each input after
decompression:

- Text is UTF-8. NUL (U+0000) is a character like any other, wherever it appears: it is trained on,
  counted and encoded (Hugging Face `tokenizers` does the same; sentencepiece drops it with a warning).
- A UTF-8 byte-order mark at the start of an input (JSON lines included) is dropped; the input's
  SHA-256 in `train.json` is still that of the file as stored.
- Refused, with one line naming the file: a UTF-16 or UTF-32 byte-order mark; NUL bytes in fixed
  positions (UTF-16 or UTF-32 without a mark: ASCII in UTF-16 is every other byte NUL; precisely, one
  of the four byte positions mod 4 is at least 25% NUL and another at most a tenth of that, in a head
  of at least 64 bytes, whereas NUL in UTF-8 text falls on all positions alike); NUL bytes together with invalid UTF-8 (a binary
  file: gzip data in a `.txt`, an image, a model file). Convert UTF-16 first, e.g. `iconv -f UTF-16
  -t UTF-8`.
- Invalid UTF-8 without NUL (a stray Latin-1 byte) is not refused as a whole: it is handled line by
  line by `--errors` where the command has it, and is an error naming file and line elsewhere.
- `encode`, `decode` and `count-tokens` read text only: a Parquet or Arrow file or a `datasets`
  directory is refused in one line saying so (`train` and `count` read those, with `--text-field`);
  write the column out as text lines first.

## Training semantics

- Texts: one line of a plain-text file (newline included) or one JSON-lines record's `--text-field`.
  Invalid UTF-8 is handled per line by `--errors` (`replace` by default) and counted in `train.json`;
  records whose text field is `null` are skipped and counted too (`null_text_records`, also on stderr).
- Special tokens (`--special-token`) get the first ids, in the order given, and are cut out of the
  text before counting, so no merge ever spans one.
- Merges: the most frequent adjacent pair (weighted by word counts); ties go to the pair with the
  smaller ids, ids being creation order (the 256 byte symbols in code-point order of their GPT-2
  byte-level characters, then merged tokens). This is Hugging Face `BpeTrainer`'s rule, and the merge
  lists are identical to its output (tested), including its handling of a token string reached by
  two different pairs (the id is reused; the pair keeps its last rank).
- The merge loop is Numba code. `make` also compiles it ahead of time (`python -m
  toktool.kernels.build_aot`); that build is used when its recorded source hash matches, run in a
  forked child process, and otherwise the JIT build is used. `TOKTOOL_KERNEL=jit|aot|auto` forces
  a choice (`aot` fails when no matching build exists); the outputs are identical either way.
- `--vocab-size` counts special tokens; training stops earlier if no pair reaches `--min-frequency`.
- `--max-token-length L` allows tokens of up to L bytes (HF's option allows only shorter than L).
- Pre-tokenizer presets: `gpt2` is GPT-2's regex; `gpt4` and `o200k` are tiktoken's cl100k_base and
  o200k_base patterns verbatim; `llama3` is Llama 3's; `whitespace` keeps one leading space on each
  word and isolates other whitespace (lossless, unlike HF's `Whitespace`); `none` keeps each text
  whole. In `tokenizer.json` the split is a `Split` pre-tokenizer (possessive intervals rewritten as
  atomic groups, which Oniguruma reads the same way), followed by `ByteLevel`; `gpt2` uses
  `ByteLevel(use_regex=true)`, the canonical GPT-2 layout.

"""


def main() -> int:
    out = [HEADER]
    ctx = click.Context(cli, info_name="toktool", terminal_width=100, max_content_width=100)
    out.append("## toktool\n\n```\n" + cli.get_help(ctx) + "\n```\n")
    for name in sorted(cli.commands):
        cmd = cli.commands[name]
        sub = click.Context(cmd, info_name=f"toktool {name}", parent=None, terminal_width=100, max_content_width=100)
        out.append(f"\n## toktool {name}\n\n```\n" + cmd.get_help(sub) + "\n```\n")
    text = "".join(out)
    target = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
    if len(sys.argv) > 1 and sys.argv[1] == "--check":
        return 0 if target.read_text(encoding="utf-8") == text else 1
    target.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
