"""`toktool encode`, `decode` and `count-tokens`: use a tokenizer from the shell, line for line.

All three open the tokenizer with `toktool.formats.load_tokenizer`, so they read every format
`evaluate` reads, and encode and decode with the format's own library (the Adapter interface).
"""

from __future__ import annotations

import json
import sys

import click

from ..corpus import display_name, open_input, read_lines
from ..errors import CodecError, InputError
from ..options import FORMATS_HELP
from .options import common_options, tiktoken_option
from .render import FORMATS, print_table, progress_bar

TOKENIZER_HELP = f"TOKENIZER is {FORMATS_HELP}."


def _chunks(it, n: int):
    buf = []
    for x in it:
        buf.append(x)
        if len(buf) >= n:
            yield buf
            buf = []
    if buf:
        yield buf


def _load(tokenizer: str, tiktoken_pattern: str | None):
    from ..formats import load_tokenizer

    return load_tokenizer(tokenizer, tiktoken_pattern=tiktoken_pattern)


def _located(e: CodecError, where: str, first_line: int) -> CodecError:
    """`e` naming the input line of the failing item (items are consecutive lines from first_line)."""
    return e.at(f"{where}:{first_line + e.index}") if e.index is not None else e.at(where)


@click.command(help=f"""Encode text, one line in → one line of ids (or tokens, or JSON) out.

    {TOKENIZER_HELP} INPUT defaults to stdin; .gz and .zst files are decompressed. Encoding is done by the format's own library
    (tokenizers, sentencepiece, tiktoken's encode_ordinary); a tokenizer.json's truncation and padding
    settings are not applied. Output is written a batch at a time: when a line cannot be encoded, the
    batches before it are already out (exit code 2).
    """)
@click.argument("tokenizer")
@click.argument("input", required=False)
@click.option("--format", "fmt", type=click.Choice(["ids", "tokens", "json"]), default="ids", show_default=True, help="One output line per input line.")
@click.option("--tokens", "as_tokens", is_flag=True, help="Same as --format tokens.")
@click.option("--add-special-tokens", is_flag=True, help="Let a tokenizer.json post-processor add BOS/EOS/CLS... tokens.")
@click.option("--errors", type=click.Choice(["strict", "replace"]), default="strict", show_default=True, help="Invalid UTF-8 in the input.")
@click.option("--batch-size", type=click.IntRange(min=1), default=4096, show_default=True)
@tiktoken_option
@common_options
def encode(tokenizer, input, fmt, as_tokens, add_special_tokens, errors, batch_size, tiktoken_pattern, quiet, debug):
    if as_tokens:
        fmt = "tokens"
    tok = _load(tokenizer, tiktoken_pattern)
    stream, where = open_input(input)
    out = sys.stdout
    first = 1
    for chunk in _chunks(read_lines(stream, errors, where), batch_size):
        texts = [t for t, _ in chunk]
        try:
            if fmt == "ids":
                encs = [(ids, None) for ids in tok.encode_batch(texts, add_special_tokens)]
            else:
                encs = tok.encode_with_tokens(texts, add_special_tokens)
        except CodecError as e:
            raise _located(e, where, first) from None
        first += len(chunk)
        parts = []
        for (ids, tokens), (_, nl) in zip(encs, chunk):
            if fmt == "ids":
                s = " ".join(map(str, ids))
            elif fmt == "tokens":
                s = " ".join(tokens)
            else:
                s = json.dumps({"ids": ids, "tokens": tokens}, ensure_ascii=False)
            parts.append(s + ("\n" if nl else ""))
        out.write("".join(parts))
    out.flush()


