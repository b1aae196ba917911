"""Evaluation: compression, cross-language fairness and information metrics, tokenizers side by side.

    data.py     evaluation text: per-language files, single files, stdin
    metrics.py  the metrics as pure functions on counts, with their sources
    catalog.py  metric names and one-line definitions (numpy-free, for --help)
    table.py    tokenizers x languages -> rows, the signature, `evaluate`
    plots.py    PNG figures of an EvalResult
"""

_NAMES = {
    "EvalOptions": "..options",
    "ALL": ".table",
    "EvalResult": ".table",
    "evaluate": ".table",
    "evaluate_loaded": ".table",
    "parse_metrics": ".table",
}
__all__ = sorted(_NAMES)


def __getattr__(name: str):
    # the face loads its modules on first use: `toktool.evaluation.catalog` (light) must not pull in numpy
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
