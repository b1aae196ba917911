"""`toktool transplant`: a model's embeddings for a new tokenizer, training-free."""

from __future__ import annotations

import json
import sys

import click

from ..atomic import check_output
from ..corpus import check_not_input
from ..options import METHODS
from ..options import TransplantOptions as Options
from .options import common_options
from .render import FORMATS, print_table, stderr_console


@click.command()
@click.argument("base", metavar="BASE_MODEL_DIR")
@click.option("--tokenizer", "new_tokenizer", required=True, metavar="PATH", help="The new tokenizer: a toktool output dir, a tokenizer.json, or a model dir that has one.")
@click.option("-o", "--output", metavar="DIR", help="Output model directory (required unless --dry-run).")
@click.option("--method", type=click.Choice(list(METHODS)), default=Options.method, show_default=True, help="Rows for tokens the model does not have; auto = fvt, or with --donor/--aux-corpus whichever of fvt and omp comes closer to the true rows of shared tokens held out as if new, or, with --fit-head text as well, scores the lower bits per byte on every 4th line of that text (numbers in --report). Shared tokens are always copied.")
@click.option("--donor", metavar="DIR", help="OMP donor: a model dir whose embeddings already use the new tokenizer.")
@click.option("--aux-corpus", "aux_corpus", multiple=True, metavar="PATH", help="OMP without a donor model: text to learn token vectors from (PPMI + SVD), encoded with the new tokenizer (repeatable).")
@click.option("--k", "k", type=click.IntRange(min=1), default=Options.k, show_default=True, help="OMP: anchor tokens per new token (at most).")
@click.option("--omp-candidates", type=click.IntRange(min=0), default=Options.candidates, show_default=True, help="OMP: anchors each new token may choose from (its most similar); 0 = all (exact OMP, slow).")
@click.option("--aux-dim", type=click.IntRange(min=2), default=Options.aux_dim, show_default=True, help="Dimension of the --aux-corpus token vectors.")
@click.option("--aux-window", type=click.IntRange(min=1), default=Options.aux_window, show_default=True, help="Co-occurrence window (tokens each side) for --aux-corpus.")
@click.option("--aux-min-count", type=click.IntRange(min=1), default=Options.aux_min_count, show_default=True, help="Tokens seen fewer times in --aux-corpus get no vector (FVT rows instead of OMP; rare anchors are not used).")
@click.option("--omp-norm", type=click.Choice(["fvt", "none"]), default=Options.omp_norm, show_default=True, help="Length of OMP rows: that of the token's FVT row (least-squares weights can be large, and a long row dominates a tied output head), or as solved.")
@click.option("--calibrate", type=click.Choice(["none", "rank"]), default=Options.calibrate, show_default=True, help="rank: move fvt/omp rows along the embeddings' frequency direction (fitted on shared tokens) to the rank their id has in the new vocabulary; a mean of pieces otherwise reads as a frequent token.")
@click.option("--fit-head", "fit_head", multiple=True, metavar="PATH", help="Calibration text (one text per line; repeatable): fit the output rows of new tokens that take over dropped old tokens to the base model's own prefix probabilities on it (least squares over its final hidden states; runs the model through transformers and torch: causal LMs).")
@click.option("--fit-head-weight", type=click.FloatRange(0, 1), default=Options.fit_head_weight, show_default=True, help="Tied input/output matrix: weight of the fitted row against the copied one (the row is also the token's input embedding). An untied head takes the fitted rows in full.")
@click.option("--fit-head-positions", type=click.IntRange(min=16), default=Options.fit_head_positions, show_default=True, help="Token positions of --fit-head text to run through the model (at most).")
@click.option("--device", metavar="DEVICE", help="Run OMP through torch on this device (cuda, cuda:1, cpu); default: numpy/Numba on the CPU.")
@click.option("--precision", type=click.Choice(["fp32", "fp64"]), default=Options.precision, show_default=True, help="OMP arithmetic of the candidate scan (the factorisation is always float64).")
@click.option("--seed", type=int, default=Options.seed, show_default=True, help="Seed of --method random and of the SVD.")
@click.option("--add-specials/--no-add-specials", default=Options.add_specials, show_default=True, help="Give the new tokenizer the model's special tokens it lacks ([CLS], [SEP], ...) and the model's post-processor when it has none.")
@click.option("--allow-pickle", is_flag=True, help="Accept pytorch_model.bin weights (a pickle can run code: only for files you trust).")
@click.option("--report", "report_path", metavar="FILE", help="Also write the report as JSON here.")
@click.option("--dry-run", is_flag=True, help="Match vocabularies and report what each row would be; compute and write nothing.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--force", is_flag=True, help="Replace an existing output directory / report file.")
@common_options
def transplant(base, new_tokenizer, output, method, donor, aux_corpus, k, omp_candidates, aux_dim, aux_window, aux_min_count, omp_norm, calibrate, fit_head, fit_head_weight, fit_head_positions, device, precision, seed, add_specials, allow_pickle, report_path, dry_run, fmt, force, quiet, debug):
    """Give a model embeddings for a new tokenizer, training-free.

    Tokens both tokenizers share are copied bit for bit (matched after normalising byte-level Ġ,
    sentencepiece ▁, byte fallback and WordPiece ## conventions; special tokens by role). The other
    rows come from --method. Only the embedding tensors change; every other file and tensor is
    copied byte for byte, tied heads stay tied, config.json gets the new vocab_size and the new
    tokenizer files go into the output. The base directory is never modified.
    """
    from ..transplantation import transplant as run_transplant

    if not dry_run and not output:
        raise click.UsageError("-o/--output is required (or use --dry-run)")
    read = [base, new_tokenizer, donor, *aux_corpus, *fit_head]
    if output:
        check_not_input(output, read)
        check_output(output, force)
    if report_path:
        check_not_input(report_path, read, "--report")
        check_output(report_path, force)
    ctx = click.get_current_context()
    if not fit_head:
        for name in ("fit_head_weight", "fit_head_positions"):
            if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT:
                raise click.UsageError(f"--{name.replace('_', '-')} is an option of --fit-head, which was not given")
    if donor and aux_corpus:
        raise click.UsageError("give --donor or --aux-corpus, not both")
    if (donor or aux_corpus) and method not in ("auto", "omp"):
        raise click.UsageError(f"--donor/--aux-corpus are OMP inputs; --method {method} does not use them")
    if device:
        from ..transplantation.omp_torch import check_device

        check_device(device)
    console = stderr_console(quiet)
    report = run_transplant(
        base, new_tokenizer, None if dry_run else output, method=method, donor=donor, aux_corpus=aux_corpus, k=k,
        candidates=omp_candidates, aux_dim=aux_dim, aux_window=aux_window, aux_min_count=aux_min_count,
        omp_norm=omp_norm, calibrate=calibrate, fit_head=fit_head, fit_head_weight=fit_head_weight,
        fit_head_positions=fit_head_positions, device=device, precision=precision, seed=seed, add_specials=add_specials,
        allow_pickle=allow_pickle, dry_run=dry_run, force=force, log=lambda s: console.print(s),
    )
    if report_path:
        from ..atomic import write_bytes_atomic

        write_bytes_atomic(report_path, (json.dumps(report, indent=2, ensure_ascii=False) + "\n").encode("utf-8"), force)
    def shown(v):
        if isinstance(v, bool):
            return "yes" if v else "no"
        return json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v

    rows = [{"field": key, "value": shown(v)} for key, v in report.items()]
    if fmt == "json":
        sys.stdout.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    else:
        print_table(rows, ["field", "value"], fmt, title="transplant (dry run)" if dry_run else "transplant")
