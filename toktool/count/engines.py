"""Counting engines behind one call: the local process pool (default) or a Ray cluster.

`count_to_dir` writes a counts directory (shards + manifest, see shards.py) with either engine; the
directory is byte-identical whichever engine wrote it. `count_with_engine` returns the summed
WordCounts for training. Ray is imported only when engine="ray" is asked for.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..atomic import check_output
from ..corpus import CorpusStats, Sampling, expand_inputs
from ..errors import ToktoolError
from ..options import DEFAULT_PARTITIONS, ENGINES
from ..pretokenize import DEFAULT_PRESET, get_preset, unique_specials
from .one_pass import count_corpus
from .shards import check_partitions, load_counts_dir, local_shards, write_counts_dir
from .wordcounts import WordCounts

if TYPE_CHECKING:  # ray_engine is imported only when a run asks for Ray
    from .ray_engine import RayOptions



def _check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise ToktoolError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")


def count_to_dir(
    inputs: Sequence[str],
    output: str | Path,
    *,
    pretokenizer: str = DEFAULT_PRESET,
    text_field: str | None = None,
    errors: str = "replace",
    special_tokens: Sequence[str] = (),
    workers: int | None = None,
    engine: str = "local",
    address: str | None = None,
    partitions: int = DEFAULT_PARTITIONS,
    min_word_count: int = 0,
    force: bool = False,
    on_progress: Callable[[CorpusStats], None] | None = None,
    ray_options: RayOptions | None = None,
    sampling: Sampling | None = None,
) -> dict:
    """Count the pre-tokens of `inputs` into the counts directory `output`, atomically.

    inputs: files, directories, globs ("-" only with the local engine). engine: "local" (the process
    pool, `workers` processes) or "ray" (`address`: None starts a local Ray, "auto" or "ray://..."
    joins a cluster; `ray_options`, a ray_engine.RayOptions, overrides address/workers). partitions:
    number of shards (words go to crc32 % partitions). min_word_count: words counted fewer times are
    left out after the global sum (0: exact), and reported in the manifest. sampling: a prefix and/or a
    deterministic sample of documents (corpus.Sampling; local engine only).

    Returns the manifest (dict). Raises OutputExistsError (output exists, no `force`), ToktoolError
    for bad options, an empty corpus or a missing Ray, InputError for bad input (naming it),
    WorkerDiedError when a worker died for good. On any error nothing is written."""
    _check_engine(engine)
    check_partitions(partitions, min_word_count)
    preset = get_preset(pretokenizer).name
    specials = unique_specials(special_tokens)
    check_output(output, force)
    paths = expand_inputs(list(inputs))
    common = dict(
        partitions=partitions, pretokenizer=preset, special_tokens=specials, text_field=text_field, errors=errors,
        min_word_count=min_word_count, force=force,
    )
    if engine == "local":
        wc = count_corpus(paths, preset, text_field, errors, specials, workers, on_progress, sampling)
        return write_counts_dir(output, local_shards(wc, partitions, min_word_count), corpus=wc.corpus, **common)
    if "-" in paths:
        raise ToktoolError("--engine ray reads files, not stdin (use --engine local for -)")
    if sampling is not None:
        raise ToktoolError("--max-bytes and --sample-docs work with --engine local only (a prefix needs one reader)")
    from .ray_engine import RayOptions, count_shards_on_ray

    opts = ray_options or RayOptions(address=address, workers=workers)
    corpus: dict = {}
    shards = count_shards_on_ray(paths, preset, specials, text_field, errors, partitions, min_word_count, opts, corpus, on_progress)
    return write_counts_dir(output, shards, corpus=None, corpus_after=lambda: corpus, **common)


def count_with_engine(
    paths: Sequence[str],
    preset: str,
    text_field: str | None,
    errors: str,
    special_tokens: Sequence[str],
    workers: int | None,
    engine: str = "local",
    address: str | None = None,
    on_progress: Callable[[CorpusStats], None] | None = None,
    sampling: Sampling | None = None,
) -> WordCounts:
    """The summed counts of `paths` (expanded) as one WordCounts, counted by `engine`.

    The local engine is `count_corpus`. Ray counts into a temporary counts directory and merges its
    shards (sorted runs, no dictionary of all words); the result, its `corpus` statistics included,
    equals count_corpus's. Errors as in count_to_dir."""
    _check_engine(engine)
    if engine == "local":
        return count_corpus(paths, preset, text_field, errors, special_tokens, workers, on_progress, sampling)
    with tempfile.TemporaryDirectory(prefix="toktool-counts-") as tmp:
        out = Path(tmp) / "counts"
        manifest = count_to_dir(
            paths, out, pretokenizer=preset, text_field=text_field, errors=errors, special_tokens=special_tokens,
            workers=workers, engine=engine, address=address, on_progress=on_progress, sampling=sampling,
        )
        wc = load_counts_dir(out)
    wc.corpus = manifest["corpus"]
    return wc
