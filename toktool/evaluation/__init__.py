"""Evaluation: compression, cross-language fairness and information metrics, tokenizers side by side.

    data.py     evaluation text: per-language files, single files, stdin
    metrics.py  the metrics as pure functions on counts, with their sources
    catalog.py  metric names and one-line definitions (numpy-free, for --help)
    table.py    tokenizers x languages -> rows, the signature, `evaluate`
    plots.py    PNG figures of an EvalResult
"""

from ..lazy import lazy_getattr

_NAMES = {
    "EvalOptions": "..options",
    "ALL": ".table",
    "EvalResult": ".table",
    "evaluate": ".table",
    "evaluate_loaded": ".table",
    "parse_metrics": ".table",
}
__all__ = sorted(_NAMES)


# names load on first use: importing a light submodule (catalog, options) must not pull in numpy
__getattr__ = lazy_getattr(__name__, _NAMES, globals())
