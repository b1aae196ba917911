"""`toktool encode`, `decode` and `count-tokens`: use a tokenizer from the shell, line for line."""

from __future__ import annotations

import json
import sys

import click

from ..corpus import display_name, open_input, read_lines
from ..errors import InputError
from .options import common_options
from .render import FORMATS, print_table, progress_bar


def _chunks(it, n: int):
    buf = []
    for x in it:
        buf.append(x)
        if len(buf) >= n:
            yield buf
            buf = []
    if buf:
        yield buf


@click.command()
@click.argument("tokenizer")
@click.argument("input", required=False)
@click.option("--format", "fmt", type=click.Choice(["ids", "tokens", "json"]), default="ids", show_default=True, help="One output line per input line.")
@click.option("--tokens", "as_tokens", is_flag=True, help="Same as --format tokens.")
@click.option("--add-special-tokens", is_flag=True, help="Let the tokenizer's post-processor add BOS/EOS/CLS... tokens.")
@click.option("--errors", type=click.Choice(["strict", "replace"]), default="strict", show_default=True, help="Invalid UTF-8 in the input.")
@click.option("--batch-size", type=click.IntRange(min=1), default=4096, show_default=True)
@common_options
def encode(tokenizer, input, fmt, as_tokens, add_special_tokens, errors, batch_size, quiet, debug):
    """Encode text, one line in → one line of ids (or tokens, or JSON) out.

    TOKENIZER is a toktool output directory, a tokenizer.json, or a directory with vocab.json +
    merges.txt. INPUT defaults to stdin. Encoding is done by the `tokenizers` library.
    """
    from ..hf import load_hf_tokenizer

    if as_tokens:
        fmt = "tokens"
    tok = load_hf_tokenizer(tokenizer)
    stream, where = open_input(input)
    out = sys.stdout
    for chunk in _chunks(read_lines(stream, errors, where), batch_size):
        encs = tok.tokenizer.encode_batch([t for t, _ in chunk], add_special_tokens=add_special_tokens)
        parts = []
        for enc, (_, nl) in zip(encs, chunk):
            if fmt == "ids":
                s = " ".join(map(str, enc.ids))
            elif fmt == "tokens":
                s = " ".join(enc.tokens)
            else:
                s = json.dumps({"ids": enc.ids, "tokens": enc.tokens}, ensure_ascii=False)
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


@click.command()
@click.argument("tokenizer")
@click.argument("input", required=False)
@click.option("--skip-special-tokens", is_flag=True, help="Drop special tokens from the text.")
@click.option("--batch-size", type=click.IntRange(min=1), default=4096, show_default=True)
@common_options
def decode(tokenizer, input, skip_special_tokens, batch_size, quiet, debug):
    """Decode ids back to text, one line in → one line out (ids as written by `encode`, or JSON)."""
    from ..hf import load_hf_tokenizer

    tok = load_hf_tokenizer(tokenizer)
    vs = tok.vocab_size
    stream, where = open_input(input)
    lineno = 0
    for chunk in _chunks(read_lines(stream, "strict", where), batch_size):
        ids = []
        for text, _ in chunk:
            lineno += 1
            ids.append(_parse_ids(text, lineno, where, vs))
        texts = tok.tokenizer.decode_batch(ids, skip_special_tokens=skip_special_tokens)
        sys.stdout.write("".join(t + ("\n" if nl else "") for t, (_, nl) in zip(texts, chunk)))
    sys.stdout.flush()


@click.command("count-tokens")
@click.argument("tokenizer")
@click.argument("files", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--add-special-tokens", is_flag=True, help="Count the tokens the post-processor adds too.")
@common_options
def count_tokens(tokenizer, files, fmt, add_special_tokens, quiet, debug):
    """Token counts per file and in total (FILES default to stdin). Each file is encoded whole."""
    from ..corpus import expand_inputs
    from ..hf import load_hf_tokenizer

    tok = load_hf_tokenizer(tokenizer)
    paths = expand_inputs(list(files) or ["-"])
    rows = []
    with progress_bar(not quiet and len(paths) > 1) as prog:
        task = prog.add_task("encoding", total=len(paths)) if prog is not None else None
        for chunk in _chunks(paths, 64):
            texts = []
            for p in chunk:
                stream, where = open_input(p)
                data = stream.read()
                if p != "-":
                    stream.close()
                try:
                    texts.append(data.decode("utf-8"))
                except UnicodeDecodeError as e:
                    raise InputError(f"{where}: invalid UTF-8 at byte {e.start}") from None
            encs = tok.tokenizer.encode_batch(texts, add_special_tokens=add_special_tokens)
            for p, t, e in zip(chunk, texts, encs):
                nb = len(t.encode("utf-8"))
                rows.append({"file": display_name(p), "tokens": len(e.ids), "bytes": nb, "bytes_per_token": round(nb / len(e.ids), 4) if e.ids else None})
            if prog is not None:
                prog.advance(task, len(chunk))
    tot_t = sum(r["tokens"] for r in rows)
    tot_b = sum(r["bytes"] for r in rows)
    rows.append({"file": "total", "tokens": tot_t, "bytes": tot_b, "bytes_per_token": round(tot_b / tot_t, 4) if tot_t else None})
    print_table(rows, ["file", "tokens", "bytes", "bytes_per_token"], fmt, extra={"tokenizer": tok.path, "tokenizer_sha256": tok.sha256})
