"""Evaluation: compression, cross-language fairness and information metrics, tokenizers side by side.

    data.py     evaluation text: per-language files, single files, stdin
    metrics.py  the metrics as pure functions on counts, with their sources
    catalog.py  metric names and one-line definitions (numpy-free, for --help)
    table.py    tokenizers x languages -> rows, the signature, `evaluate`
    plots.py    PNG figures of an EvalResult
"""

from .table import ALL, EvalOptions, EvalResult, evaluate, evaluate_loaded, parse_metrics

__all__ = ["ALL", "EvalOptions", "EvalResult", "evaluate", "evaluate_loaded", "parse_metrics"]
