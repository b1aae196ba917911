"""`toktool evaluate`: metrics of tokenizers side by side, as a table, JSON, CSV, TSV or Markdown."""

from __future__ import annotations

import json
import sys

import click

from ..corpus import ERROR_POLICIES
from ..options import FORMATS_HELP, EvalOptions
from .options import common_options, tiktoken_option
from .render import FORMATS, print_table, progress_bar, render_rows, stderr_console


def _metrics_epilog() -> str:
    from ..evaluation.catalog import METRICS

    return "\b\nMetrics:\n" + "\n".join(f"  {k:<18} {v[1]}" for k, v in METRICS.items())


@click.command(epilog=_metrics_epilog(), help=f"""Compression, fairness and information metrics for tokenizers side by side.

    TOKENIZER is {FORMATS_HELP}. Each line of the data is encoded on its own (no special tokens), by
    the format's own library. One row per tokenizer x language plus an ALL row per tokenizer; a
    signature line pins tool version, tokenizer and data hashes and options.
    """)
@click.argument("tokenizers", nargs=-1, required=True, metavar="TOKENIZER... [-]")
@click.option("--data", "data_dir", metavar="DIR", help="Directory with one text file (<code>.txt[.gz|.zst]) or sub-directory per language; line-parallel for the parity metrics.")
@click.option("--text", "texts", multiple=True, metavar="[CODE=]FILE", help="A text file evaluated as its own 'language' (repeatable). '-' among the arguments reads stdin.")
@click.option("--langs", metavar="CODES", help="Comma-separated language codes to evaluate (in this order).")
@click.option("--pivot", metavar="CODE", help="Pivot language for the token premium [default: eng when present].")
@click.option("--baseline", metavar="TOKENIZER", help="Tokenizer the normalized sequence length (nsl) is measured against.")
@click.option("--metrics", "metrics_spec", metavar="LIST", help="Comma-separated metrics to compute [default: all the data supports].")
@click.option("--alpha", type=click.FloatRange(min=0, min_open=True), default=EvalOptions.alpha, show_default=True, help="Order of the Rényi entropy in renyi_efficiency.")
@click.option("--name", "names", multiple=True, metavar="NAME", help="Display name for each tokenizer, in order (repeatable).")
@tiktoken_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--by-language/--no-by-language", default=None, help="Show the per-language table on a terminal [default: with <= 40 languages].")
@click.option("--list-tokens", is_flag=True, help="JSON: list every never-used and unreachable token, not the first 20.")
@click.option("--plot", "plot_dir", metavar="DIR", help="Write PNG figures (token premium, Lorenz curves, bytes/token by script) here.")
@click.option("--force", is_flag=True, help="Replace existing plot files.")
@click.option("--errors", type=click.Choice(ERROR_POLICIES), default=EvalOptions.errors, show_default=True, help="Invalid UTF-8 in the data.")
@common_options
def evaluate(tokenizers, data_dir, texts, langs, pivot, baseline, metrics_spec, alpha, names, tiktoken_pattern, fmt, by_language, list_tokens, plot_dir, force, errors, quiet, debug):
    from ..evaluation import evaluate as run_evaluate
    from ..evaluation import parse_metrics

    stdin = "-" in tokenizers
    paths = [t for t in tokenizers if t != "-"]
    if not paths:
        raise click.UsageError("no tokenizer given")
    if len(names) > len(paths):
        raise click.UsageError(f"{len(names)} --name values for {len(paths)} tokenizers")
    wanted = parse_metrics(metrics_spec)
    if plot_dir:
        from ..evaluation.plots import check_plot_dir

        check_plot_dir(plot_dir, force)
    lang_list = [c.strip() for c in langs.split(",") if c.strip()] if langs else None
    with progress_bar(not quiet) as prog:
        task = prog.add_task("encoding", total=None) if prog is not None else None
        on_total = (lambda n: prog.update(task, total=n)) if prog is not None else None
        result = run_evaluate(
            paths, data_dir, texts=texts, stdin=stdin, langs=lang_list, metrics=wanted, pivot=pivot, baseline=baseline,
            alpha=alpha, names=names, tiktoken_pattern=tiktoken_pattern, errors=errors, list_tokens=list_tokens,
            advance=(lambda n: prog.advance(task, n)) if prog is not None else None, on_total=on_total,
        )
    console = stderr_console(quiet)
    for note in result.notes:
        console.print(f"note: {note}")
    _print_evaluation(result, fmt, by_language, console)
    if plot_dir:
        from ..evaluation.plots import write_plots

        for path in write_plots(result, plot_dir, force):
            console.print(f"wrote {path}")




def _print_evaluation(result, fmt: str, by_language: bool | None, console) -> None:
    from ..evaluation import ALL

    if fmt == "json":
        sys.stdout.write(json.dumps(result.as_json(), ensure_ascii=False, indent=2) + "\n")
        return
    if fmt != "table":
        sys.stdout.write(render_rows(result.rows, result.columns, fmt))
        if fmt == "md":
            sys.stdout.write(f"\n`{result.signature}`\n")
        else:  # a comment line would break CSV readers: the signature goes to stderr
            console.print(result.signature, soft_wrap=True)
        return
    # transposed: metrics as rows, one column per tokenizer, so any number of metrics fits a terminal
    summary = [r for r in result.rows if r["language"] == ALL]
    toks = [r["tokenizer"] for r in summary]
    info = {t["name"]: t for t in result.tokenizers}
    table = [{"metric": "vocab_size", **{t: info[t]["vocab_size"] for t in toks}}]
    for c in ["tokens", *result.metric_columns]:
        if any(r.get(c) is not None for r in summary):
            table.append({"metric": c, **{r["tokenizer"]: r.get(c) for r in summary}})
    n_langs = len({r["language"] for r in result.rows if r["language"] != ALL})
    print_table(table, ["metric", *toks], "table", title=f"all {n_langs} languages" if n_langs > 1 else None)
    if by_language or (by_language is None and 1 < n_langs <= 40):
        for metric, title in (("bytes_per_token", "bytes per token"), ("token_premium", f"token premium vs {result.options.get('pivot')}")):
            if metric not in result.columns:
                continue
            per: dict[str, dict] = {}
            for r in result.rows:
                if r["language"] != ALL:
                    per.setdefault(r["language"], {"language": r["language"], "script": r["script"]})[r["tokenizer"]] = r.get(metric)
            print_table(list(per.values()), ["language", "script", *toks], "table", title=title)
    sys.stdout.write(result.signature + "\n")
