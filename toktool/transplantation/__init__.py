"""Embeddings of a pretrained model for a new tokenizer, without training.

    match.py      which new token is which old token (canonical bytes; special tokens by role)
    methods.py    rows for new tokens: zero, mean, random, FVT (Gee et al. 2022)
    omp.py        batched orthogonal matching pursuit (Goddard & Neto 2025) on the CPU
    omp_torch.py  the same in torch (`device`), for GPUs
    donor.py      a donor embedding space from text (PPMI + SVD) when there is no donor model
    choose.py     --method auto with a donor space: fvt or omp, measured on held-out shared tokens
    model_io.py   safetensors model directories, read and written tensor by tensor
    core.py       match -> plan -> rows -> output directory
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..options import METHODS, TransplantOptions
from ..options import TransplantOptions as Options


def transplant(
    base: str,
    tokenizer: str,
    output: str | None = None,
    *,
    method: str = Options.method,
    donor: str | None = Options.donor,
    aux_corpus: Sequence[str] = (),
    k: int = Options.k,
    candidates: int = Options.candidates,
    aux_dim: int = Options.aux_dim,
    aux_window: int = Options.aux_window,
    aux_min_count: int = Options.aux_min_count,
    omp_norm: str = Options.omp_norm,
    calibrate: str = Options.calibrate,
    fit_head: Sequence[str] = (),
    fit_head_weight: float = Options.fit_head_weight,
    fit_head_positions: int = Options.fit_head_positions,
    device: str | None = Options.device,
    precision: str = Options.precision,
    seed: int = Options.seed,
    add_specials: bool = Options.add_specials,
    allow_pickle: bool = Options.allow_pickle,
    dry_run: bool = False,
    force: bool = False,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Give the model in `base` (a safetensors model directory with its tokenizer) embeddings for
    `tokenizer` (a toktool output dir, a tokenizer.json, or a model dir with one), written as a new
    model directory `output`. The base directory is only read.

    Shared tokens (matched after normalising byte-level `Ġ`, sentencepiece `▁`, byte fallback and
    WordPiece `##`; special tokens by role) are copied bit for bit. The rows of the other tokens
    come from `method`: zero, random (the old rows' mean and covariance), mean, fvt (FVT, Gee et
    al. 2022: mean of the old pieces' rows) or omp (Goddard & Neto 2025: k anchor tokens in a donor
    space, `donor` a model dir using the new tokenizer, or `aux_corpus` text for a PPMI + SVD space of
    `aux_dim` dimensions); auto = fvt, or with a donor space whichever of fvt and omp comes
    closer (cosine) to the true rows of shared tokens held out as if new, or with `fit_head` text
    the one whose model scores the lower bits per byte on every 4th line of it (report key "auto").
    `candidates` anchors per token are pre-selected for OMP (0: exact OMP); `device` runs OMP through torch. Input and output
    embeddings are handled separately; tied heads stay tied; config.json gets the new vocab_size.

    `fit_head` (text files, one text per line; needs transformers and torch): the output rows of
    the new tokens that take over the probability of dropped old tokens are fitted by least squares
    to the base model's own prefix probabilities, over the final hidden states of up to
    `fit_head_positions` token positions of that text (transplantation/head_fit.py); a tied matrix
    gets the fitted row at weight `fit_head_weight` (0..1), an untied head in full. Report key
    "fit_head".

    `dry_run=True` matches and plans only (output may be None). Returns the report (dict: counts of
    copied and new rows by how they were made, timings). Raises InputError for an unreadable model or
    tokenizer, OutputExistsError when output exists and `force` is False, ToktoolError for bad
    options (unknown method, omp without a donor space, no token in common)."""
    opts = Options(
        method=method, k=k, candidates=candidates, donor=donor, aux_corpus=list(aux_corpus), aux_dim=aux_dim,
        aux_window=aux_window, aux_min_count=aux_min_count, device=device, seed=seed, allow_pickle=allow_pickle,
        add_specials=add_specials, precision=precision, omp_norm=omp_norm, calibrate=calibrate,
        fit_head=list(fit_head), fit_head_weight=fit_head_weight, fit_head_positions=fit_head_positions,
    )
    from .core import fit_head_plan, make_plan
    from .core import transplant as transplant_dir

    if dry_run:
        plan = make_plan(base, tokenizer, opts)
        report = plan.summary()
        if opts.fit_head:
            report["fit_head"] = fit_head_plan(plan, opts)
        report["dry_run"] = True
        return report
    if output is None:
        from ..errors import ToktoolError

        raise ToktoolError("transplant needs an output directory (or dry_run=True)")
    return transplant_dir(base, tokenizer, output, opts, force, log=log or (lambda s: None))


__all__ = ["METHODS", "TransplantOptions", "transplant"]