def _parse_ids(line: str, lineno: int, where: str, vocab_size: int) -> list[int]:
    s = line.strip()
    if not s:
        return []
    if s.startswith("{"):
        try:
            ids = json.loads(s)["ids"]
        except (ValueError, KeyError, TypeError):
            raise InputError(f"{where}:{lineno}: expected a JSON object with an \"ids\" list") from None
    elif s.startswith("["):
        try:
            ids = json.loads(s)
        except ValueError:
            raise InputError(f"{where}:{lineno}: malformed JSON list of ids") from None
    else:
        try:
            ids = [int(x) for x in s.split()]
        except ValueError:
            raise InputError(f"{where}:{lineno}: expected space-separated token ids") from None
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise InputError(f"{where}:{lineno}: ids must be integers")
    for i in ids:
        if i < 0 or i >= vocab_size:
            raise InputError(f"{where}:{lineno}: token id {i} is outside the vocabulary (0..{vocab_size - 1})")
    return ids


@click.command(help=f"""Decode ids back to text, one line in → one line out (ids as written by `encode`, or JSON).

    {TOKENIZER_HELP} INPUT defaults to stdin; .gz and .zst files are decompressed. Decoding is done
    by the format's own library.
    """)
@click.argument("tokenizer")
@click.argument("input", required=False)
@click.option("--skip-special-tokens", is_flag=True, help="Drop special tokens from the text.")
@click.option("--batch-size", type=click.IntRange(min=1), default=4096, show_default=True)
@tiktoken_option
@common_options
def decode(tokenizer, input, skip_special_tokens, batch_size, tiktoken_pattern, quiet, debug):
    tok = _load(tokenizer, tiktoken_pattern)
    vs = tok.vocab_size
    stream, where = open_input(input)
    lineno = 0
    for chunk in _chunks(read_lines(stream, "strict", where), batch_size):
        first = lineno + 1
        ids = []
        for text, _ in chunk:
            lineno += 1
            ids.append(_parse_ids(text, lineno, where, vs))
        try:
            texts = tok.decode_batch(ids, skip_special_tokens)
        except CodecError as e:
            raise _located(e, where, first) from None
        sys.stdout.write("".join(t + ("\n" if nl else "") for t, (_, nl) in zip(texts, chunk)))
    sys.stdout.flush()


@click.command("count-tokens", help=f"""Token counts per file and in total (FILES default to stdin). Each file is encoded whole.

    {TOKENIZER_HELP} Counts are the format's own library's (tokenizers, sentencepiece's encode,
    tiktoken's encode_ordinary); .gz and .zst files are decompressed.
    """)
@click.argument("tokenizer")
@click.argument("files", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--add-special-tokens", is_flag=True, help="Count the tokens a tokenizer.json post-processor adds too.")
@tiktoken_option
@common_options
def count_tokens(tokenizer, files, fmt, add_special_tokens, tiktoken_pattern, quiet, debug):
    from ..corpus import expand_inputs, read_text

    tok = _load(tokenizer, tiktoken_pattern)
    paths = expand_inputs(list(files) or ["-"])
    rows = []
    with progress_bar(not quiet and len(paths) > 1) as prog:
        task = prog.add_task("encoding", total=len(paths)) if prog is not None else None
        for chunk in _chunks(paths, 64):
            texts = [read_text(p) for p in chunk]
            try:
                counts = [len(ids) for ids in tok.encode_batch(texts, add_special_tokens)]
            except CodecError as e:
                if e.index is None:
                    raise
                shown = display_name(chunk[e.index])
                raise e.at(f"{shown}:{e.line}" if e.line else shown) from None
            for p, t, n in zip(chunk, texts, counts):
                nb = len(t.encode("utf-8"))
                rows.append({"file": display_name(p), "tokens": n, "bytes": nb, "bytes_per_token": round(nb / n, 4) if n else None})
            if prog is not None:
                prog.advance(task, len(chunk))
    tot_t = sum(r["tokens"] for r in rows)
    tot_b = sum(r["bytes"] for r in rows)
    rows.append({"file": "total", "tokens": tot_t, "bytes": tot_b, "bytes_per_token": round(tot_b / tot_t, 4) if tot_t else None})
    print_table(rows, ["file", "tokens", "bytes", "bytes_per_token"], fmt, extra={"tokenizer": tok.path, "tokenizer_sha256": tok.sha256})
